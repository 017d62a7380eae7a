//! The scope the crash handler writes into a report, kept current cheaply.
//!
//! The handler cannot serialize anything, so the scope is serialized ahead of time, on every
//! change, in two parts:
//!
//! * the head: release, environment, level, fingerprint, transaction, user, request, tags,
//!   extra and contexts, one JSON object given to `set_scope`. Each part is kept serialized
//!   with the stamp it had ([`Scope::stamp`]), so a
//!   [`configure_scope`](crate::configure_scope) serializes again only the parts it changed
//!   (one tag's change costs serializing the tags), and one that changed nothing costs
//!   nothing;
//! * the breadcrumbs: the process's, each encoded once when it is added
//!   ([`record`](crate::breadcrumb_log::record)) and kept in the handler's ring of
//!   breadcrumb slots (`push_breadcrumb`), which copies only that one (see
//!   [`breadcrumb_log`](crate::breadcrumb_log)). [`add_breadcrumb`](crate::add_breadcrumb)
//!   therefore costs encoding one breadcrumb and copying it, however many are kept.
//!
//! A report carries the process's trail, not a [`with_scope`](crate::with_scope) layer's
//! own breadcrumbs: a native crash can happen on any thread, the handler cannot tell which
//! layers that thread had, and a layer's breadcrumbs end with it. A report is what an event
//! captured outside any layer at the moment of the crash would carry.
//!
//! In a report, the head is the scope blob and the breadcrumbs follow as their own blobs;
//! [`ScopeSnapshot`] reads the head (which may also carry `breadcrumbs` itself).

use std::collections::BTreeMap;

use crate::protocol::Value;
use crate::protocol::json::{self, FromJson, Object};

use crate::protocol::{Breadcrumb, Contexts, Level, Map, Request, User};
use crate::scope::{Part, Scope, ScopeParts};

/// The scope as read back from a report.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ScopeSnapshot {
    pub(crate) release: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) level: Option<Level>,
    pub(crate) fingerprint: Option<Vec<String>>,
    pub(crate) transaction: Option<String>,
    pub(crate) user: Option<User>,
    pub(crate) request: Option<Request>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) extra: Map,
    pub(crate) contexts: Contexts,
    pub(crate) breadcrumbs: Vec<Breadcrumb>,
}

/// Every field may be missing (an older or partial head): it then takes its default.
impl FromJson for ScopeSnapshot {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct ScopeSnapshot")?;
        Ok(ScopeSnapshot {
            release: object.optional("release")?,
            environment: object.optional("environment")?,
            level: object.optional("level")?,
            fingerprint: object.optional("fingerprint")?,
            transaction: object.optional("transaction")?,
            user: object.optional("user")?,
            request: object.optional("request")?,
            tags: object.optional("tags")?,
            extra: object.optional("extra")?,
            contexts: object.optional("contexts")?,
            breadcrumbs: object.optional("breadcrumbs")?,
        })
    }
}

json::deserialize_from_json!(ScopeSnapshot);

/// Where the snapshot goes: the crash handler, or a fake in tests.
pub(crate) trait Handler {
    /// Replaces the head; false when it is too large (the previous one stays).
    fn set_scope(&mut self, head: &[u8]) -> bool;
}

/// Keeps the handler's copy of the scope head in line with the scope.
pub(crate) struct SnapshotWriter {
    /// `"release":…,"environment":…`: from the options, not the scope, but the crashed
    /// process's values are the ones its event must carry.
    fixed: Vec<u8>,
    /// Each part as `"key":value` (empty when unset), with the stamp it was serialized at.
    parts: [(u64, Vec<u8>); Part::COUNT],
    /// Whether the handler has the head as `parts` make it.
    sent: bool,
    /// Reused assembly buffer.
    buf: Vec<u8>,
}

