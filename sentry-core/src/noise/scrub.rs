//! Scrubbing: values under sensitive keys, and secret shapes in free text, become
//! `[Filtered]` before an event leaves the process.
//!
//! Runs on the worker, after `before_send`, so whatever the callback added is scrubbed
//! too. Keys are matched case-insensitively as substrings, with `-`, `.` and spaces read
//! as `_` (`X-Api-Key` matches `api_key`), in extra, tags, contexts, the user's other
//! fields, breadcrumb data and the request (see [`request`](super::request)), at any depth.
//! Free text (the message, exception values,
//! breadcrumb messages and every string value in those maps) goes through the secret
//! detectors of [`secrets`](super::secrets) and the user's own patterns.
//!
//! The user's `id`, `email`, `username` and `ip_address` are kept: the SDK never fills
//! them itself, so when they are set the application chose to send them.

use std::borrow::Cow;

use crate::debug::sdk_warn;
use crate::protocol::{Event, Map, Value};

use super::secrets::mask_secrets;

/// What a scrubbed value becomes.
pub(crate) const FILTERED: &str = "[Filtered]";

/// Key fragments whose values are always filtered.
const SENSITIVE_KEYS: &[&str] = &[
    "password",
    "passwd",
    "mysql_pwd",
    "passphrase",
    "secret",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "privatekey",
    "auth",
    "credential",
    "token",
    "bearer",
    "session",
    "cookie",
    "csrf",
    "xsrf",
];

/// Whether a value under `key` is filtered: `key` contains one of the sensitive
/// fragments or one of `extra` (lowercase), case-insensitively, with `-`, `.` and spaces
/// read as `_`.
pub(crate) fn is_sensitive_key(key: &str, extra: &[String]) -> bool {
    SENSITIVE_KEYS
        .iter()
        .any(|needle| contains_folded(key, needle))
        || extra.iter().any(|needle| contains_folded(key, needle))
}

fn fold(c: u8) -> u8 {
    match c {
        b'-' | b'.' | b' ' => b'_',
        c => c.to_ascii_lowercase(),
    }
}

/// Substring search with [`fold`] applied to the haystack; `needle` is already folded.
fn contains_folded(haystack: &str, needle: &str) -> bool {
    let (hay, needle) = (haystack.as_bytes(), needle.as_bytes());
    !needle.is_empty()
        && hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|window| window.iter().zip(needle).all(|(&h, &n)| fold(h) == n))
}

/// A user pattern: a regular expression and what its matches become (`$1` refers to a
/// group), such as `(auth\.token|SENTRY_AUTH_TOKEN)=\w+` → `$1=[Filtered]`.
#[derive(Debug)]
struct Rule {
    regex: regex_lite::Regex,
    replacement: String,
}

/// The scrubber of a client.
#[derive(Debug, Default)]
pub(crate) struct Scrubber {
    extra_keys: Vec<String>,
    rules: Vec<Rule>,
}

impl Scrubber {
    /// A scrubber with extra sensitive keys and user patterns; an invalid pattern is
    /// reported on stderr and left out.
    pub(crate) fn new(extra_keys: &[String], patterns: &[(String, String)]) -> Self {
        let extra_keys = extra_keys
            .iter()
            .map(|key| key.bytes().map(fold).map(char::from).collect())
            .collect();
        let rules = patterns
            .iter()
            .filter_map(|(regex, replacement)| match regex_lite::Regex::new(regex) {
                Ok(regex) => Some(Rule {
                    regex,
                    replacement: replacement.clone(),
                }),
                Err(error) => {
                    sdk_warn!(
                        "scrub_patterns: {regex:?} is not a valid regular expression and is ignored: {error}"
                    );
                    None
                }
            })
            .collect();
        Scrubber { extra_keys, rules }
    }

    /// Scrubs everything in `event` that can hold a secret.
    pub(crate) fn scrub_event(&self, event: &mut Event) {
        if let Some(message) = &mut event.message {
            self.text(message);
        }
        for exception in event.exception.iter_mut().flat_map(|e| e.values.iter_mut()) {
            if let Some(value) = &mut exception.value {
                self.text(value);
            }
        }
        for (key, value) in event.tags.iter_mut() {
            if is_sensitive_key(key, &self.extra_keys) {
                FILTERED.clone_into(value);
            } else {
                self.text(value);
            }
        }
        self.map(&mut event.extra);
        for context in event.contexts.values_mut() {
            self.map(context);
        }
        if let Some(user) = &mut event.user {
            self.map(&mut user.other);
        }
        for crumb in event
            .breadcrumbs
            .iter_mut()
            .flat_map(|b| b.values.iter_mut())
        {
            if let Some(message) = &mut crumb.message {
                self.cow_text(message);
            }
            self.map(&mut crumb.data);
        }
        if let Some(request) = &mut event.request {
            self.scrub_request(request);
        }
    }

    /// Whether values under `key` are filtered: the built-in rules and `sensitive_keys`.
    pub(super) fn is_sensitive(&self, key: &str) -> bool {
        is_sensitive_key(key, &self.extra_keys)
    }

    fn map(&self, map: &mut Map) {
        for (key, value) in map.iter_mut() {
            if is_sensitive_key(key, &self.extra_keys) {
                // Null and empty say nothing; leaving them shows the key was unset.
                let empty = value.is_null() || value.as_str().is_some_and(str::is_empty);
                if !empty {
                    *value = Value::String(FILTERED.to_owned());
                }
            } else {
                self.value(value);
            }
        }
    }

