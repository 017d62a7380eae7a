//! Hand-made envelopes, for testing the harness itself without the SDK.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::bugsink::Project;

/// A fresh random event id: 32 lowercase hex digits, shaped as a version-4 UUID as Sentry expects.
pub fn new_event_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // std's RandomState is seeded from the OS, which is random enough for ids and avoids a dependency.
    let word = |salt: u64| {
        let mut h = RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u64(salt);
        h.write_u128(
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        h.finish()
    };
    let bits = (u128::from(word(1)) << 64 | u128::from(word(2))) & !(0xf << 76) & !(0x3 << 62);
    let bits = bits | 0x4 << 76 | 0x2 << 62;
    format!("{bits:032x}")
}

/// Wraps one event in an envelope: header with the event's `event_id`, one `event` item with an explicit length.
///
/// # Panics
///
/// If `event` has no string `event_id` (Bugsink rejects event envelopes without one in the header).
pub fn event_envelope(event: &Value) -> Vec<u8> {
    let event_id = event["event_id"]
        .as_str()
        .expect("the event has a string event_id");
    let payload = serde_json::to_vec(event).expect("event serializes");
    let mut out = serde_json::to_vec(&json!({"event_id": event_id})).expect("header serializes");
    out.push(b'\n');
    let item_header =
        json!({"type": "event", "length": payload.len(), "content_type": "application/json"});
    out.extend(serde_json::to_vec(&item_header).expect("item header serializes"));
    out.push(b'\n');
    out.extend(payload);
    out.push(b'\n');
    out
}

/// What the server answered to an envelope.
#[derive(Debug, Clone)]
pub struct IngestResponse {
    /// HTTP status code.
    pub status: u16,
    /// The `X-Sentry-Rate-Limits` header, if any.
    pub rate_limits: Option<String>,
    /// The response body.
    pub body: String,
}

/// Posts a raw envelope to `project`'s envelope endpoint, authenticated by an `X-Sentry-Auth` header.
///
/// HTTP error statuses are returned, not raised, so tests can assert on them.
///
/// # Panics
///
/// If no HTTP response arrives at all.
pub fn send_envelope(project: &Project, envelope: &[u8]) -> IngestResponse {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let auth = format!(
        "Sentry sentry_version=7, sentry_key={}, sentry_client=e2e-harness/{}",
        project.public_key(),
        env!("CARGO_PKG_VERSION")
    );
    let url = project.envelope_url();
    let mut response = agent
        .post(&url)
        .header("X-Sentry-Auth", &auth)
        .header("Content-Type", "application/x-sentry-envelope")
        .send(envelope)
        .unwrap_or_else(|e| panic!("e2e: POST {url} failed: {e}"));
    IngestResponse {
        status: response.status().as_u16(),
        rate_limits: response
            .headers()
            .get("x-sentry-rate-limits")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: response.body_mut().read_to_string().unwrap_or_default(),
    }
}
