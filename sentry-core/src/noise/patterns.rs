//! Patterns for `ignore_errors`, `allow_urls` and `deny_urls`: a plain string that matches
//! as a substring, or a regular expression that matches as a search.

use std::fmt;

use crate::debug::sdk_warn;

/// A pattern tested against a text, such as an error message or a source path.
///
/// A plain string matches anywhere in the text (`"timed out"` matches
/// `"read timed out after 3 s"`); a regular expression matches if it is found anywhere in
/// the text (anchor it with `^` and `$` to match the whole text). Strings convert with
/// [`From`]: a `re:` prefix makes the rest a regular expression, anything else is a
/// substring. The regular expression syntax is that of the `regex` crate (without Unicode
/// classes); `(?i)` makes it case-insensitive.
///
/// ```
/// use sentry_core::Pattern;
///
/// assert_eq!(Pattern::from("timed out"), Pattern::Substring("timed out".into()));
/// assert_eq!(
///     Pattern::from("re:^connection (reset|refused)"),
///     Pattern::Regex("^connection (reset|refused)".into())
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pattern {
    /// Matches when the text contains this string (case-sensitive).
    Substring(String),
    /// Matches when this regular expression is found in the text.
    Regex(String),
}

impl From<&str> for Pattern {
    fn from(text: &str) -> Self {
        match text.strip_prefix("re:") {
            Some(regex) => Pattern::Regex(regex.to_owned()),
            None => Pattern::Substring(text.to_owned()),
        }
    }
}

impl From<String> for Pattern {
    fn from(text: String) -> Self {
        Pattern::from(text.as_str())
    }
}

impl From<&String> for Pattern {
    fn from(text: &String) -> Self {
        Pattern::from(text.as_str())
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Substring(text) => write!(f, "{text:?}"),
            Pattern::Regex(regex) => write!(f, "re:{regex:?}"),
        }
    }
}

/// One compiled pattern.
#[derive(Debug)]
enum Compiled {
    Substring(String),
    Regex(regex_lite::Regex),
}

/// Patterns compiled once at client start. An invalid regular expression is reported on
/// stderr and left out: a typo in a filter must not stop the SDK from reporting.
#[derive(Debug, Default)]
pub(crate) struct PatternSet {
    patterns: Vec<(Pattern, Compiled)>,
}

impl PatternSet {
    /// Compiles `patterns`; `option` names the option in the warning for a bad one.
    pub(crate) fn new(patterns: &[Pattern], option: &str) -> Self {
        let patterns = patterns
            .iter()
            .filter_map(|pattern| {
                let compiled = match pattern {
                    Pattern::Substring(text) => Compiled::Substring(text.clone()),
                    Pattern::Regex(regex) => match regex_lite::Regex::new(regex) {
                        Ok(regex) => Compiled::Regex(regex),
                        Err(error) => {
                            sdk_warn!("{option}: {pattern} is not a valid regular expression and is ignored: {error}");
                            return None;
                        }
                    },
                };
                Some((pattern.clone(), compiled))
            })
            .collect();
        PatternSet { patterns }
    }

    /// Whether there is no pattern.
    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The first pattern that matches `text`, if any.
    pub(crate) fn find(&self, text: &str) -> Option<&Pattern> {
        self.patterns
            .iter()
            .find(|(_, compiled)| match compiled {
                Compiled::Substring(needle) => text.contains(needle.as_str()),
                Compiled::Regex(regex) => regex.is_match(text),
            })
            .map(|(pattern, _)| pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_and_regexes_search() {
        let set = PatternSet::new(
            &[
                "timed out".into(),
                "re:^connection (reset|refused)$".into(),
                "re:(?i)BROKEN pipe".into(),
            ],
            "test",
        );
        assert!(set.find("read timed out after 3 s").is_some());
        assert!(set.find("connection refused").is_some());
        assert!(set.find("the connection refused").is_none());
        assert!(set.find("Broken Pipe").is_some());
        assert!(set.find("all good").is_none());
    }

    #[test]
    fn an_invalid_regex_is_left_out() {
        let set = PatternSet::new(&["re:(unclosed".into(), "ok".into()], "test");
        assert_eq!(set.patterns.len(), 1);
        assert!(set.find("(unclosed").is_none());
        assert!(set.find("ok").is_some());
    }
}
