//! The panic hook in this process, with the memory transport: each kind of panic becomes one
//! event of the expected shape, sent once, and the hook neither hangs nor takes the program
//! down. Panics that end the process are in `panic_process.rs`.
#![cfg(feature = "panic")]

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sentry_core::envelope::Envelope;
use sentry_core::transport::{CollectedEnvelopes, Delivery, MemoryTransport, Response, Transport};
use sentry_core::{ClientOptions, PanicCapture};
use serde_json::Value;
use support::events::assert_addresses_only;

/// The SDK and the panic hook are process-wide; tests that init it take turns (parking_lot's
/// lock is not poisoned by a failed test).
static SERIAL: Mutex<()> = Mutex::new(());

fn temp_database(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("sentry-panic-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
}

/// Runs `body` with the SDK initialized with `options` and a memory transport, then returns
/// the events sent and the database directory.
fn run(name: &str, options: ClientOptions, body: impl FnOnce()) -> (Vec<Value>, PathBuf) {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let database = temp_database(name);
    let options = options
        .database_path(&database)
        .transport(move |_| Box::new(slot.lock().take().expect("one client")));
    let guard = sentry_core::init(options);
    sentry_core::configure_scope(|scope| scope.clear());
    body();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    drop(guard);
    (events(&collected), database)
}

fn events(collected: &CollectedEnvelopes) -> Vec<Value> {
    collected.event_json()
}

/// Panics on a thread named `name` and waits for it.
fn panic_on_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    let result = std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .unwrap()
        .join();
    assert!(result.is_err(), "the thread was meant to panic");
}

fn envelopes_on_disk(database: &Path) -> usize {
    let Ok(runs) = std::fs::read_dir(database.join("runs")) else {
        return 0;
    };
    runs.flatten()
        .filter_map(|run| std::fs::read_dir(run.path()).ok())
        .flatten()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "envelope"))
        .count()
}

/// The checks every unhandled panic event passes.
fn assert_panic_event(event: &Value, message: &str, thread: &str) {
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], "panic", "{event:#}");
    assert_eq!(exception["value"], message);
    assert_eq!(exception["mechanism"]["type"], "panic");
    assert_eq!(exception["mechanism"]["handled"], false);
    assert_eq!(event["level"], "fatal");
    let location = event["extra"]["panic.location"].as_str().unwrap();
    assert!(
        location.starts_with("sentry-core/tests/panic.rs:")
            || location.starts_with("tests/panic.rs:"),
        "{location}"
    );
    assert_eq!(
        exception["mechanism"]["data"]["file"],
        location.rsplitn(3, ':').nth(2).unwrap()
    );

    let threads = event["threads"]["values"].as_array().unwrap();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["name"], thread);
    assert_eq!(threads[0]["crashed"], true);
    assert_eq!(threads[0]["id"], exception["thread_id"]);
    assert!(threads[0]["id"].as_u64().unwrap() > 0);

    // The trace starts at the code that panicked: its newest frame is the panic's line, and
    // nothing of the hook, the SDK or std's panic machinery is left.
    let frames = exception["stacktrace"]["frames"]
        .as_array()
        .expect("frames");
    let top = frames.last().expect("at least one frame");
    let line: u64 = location.split(':').nth(1).unwrap().parse().unwrap();
    assert_eq!(top["lineno"], line, "top frame {top:#}");
    // This file's code: by path, since line-tables-only builds give bare function names.
    let top_path = top["abs_path"].as_str().unwrap_or("");
    assert!(top_path.ends_with("tests/panic.rs"), "top frame {top:#}");
    for frame in frames {
        let function = frame["function"].as_str().unwrap_or("");
        let own_crate = ["sentry_core::", "sentry_panic::", "backtrace::"];
        assert!(
            !own_crate.iter().any(|c| function.starts_with(c)),
            "{function} left in the trace"
        );
        for machinery in [
            "rust_begin_unwind",
            "core::panicking::",
            "std::panicking::begin_panic",
            "panic_with_hook",
        ] {
            assert!(
                !function.contains(machinery),
                "{function} left in the trace"
            );
        }
    }
    if std::env::var_os("PANIC_TEST_PRINT_FRAMES").is_some() {
        eprintln!("{:#}", exception["stacktrace"]);
    }
}

