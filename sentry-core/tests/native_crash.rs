//! Native crashes from start to event, with real crashes in child processes.
//!
//! Each case runs `examples/crash.rs` twice with a private database directory: once crashing
//! in some way, once with `none`, which starts the SDK again and sends the report. The events
//! are collected from a dry run's directory or from a small HTTP server in the test.

#![cfg(all(
    feature = "native-crash",
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use sentry_core::envelope::Envelope;
use serde_json::Value;

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGABRT: i32 = 6;
const SIGBUS: i32 = 7;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;

/// Builds the crash example once (into this test's target directory) and returns its path.
fn crash_example() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // <target>/<profile>/deps/<this test>
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let target_dir = profile_dir.parent().unwrap();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args([
                "build",
                "--quiet",
                "-p",
                "sentry-examples",
                "--example",
                "crash",
            ])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "cargo build --example crash failed");
        let path = profile_dir.join("examples").join("crash");
        assert!(path.exists(), "{} not built", path.display());
        path
    })
}

/// A private directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "sentry-native-test-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn db(&self) -> PathBuf {
        self.0.join("db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the example with `kind`, the database in `dir` and the given environment.
fn run(kind: &str, dir: &TempDir, env: &[(&str, &str)]) -> ExitStatus {
    let mut cmd = Command::new(crash_example());
    cmd.arg(kind)
        .env_remove("SENTRY_DSN")
        .env_remove("SENTRY_DRY_RUN_DIR")
        .env_remove("SENTRY_RELEASE")
        .env_remove("SENTRY_ENVIRONMENT")
        .env("SENTRY_DATABASE_PATH", dir.db())
        .env("SENTRY_DEBUG", "1");
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.output().expect("run the crash example");
    if std::env::var_os("NATIVE_TEST_VERBOSE").is_some() {
        eprintln!("{kind}: {}", String::from_utf8_lossy(&output.stderr));
    }
    output.status
}

/// The `.crash` files anywhere in the database.
fn reports_in(db: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(runs) = std::fs::read_dir(db.join("runs")) else {
        return found;
    };
    for run in runs.flatten() {
        found.extend(sentry_native_crash_reports(&run.path()));
    }
    found
}

fn sentry_native_crash_reports(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|files| {
            files
                .flatten()
                .map(|f| f.path())
                .filter(|p| p.extension().is_some_and(|x| x == "crash"))
                .collect()
        })
        .unwrap_or_default()
}

/// The events of the envelopes a dry run wrote into `dir`.
fn dry_run_events(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|f| f.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "envelope"))
        .map(|p| {
            let envelope = Envelope::parse(&std::fs::read(p).unwrap()).unwrap();
            envelope.event_json().unwrap()
        })
        .collect()
}

/// Crashes with `kind`, checks the exit signal and that one report was left, then starts
/// again and returns the one event sent.
fn crash_and_collect(kind: &str, exit_signal: i32) -> Value {
    let dir = TempDir::new(kind);
    let status = run(kind, &dir, &[]);
    assert_eq!(status.signal(), Some(exit_signal), "{kind}: {status:?}");
    let reports = reports_in(&dir.db());
    assert_eq!(reports.len(), 1, "{kind}: one report, got {reports:?}");

    let out = dir.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let status = run(
        "none",
        &dir,
        &[("SENTRY_DRY_RUN_DIR", out.to_str().unwrap())],
    );
    assert!(status.success(), "{kind}: second start: {status:?}");
    assert!(
        reports_in(&dir.db()).is_empty(),
        "{kind}: the report is deleted once its event was delivered"
    );
    let mut events = dry_run_events(&out);
    assert_eq!(events.len(), 1, "{kind}: one event");
    events.pop().unwrap()
}

fn frames(stacktrace: &Value) -> &[Value] {
    stacktrace["frames"].as_array().map(Vec::as_slice).unwrap()
}

fn function_names(stacktrace: &Value) -> Vec<&str> {
    frames(stacktrace)
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect()
}

/// The crate of the deliberate crashes the example calls.
const TRIGGER: &str = "sentry_native_crash::trigger::";

