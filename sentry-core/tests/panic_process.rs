//! Panics that end the process, run in child processes against a small HTTP server that
//! records what arrives:
//!
//! - `examples/panic.rs` built with `panic = "abort"` (`CARGO_PROFILE_DEV_PANIC=abort`, in a
//!   target directory of its own): the process still aborts, the event is delivered before
//!   the abort, or kept on disk and delivered by the next start (`panic -- none`);
//! - a double panic (a `Drop` panicking while unwinding) in this test binary started again
//!   as a child: both panics arrive before std aborts, std's closing panic does not.
#![cfg(feature = "panic")]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use sentry_core::envelope::Envelope;
use serde_json::Value;
use support::events::assert_addresses_only;

const SIGABRT: i32 = 6;

/// A server that answers 200 to everything and keeps each request body.
struct Server {
    port: u16,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Server { port, bodies }
    }

    fn dsn(&self) -> String {
        format!("http://public@127.0.0.1:{}/1", self.port)
    }

    /// The events received so far.
    fn events(&self) -> Vec<Value> {
        self.bodies
            .lock()
            .iter()
            .filter_map(|body| Envelope::parse(body).ok()?.event_json().ok())
            .collect()
    }
}

/// Serves requests on one connection until the client closes it.
fn serve(stream: TcpStream, bodies: &Mutex<Vec<Vec<u8>>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        bodies.lock().push(body);
        let answer =
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// A DSN nobody listens on: sending fails at once, the event stays on disk.
fn unreachable_dsn() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://public@127.0.0.1:{port}/1")
}

fn temp_dir(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("panic-process-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&path);
    path
}

/// The envelopes waiting in a database directory.
fn on_disk(database: &Path) -> Vec<Value> {
    let Ok(runs) = std::fs::read_dir(database.join("runs")) else {
        return Vec::new();
    };
    runs.flatten()
        .filter_map(|run| std::fs::read_dir(run.path()).ok())
        .flatten()
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "envelope"))
        .filter_map(|f| std::fs::read(f.path()).ok())
        .filter_map(|bytes| Envelope::parse(&bytes).ok()?.event_json().ok())
        .collect()
}

/// Builds the panic example with `panic = "abort"` once per test run; its path.
fn abort_example() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("panic-abort-build");
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "sentry-examples",
                "--example",
                "panic",
            ])
            .arg("--target-dir")
            .arg(&target)
            .env("CARGO_PROFILE_DEV_PANIC", "abort")
            .current_dir(workspace)
            .status()
            .expect("run cargo");
        assert!(
            status.success(),
            "building the example with panic=abort failed"
        );
        target.join("debug/examples/panic")
    })
}

fn run_example(mode: &str, dsn: &str, database: &Path) -> Output {
    Command::new(abort_example())
        .arg(mode)
        .env("SENTRY_DSN", dsn)
        .env("SENTRY_DATABASE_PATH", database)
        .env("SENTRY_DEBUG", "1")
        .env_remove("SENTRY_DRY_RUN")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("run the example")
}

fn exception(event: &Value) -> &Value {
    &event["exception"]["values"][0]
}

#[test]
fn abort_build_keeps_the_event_on_disk_and_the_next_start_sends_it() {
    let database = temp_dir("abort-disk");
    let crashed = run_example("main", &unreachable_dsn(), &database);
    let stderr = String::from_utf8_lossy(&crashed.stderr);
    assert_eq!(crashed.status.signal(), Some(SIGABRT), "{stderr}");
    assert!(
        stderr.contains("config file /nonexistent/example.toml is missing"),
        "the usual panic message is still printed: {stderr}"
    );
    let kept = on_disk(&database);
    assert_eq!(kept.len(), 1, "{stderr}");
    assert_eq!(exception(&kept[0])["type"], "panic");

    let server = Server::start();
    let next = run_example("none", &server.dsn(), &database);
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert!(next.status.success(), "{stderr}");
    let events = server.events();
    assert_eq!(events.len(), 1, "{stderr}");
    let event = &events[0];
    assert_eq!(event["event_id"], kept[0]["event_id"]);
    assert_eq!(event["level"], "fatal");
    assert_eq!(event["tags"]["mode"], "main");
    assert_eq!(exception(event)["mechanism"]["handled"], false);
    assert!(
        exception(event)["value"]
            .as_str()
            .unwrap()
            .starts_with("config file /nonexistent/example.toml is missing")
    );
    assert_eq!(event["threads"]["values"][0]["name"], "main");
    assert!(on_disk(&database).is_empty(), "delivered, so removed");
}

