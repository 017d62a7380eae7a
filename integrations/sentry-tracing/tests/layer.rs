//! The layer against the real client, with envelopes collected in memory.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use sentry_core::ClientOptions;
use sentry_core::transport::MemoryTransport;
use sentry_tracing::EventFilter;
use serde_json::Value;
use tracing_subscriber::prelude::*;

/// The SDK is process-wide; tests that init it take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn run(layer: sentry_tracing::SentryLayer, body: impl FnOnce()) -> Vec<Value> {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let database = std::env::temp_dir().join(format!("sentry-tracing-test-{}", std::process::id()));
    let guard = sentry_core::init(
        ClientOptions::new()
            .database_path(&database)
            .transport(move |_| Box::new(slot.lock().take().expect("one client"))),
    );
    sentry_core::configure_scope(|scope| scope.clear());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), body);
    assert!(sentry_core::flush(Duration::from_secs(10)));
    drop(guard);
    let _ = std::fs::remove_dir_all(database);
    collected.event_json()
}

#[test]
fn error_is_an_event_with_span_fields_as_context_and_info_as_breadcrumb() {
    let events = run(sentry_tracing::layer(), || {
        let request = tracing::info_span!("request", id = 7_u64, path = "/checkout");
        let _request = request.enter();
        tracing::debug!("left out");
        tracing::info!(items = 3, ok = true, "cart loaded");
        let db = tracing::info_span!("db", table = "orders", rows = tracing::field::Empty);
        let _db = db.enter();
        db.record("rows", 0_i64);
        tracing::error!(order = 42, ratio = 0.5, "payment provider timed out");
    });
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["message"], "payment provider timed out");
    assert_eq!(event["level"], "error");
    assert_eq!(event["logger"], module_path!());
    assert_eq!(event["extra"]["order"], 42);
    assert_eq!(event["extra"]["ratio"], 0.5);
    let context = &event["contexts"]["tracing"];
    assert_eq!(context["spans"], serde_json::json!(["request", "db"]));
    assert_eq!(context["request.id"], 7);
    assert_eq!(context["request.path"], "/checkout");
    assert_eq!(context["db.table"], "orders");
    assert_eq!(context["db.rows"], 0, "fields recorded later count too");
    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(crumbs.len(), 1, "{crumbs:#?}");
    assert_eq!(crumbs[0]["message"], "cart loaded");
    assert_eq!(crumbs[0]["level"], "info");
    assert_eq!(crumbs[0]["category"], module_path!());
    assert_eq!(crumbs[0]["data"]["items"], 3);
    assert_eq!(crumbs[0]["data"]["ok"], true);
}

#[test]
fn error_fields_become_the_exception_chain() {
    let events = run(sentry_tracing::layer(), || {
        let error = "x7".parse::<u32>().unwrap_err();
        tracing::error!(error = &error as &dyn std::error::Error, "bad port");
    });
    let event = &events[0];
    assert_eq!(event["message"], "bad port");
    assert_eq!(event["exception"]["values"][0]["type"], "ParseIntError");
    assert_eq!(event["extra"]["error"], "invalid digit found in string");
    assert!(event["contexts"]["tracing"].is_null(), "not inside a span");
}

#[test]
fn the_filter_decides_per_event() {
    let layer = sentry_tracing::layer().filter(|meta| match *meta.level() {
        tracing::Level::WARN => EventFilter::EventAndBreadcrumb,
        tracing::Level::ERROR => EventFilter::Event,
        _ => EventFilter::Ignore,
    });
    let events = run(layer, || {
        tracing::info!("ignored");
        tracing::warn!(disk = "/var", "disk almost full");
        tracing::error!("out of disk");
    });
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["level"], "warning");
    let crumbs = events[1]["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(crumbs.len(), 1);
    assert_eq!(crumbs[0]["message"], "disk almost full");
    assert_eq!(crumbs[0]["data"]["disk"], "/var");
}