/// Asserts that `trigger` (a function of `sentry_native_crash::trigger`) is among the frames,
/// and the innermost one when `innermost`, and that the example's `caller` is one of the
/// three named frames right outside it: the example's function called the trigger.
fn assert_called_from(names: &[&str], trigger: &str, caller: &str, innermost: bool) {
    let trigger = format!("{TRIGGER}{trigger}");
    let at = names
        .iter()
        .rposition(|n| *n == trigger)
        .unwrap_or_else(|| panic!("{trigger} is not among {names:?}"));
    if innermost {
        assert_eq!(at + 1, names.len(), "{trigger} is the innermost: {names:?}");
    }
    assert!(
        names[at.saturating_sub(3)..at].contains(&caller),
        "{caller} right outside {trigger}: {names:?}"
    );
}

/// What every crash event must say.
fn check_event(kind: &str, event: &Value, signal: i32, name: &str) {
    assert_eq!(event["level"], "fatal", "{kind}");
    assert_eq!(event["platform"], "native", "{kind}");
    let exception = &event["exception"]["values"][0];
    assert_eq!(exception["type"], name, "{kind}");
    assert!(exception["value"].as_str().is_some_and(|v| !v.is_empty()));
    let mechanism = &exception["mechanism"];
    assert_eq!(mechanism["type"], "signalhandler");
    assert_eq!(mechanism["handled"], false);
    assert_eq!(mechanism["synthetic"], true);
    assert_eq!(mechanism["meta"]["signal"]["number"], signal);
    assert_eq!(mechanism["meta"]["signal"]["name"], name);
    assert!(mechanism["meta"]["signal"]["code"].is_i64());

    let thread = &event["threads"]["values"][0];
    assert_eq!(thread["crashed"], true);
    assert_eq!(thread["id"], exception["thread_id"]);
    let trace = &thread["stacktrace"];
    assert_eq!(trace, &exception["stacktrace"]);
    assert!(!frames(trace).is_empty(), "{kind}: frames");
    for frame in frames(trace) {
        let addr = frame["instruction_addr"].as_str().unwrap();
        assert!(addr.starts_with("0x"), "{kind}: {frame}");
    }
    let registers = trace["registers"].as_object().unwrap();
    let pc = if cfg!(target_arch = "x86_64") {
        "rip"
    } else {
        "pc"
    };
    let pc = registers[pc].as_str().unwrap();
    assert!(pc.starts_with("0x"));
    // The innermost frame is the pc.
    let last = frames(trace).last().unwrap();
    assert_eq!(
        u64::from_str_radix(&last["instruction_addr"].as_str().unwrap()[2..], 16).unwrap(),
        u64::from_str_radix(&pc[2..], 16).unwrap(),
        "{kind}: the last frame is the crashing instruction"
    );

    let images = event["debug_meta"]["images"].as_array().unwrap();
    assert!(
        images[0]["code_file"]
            .as_str()
            .is_some_and(|f| f.ends_with("/crash")),
        "{kind}: the main executable first: {}",
        images[0]
    );
    assert!(images.iter().all(|i| i["debug_id"].is_string()));

    let crumbs = event["breadcrumbs"]["values"].as_array().unwrap();
    assert_eq!(
        crumbs.last().unwrap()["message"],
        format!("about to crash: {kind}"),
        "{kind}: the breadcrumb set just before the crash"
    );
    let large = &crumbs[crumbs.len() - 2];
    assert_eq!(large["message"], "payload received", "{kind}");
    assert!(
        large.get("data").is_none(),
        "{kind}: a breadcrumb over a slot keeps its gist, without data: {large}"
    );
    assert_eq!(event["tags"]["crash.kind"], kind);
    assert!(
        event["release"]
            .as_str()
            .is_some_and(|r| r.starts_with("sentry-crash-example@"))
    );
    assert!(event["environment"].is_string());
    // The time of the crash, not of the second start.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let timestamp = event["timestamp"].as_f64().unwrap();
    let crumb_time = crumbs.last().unwrap()["timestamp"].as_f64().unwrap();
    assert!(timestamp >= crumb_time && timestamp <= now, "{kind}");
}