#[test]
fn abort_build_delivers_before_aborting() {
    let database = temp_dir("abort-live");
    let server = Server::start();
    let crashed = run_example("thread", &server.dsn(), &database);
    let stderr = String::from_utf8_lossy(&crashed.stderr);
    assert_eq!(crashed.status.signal(), Some(SIGABRT), "{stderr}");
    let events = server.events();
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["threads"]["values"][0]["name"], "worker");
    assert!(on_disk(&database).is_empty(), "{stderr}");
}

/// Not a test of its own: the body of the double-panic child (see below). Without its
/// environment variable it returns at once.
#[test]
fn double_panic_child() {
    let Ok(dsn) = std::env::var("PANIC_PROCESS_CHILD_DSN") else {
        return;
    };
    struct PanicsOnDrop;
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            if std::thread::panicking() {
                panic!("second panic, in Drop");
            }
        }
    }
    let _guard = sentry_core::init(
        sentry_core::ClientOptions::new()
            .dsn(dsn)
            .database_path(std::env::var("PANIC_PROCESS_CHILD_DB").unwrap()),
    );
    let _bomb = PanicsOnDrop;
    panic!("first panic");
}

#[test]
fn double_panic_reports_both_panics_before_the_abort() {
    let server = Server::start();
    let database = temp_dir("double");
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "double_panic_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PANIC_PROCESS_CHILD_DSN", server.dsn())
        .env("PANIC_PROCESS_CHILD_DB", &database)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert_eq!(child.status.signal(), Some(SIGABRT), "{stderr}");
    assert!(
        stderr.contains("panic in a destructor during cleanup"),
        "{stderr}"
    );
    std::thread::sleep(Duration::from_millis(100));
    let mut values: Vec<String> = server
        .events()
        .iter()
        .map(|e| exception(e)["value"].as_str().unwrap().to_owned())
        .collect();
    values.sort();
    assert_eq!(values, ["first panic", "second panic, in Drop"], "{stderr}");
    assert!(on_disk(&database).is_empty());
}

/// Not a test of its own: the body of the thread-panic child (see below). Without its
/// environment variable it returns at once. `wait` ends normally (the guard flushes),
/// `exit` exits at once after the panic, `none` only starts and ends.
#[test]
fn thread_panic_child() {
    let Ok(mode) = std::env::var("PANIC_PROCESS_THREAD_CHILD") else {
        return;
    };
    let guard = sentry_core::init(
        sentry_core::ClientOptions::new()
            .dsn(std::env::var("PANIC_PROCESS_CHILD_DSN").unwrap())
            .database_path(std::env::var("PANIC_PROCESS_CHILD_DB").unwrap())
            // Loading this test binary's debug information with a debug build of the
            // resolver takes seconds; shutdown waits for the complete event that long.
            .shutdown_timeout(std::time::Duration::from_secs(60)),
    );
    if mode == "none" {
        return;
    }
    // Right after init: nothing of this stack was resolved, the debug information is not
    // loaded yet.
    let worker = std::thread::Builder::new()
        .name("cold".into())
        .spawn(|| panic!("cold first panic"))
        .unwrap();
    assert!(worker.join().is_err());
    if mode == "exit" {
        std::process::exit(0);
    }
    drop(guard);
}

