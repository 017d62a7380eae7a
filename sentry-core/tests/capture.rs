//! The client's whole path on one machine: capture, scope, worker, transport. Envelopes
//! are collected in memory; the end-to-end tests in tests/ do the same against a server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sentry_core::protocol::{Breadcrumb, Level, User};
use sentry_core::transport::{CollectedEnvelopes, MemoryTransport};
use sentry_core::{ClientOptions, DropReason};
use serde_json::Value;

/// The SDK is process-wide; tests that init it take turns.
static SERIAL: Mutex<()> = Mutex::new(());

/// Runs `body` with the SDK initialized with `options` and a memory transport, then
/// returns the events it sent.
fn run(options: ClientOptions, body: impl FnOnce()) -> Vec<Value> {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let database = temp_database();
    let options = options
        .database_path(&database)
        .transport(move |_| Box::new(slot.lock().take().expect("one client")));
    let guard = sentry_core::init(options);
    sentry_core::configure_scope(|scope| scope.clear());
    body();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    drop(guard);
    let _ = std::fs::remove_dir_all(database);
    events(&collected)
}

/// A database directory of its own for each client, so no test sees another's outbox.
fn temp_database() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("sentry-capture-test-{}-{n}", std::process::id()))
}

fn events(collected: &CollectedEnvelopes) -> Vec<Value> {
    collected.event_json()
}

#[test]
fn message_carries_the_scope() {
    let events = run(
        ClientOptions::new().release("app@1.0").environment("test"),
        || {
            sentry_core::configure_scope(|scope| {
                scope.set_tag("component", "importer");
                scope.set_extra("rows", 42);
                scope.set_user(Some(User {
                    id: Some("7".into()),
                    ..Default::default()
                }));
                scope.set_fingerprint(Some(&["import-failure"]));
                let mut gpu = sentry_core::protocol::Map::new();
                gpu.insert("name".into(), "test gpu".into());
                scope.set_context("gpu", gpu);
            });
            sentry_core::add_breadcrumb(Breadcrumb::new("file opened").category("io"));
            sentry_core::capture_message("import failed", Level::Warning);
        },
    );
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["message"], "import failed");
    assert_eq!(event["level"], "warning");
    assert_eq!(event["platform"], "native");
    assert_eq!(event["release"], "app@1.0");
    assert_eq!(event["environment"], "test");
    assert_eq!(event["tags"]["component"], "importer");
    assert_eq!(event["extra"]["rows"], 42);
    assert_eq!(event["user"]["id"], "7");
    assert_eq!(event["fingerprint"][0], "import-failure");
    assert_eq!(event["contexts"]["gpu"]["type"], "gpu");
    assert_eq!(event["breadcrumbs"]["values"][0]["message"], "file opened");
    assert_eq!(event["breadcrumbs"]["values"][0]["category"], "io");
    assert_eq!(event["event_id"].as_str().unwrap().len(), 32);
    for context in ["os", "device", "rust", "app"] {
        assert!(
            event["contexts"][context].is_object(),
            "missing context {context}"
        );
    }
    assert_eq!(event["sdk"]["name"], sentry_core::SDK_NAME);
}

#[test]
fn threads_spawned_before_and_after_init_share_the_process_scope() {
    let (start_tx, start_rx) = std::sync::mpsc::channel::<()>();
    let early = std::thread::spawn(move || {
        start_rx.recv().unwrap();
        sentry_core::capture_message("from early thread", Level::Info);
    });
    let events = run(ClientOptions::new(), move || {
        sentry_core::configure_scope(|scope| scope.set_tag("shared", "yes"));
        start_tx.send(()).unwrap();
        early.join().unwrap();
        std::thread::spawn(|| sentry_core::capture_message("from late thread", Level::Info))
            .join()
            .unwrap();
    });
    assert_eq!(events.len(), 2);
    for event in &events {
        assert_eq!(event["tags"]["shared"], "yes", "{}", event["message"]);
    }
}

#[test]
fn with_scope_applies_only_inside() {
    let events = run(ClientOptions::new(), || {
        sentry_core::configure_scope(|scope| scope.set_tag("outer", "1"));
        sentry_core::with_scope(
            |scope| {
                scope.set_tag("inner", "1");
                scope.set_level(Some(Level::Fatal));
            },
            || sentry_core::capture_message("inside", Level::Info),
        );
        sentry_core::capture_message("outside", Level::Info);
    });
    let inside = events.iter().find(|e| e["message"] == "inside").unwrap();
    let outside = events.iter().find(|e| e["message"] == "outside").unwrap();
    assert_eq!(inside["tags"]["inner"], "1");
    assert_eq!(inside["tags"]["outer"], "1");
    assert_eq!(inside["level"], "fatal");
    assert!(outside["tags"].get("inner").is_none());
    assert_eq!(outside["level"], "info");
}

