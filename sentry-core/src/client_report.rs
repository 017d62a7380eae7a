//! Client reports: the counts of dropped events, sent to the server so that what never
//! arrived shows up in its stats.
//!
//! The payload is the envelope item `client_report`
//! (<https://develop.sentry.dev/sdk/telemetry/client-reports/>):
//!
//! ```json
//! {"timestamp": 1764000000, "discarded_events": [
//!   {"reason": "event_processor", "category": "error", "quantity": 999}
//! ]}
//! ```
//!
//! Counts are cumulative in [`DropCounters`]; a report carries what was dropped since the
//! previous one. The worker sends one at most every [`INTERVAL`] while there is something
//! to report, and one at every flush and at shutdown. A report that cannot be delivered is
//! kept in the outbox like any envelope; drops of reports themselves are not counted,
//! which would only make another report.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Serialize, Serializer};

use crate::stats::{DropCounters, DropReason};

/// How often, at most, a report is sent while events are being dropped.
pub(crate) const INTERVAL: Duration = Duration::from_secs(30);

struct Report {
    timestamp: u64,
    discarded_events: Vec<Discarded>,
}

struct Discarded {
    reason: &'static str,
    category: &'static str,
    quantity: u64,
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = crate::protocol::json::object(serializer)?;
        fields.field("timestamp", &self.timestamp)?;
        fields.field("discarded_events", &self.discarded_events)?;
        fields.end()
    }
}

impl Serialize for Discarded {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = crate::protocol::json::object(serializer)?;
        fields.field("reason", &self.reason)?;
        fields.field("category", &self.category)?;
        fields.field("quantity", &self.quantity)?;
        fields.end()
    }
}

struct State {
    reported: [u64; DropReason::ALL.len()],
    last_sent: Instant,
}

/// What a client has already reported.
pub(crate) struct ClientReports {
    enabled: bool,
    state: Mutex<State>,
}

impl ClientReports {
    pub(crate) fn new(enabled: bool) -> Self {
        ClientReports {
            enabled,
            state: Mutex::new(State {
                reported: [0; DropReason::ALL.len()],
                last_sent: Instant::now(),
            }),
        }
    }

    /// The payload of a report of what was dropped since the last one, if anything was and
    /// a report is due (`force`: now). Taking it counts it as reported.
    pub(crate) fn take(&self, drops: &DropCounters, force: bool) -> Option<Vec<u8>> {
        if !self.enabled {
            return None;
        }
        let mut state = self.state.lock();
        if !force && state.last_sent.elapsed() < INTERVAL {
            return None;
        }
        let current = drops.snapshot();
        let discarded_events: Vec<Discarded> = DropReason::ALL
            .iter()
            .zip(current.iter().zip(state.reported.iter()))
            .filter(|(_, (now, before))| now > before)
            .map(|(reason, (now, before))| Discarded {
                reason: reason.as_str(),
                // Every envelope this SDK sends today carries an error event.
                category: "error",
                quantity: now - before,
            })
            .collect();
        if discarded_events.is_empty() {
            return None;
        }
        state.reported = current;
        state.last_sent = Instant::now();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        serde_json::to_vec(&Report {
            timestamp,
            discarded_events,
        })
        .ok()
    }

    /// How long until a report is due, when there is something to report.
    pub(crate) fn next_due(&self, drops: &DropCounters) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        let state = self.state.lock();
        let pending = drops
            .snapshot()
            .iter()
            .zip(state.reported.iter())
            .any(|(now, before)| now > before);
        pending.then(|| INTERVAL.saturating_sub(state.last_sent.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_carry_what_was_dropped_since_the_last_one() {
        let reports = ClientReports::new(true);
        let drops = DropCounters::default();
        assert!(reports.take(&drops, true).is_none(), "nothing to report");
        for _ in 0..3 {
            drops.record(DropReason::EventProcessor);
        }
        drops.record(DropReason::SampleRate);
        assert!(reports.take(&drops, false).is_none(), "not due yet");
        assert!(reports.next_due(&drops).is_some());
        let payload = reports.take(&drops, true).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        assert!(json["timestamp"].as_u64().unwrap() > 1_700_000_000);
        let discarded = json["discarded_events"].as_array().unwrap();
        assert_eq!(discarded.len(), 2);
        assert!(discarded.contains(&serde_json::json!(
            {"reason": "sample_rate", "category": "error", "quantity": 1}
        )));
        assert!(discarded.contains(&serde_json::json!(
            {"reason": "event_processor", "category": "error", "quantity": 3}
        )));
        drops.record(DropReason::EventProcessor);
        let json: serde_json::Value =
            serde_json::from_slice(&reports.take(&drops, true).unwrap()).unwrap();
        assert_eq!(json["discarded_events"][0]["quantity"], 1);
        assert!(reports.next_due(&drops).is_none());
    }

    #[test]
    fn disabled_reports_send_nothing() {
        let reports = ClientReports::new(false);
        let drops = DropCounters::default();
        drops.record(DropReason::QueueOverflow);
        assert!(reports.take(&drops, true).is_none());
    }
}
