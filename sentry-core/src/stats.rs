//! Counts of what the SDK dropped, and why.
//!
//! Capturing never fails: when the SDK has to drop an event it counts it here under a
//! reason, logs it when `debug` is on, and reports the counts to the server as client
//! reports so a user can see what never arrived.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why the SDK dropped an event. The names are those of Sentry's client reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DropReason {
    /// The queue to the background worker was full.
    QueueOverflow,
    /// The on-disk outbox was full and its oldest envelope was evicted.
    CacheOverflow,
    /// `sample_rate` left the event out.
    SampleRate,
    /// `before_send` returned `None`.
    BeforeSend,
    /// An event processor (dedupe, filters) dropped it.
    EventProcessor,
    /// The network or the server failed and the event could not be kept for later.
    NetworkError,
    /// The server refused the event.
    SendError,
    /// The server's rate limit for its category was in force.
    RateLimitBackoff,
}

impl DropReason {
    /// Every reason, in a fixed order.
    pub const ALL: [DropReason; 8] = [
        DropReason::QueueOverflow,
        DropReason::CacheOverflow,
        DropReason::SampleRate,
        DropReason::BeforeSend,
        DropReason::EventProcessor,
        DropReason::NetworkError,
        DropReason::SendError,
        DropReason::RateLimitBackoff,
    ];

    /// The reason's name in a client report.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::QueueOverflow => "queue_overflow",
            DropReason::CacheOverflow => "cache_overflow",
            DropReason::SampleRate => "sample_rate",
            DropReason::BeforeSend => "before_send",
            DropReason::EventProcessor => "event_processor",
            DropReason::NetworkError => "network_error",
            DropReason::SendError => "send_error",
            DropReason::RateLimitBackoff => "ratelimit_backoff",
        }
    }

    fn index(self) -> usize {
        DropReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Drop counters of one client, safe to bump from any thread.
#[derive(Debug, Default)]
pub(crate) struct DropCounters {
    counts: [AtomicU64; DropReason::ALL.len()],
}

impl DropCounters {
    /// Counts one dropped event.
    pub(crate) fn record(&self, reason: DropReason) {
        self.counts[reason.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// The count for one reason.
    pub(crate) fn get(&self, reason: DropReason) -> u64 {
        self.counts[reason.index()].load(Ordering::Relaxed)
    }
}