/// The process's breadcrumbs as events see them: those of their capture time, a layer's
/// own after the process's and gone with the layer, and a clear that empties them.
#[test]
fn events_carry_the_breadcrumbs_of_their_capture_time() {
    let messages = |event: &Value| -> Vec<String> {
        event["breadcrumbs"]["values"]
            .as_array()
            .map(|values| {
                values
                    .iter()
                    .map(|b| b["message"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let events = run(ClientOptions::new().max_breadcrumbs(3), || {
        sentry_core::add_breadcrumb(Breadcrumb::new("one"));
        sentry_core::capture_message("first", Level::Info);
        for text in ["two", "three", "four"] {
            sentry_core::add_breadcrumb(Breadcrumb::new(text));
        }
        sentry_core::with_scope(
            |scope| scope.add_breadcrumb(Breadcrumb::new("layer"), 3),
            || {
                sentry_core::add_breadcrumb(Breadcrumb::new("in layer"));
                sentry_core::capture_message("inside", Level::Info);
            },
        );
        sentry_core::capture_message("after", Level::Info);
        let seen = sentry_core::configure_scope(|scope| {
            let seen = scope.breadcrumbs().len();
            scope.clear_breadcrumbs();
            scope.add_breadcrumb(Breadcrumb::new("fresh"), 3);
            seen
        });
        assert_eq!(seen, 3, "configure_scope sees the process's breadcrumbs");
        sentry_core::capture_message("cleared", Level::Info);
    });
    let by = |m: &str| events.iter().find(|e| e["message"] == m).unwrap();
    assert_eq!(messages(by("first")), ["one"]);
    assert_eq!(messages(by("inside")), ["four", "layer", "in layer"]);
    assert_eq!(messages(by("after")), ["two", "three", "four"]);
    assert_eq!(messages(by("cleared")), ["fresh"]);
}

/// A breadcrumb added from inside `configure_scope` (a callback of the application's, say)
/// neither deadlocks on the process scope's lock nor panics on a layer's: it goes to the
/// process's breadcrumbs (so a layer's events, which started from a copy of them, do not
/// see one added while configuring the layer; later events do).
#[test]
fn add_breadcrumb_inside_configure_scope_reaches_the_events() {
    let events = run(ClientOptions::new(), || {
        sentry_core::configure_scope(|_| {
            sentry_core::add_breadcrumb(Breadcrumb::new("from the process scope"));
        });
        sentry_core::with_scope(
            |_| sentry_core::add_breadcrumb(Breadcrumb::new("while configuring a layer")),
            || sentry_core::capture_message("inside", Level::Info),
        );
        sentry_core::capture_message("after", Level::Info);
    });
    let crumbs = |m: &str| {
        let event = events.iter().find(|e| e["message"] == m).unwrap();
        event["breadcrumbs"]["values"].as_array().unwrap().clone()
    };
    assert_eq!(crumbs("inside")[0]["message"], "from the process scope");
    let after = crumbs("after");
    assert_eq!(after[0]["message"], "from the process scope");
    assert_eq!(after[1]["message"], "while configuring a layer");
}

#[derive(Debug)]
struct LoadError(std::io::Error);
impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not load the catalog")
    }
}
impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn error_chain_becomes_exceptions_outermost_last() {
    let events = run(ClientOptions::new(), || {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "catalog.json missing");
        sentry_core::capture_error(&LoadError(io));
    });
    let values = events[0]["exception"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["type"], "Error");
    assert_eq!(values[0]["module"], "std::io");
    assert_eq!(values[0]["value"], "catalog.json missing");
    assert_eq!(values[1]["type"], "LoadError");
    assert_eq!(values[1]["value"], "could not load the catalog");
    assert_eq!(values[1]["mechanism"]["handled"], true);
    assert_eq!(events[0]["level"], "error");
}

#[test]
fn before_send_changes_or_drops_and_a_panicking_callback_keeps_the_event() {
    let options = ClientOptions::new().before_send(|mut event| {
        match event.message.as_deref() {
            Some("drop me") => return None,
            Some("panic") => panic!("callback bug"),
            _ => {}
        }
        event.tags.insert("seen".into(), "yes".into());
        Some(event)
    });
    let events = run(options, || {
        sentry_core::capture_message("keep me", Level::Info);
        sentry_core::capture_message("drop me", Level::Info);
        sentry_core::capture_message("panic", Level::Info);
    });
    let messages: Vec<_> = events
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["keep me", "panic"]);
    assert_eq!(events[0]["tags"]["seen"], "yes");
}

#[test]
fn breadcrumbs_ring_and_before_breadcrumb() {
    let options = ClientOptions::new()
        .max_breadcrumbs(5)
        .before_breadcrumb(|crumb| (crumb.message.as_deref() != Some("secret")).then_some(crumb));
    let events = run(options, || {
        for i in 0..10 {
            sentry_core::add_breadcrumb(Breadcrumb::new(format!("step {i}")));
        }
        sentry_core::add_breadcrumb(Breadcrumb::new("secret"));
        sentry_core::capture_message("done", Level::Info);
    });
    let crumbs: Vec<_> = events[0]["breadcrumbs"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(crumbs, ["step 5", "step 6", "step 7", "step 8", "step 9"]);
}

#[test]
fn sample_rate_zero_sends_nothing_and_counts() {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Mutex::new(Some(transport));
    let guard = sentry_core::init(
        ClientOptions::new()
            .sample_rate(0.0)
            .database_path(temp_database())
            .transport(move |_| Box::new(slot.lock().take().unwrap())),
    );
    for _ in 0..10 {
        assert!(sentry_core::capture_message("x", Level::Info).is_nil());
    }
    sentry_core::flush(Duration::from_secs(5));
    assert_eq!(guard.client().unwrap().dropped(DropReason::SampleRate), 10);
    drop(guard);
    assert!(events(&collected).is_empty());
}

/// A transport that never finishes: the server accepts the connection and never answers.
struct Hanging;
impl sentry_core::transport::Transport for Hanging {
    fn send(&mut self, _: &sentry_core::envelope::Envelope) -> sentry_core::transport::Response {
        std::thread::sleep(Duration::from_secs(3600));
        unreachable!()
    }
}

#[test]
fn capture_never_blocks_and_shutdown_is_bounded_when_the_transport_hangs() {
    let _serial = SERIAL.lock();
    let guard = sentry_core::init(
        ClientOptions::new()
            .queue_size(16)
            .database_path(temp_database())
            .shutdown_timeout(Duration::from_millis(300))
            .transport(|_| Box::new(Hanging)),
    );
    let start = Instant::now();
    for i in 0..1000 {
        sentry_core::capture_message(&format!("event {i}"), Level::Info);
    }
    let capture_time = start.elapsed();
    let client = guard.client().unwrap().clone();
    // At most 16 queued, 1 in the worker and 16 waiting for their repeat window (dedupe
    // keeps up to `queue_size` events until their window closes) are not dropped.
    let overflow = client.dropped(DropReason::QueueOverflow);
    assert!(
        overflow >= 1000 - 17 - 16,
        "{overflow} dropped, {} by event processors",
        client.dropped(DropReason::EventProcessor)
    );
    assert!(!sentry_core::flush(Duration::from_millis(100)));
    let start = Instant::now();
    drop(guard);
    let shutdown = start.elapsed();
    // Generous bounds: these say "bounded", not "fast"; timing figures live in benchmarks.
    assert!(
        capture_time < Duration::from_secs(5),
        "capturing took {capture_time:?}"
    );
    assert!(
        shutdown < Duration::from_secs(3),
        "shutdown took {shutdown:?}"
    );
}

#[test]
fn invalid_dsn_is_an_error_and_missing_dsn_disables() {
    let _serial = SERIAL.lock();
    let error = sentry_core::try_init("https://sentry.example.com/42").unwrap_err();
    assert!(error.to_string().contains("invalid DSN"), "{error}");
    let guard = sentry_core::init(ClientOptions::new().dsn("   "));
    if std::env::var_os("SENTRY_DSN").is_none() {
        assert!(!guard.is_enabled());
        assert!(sentry_core::capture_message("nowhere", Level::Info).is_nil());
    }
}

/// A real HTTP transport against a server that accepts connections and never answers:
/// flush, close and the guard's drop all return within their timeouts.
#[test]
fn flush_and_shutdown_are_bounded_when_the_http_server_hangs() {
    let _serial = SERIAL.lock();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // keep the connection open, say nothing
        }
    });
    let guard = sentry_core::init(
        ClientOptions::new()
            .dsn(format!("http://key@127.0.0.1:{port}/1"))
            .database_path(temp_database())
            .shutdown_timeout(Duration::from_millis(500)),
    );
    sentry_core::capture_message("into the void", Level::Error);
    let start = Instant::now();
    assert!(!sentry_core::flush(Duration::from_millis(300)));
    let flushed = start.elapsed();
    let start = Instant::now();
    drop(guard);
    let closed = start.elapsed();
    // Bounds with slack for a loaded machine; the point is "returns", not "fast".
    assert!(flushed < Duration::from_secs(3), "flush took {flushed:?}");
    assert!(closed < Duration::from_secs(3), "shutdown took {closed:?}");
}
