//! Size limits: what the server would cut or refuse is cut here first.
//!
//! The numbers are Relay's (the server side of sentry.io, also what self-hosted Sentry
//! runs): messages, exception values and breadcrumb messages are trimmed to 8192
//! characters, exception types to 256, tag values to 200, breadcrumb types and categories
//! to 128; a stack trace keeps its 250 newest frames; an event item over 1 MiB is refused
//! whole. Trimming ends a text with `...` within the limit, as Relay does. An event that is
//! still too large loses breadcrumbs (oldest first), then extra data (largest first), so
//! that the error itself arrives.
//!
//! Runs on the worker, last before serialization.

use std::io::Write;

use crate::debug::sdk_debug;
use crate::protocol::Event;

/// Relay's limit for `message` / `logentry.formatted`.
pub const MAX_MESSAGE_CHARS: usize = 8192;
/// Relay's limit for an exception's `value`.
pub const MAX_EXCEPTION_VALUE_CHARS: usize = 8192;
/// Relay's limit for an exception's `type` and `module`.
pub const MAX_EXCEPTION_TYPE_CHARS: usize = 256;
/// Relay's limit for a breadcrumb's `message`.
pub const MAX_BREADCRUMB_MESSAGE_CHARS: usize = 8192;
/// Relay's limit for a breadcrumb's `type` and `category`.
pub const MAX_BREADCRUMB_CATEGORY_CHARS: usize = 128;
/// Relay's limit for a tag value.
pub const MAX_TAG_VALUE_CHARS: usize = 200;
/// Relay keeps this many frames of a stack trace, the newest.
pub const MAX_FRAMES: usize = 250;
/// Relay's default `max_event_size`: a larger event item is refused.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Trims `text` to `max` characters, the last three being `...`.
fn truncate(text: &mut String, max: usize) {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return;
    };
    let keep = text[..cut]
        .char_indices()
        .nth(max.saturating_sub(3))
        .map_or(cut, |(at, _)| at);
    text.truncate(keep);
    text.push_str("...");
}

fn truncate_opt(text: &mut Option<String>, max: usize) {
    if let Some(text) = text {
        truncate(text, max);
    }
}

/// Applies every limit to `event`.
pub(crate) fn apply(event: &mut Event) {
    truncate_opt(&mut event.message, MAX_MESSAGE_CHARS);
    for exception in event.exception.iter_mut().flat_map(|e| e.values.iter_mut()) {
        truncate(&mut exception.ty, MAX_EXCEPTION_TYPE_CHARS);
        truncate_opt(&mut exception.module, MAX_EXCEPTION_TYPE_CHARS);
        truncate_opt(&mut exception.value, MAX_EXCEPTION_VALUE_CHARS);
    }
    for value in event.tags.values_mut() {
        truncate(value, MAX_TAG_VALUE_CHARS);
    }
    for crumb in event
        .breadcrumbs
        .iter_mut()
        .flat_map(|b| b.values.iter_mut())
    {
        truncate_opt(&mut crumb.message, MAX_BREADCRUMB_MESSAGE_CHARS);
        truncate_opt(&mut crumb.category, MAX_BREADCRUMB_CATEGORY_CHARS);
        truncate(&mut crumb.ty, MAX_BREADCRUMB_CATEGORY_CHARS);
    }
    for trace in event.stacktraces_mut() {
        let len = trace.frames.len();
        if len > MAX_FRAMES {
            // Frames are oldest first: the newest, where the error happened, are at the end.
            trace.frames.drain(..len - MAX_FRAMES);
        }
    }
    shrink(event, MAX_EVENT_BYTES);
}

