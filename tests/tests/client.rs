//! The core client end to end: events captured by `sentry_core` on the main thread and on
//! spawned threads arrive at a real Bugsink complete, and pass Relay's normalization.

use std::process::Command;
use std::time::Duration;

use e2e::{
    Bugsink, Project, assert_all_relay_valid, exception, hex, project_dir, settled_events,
    sorted_ids, symbolic_ids, test_dir,
};
use parking_lot::Mutex;
use sentry_core::ClientOptions;
use sentry_core::protocol::{Breadcrumb, Level, User};
use serde_json::Value;

/// The SDK is process-wide; the tests of this file take turns with it.
static SDK: Mutex<()> = Mutex::new(());

const WAIT: Duration = Duration::from_secs(20);

fn options_for(project: &Project) -> ClientOptions {
    let database = project_dir("core-db", project);
    ClientOptions::new()
        .dsn(project.dsn())
        .release("e2e-core@1.2.3")
        .environment("e2e")
        .attach_stacktrace(true)
        .database_path(database)
}

#[derive(Debug)]
struct ParseConfigError {
    line: u32,
    source: std::num::ParseIntError,
}
impl std::fmt::Display for ParseConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid number on line {}", self.line)
    }
}
impl std::error::Error for ParseConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[derive(Debug)]
struct StartupError(ParseConfigError);
impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the service could not start")
    }
}
impl std::error::Error for StartupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[inline(never)]
fn report_startup_failure() {
    let source = "x1".parse::<u32>().unwrap_err();
    sentry_core::capture_error(&StartupError(ParseConfigError { line: 7, source }));
}

#[inline(never)]
fn report_message_from_worker() {
    sentry_core::capture_message("worker finished with warnings", Level::Warning);
}

fn by_message<'a>(events: &'a [Value], text: &str) -> &'a Value {
    events
        .iter()
        .find(|e| e["message"] == text || e["logentry"]["formatted"] == text)
        .unwrap_or_else(|| panic!("no event with message {text:?} in {events:#?}"))
}

