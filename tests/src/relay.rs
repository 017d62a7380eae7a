//! Checking events against Sentry Relay's own normalizer (the `sentry-relay` Python package).
//!
//! Bugsink stores whatever it is sent, so it cannot tell whether an event would survive sentry.io. Relay is what
//! sentry.io runs on ingest; an event it reports no error for is one Sentry would accept as written.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::venv::{support_dir, venv_python};

/// What Relay made of one event.
#[derive(Debug, Clone)]
pub struct RelayReport {
    /// The event as Relay would store it (defaults filled in, invalid values removed).
    pub normalized: Value,
    /// Every problem Relay reported, from its `errors` list and from `err` entries in `_meta`; empty if valid.
    pub errors: Vec<String>,
}

/// Runs all `events` through Relay's `StoreNormalizer` in one Python call, returning one report per event.
///
/// # Panics
///
/// If the Python side cannot be run (the venv is bootstrapped first if needed).
pub fn relay_check_all(events: &[Value]) -> Vec<RelayReport> {
    let python = venv_python();
    let script = support_dir().join("relay_check.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("e2e: cannot run {}: {e}", python.display()));
    let input = serde_json::to_vec(events).expect("events serialize");
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Written from another thread: a large batch could fill the stdout pipe before stdin is fully written.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("e2e: waiting for {} failed: {e}", script.display()));
    let written = writer.join().expect("writer thread does not panic");
    if !output.status.success() {
        panic!(
            "e2e: {} failed ({}):\n{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    written.unwrap_or_else(|e| panic!("e2e: writing events to {} failed: {e}", script.display()));
    let results: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("e2e: {} printed no JSON list: {e}", script.display()));
    assert_eq!(
        results.len(),
        events.len(),
        "e2e: one Relay report per event"
    );
    results
        .into_iter()
        .map(|mut r| RelayReport {
            normalized: r["normalized"].take(),
            errors: r["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// Relay's problems with one event; empty when Relay accepts it as it is.
pub fn relay_errors(event: &Value) -> Vec<String> {
    relay_check_all(std::slice::from_ref(event))
        .pop()
        .expect("one report for one event")
        .errors
}

/// The event as Relay normalizes it (what sentry.io would store).
pub fn relay_normalize(event: &Value) -> Value {
    relay_check_all(std::slice::from_ref(event))
        .pop()
        .expect("one report for one event")
        .normalized
}

/// Panics, listing Relay's errors and the event, unless Relay accepts `event` without any error.
pub fn assert_relay_valid(event: &Value) {
    assert_all_relay_valid(std::slice::from_ref(event));
}

/// Like [`assert_relay_valid`] for many events, in a single Python call; reports every invalid event at once.
pub fn assert_all_relay_valid(events: &[Value]) {
    let failures: Vec<String> = relay_check_all(events)
        .into_iter()
        .zip(events)
        .enumerate()
        .filter(|(_, (report, _))| !report.errors.is_empty())
        .map(|(i, (report, event))| {
            format!(
                "event #{i}:\n  {}\n  payload: {}",
                report.errors.join("\n  "),
                serde_json::to_string_pretty(event).unwrap_or_default()
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "Relay rejects {} of {} event(s):\n{}",
        failures.len(),
        events.len(),
        failures.join("\n")
    );
}