#[test]
fn panic_in_a_spawned_thread() {
    let (events, database) = run("thread", ClientOptions::new(), || {
        let answer = std::hint::black_box(41);
        panic_on_thread("worker-7", move || panic!("the answer was {answer}"));
    });
    assert_eq!(events.len(), 1, "sent once");
    assert_panic_event(&events[0], "the answer was 41", "worker-7");
    assert_eq!(
        events[0]["exception"]["values"][0]["mechanism"]["data"]["payload_type"],
        "String"
    );
    assert_eq!(
        envelopes_on_disk(&database),
        0,
        "delivered, so no longer on disk"
    );
}

#[test]
fn panic_in_a_thread_spawned_before_init() {
    let (go, wait) = std::sync::mpsc::channel::<()>();
    let early = std::thread::Builder::new()
        .name("early".into())
        .spawn(move || {
            wait.recv().unwrap();
            panic!("late panic in an early thread");
        })
        .unwrap();
    let (events, _) = run("early", ClientOptions::new(), move || {
        sentry_core::configure_scope(|scope| scope.set_tag("shared", "yes"));
        go.send(()).unwrap();
        assert!(early.join().is_err());
    });
    assert_eq!(events.len(), 1);
    assert_panic_event(&events[0], "late panic in an early thread", "early");
    assert_eq!(events[0]["tags"]["shared"], "yes");
}

#[test]
fn non_string_payloads() {
    struct Opaque;
    let (events, _) = run("payload", ClientOptions::new(), || {
        panic_on_thread("payload", || std::panic::panic_any(42u32));
        panic_on_thread("payload", || std::panic::panic_any(Opaque));
    });
    assert_eq!(events.len(), 2);
    assert_panic_event(&events[0], "42", "payload");
    assert_eq!(
        events[0]["exception"]["values"][0]["mechanism"]["data"]["payload_type"],
        "u32"
    );
    assert_panic_event(&events[1], "Box<dyn Any>", "payload");
    assert_eq!(
        events[1]["exception"]["values"][0]["mechanism"]["data"]["payload_type"],
        "Box<dyn Any>"
    );
}

#[test]
fn caught_panics_are_handled_or_skipped_by_option() {
    let (events, _) = run("caught-all", ClientOptions::new(), || {
        let caught = sentry_core::catch_unwind(|| panic!("caught on purpose"));
        assert!(caught.is_err());
        // A plain catch_unwind cannot be seen from the hook: reported as unhandled.
        let plain = std::panic::catch_unwind(|| panic!("caught by std"));
        assert!(plain.is_err());
    });
    assert_eq!(events.len(), 2);
    let first = &events[0];
    assert_eq!(
        first["exception"]["values"][0]["value"],
        "caught on purpose"
    );
    assert_eq!(
        first["exception"]["values"][0]["mechanism"]["handled"],
        true
    );
    assert_eq!(first["level"], "error");
    assert_eq!(first["threads"]["values"][0]["crashed"], false);
    assert_eq!(
        events[1]["exception"]["values"][0]["mechanism"]["handled"],
        false
    );

    let options = ClientOptions::new().panic_capture(PanicCapture::Unhandled);
    let (events, _) = run("caught-unhandled", options, || {
        assert!(sentry_core::catch_unwind(|| panic!("not reported")).is_err());
        panic_on_thread("uncaught", || panic!("reported"));
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["exception"]["values"][0]["value"], "reported");
}

#[test]
fn panic_capture_off_reports_nothing() {
    let options = ClientOptions::new().panic_capture(PanicCapture::Off);
    let (events, _) = run("off", options, || {
        panic_on_thread("quiet", || panic!("not reported"));
    });
    assert!(events.is_empty());
}

#[test]
fn scope_and_before_send_apply() {
    let options = ClientOptions::new()
        .release("app@2")
        .before_send(|mut event| {
            event.tags.insert("seen".into(), "yes".into());
            Some(event)
        });
    let (events, _) = run("scope", options, || {
        sentry_core::configure_scope(|scope| scope.set_tag("region", "eu"));
        panic_on_thread("scoped", || panic!("with scope"));
    });
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["tags"]["region"], "eu");
    assert_eq!(events[0]["tags"]["seen"], "yes");
    assert_eq!(events[0]["release"], "app@2");
}

