//! Panics end to end: `cargo run --example panic -- <mode>` against a real Bugsink, built
//! with panic = "unwind" (the default) and with panic = "abort".

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use e2e::{Bugsink, Project, assert_all_relay_valid, build_example, exception, project_dir};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(30);

/// Builds the panic example once, with the given panic strategy, into a target directory of
/// its own for "abort" (so the ordinary build is not invalidated); its path.
fn example(strategy: &'static str) -> PathBuf {
    static UNWIND: OnceLock<PathBuf> = OnceLock::new();
    static ABORT: OnceLock<PathBuf> = OnceLock::new();
    let cell = if strategy == "abort" { &ABORT } else { &UNWIND };
    cell.get_or_init(|| {
        let target = match strategy {
            "abort" => e2e::target_dir().join("tmp/panic-abort-build"),
            _ => e2e::target_dir(),
        };
        build_example("sentry-examples", "panic", |build| {
            build
                .arg("--target-dir")
                .arg(&target)
                .env("CARGO_PROFILE_DEV_PANIC", strategy);
        })
    })
    .clone()
}

fn database(project: &Project) -> PathBuf {
    let dir = project_dir("panic-db", project);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn run(binary: &Path, mode: &str, dsn: &str, database: &Path) -> Output {
    Command::new(binary)
        .arg(mode)
        .env("SENTRY_DSN", dsn)
        .env("SENTRY_DATABASE_PATH", database)
        .env("RUST_BACKTRACE", "0")
        .env_remove("SENTRY_DRY_RUN")
        .output()
        .expect("run the panic example")
}

fn frames(event: &Value) -> &Vec<Value> {
    exception(event)["stacktrace"]["frames"]
        .as_array()
        .expect("frames")
}

/// The panic event's common shape: type, mechanism, level, frames starting in user code.
fn assert_panic_event(event: &Value, message_start: &str, thread: &str) {
    assert_eq!(exception(event)["type"], "panic");
    let value = exception(event)["value"].as_str().unwrap();
    assert!(value.starts_with(message_start), "{value}");
    assert_eq!(exception(event)["mechanism"]["type"], "panic");
    assert_eq!(exception(event)["mechanism"]["handled"], false);
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["threads"]["values"][0]["name"], thread);
    assert_eq!(event["tags"]["example"], "panic");
    let newest = frames(event).last().unwrap();
    let function = newest["function"].as_str().unwrap_or("");
    assert!(
        !function.contains("panicking") && !function.starts_with("sentry"),
        "the trace starts at the user's code, not in {function}"
    );
}

#[test]
fn every_kind_of_panic_arrives_with_unwind() {
    let binary = example("unwind");
    for (mode, expected) in [("main", 1), ("thread", 1), ("nested", 2), ("payload", 1)] {
        let project = Bugsink::shared().new_project(&format!("panic-{mode}"));
        let db = database(&project);
        let output = run(&binary, mode, project.dsn(), &db);
        let stderr = String::from_utf8_lossy(&output.stderr);
        // The usual panic message still prints: the previous hook is chained.
        assert!(stderr.contains("panicked at"), "{mode}: {stderr}");
        let events = project.wait_for_events(expected, WAIT);
        assert_eq!(events.len(), expected, "{mode}: {events:#?}");
        assert_all_relay_valid(&events);
        match mode {
            "main" => {
                assert_eq!(output.status.code(), Some(101), "{stderr}");
                assert_panic_event(
                    &events[0],
                    "config file /nonexistent/example.toml is missing",
                    "main",
                );
                assert!(
                    frames(&events[0])
                        .iter()
                        .any(|f| f["function"] == "panic::load_config")
                );
                assert!(
                    events[0]["debug_meta"]["images"]
                        .as_array()
                        .is_some_and(|i| !i.is_empty())
                );
            }
            "thread" => {
                assert!(
                    output.status.success(),
                    "the main thread carries on: {stderr}"
                );
                assert_panic_event(&events[0], "config file /nonexistent/worker.toml", "worker");
            }
            "nested" => {
                let mut values: Vec<_> = events
                    .iter()
                    .map(|e| exception(e)["value"].as_str().unwrap().to_owned())
                    .collect();
                values.sort();
                assert_eq!(
                    values,
                    [
                        "first panic, unwinding",
                        "second panic, in Drop while unwinding"
                    ]
                );
            }
            "payload" => {
                assert_eq!(exception(&events[0])["value"], "42");
                assert_eq!(
                    exception(&events[0])["mechanism"]["data"]["payload_type"],
                    "u32"
                );
            }
            _ => unreachable!(),
        }
        let _ = std::fs::remove_dir_all(&db);
    }
}

#[test]
fn with_panic_abort_the_event_arrives_once_and_the_process_still_aborts() {
    let binary = example("abort");
    // Delivered before the abort.
    let project = Bugsink::shared().new_project("panic-abort-up");
    let db = database(&project);
    let output = run(&binary, "thread", project.dsn(), &db);
    assert_eq!(output.status.signal(), Some(libc_sigabrt()), "{output:?}");
    let events = project.wait_for_events(1, WAIT);
    assert_panic_event(&events[0], "config file /nonexistent/worker.toml", "worker");

    // Server unreachable while it panics: kept on disk, delivered by the next start, once,
    // and the SIGABRT that follows the panic is not a second event.
    let project = Bugsink::shared().new_project("panic-abort-down");
    let db = database(&project);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let (key, rest) = project.dsn().split_once('@').unwrap();
    let (_, path) = rest.split_once('/').unwrap();
    let unreachable = format!("{key}@127.0.0.1:{port}/{path}");
    let output = run(&binary, "main", &unreachable, &db);
    assert_eq!(output.status.signal(), Some(libc_sigabrt()), "{output:?}");
    let next = run(&binary, "none", project.dsn(), &db);
    assert!(next.status.success(), "{next:?}");
    let events = project.wait_for_events(1, WAIT);
    std::thread::sleep(Duration::from_secs(1));
    let events = if project.events().len() > events.len() {
        project.events()
    } else {
        events
    };
    assert_eq!(events.len(), 1, "one panic, one event: {events:#?}");
    assert_panic_event(&events[0], "config file /nonexistent/example.toml", "main");
    assert_all_relay_valid(&events);
    let _ = std::fs::remove_dir_all(&db);
}

/// SIGABRT's number on Linux.
fn libc_sigabrt() -> i32 {
    6
}