#[test]
fn segfault_on_the_main_thread() {
    let event = crash_and_collect("segfault", SIGSEGV);
    check_event("segfault", &event, SIGSEGV, "SIGSEGV");
    let trace = &event["threads"]["values"][0]["stacktrace"];
    assert_called_from(&function_names(trace), "segfault", "crash::segfault", true);
    assert!(
        event["exception"]["values"][0]["value"]
            .as_str()
            .unwrap()
            .contains("address not mapped at 0x8")
    );
    let last = frames(trace).last().unwrap();
    assert!(last["lineno"].as_u64().is_some(), "file and line: {last}");
    assert_eq!(event["threads"]["values"][0]["main"], true);
}

#[test]
fn abort() {
    let event = crash_and_collect("abort", SIGABRT);
    check_event("abort", &event, SIGABRT, "SIGABRT");
    // The signal is raised inside the C library, which is innermost.
    let names = function_names(&event["threads"]["values"][0]["stacktrace"]);
    assert_called_from(&names, "abort", "crash::abort", false);
}

#[test]
fn illegal_instruction_bus_error_fpe_and_trap() {
    // aarch64 has no trap for a division by zero: the trigger raises SIGFPE in libc.
    let fpe_innermost = cfg!(target_arch = "x86_64");
    for (kind, signal, name, trigger, function, innermost) in [
        (
            "illegal",
            SIGILL,
            "SIGILL",
            "illegal_instruction",
            "crash::illegal",
            true,
        ),
        ("bus", SIGBUS, "SIGBUS", "bus_error", "crash::bus", true),
        (
            "fpe",
            SIGFPE,
            "SIGFPE",
            "divide_by_zero",
            "crash::fpe",
            fpe_innermost,
        ),
        (
            "trap",
            SIGTRAP,
            "SIGTRAP",
            "breakpoint",
            "crash::trap",
            true,
        ),
    ] {
        let event = crash_and_collect(kind, signal);
        check_event(kind, &event, signal, name);
        let names = function_names(&event["threads"]["values"][0]["stacktrace"]);
        assert_called_from(&names, trigger, function, innermost);
    }
}

#[test]
fn stack_overflow_on_the_main_thread() {
    // Rust's own handler turns the overflow into an abort after ours wrote the report.
    let event = crash_and_collect("stack-overflow", SIGABRT);
    check_event("stack-overflow", &event, SIGSEGV, "SIGSEGV");
    // The caller is thousands of frames further out, beyond what a report keeps. In a debug
    // build `black_box` is a real call, and the overflow may hit on the call into it.
    let mut names = function_names(&event["threads"]["values"][0]["stacktrace"]);
    while names.last().is_some_and(|n| n.starts_with("core::hint::")) {
        names.pop();
    }
    assert_eq!(
        names.last().copied(),
        Some("sentry_native_crash::trigger::recurse"),
        "{names:?}"
    );
}

#[test]
fn segfault_on_a_named_thread() {
    let event = crash_and_collect("thread-segfault", SIGSEGV);
    check_event("thread-segfault", &event, SIGSEGV, "SIGSEGV");
    let thread = &event["threads"]["values"][0];
    assert_eq!(thread["name"], "crashy-worker");
    assert_eq!(thread["main"], false);
    let names = function_names(&thread["stacktrace"]);
    assert_called_from(&names, "segfault", "crash::segfault", true);
}

#[test]
fn crash_inside_libc_and_in_a_c_thread() {
    let event = crash_and_collect("libc", SIGSEGV);
    check_event("libc", &event, SIGSEGV, "SIGSEGV");
    let trace = &event["threads"]["values"][0]["stacktrace"];
    let last = frames(trace).last().unwrap();
    assert!(
        last["package"].as_str().is_some_and(|p| p.contains("libc")),
        "the pc is in the C library: {last}"
    );
    assert_called_from(
        &function_names(trace),
        "libc_strlen",
        "crash::libc_strlen",
        false,
    );

    let event = crash_and_collect("c-thread", SIGSEGV);
    check_event("c-thread", &event, SIGSEGV, "SIGSEGV");
    assert_eq!(event["threads"]["values"][0]["name"], "c-worker");
    let names = function_names(&event["threads"]["values"][0]["stacktrace"]);
    assert_called_from(&names, "segfault", "crash::segfault", true);
}