#[test]
fn a_panicking_before_send_costs_nothing() {
    let options = ClientOptions::new().before_send(|_| panic!("bug in before_send"));
    let (events, _) = run("before-send-panics", options, || {
        panic_on_thread("victim", || panic!("original"));
    });
    // The event is sent as it was; the program only saw its own panic.
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["exception"]["values"][0]["value"], "original");
}

#[test]
fn a_panic_inside_configure_scope_does_not_hang() {
    let (events, _) = run("configure-scope", ClientOptions::new(), || {
        let start = Instant::now();
        panic_on_thread("holder", || {
            sentry_core::configure_scope(|_| panic!("while holding the scope"));
        });
        assert!(start.elapsed() < Duration::from_secs(5));
    });
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["exception"]["values"][0]["value"],
        "while holding the scope"
    );
}

/// A server that never answers: every send hangs.
struct Hanging;

impl Transport for Hanging {
    fn send(&mut self, _envelope: &Envelope) -> Response {
        std::thread::sleep(Duration::from_secs(30));
        Response::new(Delivery::Accepted)
    }
}

#[test]
fn a_hanging_server_holds_the_panic_up_only_for_the_timeout() {
    let _serial = SERIAL.lock();
    let database = temp_database("hanging");
    let options = ClientOptions::new()
        .database_path(&database)
        .panic_flush_timeout(Duration::from_millis(300))
        .shutdown_timeout(Duration::from_millis(100))
        .transport(|_| Box::new(Hanging));
    let guard = sentry_core::init(options);
    // The worker is now stuck in a send, holding the sender.
    sentry_core::capture_message("occupies the worker", sentry_core::protocol::Level::Info);
    std::thread::sleep(Duration::from_millis(100));

    let start = Instant::now();
    panic_on_thread("impatient", || panic!("server is hanging"));
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "the hook waited {took:?}");
    // Written by the panicking side itself, so it is there for the next start.
    let on_disk = std::fs::read_dir(database.join("runs"))
        .unwrap()
        .flatten()
        .filter_map(|run| std::fs::read_dir(run.path()).ok())
        .flatten()
        .flatten()
        .filter_map(|f| std::fs::read(f.path()).ok())
        .filter(|bytes| String::from_utf8_lossy(bytes).contains("server is hanging"))
        .count();
    assert_eq!(on_disk, 1);
    drop(guard);
}

/// The events in the envelopes kept in a database directory.
fn events_on_disk(database: &Path) -> Vec<Value> {
    std::fs::read_dir(database.join("runs"))
        .unwrap()
        .flatten()
        .filter_map(|run| std::fs::read_dir(run.path()).ok())
        .flatten()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "envelope"))
        .filter_map(|f| {
            Envelope::parse(&std::fs::read(f.path()).ok()?)
                .ok()?
                .event_json()
                .ok()
        })
        .collect()
}

#[test]
fn a_preparation_past_its_deadline_leaves_a_fallback_that_the_full_event_replaces() {
    let _serial = SERIAL.lock();
    let database = temp_database("fallback");
    let options = ClientOptions::new()
        .database_path(&database)
        .panic_flush_timeout(Duration::from_millis(100))
        .shutdown_timeout(Duration::from_millis(100))
        // Slower than the hook may wait (at least 1 s for the disk): the panicking thread
        // must keep a fallback of its own.
        .before_send(|mut event| {
            std::thread::sleep(Duration::from_secs(3));
            event.tags.insert("prepared".into(), "fully".into());
            Some(event)
        })
        .transport(|_| Box::new(Hanging));
    let guard = sentry_core::init(options);
    sentry_core::capture_message("occupies the worker", sentry_core::protocol::Level::Info);
    std::thread::sleep(Duration::from_millis(100));

    let start = Instant::now();
    panic_on_thread("slow-prepare", || panic!("prepared too slowly"));
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "the hook waited {:?}",
        start.elapsed()
    );
    let kept = events_on_disk(&database);
    let panics: Vec<_> = kept.iter().filter(|e| e["exception"].is_object()).collect();
    assert_eq!(panics.len(), 1, "the fallback is on disk: {kept:#?}");
    assert!(
        panics[0]["tags"].get("prepared").is_none(),
        "no user callback ran for it"
    );
    let fallback_id = panics[0]["event_id"].clone();

    // The helper finishes later: its complete event takes the fallback's place.
    std::thread::sleep(Duration::from_secs(4));
    let kept = events_on_disk(&database);
    let panics: Vec<_> = kept.iter().filter(|e| e["exception"].is_object()).collect();
    assert_eq!(panics.len(), 1, "one panic, one envelope: {kept:#?}");
    assert_eq!(panics[0]["event_id"], fallback_id);
    assert_eq!(panics[0]["tags"]["prepared"], "fully");
    drop(guard);
}

