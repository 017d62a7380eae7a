//! Where the process's breadcrumbs live, seen from the events: in the crash handler's ring
//! while it has room for `max_breadcrumbs`, in a locked log otherwise, and moved between the
//! two when a later init changes the maximum.
//!
//! The ring is sized by the first init of the process and never changes, so the whole
//! sequence is one test, in a process of its own (this file).

#![cfg(all(
    feature = "native-crash",
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use sentry_core::protocol::{Breadcrumb, Level};
use sentry_core::transport::{CollectedEnvelopes, MemoryTransport};
use sentry_core::{ClientInitGuard, ClientOptions};
use serde_json::Value;

fn init(max: usize, database: &std::path::Path) -> (ClientInitGuard, CollectedEnvelopes) {
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let guard = sentry_core::init(
        ClientOptions::new()
            .max_breadcrumbs(max)
            .database_path(database)
            .transport(move |_| Box::new(slot.lock().take().expect("one client"))),
    );
    (guard, collected)
}

/// Captures a message (each different: the SDK drops an event that repeats the previous
/// one) and returns its event.
fn capture(collected: &CollectedEnvelopes) -> Value {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    sentry_core::capture_message(&format!("look {n}"), Level::Info);
    assert!(sentry_core::flush(Duration::from_secs(10)));
    let event = collected.event_json().pop().expect("an event");
    assert_eq!(event["message"], format!("look {n}"));
    event
}

/// The messages of the breadcrumbs of a new event.
fn captured(collected: &CollectedEnvelopes) -> Vec<String> {
    crumbs(&capture(collected))
        .iter()
        .map(|c| c["message"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn crumbs(event: &Value) -> Vec<Value> {
    event["breadcrumbs"]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn add(text: impl Into<String>) {
    sentry_core::add_breadcrumb(Breadcrumb::new(text.into()));
}

/// The records in the crash handler's ring, oldest first.
fn ring_records() -> Vec<Vec<u8>> {
    let mut records = Vec::new();
    sentry_native_crash::read_breadcrumbs(|_, bytes| records.push(bytes.to_vec())).unwrap();
    records
}

fn contains(record: &[u8], text: &[u8]) -> bool {
    record.windows(text.len()).any(|w| w == text)
}

fn texts(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("crumb {i}")).collect()
}

#[test]
fn breadcrumbs_survive_every_move_between_the_ring_and_the_log() {
    let database = std::env::temp_dir().join(format!("sentry-crumbs-{}", std::process::id()));
    assert!(sentry_native_crash::is_supported());

    // The first init installs the handler with a ring of 5 slots: breadcrumbs live there.
    let (guard, collected) = init(5, &database);
    assert_eq!(sentry_native_crash::breadcrumb_capacity(), Some((5, 1024)));
    for i in 0..8 {
        add(format!("crumb {i}"));
    }
    assert_eq!(captured(&collected), texts(3..8), "the newest 5");

    // Larger than a slot: the ring keeps its gist, events get it whole.
    sentry_core::add_breadcrumb(Breadcrumb::new("large").data("payload", "p".repeat(3000)));
    let event = capture(&collected);
    let large = crumbs(&event).pop().unwrap();
    assert_eq!(large["message"], "large");
    assert_eq!(large["data"]["payload"].as_str().unwrap().len(), 3000);
    let in_ring: Vec<usize> = ring_records().iter().map(Vec::len).collect();
    assert!(in_ring.iter().all(|&len| len <= 1024), "{in_ring:?}");

    sentry_core::configure_scope(|scope| scope.clear_breadcrumbs());
    assert!(captured(&collected).is_empty(), "cleared");
    for i in 0..3 {
        add(format!("crumb {i}"));
    }
    drop(guard);

    // More than the ring holds: the breadcrumbs move to the locked log, none lost.
    let (guard, collected) = init(8, &database);
    for i in 3..10 {
        add(format!("crumb {i}"));
    }
    assert_eq!(captured(&collected), texts(2..10), "the newest 8");
    sentry_core::add_breadcrumb(Breadcrumb::new("large").data("payload", "p".repeat(3000)));
    // The log mirrors it into the ring as its gist: the message without the data.
    let newest = ring_records().pop().unwrap();
    assert!(
        contains(&newest, b"large") && newest.len() < 100,
        "{newest:?}"
    );
    drop(guard);

    // Back into the ring: the newest it holds, the large one still whole.
    let (guard, collected) = init(4, &database);
    let event = capture(&collected);
    let all = crumbs(&event);
    let messages: Vec<&str> = all.iter().map(|c| c["message"].as_str().unwrap()).collect();
    assert_eq!(messages, ["crumb 7", "crumb 8", "crumb 9", "large"]);
    assert_eq!(all[3]["data"]["payload"].as_str().unwrap().len(), 3000);

    // A layer's own breadcrumbs end with it: they reach neither the process's events nor
    // the crash handler's ring, which holds the process's trail.
    sentry_core::with_scope(
        |_| {},
        || sentry_core::add_breadcrumb(Breadcrumb::new("inside a layer")),
    );
    assert!(
        !ring_records()
            .iter()
            .any(|r| contains(r, b"inside a layer"))
    );
    assert!(!captured(&collected).iter().any(|m| m == "inside a layer"));

    // Threads adding while others capture: every event holds at most 4, each thread's in
    // the order it added them.
    let adders: Vec<_> = (0..3)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..2000 {
                    add(format!("{t} {i}"));
                }
            })
        })
        .collect();
    for i in 0..50 {
        sentry_core::capture_message(&format!("during {i}"), Level::Info);
    }
    for adder in adders {
        adder.join().unwrap();
    }
    assert!(sentry_core::flush(Duration::from_secs(10)));
    for event in collected.event_json() {
        let mut last = [None::<u32>; 3];
        let all = crumbs(&event);
        assert!(all.len() <= 4);
        for crumb in all {
            let text = crumb["message"].as_str().unwrap();
            let Some((t, i)) = text.split_once(' ') else {
                continue;
            };
            let (Ok(t), Ok(i)) = (t.parse::<usize>(), i.parse::<u32>()) else {
                continue;
            };
            assert!(last[t] < Some(i), "in order per thread: {text}");
            last[t] = Some(i);
        }
    }
    drop(guard);
    let _ = std::fs::remove_dir_all(database);
}