/// Crash reports wait in the outbox like any event: a server that fails keeps the event on
/// disk (and the report is gone, its event being safe), and the next start delivers it.
#[test]
fn report_survives_a_failing_server_through_the_outbox() {
    let dir = TempDir::new("http");
    assert_eq!(run("segfault", &dir, &[]).signal(), Some(SIGSEGV));

    let server = Server::start(vec![503]);
    let dsn = format!("http://key@{}/1", server.address);
    let status = run("none", &dir, &[("SENTRY_DSN", &dsn)]);
    assert!(status.success());
    assert_eq!(server.received().len(), 1, "one attempt, refused with 503");
    assert!(
        reports_in(&dir.db()).is_empty(),
        "the report became an envelope in the outbox"
    );

    let server = Server::start(vec![]);
    let dsn = format!("http://key@{}/1", server.address);
    assert!(run("none", &dir, &[("SENTRY_DSN", &dsn)]).success());
    let received = server.received();
    assert_eq!(
        received.len(),
        1,
        "delivered from the outbox on the next start"
    );
    let event = Envelope::parse(&received[0]).unwrap().event_json().unwrap();
    check_event("segfault", &event, SIGSEGV, "SIGSEGV");

    // Delivered: nothing is left to send.
    let server = Server::start(vec![]);
    let dsn = format!("http://key@{}/1", server.address);
    assert!(run("none", &dir, &[("SENTRY_DSN", &dsn)]).success());
    assert!(server.received().is_empty());
}

/// A damaged report is set aside and the program starts normally.
#[test]
fn unreadable_report_is_set_aside() {
    let dir = TempDir::new("corrupt");
    let dead_run = dir.db().join("runs").join("0000000000001-1-deadbeef");
    std::fs::create_dir_all(&dead_run).unwrap();
    std::fs::write(
        dead_run.join("crash-1.crash"),
        b"SENTRY-NATIVE-CRASH 1\nsignal 0xb\n",
    )
    .unwrap();
    let out = dir.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let status = run(
        "none",
        &dir,
        &[("SENTRY_DRY_RUN_DIR", out.to_str().unwrap())],
    );
    assert!(status.success());
    assert!(dry_run_events(&out).is_empty());
    assert!(dir.db().join("corrupt").join("crash-1.crash").exists());
    assert!(reports_in(&dir.db()).is_empty());
}

/// The report of a run whose process still lives (its lock is held) is left alone.
#[test]
fn reports_of_a_live_process_are_not_taken() {
    let dir = TempDir::new("live");
    let live_run = dir.db().join("runs").join("0000000000001-1-live");
    std::fs::create_dir_all(&live_run).unwrap();
    let lock = std::fs::File::create(live_run.join("lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(live_run.join("crash-1.crash"), b"not sent").unwrap();
    let out = dir.0.join("out");
    std::fs::create_dir_all(&out).unwrap();
    assert!(
        run(
            "none",
            &dir,
            &[("SENTRY_DRY_RUN_DIR", out.to_str().unwrap())]
        )
        .success()
    );
    assert!(dry_run_events(&out).is_empty());
    assert!(live_run.join("crash-1.crash").exists());
    drop(lock);
}

/// A minimal HTTP server that records request bodies and answers with the given statuses
/// (then 200).
struct Server {
    address: String,
    bodies: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Server {
    fn start(statuses: Vec<u16>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        std::thread::spawn(move || {
            let mut statuses = statuses.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let status = statuses.next().unwrap_or(200);
                if let Some(body) = serve(stream, status) {
                    seen.lock().unwrap().push(body);
                }
            }
        });
        Server { address, bodies }
    }

    /// The bodies received so far, after a moment for requests still in flight.
    fn received(&self) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_millis(200);
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.bodies.lock().unwrap().clone()
    }
}

fn serve(stream: std::net::TcpStream, status: u16) -> Option<Vec<u8>> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut length = 0usize;
    let mut gzip = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if lower.starts_with("content-encoding:") && lower.contains("gzip") {
            gzip = true;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    assert!(!gzip, "the test server reads plain bodies only");
    let reason = if status == 200 { "OK" } else { "Unavailable" };
    let answer = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    let mut stream = stream;
    stream.write_all(answer.as_bytes()).ok()?;
    Some(body)
}