impl SnapshotWriter {
    pub(crate) fn new(release: Option<String>, environment: Option<String>) -> Self {
        let mut fixed = Vec::new();
        for (key, value) in [("release", release), ("environment", environment)] {
            if let Some(value) = value {
                if !fixed.is_empty() {
                    fixed.push(b',');
                }
                push_member(&mut fixed, key, &value);
            }
        }
        SnapshotWriter {
            fixed,
            // No scope part has stamp `u64::MAX`: the first update serializes them all.
            parts: std::array::from_fn(|_| (u64::MAX, Vec::new())),
            sent: false,
            buf: Vec::with_capacity(1024),
        }
    }

    /// Gives the handler everything but the breadcrumbs, serializing again only the parts
    /// whose stamp moved; when it is too large, only release and environment.
    pub(crate) fn update_head(&mut self, scope: &Scope, handler: &mut impl Handler) {
        let view = scope.parts();
        let mut changed = false;
        for part in Part::ALL {
            let stamp = scope.stamp(part);
            let (seen, json) = &mut self.parts[part as usize];
            if *seen == stamp {
                continue;
            }
            *seen = stamp;
            changed = true;
            json.clear();
            serialize_part(&view, part, json);
        }
        if !changed && self.sent {
            return;
        }
        self.buf.clear();
        self.buf.push(b'{');
        for member in std::iter::once(&self.fixed).chain(self.parts.iter().map(|(_, json)| json)) {
            if member.is_empty() {
                continue;
            }
            if self.buf.len() > 1 {
                self.buf.push(b',');
            }
            self.buf.extend_from_slice(member);
        }
        self.buf.push(b'}');
        self.sent = handler.set_scope(&self.buf);
        if !self.sent {
            crate::debug::sdk_debug!(
                "the scope does not fit in crash reports; they keep release and environment only"
            );
            self.buf.clear();
            self.buf.push(b'{');
            self.buf.extend_from_slice(&self.fixed);
            self.buf.push(b'}');
            handler.set_scope(&self.buf);
        }
    }
}

/// Appends `"key":value` for a set part; nothing for an unset or empty one.
fn serialize_part(view: &ScopeParts<'_>, part: Part, out: &mut Vec<u8>) {
    match part {
        Part::Level => view.level.iter().for_each(|v| push_member(out, "level", v)),
        Part::Fingerprint => view
            .fingerprint
            .iter()
            .for_each(|v| push_member(out, "fingerprint", v)),
        Part::Transaction => view
            .transaction
            .iter()
            .for_each(|v| push_member(out, "transaction", v)),
        Part::User => view.user.iter().for_each(|v| push_member(out, "user", v)),
        Part::Request => view
            .request
            .iter()
            .for_each(|v| push_member(out, "request", v)),
        Part::Tags if !view.tags.is_empty() => push_member(out, "tags", view.tags),
        Part::Extra if !view.extra.is_empty() => push_member(out, "extra", view.extra),
        Part::Contexts if !view.contexts.is_empty() => push_member(out, "contexts", view.contexts),
        Part::Tags | Part::Extra | Part::Contexts => {}
    }
}

