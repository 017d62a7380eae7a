//! The logger against the real client, with envelopes collected in memory.

use std::sync::Arc;
use std::time::Duration;

use log::{Level, Log, Metadata, Record};
use parking_lot::Mutex;
use sentry_core::ClientOptions;
use sentry_core::transport::MemoryTransport;
use sentry_log::{LogFilter, SentryLogger};
use serde_json::Value;

/// The SDK is process-wide; tests that init it take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// A logger standing in for env_logger: remembers what it printed.
#[derive(Clone, Default)]
struct Console {
    min: Option<Level>,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Log for Console {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.min.is_some_and(|min| metadata.level() <= min)
    }
    fn log(&self, record: &Record<'_>) {
        self.lines
            .lock()
            .push(format!("{} {}", record.level(), record.args()));
    }
    fn flush(&self) {}
}

fn run(body: impl FnOnce()) -> Vec<Value> {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let database = std::env::temp_dir().join(format!("sentry-log-test-{}", std::process::id()));
    let guard = sentry_core::init(
        ClientOptions::new()
            .database_path(&database)
            .transport(move |_| Box::new(slot.lock().take().expect("one client"))),
    );
    sentry_core::configure_scope(|scope| scope.clear());
    body();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    drop(guard);
    let _ = std::fs::remove_dir_all(database);
    collected.event_json()
}

fn log(logger: &impl Log, level: Level, target: &str, message: std::fmt::Arguments<'_>) {
    logger.log(
        &Record::builder()
            .args(message)
            .level(level)
            .target(target)
            .module_path(Some("my_app::db"))
            .file(Some("src/db.rs"))
            .line(Some(42))
            .build(),
    );
}

#[test]
fn errors_are_events_with_earlier_records_as_breadcrumbs_and_the_console_is_unchanged() {
    let console = Console {
        min: Some(Level::Warn),
        ..Console::default()
    };
    let logger = SentryLogger::with_dest(console.clone());
    let events = run(|| {
        log(&logger, Level::Debug, "db", format_args!("ignored"));
        log(
            &logger,
            Level::Info,
            "db",
            format_args!("connected to {}", "db1"),
        );
        log(&logger, Level::Warn, "db", format_args!("slow query"));
        log(
            &logger,
            Level::Error,
            "billing",
            format_args!("payment {} failed", 7),
        );
    });
    // The wrapped logger printed what its own level allows, nothing more or less.
    assert_eq!(
        *console.lines.lock(),
        ["WARN slow query", "ERROR payment 7 failed"]
    );

    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["message"], "payment 7 failed");
    assert_eq!(event["level"], "error");
    assert_eq!(event["logger"], "billing");
    assert_eq!(event["extra"]["file"], "src/db.rs");
    assert_eq!(event["extra"]["line"], 42);
    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(
        crumbs.len(),
        2,
        "debug records are not breadcrumbs: {crumbs:#?}"
    );
    assert_eq!(crumbs[0]["message"], "connected to db1");
    assert_eq!(crumbs[0]["category"], "db");
    assert_eq!(crumbs[0]["level"], "info");
    assert_eq!(crumbs[0]["data"]["module_path"], "my_app::db");
    assert_eq!(crumbs[1]["level"], "warning");
}

#[test]
fn the_filter_decides_per_record() {
    let logger = SentryLogger::new().filter(|meta| match (meta.level(), meta.target()) {
        (Level::Warn, "payments") => LogFilter::EventAndBreadcrumb,
        (_, "noisy") => LogFilter::Ignore,
        (Level::Error, _) => LogFilter::Event,
        _ => LogFilter::Breadcrumb,
    });
    assert!(!logger.enabled(&Metadata::builder().target("noisy").build()));
    assert!(logger.enabled(&Metadata::builder().level(Level::Trace).build()));
    let events = run(|| {
        log(&logger, Level::Info, "noisy", format_args!("left out"));
        log(&logger, Level::Trace, "app", format_args!("step 1"));
        log(
            &logger,
            Level::Warn,
            "payments",
            format_args!("card declined"),
        );
        log(&logger, Level::Error, "app", format_args!("gave up"));
    });
    assert_eq!(events.len(), 2);
    // Delivery order is not part of the contract (the SDK may hold an event for its repeat
    // window): find each event by its message.
    let by_message = |text: &str| {
        events
            .iter()
            .find(|e| e["message"] == text)
            .unwrap_or_else(|| panic!("no event {text:?}: {events:#?}"))
    };
    assert_eq!(by_message("card declined")["level"], "warning");
    let last: Vec<_> = by_message("gave up")["breadcrumbs"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["message"].as_str().unwrap(), c["level"].as_str().unwrap()))
        .collect();
    assert_eq!(last, [("step 1", "debug"), ("card declined", "warning")]);
}

#[test]
fn without_init_nothing_is_captured_and_records_still_pass_through() {
    let console = Console {
        min: Some(Level::Trace),
        ..Console::default()
    };
    let logger = SentryLogger::with_dest(console.clone());
    let _serial = SERIAL.lock();
    log(&logger, Level::Error, "app", format_args!("before init"));
    assert_eq!(*console.lines.lock(), ["ERROR before init"]);
}