    pub(super) fn value(&self, value: &mut Value) {
        match value {
            Value::String(text) => self.text(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.value(item)),
            Value::Object(map) => self.map(map),
            _ => {}
        }
    }

    /// Masks secret shapes and applies the user's patterns, in place.
    /// [`text`](Self::text) for a text that may be borrowed: copied only when it changes.
    fn cow_text(&self, text: &mut Cow<'static, str>) {
        if let Some(scrubbed) = self.scrubbed(text) {
            *text = Cow::Owned(scrubbed);
        }
    }

    pub(crate) fn text(&self, text: &mut String) {
        if let Some(scrubbed) = self.scrubbed(text) {
            *text = scrubbed;
        }
    }

    /// `text` with secrets masked and the rules applied; `None` when nothing changed.
    fn scrubbed(&self, text: &str) -> Option<String> {
        let mut changed = match mask_secrets(text, &self.extra_keys) {
            Cow::Owned(masked) => Some(masked),
            Cow::Borrowed(_) => None,
        };
        for rule in &self.rules {
            let current = changed.as_deref().unwrap_or(text);
            if let Cow::Owned(replaced) = rule.regex.replace_all(current, rule.replacement.as_str())
            {
                changed = Some(replaced);
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::{Breadcrumb, Breadcrumbs, User};

    #[test]
    fn sensitive_keys_fold_case_and_separators() {
        for key in [
            "password",
            "DB_PASSWORD",
            "X-Api-Key",
            "Authorization",
            "sessionid",
            "Set-Cookie",
            "csrf_token",
            "client.secret",
            "PRIVATE KEY",
        ] {
            assert!(is_sensitive_key(key, &[]), "{key}");
        }
        for key in ["user", "rows", "path", "keyboard"] {
            assert!(!is_sensitive_key(key, &[]), "{key}");
        }
        assert!(is_sensitive_key(
            "Social-Security",
            &["social_security".into()]
        ));
    }

    #[test]
    fn every_place_is_scrubbed_at_any_depth() {
        let scrubber = Scrubber::new(&[], &[]);
        let mut event = Event {
            message: Some("login with Bearer abcdefgh12345678 failed".into()),
            ..Event::default()
        };
        event.extra.insert("password".into(), json!("hunter2"));
        event.extra.insert(
            "config".into(),
            json!({"db": {"api_key": "k", "port": 5432}}),
        );
        event.extra.insert("empty_token".into(), json!(null));
        event.tags.insert("session_id".into(), "abc".into());
        event.tags.insert("region".into(), "eu".into());
        let mut context = Map::new();
        context.insert(
            "headers".into(),
            json!({"Authorization": "Basic dXNlcjpwYXNz"}),
        );
        event.contexts.insert("request".into(), context);
        let mut other = Map::new();
        other.insert("auth_token".into(), json!("t"));
        event.user = Some(User {
            email: Some("bob@example.com".into()),
            other,
            ..Default::default()
        });
        event.breadcrumbs = Some(Breadcrumbs {
            values: vec![
                Breadcrumb::new("connect to https://u:p@db.example.com")
                    .data("cookie", "a=b")
                    .data("nested", json!([{"secret": "s"}])),
            ],
        });
        scrubber.scrub_event(&mut event);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["message"], "login with Bearer [Filtered] failed");
        assert_eq!(json["extra"]["password"], FILTERED);
        assert_eq!(json["extra"]["config"]["db"]["api_key"], FILTERED);
        assert_eq!(json["extra"]["config"]["db"]["port"], 5432);
        assert_eq!(json["extra"]["empty_token"], Value::Null);
        assert_eq!(json["tags"]["session_id"], FILTERED);
        assert_eq!(json["tags"]["region"], "eu");
        assert_eq!(
            json["contexts"]["request"]["headers"]["Authorization"],
            FILTERED
        );
        assert_eq!(json["user"]["auth_token"], FILTERED);
        assert_eq!(json["user"]["email"], "bob@example.com");
        let crumb = &json["breadcrumbs"]["values"][0];
        assert_eq!(
            crumb["message"],
            "connect to https://[Filtered]@db.example.com"
        );
        assert_eq!(crumb["data"]["cookie"], FILTERED);
        assert_eq!(crumb["data"]["nested"][0]["secret"], FILTERED);
    }

    #[test]
    fn user_patterns_replace_with_groups() {
        let scrubber = Scrubber::new(
            &[],
            &[(
                r"(auth\.token|SENTRY_AUTH_TOKEN)=\w+".into(),
                "$1=[Filtered]".into(),
            )],
        );
        let mut text = "run with SENTRY_AUTH_TOKEN=sntrys_abc and auth.token=xyz".to_owned();
        scrubber.text(&mut text);
        assert_eq!(
            text,
            "run with SENTRY_AUTH_TOKEN=[Filtered] and auth.token=[Filtered]"
        );
        let accounts = Scrubber::new(&[], &[(r"acct-(\d{4})\d+".into(), "acct-$1****".into())]);
        let mut text = "charge failed for acct-123456789".to_owned();
        accounts.text(&mut text);
        assert_eq!(text, "charge failed for acct-1234****");
        let bad = Scrubber::new(&[], &[("(".into(), "x".into())]);
        assert!(bad.rules.is_empty());
    }
}