/// Appends `"key":value`; on a serialization error (which a scope's values cannot cause)
/// nothing.
fn push_member(out: &mut Vec<u8>, key: &str, value: &impl serde::Serialize) {
    let start = out.len();
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.truncate(start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Behaves like the crash handler's scope slot.
    struct Fake {
        head: Vec<u8>,
        max_head: usize,
        heads: usize,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                head: Vec::new(),
                max_head: 64 * 1024,
                heads: 0,
            }
        }

        /// What a report would hold.
        fn report(&self) -> ScopeSnapshot {
            serde_json::from_slice(&self.head).unwrap()
        }
    }

    impl Handler for Fake {
        fn set_scope(&mut self, head: &[u8]) -> bool {
            if head.len() > self.max_head {
                return false;
            }
            self.head = head.to_vec();
            self.heads += 1;
            true
        }
    }

    #[test]
    fn empty_scope_and_release() {
        let mut fake = Fake::new();
        let mut w = SnapshotWriter::new(None, None);
        w.update_head(&Scope::default(), &mut fake);
        assert_eq!(fake.head, b"{}");
        let mut w = SnapshotWriter::new(Some("app@1".into()), Some("prod".into()));
        w.update_head(&Scope::default(), &mut fake);
        let s = fake.report();
        assert_eq!(s.release.as_deref(), Some("app@1"));
        assert_eq!(s.environment.as_deref(), Some("prod"));
    }

    #[test]
    fn round_trips_the_scope() {
        let mut scope = Scope::default();
        scope.set_tag("kind", "segfault");
        scope.set_extra("n", 3);
        scope.set_user(Some(User {
            id: Some("42".into()),
            ..Default::default()
        }));
        scope.set_level(Some(Level::Warning));
        scope.set_fingerprint(Some(&["a", "b"]));
        scope.set_transaction(Some("job"));
        scope.set_context("gpu", Map::new());
        let mut fake = Fake::new();
        let mut w = SnapshotWriter::new(Some("r".into()), None);
        w.update_head(&scope, &mut fake);
        let s = fake.report();
        assert_eq!(s.tags["kind"], "segfault");
        assert_eq!(s.extra["n"], 3);
        assert_eq!(s.user.unwrap().id.as_deref(), Some("42"));
        assert_eq!(s.level, Some(Level::Warning));
        assert_eq!(s.fingerprint.unwrap(), ["a", "b"]);
        assert_eq!(s.transaction.as_deref(), Some("job"));
        assert_eq!(s.contexts["gpu"]["type"], "gpu");
        assert_eq!(s.release.as_deref(), Some("r"));
    }

    #[test]
    fn only_changed_parts_are_serialized_again_and_no_change_sends_nothing() {
        let mut fake = Fake::new();
        let mut w = SnapshotWriter::new(Some("r".into()), Some("prod".into()));
        let mut scope = Scope::default();
        scope.set_tag("a", 1);
        scope.set_user(Some(User {
            id: Some("7".into()),
            ..Default::default()
        }));
        w.update_head(&scope, &mut fake);
        assert_eq!(fake.heads, 1);
        w.update_head(&scope, &mut fake);
        assert_eq!(fake.heads, 1, "nothing changed: nothing sent");

        scope.set_tag("a", 2);
        scope.set_tag("b", "x");
        w.update_head(&scope, &mut fake);
        assert_eq!(fake.heads, 2);
        let s = fake.report();
        assert_eq!((s.tags["a"].as_str(), s.tags["b"].as_str()), ("2", "x"));
        assert_eq!(s.user.unwrap().id.as_deref(), Some("7"), "kept from before");
        assert_eq!(s.environment.as_deref(), Some("prod"));

        // Another scope (a layer) with parts of its own, then back: each as it is.
        let mut other = scope.clone();
        other.remove_tag("b");
        other.set_user(None);
        other.set_level(Some(Level::Error));
        w.update_head(&other, &mut fake);
        let s = fake.report();
        assert!(!s.tags.contains_key("b") && s.user.is_none());
        assert_eq!(s.level, Some(Level::Error));
        w.update_head(&scope, &mut fake);
        let s = fake.report();
        assert_eq!(s.tags["b"], "x");
        assert_eq!(s.level, None);
        scope.clear();
        w.update_head(&scope, &mut fake);
        assert_eq!(fake.head, br#"{"release":"r","environment":"prod"}"#);
    }

    #[test]
    fn a_head_over_the_capacity_keeps_release_and_environment() {
        let mut fake = Fake {
            max_head: 200,
            ..Fake::new()
        };
        let mut scope = Scope::default();
        scope.set_tag("small", "yes");
        let mut w = SnapshotWriter::new(Some("r".into()), None);
        w.update_head(&scope, &mut fake);
        assert_eq!(fake.report().tags["small"], "yes");
        scope.set_extra("big", "y".repeat(5000));
        w.update_head(&scope, &mut fake);
        let s = fake.report();
        assert_eq!(s.release.as_deref(), Some("r"));
        assert!(s.tags.is_empty() && s.extra.is_empty());
    }
}