/// Counts bytes without keeping them.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of `value` serialized as JSON.
fn json_size(value: &impl serde::Serialize) -> usize {
    let mut counter = Counter(0);
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Removes breadcrumbs, then extra data, until `event` serializes to at most `limit` bytes.
pub(crate) fn shrink(event: &mut Event, limit: usize) {
    let mut size = json_size(event);
    if size <= limit {
        return;
    }
    let original = size;
    while size > limit {
        let Some(crumbs) = event.breadcrumbs.as_mut().filter(|b| !b.values.is_empty()) else {
            break;
        };
        // Halving keeps the number of re-measurements logarithmic.
        let drop = crumbs.values.len().div_ceil(2);
        crumbs.values.drain(..drop);
        if crumbs.values.is_empty() {
            event.breadcrumbs = None;
        }
        size = json_size(event);
    }
    while size > limit {
        let largest = event
            .extra
            .iter()
            .max_by_key(|(_, value)| json_size(value))
            .map(|(key, _)| key.clone());
        let Some(key) = largest else { break };
        event.extra.remove(&key);
        size = json_size(event);
    }
    sdk_debug!(
        "event {} was {original} bytes, over the server's limit of {limit}: shrunk to {size} bytes{}",
        event.event_id.simple(),
        if size > limit {
            "; the server may still refuse it"
        } else {
            ""
        }
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::{Breadcrumb, Breadcrumbs, Exception, Exceptions, Frame, Stacktrace};

    #[test]
    fn texts_are_trimmed_to_relay_limits() {
        let mut event = Event {
            message: Some("é".repeat(10_000)),
            exception: Some(Exceptions {
                values: vec![Exception {
                    ty: "T".repeat(300),
                    value: Some("v".repeat(9000)),
                    ..Default::default()
                }],
            }),
            breadcrumbs: Some(Breadcrumbs {
                values: vec![Breadcrumb::new("b".repeat(9000)).category("c".repeat(200))],
            }),
            ..Event::default()
        };
        event.tags.insert("t".into(), "x".repeat(201));
        apply(&mut event);
        let message = event.message.as_deref().unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(message.ends_with("é..."));
        let exception = &event.exception.as_ref().unwrap().values[0];
        assert_eq!(exception.ty.len(), MAX_EXCEPTION_TYPE_CHARS);
        assert_eq!(
            exception.value.as_ref().unwrap().len(),
            MAX_EXCEPTION_VALUE_CHARS
        );
        let crumb = &event.breadcrumbs.as_ref().unwrap().values[0];
        assert_eq!(
            crumb.message.as_ref().unwrap().len(),
            MAX_BREADCRUMB_MESSAGE_CHARS
        );
        assert_eq!(
            crumb.category.as_ref().unwrap().len(),
            MAX_BREADCRUMB_CATEGORY_CHARS
        );
        assert_eq!(event.tags["t"].len(), MAX_TAG_VALUE_CHARS);
        let mut short = "short".to_owned();
        truncate(&mut short, 5);
        assert_eq!(short, "short");
    }

    #[test]
    fn the_newest_frames_are_kept() {
        let frames = (0..300)
            .map(|n| Frame {
                lineno: Some(n),
                ..Default::default()
            })
            .collect();
        let mut event = Event {
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
        };
        apply(&mut event);
        let frames = &event.exception.unwrap().values[0]
            .stacktrace
            .take()
            .unwrap()
            .frames;
        assert_eq!(frames.len(), MAX_FRAMES);
        assert_eq!(frames.first().unwrap().lineno, Some(50));
        assert_eq!(frames.last().unwrap().lineno, Some(299));
    }

    #[test]
    fn a_large_event_loses_breadcrumbs_then_extra() {
        let mut event = Event {
            message: Some("keep me".into()),
            breadcrumbs: Some(Breadcrumbs {
                values: (0..100)
                    .map(|n| Breadcrumb::new(format!("{n}: {}", "b".repeat(8000))))
                    .collect(),
            }),
            ..Event::default()
        };
        event.extra.insert("small".into(), json!("s"));
        event
            .extra
            .insert("blob".into(), json!("x".repeat(600_000)));
        shrink(&mut event, 700_000);
        assert!(json_size(&event) <= 700_000);
        assert_eq!(event.extra["blob"].as_str().unwrap().len(), 600_000);
        let crumbs = &event.breadcrumbs.as_ref().unwrap().values;
        assert!(!crumbs.is_empty() && crumbs.len() < 100);
        // The newest breadcrumbs are the ones kept.
        assert!(
            crumbs
                .last()
                .unwrap()
                .message
                .as_ref()
                .unwrap()
                .starts_with("99:")
        );

        event
            .extra
            .insert("blob2".into(), json!("y".repeat(600_000)));
        shrink(&mut event, 700_000);
        assert!(event.breadcrumbs.is_none());
        assert_eq!(event.extra.len(), 2);
        assert!(event.extra.contains_key("small"));
        assert_eq!(event.message.as_deref(), Some("keep me"));
    }
}
