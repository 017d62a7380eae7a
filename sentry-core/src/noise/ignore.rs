//! `ignore_errors`: drops events whose message or outermost error matches a pattern.
//!
//! It runs on the calling thread, before the event is queued, so an ignored error costs
//! a few string searches and nothing else: no scope merge, no stack resolution, no queue
//! slot.

use std::fmt::Write;

use super::patterns::{Pattern, PatternSet};
use crate::protocol::Event;

/// The `ignore_errors` patterns of a client.
#[derive(Debug, Default)]
pub(crate) struct IgnoreErrors {
    patterns: PatternSet,
}

impl IgnoreErrors {
    pub(crate) fn new(patterns: &[Pattern]) -> Self {
        IgnoreErrors {
            patterns: PatternSet::new(patterns, "ignore_errors"),
        }
    }

    /// The pattern that makes `event` ignored, if any. Tested against the message, the
    /// outermost exception's value, and `"type: value"` of the outermost exception (so a
    /// pattern can name the type, `"ConnectionError: "`, or both).
    pub(crate) fn matching(&self, event: &Event) -> Option<&Pattern> {
        if self.patterns.is_empty() {
            return None;
        }
        if let Some(found) = event.message.as_deref().and_then(|m| self.patterns.find(m)) {
            return Some(found);
        }
        let outermost = event.exception.as_ref()?.values.last()?;
        let value = outermost.value.as_deref().unwrap_or("");
        if let Some(found) = self.patterns.find(value) {
            return Some(found);
        }
        let mut both = String::with_capacity(outermost.ty.len() + 2 + value.len());
        let _ = write!(both, "{}: {value}", outermost.ty);
        self.patterns.find(&both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Exception, Exceptions};

    fn error(ty: &str, value: &str) -> Event {
        Event {
            exception: Some(Exceptions {
                values: vec![
                    Exception {
                        ty: "Root".into(),
                        value: Some("root cause".into()),
                        ..Default::default()
                    },
                    Exception {
                        ty: ty.into(),
                        value: Some(value.into()),
                        ..Default::default()
                    },
                ],
            }),
            ..Event::default()
        }
    }

    #[test]
    fn matches_message_value_and_type_with_value() {
        let ignore = IgnoreErrors::new(&[
            "healthcheck".into(),
            "re:^Timeout: ".into(),
            "broken pipe".into(),
        ]);
        let message = Event {
            message: Some("healthcheck failed".into()),
            ..Event::default()
        };
        assert!(ignore.matching(&message).is_some());
        assert!(ignore.matching(&error("Timeout", "after 3 s")).is_some());
        assert!(ignore.matching(&error("Io", "broken pipe")).is_some());
        assert!(ignore.matching(&error("Io", "disk full")).is_none());
        // Only the outermost error counts: the root cause is not the error the program saw.
        let ignore = IgnoreErrors::new(&["root cause".into()]);
        assert!(ignore.matching(&error("Io", "disk full")).is_none());
    }
}