fn run_thread_child(mode: &str, dsn: &str, database: &Path) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "thread_panic_child", "--nocapture"])
        .env("PANIC_PROCESS_THREAD_CHILD", mode)
        .env("PANIC_PROCESS_CHILD_DSN", dsn)
        .env("PANIC_PROCESS_CHILD_DB", database)
        .env("SENTRY_DEBUG", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap()
}

#[test]
fn a_cold_first_panic_does_not_wait_for_symbols_and_arrives_complete_once() {
    let server = Server::start();
    let database = temp_dir("cold");
    let child = run_thread_child("wait", &server.dsn(), &database);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stderr}");
    assert!(
        stderr.contains("kept with addresses only"),
        "the panicking thread did not resolve the stack: {stderr}"
    );
    let events = server.events();
    assert_eq!(events.len(), 1, "one panic, one envelope: {stderr}");
    assert_eq!(exception(&events[0])["value"], "cold first panic");
    assert_eq!(events[0]["threads"]["values"][0]["name"], "cold");
    let frames = exception(&events[0])["stacktrace"]["frames"]
        .as_array()
        .expect("frames");
    let top = frames.last().expect("a frame");
    assert!(
        top["abs_path"]
            .as_str()
            .is_some_and(|p| p.ends_with("tests/panic_process.rs")),
        "symbolicated, starting at the panic: {top:#}"
    );
    assert!(on_disk(&database).is_empty(), "{stderr}");
}

#[test]
fn a_thread_panic_right_before_exit_is_sent_by_the_next_start() {
    let server = Server::start();
    let database = temp_dir("exit");
    let child = run_thread_child("exit", &server.dsn(), &database);
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stderr}");
    // Delivered already, or left on disk (complete or addresses only) for the next start.
    let next = run_thread_child("none", &server.dsn(), &database);
    let stderr = format!("{stderr}{}", String::from_utf8_lossy(&next.stderr));
    assert!(next.status.success(), "{stderr}");
    let events = server.events();
    // Twice at most, with one event id, if the exit came between delivery and removal.
    let mut ids: Vec<_> = events.iter().map(|e| e["event_id"].clone()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 1, "{stderr}");
    assert_eq!(exception(&events[0])["value"], "cold first panic");
    assert!(on_disk(&database).is_empty(), "{stderr}");
}

/// Not a test of its own: the body of the slow-preparation child (see below). A thread named
/// `main` panics, which the hook treats as the end of the process: it waits for the event to
/// be on disk, but `before_send` takes longer than that wait. The child exits right after.
#[test]
fn slow_preparation_child() {
    let Ok(database) = std::env::var("PANIC_PROCESS_SLOW_CHILD_DB") else {
        return;
    };
    let _guard = sentry_core::init(
        sentry_core::ClientOptions::new()
            .dsn(unreachable_dsn())
            .database_path(database)
            .panic_flush_timeout(Duration::from_millis(100))
            .before_send(|mut event| {
                std::thread::sleep(Duration::from_secs(5));
                event.tags.insert("completed".into(), "yes".into());
                Some(event)
            }),
    );
    let main = std::thread::Builder::new()
        .name("main".into())
        .spawn(|| panic!("slow to prepare"))
        .unwrap();
    assert!(main.join().is_err());
    std::process::exit(0);
}

#[test]
fn a_process_ending_panic_keeps_a_fallback_when_preparing_takes_too_long() {
    let database = temp_dir("slow");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "slow_preparation_child", "--nocapture"])
        .env("PANIC_PROCESS_SLOW_CHILD_DB", &database)
        .env("SENTRY_DEBUG", "1")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "{stderr}");
    assert!(stderr.contains("kept without symbol names"), "{stderr}");
    // The fallback: the same panic, with addresses only and without before_send's work.
    let kept = on_disk(&database);
    assert_eq!(kept.len(), 1, "{stderr}");
    assert_eq!(exception(&kept[0])["value"], "slow to prepare");
    assert!(kept[0]["tags"].get("completed").is_none(), "{:#}", kept[0]);
    assert_addresses_only(&kept[0]);
}
