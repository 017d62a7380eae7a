//! Dedupe on the worker: an event identical to the previous one, within the repeat window,
//! is dropped and counted; the count goes with the next identical event that is sent.
//!
//! "Identical" is the full comparison the calling thread cannot afford: the message, the
//! outermost exception's type and value, the fingerprint after the scope was merged, and
//! the frames of the error's stack trace by function, file and line. On the usual path the
//! loop guard has already held back repeats before they were queued; this catches what
//! reaches the worker by other ways (a panic prepared on its own thread, an event
//! captured with a hand-built stack trace) and repeats whose instruction addresses differ
//! but whose source locations do not.

use std::hash::{Hash, Hasher};

use parking_lot::Mutex;

use super::urls::error_stacktrace;
use crate::protocol::Event;

/// What dedupe decided about one event.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Send it; `repeats` identical events before it were dropped and are reported with it.
    Keep { repeats: u64 },
    /// Identical to the previous event inside the window: dropped. Carries the count so far.
    Drop { repeats: u64 },
}

#[derive(Debug)]
struct Last {
    identity: u64,
    /// Event timestamp of the last event kept with this identity.
    kept_at: f64,
    /// Repeats dropped since then.
    dropped: u64,
}

/// The dedupe state of a client: the identity of the previous event.
#[derive(Debug)]
pub(crate) struct Dedupe {
    window_secs: f64,
    last: Mutex<Option<Last>>,
}

impl Dedupe {
    pub(crate) fn new(window: std::time::Duration) -> Self {
        Dedupe {
            window_secs: window.as_secs_f64(),
            last: Mutex::new(None),
        }
    }

    /// Compares `event` with the previous event and remembers it.
    pub(crate) fn check(&self, event: &Event) -> Verdict {
        let identity = identity(event);
        let now = event.timestamp;
        let mut last = self.last.lock();
        if let Some(previous) = last.as_mut().filter(|l| l.identity == identity) {
            let age = now - previous.kept_at;
            if (0.0..self.window_secs).contains(&age) {
                previous.dropped += 1;
                return Verdict::Drop {
                    repeats: previous.dropped,
                };
            }
            let repeats = std::mem::take(&mut previous.dropped);
            previous.kept_at = now;
            return Verdict::Keep { repeats };
        }
        *last = Some(Last {
            identity,
            kept_at: now,
            dropped: 0,
        });
        Verdict::Keep { repeats: 0 }
    }
}

/// The full identity of an event, as a hash.
fn identity(event: &Event) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    event.message.hash(&mut hasher);
    if let Some(outermost) = event.exception.as_ref().and_then(|e| e.values.last()) {
        outermost.ty.hash(&mut hasher);
        outermost.value.hash(&mut hasher);
    }
    event.fingerprint.hash(&mut hasher);
    if let Some(trace) = error_stacktrace(event) {
        for frame in &trace.frames {
            frame.function.hash(&mut hasher);
            frame
                .abs_path
                .as_ref()
                .or(frame.filename.as_ref())
                .hash(&mut hasher);
            frame.lineno.hash(&mut hasher);
        }
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::protocol::{Exception, Exceptions, Frame, Stacktrace};

    fn error_at(value: &str, line: u32, at: f64) -> Event {
        Event {
            timestamp: at,
            exception: Some(Exceptions {
                values: vec![Exception {
                    ty: "Io".into(),
                    value: Some(value.into()),
                    stacktrace: Some(Stacktrace {
                        frames: vec![Frame {
                            function: Some("app::load".into()),
                            filename: Some("src/load.rs".into()),
                            lineno: Some(line),
                            ..Default::default()
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            }),
            ..Event::default()
        }
    }

    #[test]
    fn identical_events_inside_the_window_are_dropped_and_counted() {
        let dedupe = Dedupe::new(Duration::from_secs(1));
        assert_eq!(
            dedupe.check(&error_at("disk full", 10, 5.0)),
            Verdict::Keep { repeats: 0 }
        );
        assert_eq!(
            dedupe.check(&error_at("disk full", 10, 5.1)),
            Verdict::Drop { repeats: 1 }
        );
        assert_eq!(
            dedupe.check(&error_at("disk full", 10, 5.2)),
            Verdict::Drop { repeats: 2 }
        );
        // After the window the next one is sent with what was dropped.
        assert_eq!(
            dedupe.check(&error_at("disk full", 10, 6.0)),
            Verdict::Keep { repeats: 2 }
        );
    }

    #[test]
    fn a_different_line_value_or_fingerprint_is_a_different_event() {
        let dedupe = Dedupe::new(Duration::from_secs(1));
        let base = error_at("disk full", 10, 5.0);
        assert_eq!(dedupe.check(&base), Verdict::Keep { repeats: 0 });
        let other_line = error_at("disk full", 11, 5.1);
        assert_eq!(dedupe.check(&other_line), Verdict::Keep { repeats: 0 });
        let other_value = error_at("disk gone", 11, 5.2);
        assert_eq!(dedupe.check(&other_value), Verdict::Keep { repeats: 0 });
        let mut fingerprinted = error_at("disk gone", 11, 5.3);
        fingerprinted.fingerprint = vec!["custom".into()];
        assert_eq!(dedupe.check(&fingerprinted), Verdict::Keep { repeats: 0 });
    }
}