#[test]
fn messages_and_errors_from_every_thread_arrive_complete() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("core-complete");
    // Spawned before init: it must still report with the process scope.
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let early = std::thread::Builder::new()
        .name("early-worker".into())
        .spawn(move || {
            go_rx.recv().unwrap();
            report_message_from_worker();
        })
        .unwrap();

    let guard = sentry_core::init(options_for(&project));
    assert!(guard.is_enabled());
    sentry_core::configure_scope(|scope| {
        scope.set_tag("service", "billing");
        scope.set_user(Some(User {
            id: Some("user-42".into()),
            ..Default::default()
        }));
        scope.set_extra("attempt", 3);
    });
    sentry_core::add_breadcrumb(Breadcrumb::new("config read").category("config"));

    sentry_core::capture_message("service started", Level::Info);
    report_startup_failure();
    go_tx.send(()).unwrap();
    early.join().unwrap();
    std::thread::Builder::new()
        .name("late-worker".into())
        .spawn(|| sentry_core::capture_message("late thread reporting", Level::Error))
        .unwrap()
        .join()
        .unwrap();
    assert!(sentry_core::flush(WAIT));
    drop(guard);

    let events = project.wait_for_events(4, WAIT);
    assert_eq!(events.len(), 4);
    assert_all_relay_valid(&events);

    for event in &events {
        assert_eq!(event["release"], "e2e-core@1.2.3");
        assert_eq!(event["environment"], "e2e");
        assert_eq!(event["platform"], "native");
        assert_eq!(event["tags"]["service"], "billing");
        assert_eq!(event["user"]["id"], "user-42");
        assert_eq!(event["extra"]["attempt"], 3);
        assert_eq!(event["breadcrumbs"]["values"][0]["message"], "config read");
        assert!(event["server_name"].is_string());
        for key in ["os", "device", "rust", "app"] {
            assert!(event["contexts"][key].is_object(), "context {key} missing");
        }
        assert!(event["contexts"]["os"]["name"].is_string());
        assert!(event["contexts"]["os"]["kernel_version"].is_string());
        assert!(event["contexts"]["device"]["arch"].is_string());
        assert!(event["contexts"]["rust"]["version"].is_string());
        assert!(event["contexts"]["app"]["app_start_time"].is_string());
        assert_debug_images_cover_frames(event);
    }

    let started = by_message(&events, "service started");
    assert_eq!(started["level"], "info");
    let thread = &started["threads"]["values"][0];
    assert_eq!(thread["current"], true);
    // The test harness runs each test on a thread named after the test.
    assert_eq!(thread["name"], std::thread::current().name().unwrap());
    let newest = newest_frame(&thread["stacktrace"]);
    assert!(
        newest["function"]
            .as_str()
            .unwrap()
            .contains("messages_and_errors_from_every_thread"),
        "{:#?}",
        thread["stacktrace"]["frames"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .take(4)
            .map(|f| &f["function"])
            .collect::<Vec<_>>()
    );

    let worker = by_message(&events, "worker finished with warnings");
    assert_eq!(worker["threads"]["values"][0]["name"], "early-worker");
    let newest = newest_frame(&worker["threads"]["values"][0]["stacktrace"]);
    assert_eq!(newest["function"], "client::report_message_from_worker");
    assert_eq!(newest["in_app"], true);
    assert_eq!(newest["filename"], "client.rs");
    assert!(newest["lineno"].as_u64().unwrap() > 0);

    let late = by_message(&events, "late thread reporting");
    assert_eq!(late["threads"]["values"][0]["name"], "late-worker");

    let error = events
        .iter()
        .find(|e| e["exception"].is_object())
        .expect("the error event");
    assert_eq!(error["level"], "error");
    let values = error["exception"]["values"].as_array().unwrap();
    let chain: Vec<_> = values
        .iter()
        .map(|v| (v["type"].as_str().unwrap(), v["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        chain,
        [
            ("ParseIntError", "invalid digit found in string"),
            ("ParseConfigError", "invalid number on line 7"),
            ("StartupError", "the service could not start"),
        ]
    );
    assert_eq!(values[0]["module"], "std::num");
    let outermost = &values[2];
    assert_eq!(outermost["mechanism"]["handled"], true);
    let newest = newest_frame(&outermost["stacktrace"]);
    assert_eq!(newest["function"], "client::report_startup_failure");
    let frames = outermost["stacktrace"]["frames"].as_array().unwrap();
    for frame in frames {
        let function = frame["function"].as_str().unwrap_or("");
        assert!(
            !function.contains("::h") || !function.ends_with(|c: char| c.is_ascii_hexdigit()),
            "{function}"
        );
        assert!(
            !function.starts_with("sentry_core::"),
            "SDK frame left in: {function}"
        );
        if function.starts_with("std::") || function.starts_with("core::ops") {
            assert_eq!(frame["in_app"], false, "{function}");
        }
        assert!(
            frame["instruction_addr"]
                .as_str()
                .unwrap()
                .starts_with("0x")
        );
    }
}

fn newest_frame(stacktrace: &Value) -> &Value {
    stacktrace["frames"]
        .as_array()
        .and_then(|f| f.last())
        .expect("frames")
}

/// Every frame points into an image of debug_meta, and the main executable is there with
/// the ids symbolic computes from the file.
fn assert_debug_images_cover_frames(event: &Value) {
    let images = event["debug_meta"]["images"]
        .as_array()
        .expect("debug_meta.images");
    let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
    let main = images
        .iter()
        .find(|i| {
            std::path::Path::new(i["code_file"].as_str().unwrap())
                .canonicalize()
                .ok()
                == Some(exe.clone())
        })
        .expect("the main executable is among the images");
    for image in images {
        assert_eq!(image["type"], "elf");
        assert!(image["debug_id"].as_str().unwrap().len() == 36, "{image}");
        assert!(image["image_size"].as_u64().unwrap() > 0);
        assert!(image["arch"].is_string());
    }
    let (debug_id, code_id) = symbolic_ids(&exe);
    assert_eq!(main["debug_id"], debug_id);
    assert_eq!(main["code_id"], code_id);
    let traces = event["exception"]["values"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(event["threads"]["values"].as_array().into_iter().flatten())
        .filter_map(|v| v["stacktrace"]["frames"].as_array());
    for frame in traces.flatten() {
        let addr = hex(&frame["instruction_addr"]);
        let inside = images.iter().any(|i| {
            let start = hex(&i["image_addr"]);
            addr >= start && addr < start + i["image_size"].as_u64().unwrap()
        });
        assert!(inside, "frame {frame} is in no image");
    }
}

#[test]
fn before_send_and_sample_rate_shape_what_arrives() {
    let _sdk = SDK.lock();
    let project = Bugsink::shared().new_project("core-callbacks");
    let guard = sentry_core::init(options_for(&project).before_send(|mut event| {
        if event.message.as_deref() == Some("drop me") {
            return None;
        }
        event.tags.insert("checked".into(), "yes".into());
        Some(event)
    }));
    sentry_core::with_scope(
        |scope| scope.set_fingerprint(Some(&["custom-group"])),
        || sentry_core::capture_message("keep me", Level::Warning),
    );
    sentry_core::capture_message("drop me", Level::Warning);
    drop(guard);
    let events = settled_events(&project, 1, WAIT);
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0]["message"], "keep me");
    assert_eq!(events[0]["tags"]["checked"], "yes");
    assert_eq!(events[0]["fingerprint"][0], "custom-group");
    assert_all_relay_valid(&events);
}

/// `cargo run --example demo` with SENTRY_DSN set reports its message and error to that
/// server (without it, the demo is a dry run), and the native crash of the child it runs,
/// which its own start sends.
#[test]
fn the_demo_reports_to_the_server_in_sentry_dsn() {
    let project = Bugsink::shared().new_project("core-demo");
    let database = test_dir("demo-db");
    let output = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "demo"])
        .current_dir(e2e::workspace_root())
        .env("SENTRY_DSN", project.dsn())
        .env("SENTRY_DATABASE_PATH", &database)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("dry run"), "{stderr}");
    // What the demo could not send within its 2 s shutdown (a loaded machine resolving
    // symbols of a debug build) is in its outbox: a next start with the same database
    // delivers it. Both ways, all five events (the crash, two messages, two errors) arrive
    // exactly once.
    {
        let _sdk = SDK.lock();
        let guard = sentry_core::init(
            ClientOptions::new()
                .dsn(project.dsn())
                .database_path(&database),
        );
        assert!(sentry_core::flush(WAIT));
        drop(guard);
    }
    let events = project.wait_for_events(5, WAIT);
    let mut ids = sorted_ids(&events);
    ids.dedup();
    assert_eq!(ids.len(), events.len(), "each event arrives once");
    assert_all_relay_valid(&events);
    let message = by_message(&events, "Hello from the demo");
    assert_eq!(message["tags"]["demo"], "yes");
    let error = events
        .iter()
        .find(|e| {
            e["exception"]["values"]
                .as_array()
                .is_some_and(|v| v.last().unwrap()["type"] == "CatalogError")
        })
        .expect("the error event with its cause chain");
    assert_eq!(error["exception"]["values"][0]["module"], "std::io");
    assert!(
        error["debug_meta"]["images"]
            .as_array()
            .is_some_and(|i| !i.is_empty())
    );
    let crash = events
        .iter()
        .find(|e| exception(e)["type"] == "SIGSEGV")
        .expect("the crash of the demo's child");
    assert_eq!(crash["level"], "fatal");
    let exception = exception(crash);
    assert_eq!(exception["mechanism"]["type"], "signalhandler");
    assert_eq!(exception["mechanism"]["handled"], false);
    assert_eq!(
        crash["tags"]["demo"], "crash-child",
        "the scope of the crashed child"
    );
    let names: Vec<&str> = exception["stacktrace"]["frames"]
        .as_array()
        .expect("frames")
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert_eq!(
        names.last().copied(),
        Some("sentry_native_crash::trigger::segfault"),
        "{names:?}"
    );
    assert!(names.contains(&"demo::segfault"), "{names:?}");
    let _ = std::fs::remove_dir_all(database);
}
