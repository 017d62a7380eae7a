//! `allow_urls` and `deny_urls`: keep or drop events by the source file where the error
//! happened.
//!
//! Runs on the worker, once stack traces are resolved: the path is the newest frame with
//! a path (`abs_path`, else `filename`) of the stack trace that describes the error, which
//! is the outermost exception's, else the thread that raised the event. An event without
//! such a path is kept: there is nothing to judge it by.

use super::patterns::{Pattern, PatternSet};
use crate::protocol::{Event, Stacktrace};

/// The `allow_urls` and `deny_urls` patterns of a client.
#[derive(Debug, Default)]
pub(crate) struct UrlFilter {
    allow: PatternSet,
    deny: PatternSet,
}

impl UrlFilter {
    pub(crate) fn new(allow: &[Pattern], deny: &[Pattern]) -> Self {
        UrlFilter {
            allow: PatternSet::new(allow, "allow_urls"),
            deny: PatternSet::new(deny, "deny_urls"),
        }
    }

    /// Why `event` is dropped, or `None` to keep it.
    pub(crate) fn rejects(&self, event: &Event) -> Option<String> {
        if self.allow.is_empty() && self.deny.is_empty() {
            return None;
        }
        let path = source_path(event)?;
        if let Some(pattern) = self.deny.find(path) {
            return Some(format!("deny_urls {pattern} matches {path:?}"));
        }
        if !self.allow.is_empty() && self.allow.find(path).is_none() {
            return Some(format!("no allow_urls pattern matches {path:?}"));
        }
        None
    }
}

/// The source path of the frame where the error happened, if any frame has one.
pub(crate) fn source_path(event: &Event) -> Option<&str> {
    error_stacktrace(event)?
        .frames
        .iter()
        .rev()
        .find_map(|frame| frame.abs_path.as_deref().or(frame.filename.as_deref()))
}

/// The stack trace that describes where the error happened.
pub(crate) fn error_stacktrace(event: &Event) -> Option<&Stacktrace> {
    let from_exception = event
        .exception
        .iter()
        .flat_map(|e| e.values.iter().rev())
        .find_map(|e| e.stacktrace.as_ref());
    from_exception.or_else(|| {
        let threads = event.threads.as_ref()?;
        let raised = threads
            .values
            .iter()
            .find(|t| t.crashed == Some(true) || t.current == Some(true));
        raised.or(threads.values.first())?.stacktrace.as_ref()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Exception, Exceptions, Frame};

    fn raised_in(paths: &[Option<&str>]) -> Event {
        let frames = paths
            .iter()
            .map(|path| Frame {
                abs_path: path.map(str::to_owned),
                ..Default::default()
            })
            .collect();
        Event {
            exception: Some(Exceptions {
                values: vec![Exception {
                    ty: "E".into(),
                    stacktrace: Some(Stacktrace {
                        frames,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            }),
            ..Event::default()
        }
    }

    #[test]
    fn the_newest_frame_with_a_path_decides() {
        let event = raised_in(&[Some("/app/src/main.rs"), Some("/vendor/lib.rs"), None]);
        assert_eq!(source_path(&event), Some("/vendor/lib.rs"));
        let deny = UrlFilter::new(&[], &["/vendor/".into()]);
        assert!(deny.rejects(&event).is_some());
        let allow = UrlFilter::new(&["re:^/app/".into()], &[]);
        assert!(allow.rejects(&event).is_some());
        let allow = UrlFilter::new(&["/vendor/".into()], &[]);
        assert!(allow.rejects(&event).is_none());
    }

    #[test]
    fn events_without_a_path_are_kept() {
        let filter = UrlFilter::new(&["/app/".into()], &["re:.".into()]);
        assert!(filter.rejects(&raised_in(&[None, None])).is_none());
        assert!(filter.rejects(&Event::default()).is_none());
    }
}