/// A server whose answers wait until the test opens the gate.
#[derive(Clone, Default)]
struct Gate {
    open: Arc<(Mutex<bool>, parking_lot::Condvar)>,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Gate {
    fn open(&self) {
        *self.open.0.lock() = true;
        self.open.1.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.0.lock();
        while !*open {
            self.open.1.wait(&mut open);
        }
    }
}

impl Transport for Gate {
    fn send(&mut self, envelope: &Envelope) -> Response {
        self.wait();
        if let Ok(event) = envelope.event_json() {
            self.received.lock().push(event);
        }
        Response::new(Delivery::Accepted)
    }
}

/// The panics of this file that are on disk (other envelopes are the tests' messages).
fn panics_on_disk(database: &Path) -> Vec<Value> {
    events_on_disk(database)
        .into_iter()
        .filter(|e| e["exception"].is_object())
        .collect()
}

#[test]
fn a_panic_on_a_spawned_thread_returns_before_delivery_with_its_event_on_disk() {
    let _serial = SERIAL.lock();
    let database = temp_database("no-wait");
    let gate = Gate::default();
    let server = gate.clone();
    let options = ClientOptions::new()
        .database_path(&database)
        .transport(move |_| Box::new(server.clone()));
    let guard = sentry_core::init(options);
    sentry_core::configure_scope(|scope| scope.clear());
    // The first panic of the stack (its frames never resolved before), then the same stack
    // again (different messages: identical events are dropped as duplicates).
    for round in 0..2 {
        let start = Instant::now();
        panic_on_thread("no-wait", move || panic!("not waited for, {round}"));
        assert!(start.elapsed() < Duration::from_secs(3));
        assert!(
            gate.received.lock().is_empty(),
            "nothing could be delivered"
        );
        let kept = panics_on_disk(&database);
        assert_eq!(
            kept.len(),
            round + 1,
            "on disk when the hook returns: {kept:#?}"
        );
    }
    gate.open();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    let mut received = gate.received.lock().clone();
    assert_eq!(received.len(), 2, "one envelope per panic: {received:#?}");
    received.sort_by_key(|e| e["exception"]["values"][0]["value"].to_string());
    for (round, event) in received.iter().enumerate() {
        assert_panic_event(event, &format!("not waited for, {round}"), "no-wait");
    }
    assert!(
        panics_on_disk(&database).is_empty(),
        "delivered, so removed"
    );
    drop(guard);
}

#[test]
fn an_event_still_being_completed_is_held_then_replaced_and_sent_once() {
    let _serial = SERIAL.lock();
    let database = temp_database("held");
    let callback_gate = Gate::default();
    let in_callback = callback_gate.clone();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let options = ClientOptions::new()
        .database_path(&database)
        .before_send(move |mut event| {
            in_callback.wait();
            event.tags.insert("completed".into(), "yes".into());
            Some(event)
        })
        .transport(move |_| Box::new(slot.lock().take().expect("one client")));
    let guard = sentry_core::init(options);
    sentry_core::configure_scope(|scope| scope.clear());

    panic_on_thread("held", || panic!("completed later"));
    // The hook did not wait for before_send: the copy on disk has no callback's work and
    // no symbol names, and this process does not send it while the complete one may come.
    let kept = panics_on_disk(&database);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    assert!(kept[0]["tags"].get("completed").is_none());
    assert_addresses_only(&kept[0]);
    assert!(
        !sentry_core::flush(Duration::from_millis(200)),
        "waits for the helper"
    );
    assert!(events(&collected).is_empty(), "the held copy is not sent");

    callback_gate.open();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    let sent = events(&collected);
    assert_eq!(sent.len(), 1, "one panic, one envelope: {sent:#?}");
    assert_eq!(sent[0]["event_id"], kept[0]["event_id"]);
    assert_eq!(sent[0]["tags"]["completed"], "yes");
    assert_panic_event(&sent[0], "completed later", "held");
    assert!(panics_on_disk(&database).is_empty());
    drop(guard);
}
