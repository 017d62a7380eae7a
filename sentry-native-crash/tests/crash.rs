//! Real crashes: run the `crash-child` helper for each kind of crash and inspect what it left.
//!
//! Every case runs the child twice: once without the handler, to learn how the process dies
//! without this crate, and once with it. The two must die the same way, and the second must
//! leave exactly one complete report that says what happened.

#![cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sentry_native_crash::{CrashReport, StackWalk, pending_reports, read_report};

const SIGILL: i32 = 4;
const SIGTRAP: i32 = 5;
const SIGABRT: i32 = 6;
const SIGBUS: i32 = 7;
const SIGFPE: i32 = 8;
const SIGSEGV: i32 = 11;

/// A private directory for one child run, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(kind: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("snc-crash-{}-{n}-{kind}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700)).unwrap();
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_child(kind: &str, dir: &Path, install: bool) -> ExitStatus {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crash-child"));
    cmd.arg(kind).arg(dir).current_dir(dir);
    if !install {
        cmd.env("CRASH_CHILD_NO_INSTALL", "1");
    }
    cmd.output().expect("run crash-child").status
}

/// What a case must produce.
struct Expect {
    /// Signal the process dies of (with and without the handler).
    exit_signal: Option<i32>,
    /// Signal recorded in the report.
    report_signal: i32,
    /// Thread name recorded in the report, if the case names its thread.
    thread: Option<&'static str>,
    /// Whether the pc must lie in the function whose address the child put in the scope.
    pc_in_crash_fn: bool,
}

fn expect(exit: i32, report: i32) -> Expect {
    Expect {
        exit_signal: Some(exit),
        report_signal: report,
        thread: None,
        pc_in_crash_fn: false,
    }
}

/// Runs a case and checks everything common to all of them; returns the report and the dir.
fn check(kind: &str, want: Expect) -> (CrashReport, TempDir) {
    let baseline_dir = TempDir::new(kind);
    let baseline = run_child(kind, &baseline_dir.0, false);
    assert!(
        pending_reports(&baseline_dir.0).is_empty(),
        "{kind}: no report without the handler"
    );

    let dir = TempDir::new(kind);
    let status = run_child(kind, &dir.0, true);
    assert_eq!(
        status.signal(),
        baseline.signal(),
        "{kind}: the handler changed how the process dies ({status:?} vs {baseline:?})"
    );
    assert_eq!(status.code(), baseline.code(), "{kind}: exit code");
    assert_eq!(status.signal(), want.exit_signal, "{kind}: exit signal");

    let reports = pending_reports(&dir.0);
    assert_eq!(
        reports.len(),
        1,
        "{kind}: exactly one report, got {reports:?}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "tmp"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "{kind}: temporary files left: {leftovers:?}"
    );

    let report = read_report(&reports[0]).unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(report.signal, want.report_signal, "{kind}: report signal");
    assert!(
        report.description().starts_with(match want.report_signal {
            SIGSEGV => "Segmentation fault",
            SIGABRT => "Aborted",
            SIGILL => "Illegal instruction",
            SIGBUS => "Bus error",
            SIGFPE => "Floating-point exception",
            _ => "Trace/breakpoint trap",
        }),
        "{kind}: {}",
        report.description()
    );
    let scope = String::from_utf8_lossy(&report.scope);
    assert!(
        scope.contains(&format!("\"marker\":\"scope-marker-{kind}\"")),
        "{kind}: scope marker missing: {scope}"
    );
    assert_eq!(report.images, b"[{\"code_file\":\"crash-child\"}]");

    let pc_name = if cfg!(target_arch = "x86_64") {
        "rip"
    } else {
        "pc"
    };
    let pc = report.register(pc_name).expect("pc register");
    assert!(!report.frames.is_empty(), "{kind}: no frames");
    assert_eq!(report.frames[0], pc, "{kind}: first frame is the pc");
    assert!(report.frames.len() <= 256, "{kind}: frame cap");
    assert!(report.stack_range.is_some(), "{kind}: stack not found");
    assert_ne!(report.stack_walk, StackWalk::None, "{kind}: no stack walk");
    assert!(
        report.frames.len() > 1,
        "{kind}: walk found nothing past the pc"
    );

    if want.pc_in_crash_fn {
        let addr = scope
            .split("\"fn\":\"0x")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| u64::from_str_radix(s, 16).ok())
            .expect("function address in scope");
        assert!(
            (addr..addr + 0x400).contains(&pc),
            "{kind}: pc {pc:#x} not in the crashing function at {addr:#x}"
        );
    }
    if let Some(thread) = want.thread {
        assert_eq!(
            report.thread_name.as_deref(),
            Some(thread),
            "{kind}: thread name"
        );
    }
    assert!(report.pid > 0);
    assert!(report.timestamp.0 > 1_600_000_000, "{kind}: timestamp");
    (report, dir)
}

#[test]
fn segfault() {
    let (r, _dir) = check(
        "segfault",
        Expect {
            thread: Some("crash-child"),
            pc_in_crash_fn: true,
            ..expect(SIGSEGV, SIGSEGV)
        },
    );
    assert_eq!(r.fault_address, 0x8);
    assert_eq!(
        r.description(),
        "Segmentation fault: address not mapped at 0x8"
    );
    assert_eq!(u64::from(r.pid), r.thread_id, "crash on the main thread");
}

#[test]
fn abort() {
    let (r, _dir) = check("abort", expect(SIGABRT, SIGABRT));
    assert!(r.code <= 0, "abort() sends the signal: code {}", r.code);
}

#[test]
fn suppressed_abort_dies_the_same_without_a_report() {
    let dir = TempDir::new("suppressed-abort");
    let status = run_child("suppressed-abort", &dir.0, true);
    assert_eq!(status.signal(), Some(SIGABRT));
    assert!(
        pending_reports(&dir.0).is_empty(),
        "a suppressed abort writes no report"
    );
}

#[test]
fn illegal_instruction() {
    check(
        "illegal",
        Expect {
            pc_in_crash_fn: true,
            ..expect(SIGILL, SIGILL)
        },
    );
}

#[test]
fn bus_error() {
    let (r, _dir) = check(
        "bus",
        Expect {
            pc_in_crash_fn: true,
            ..expect(SIGBUS, SIGBUS)
        },
    );
    assert_eq!(r.code, 2, "BUS_ADRERR");
}

#[test]
fn integer_division_by_zero() {
    let (r, _dir) = check(
        "fpe",
        Expect {
            pc_in_crash_fn: cfg!(target_arch = "x86_64"),
            ..expect(SIGFPE, SIGFPE)
        },
    );
    if cfg!(target_arch = "x86_64") {
        assert_eq!(
            r.description().split(" at ").next(),
            Some("Floating-point exception: integer divide by zero")
        );
    }
}

#[test]
fn breakpoint_trap() {
    check(
        "trap",
        Expect {
            pc_in_crash_fn: true,
            ..expect(SIGTRAP, SIGTRAP)
        },
    );
}

/// Rust's own overflow handler, chained after ours, prints its message and aborts, as it would
/// without us: the report says SIGSEGV, the process dies of SIGABRT.
#[test]
fn main_thread_stack_overflow() {
    let (r, _dir) = check(
        "stack-overflow",
        Expect {
            thread: Some("crash-child"),
            ..expect(SIGABRT, SIGSEGV)
        },
    );
    let (lo, hi) = r.stack_range.unwrap();
    assert!(
        hi - lo > 1 << 20,
        "the whole grown main stack: {lo:#x}..{hi:#x}"
    );
}

#[test]
fn spawned_thread_segfault() {
    let (r, _dir) = check(
        "thread-segfault",
        Expect {
            thread: Some("crashy-worker"),
            pc_in_crash_fn: true,
            ..expect(SIGSEGV, SIGSEGV)
        },
    );
    assert_ne!(u64::from(r.pid), r.thread_id);
}

/// Runs on the 8 KiB alternate stack Rust gave the thread: the handler must fit in it.
#[test]
fn spawned_thread_stack_overflow() {
    check(
        "thread-stack-overflow",
        Expect {
            thread: Some("deep-worker"),
            ..expect(SIGABRT, SIGSEGV)
        },
    );
}

#[test]
fn c_thread_segfault() {
    check(
        "c-thread",
        Expect {
            thread: Some("c-worker"),
            ..expect(SIGSEGV, SIGSEGV)
        },
    );
}

/// A C thread has no alternate stack until it asks for one; with it, its overflow is reported.
#[test]
fn c_thread_stack_overflow_with_ensured_alt_stack() {
    check(
        "c-thread-overflow",
        Expect {
            thread: Some("c-worker"),
            ..expect(SIGSEGV, SIGSEGV)
        },
    );
}

#[test]
fn crash_inside_libc() {
    let (r, _dir) = check("libc", expect(SIGSEGV, SIGSEGV));
    assert_eq!(r.fault_address, 0x10);
}

/// glibc aborts from inside `malloc` with its arena lock held: a handler that allocated would
/// deadlock, and the watchdog would end the process (by SIGABRT still) with no report.
#[test]
fn abort_inside_malloc() {
    check("malloc", expect(SIGABRT, SIGABRT));
}

#[test]
fn concurrent_crashes_write_one_report() {
    let (r, _dir) = check("concurrent", expect(SIGSEGV, SIGSEGV));
    let name = r.thread_name.unwrap_or_default();
    assert!(name.starts_with("crasher-"), "thread {name}");
}

/// A signal sent with raise() is raised again to the previous handler. Rust's handler then
/// resets the default action and returns, and the program goes on, exactly as it does
/// without us.
#[test]
fn raised_signal_goes_to_the_previous_handler() {
    let (r, _dir) = check(
        "raise",
        Expect {
            exit_signal: None,
            ..expect(0, SIGSEGV)
        },
    );
    assert_eq!(r.code, -6, "SI_TKILL");
    assert_eq!(r.description(), "Segmentation fault: sent by tkill/raise");
}

#[test]
fn previous_handler_is_chained() {
    let (_r, dir) = check(
        "chained",
        Expect {
            pc_in_crash_fn: true,
            ..expect(SIGSEGV, SIGSEGV)
        },
    );
    let marker = std::fs::read_to_string(dir.0.join("chained-marker")).expect("host handler ran");
    assert_eq!(marker, "host handler ran\n");
}

#[test]
fn second_install_is_harmless() {
    check(
        "install-twice",
        Expect {
            pc_in_crash_fn: true,
            ..expect(SIGSEGV, SIGSEGV)
        },
    );
}

// The handler failing: it hangs, or crashes itself. The child injects the fault once the
// whole report is in its `.tmp` file, before the rename (the hidden `HandlerConfig::fault`).
// Either way the process must die promptly of the crash signal it would die of without this
// crate, and leave no `.crash` file: the `.tmp` it leaves is never offered as a report.

/// Longest any of these children may live: a hung handler fails the test here rather than
/// hanging it. Generous, for a loaded machine; the expected times are about 1 s and 10 ms.
const DEADLINE: Duration = Duration::from_secs(10);

/// Runs the child with extra options under [`DEADLINE`], killing it past that; returns how
/// it ended and how long it lived.
fn run_bounded(kind: &str, dir: &Path, options: &[&str]) -> (ExitStatus, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crash-child"))
        .arg(kind)
        .arg(dir)
        .args(options)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run crash-child");
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return (status, start.elapsed());
        }
        if start.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{kind} {options:?}: still running after {DEADLINE:?}: the handler hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The files in `dir` whose extension is `ext`.
fn files_with(dir: &Path, ext: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect()
}

/// What a failed handler must leave: no report offered, and only its own `.tmp`, which holds
/// the whole report (the fault comes after its last byte) and is still not offered: only the
/// rename makes a report.
fn assert_only_tmp_left(dir: &Path, what: &str) {
    assert!(
        pending_reports(dir).is_empty(),
        "{what}: no report: {:?}",
        pending_reports(dir)
    );
    assert!(
        files_with(dir, "crash").is_empty(),
        "{what}: no .crash file"
    );
    let tmps = files_with(dir, "tmp");
    assert_eq!(tmps.len(), 1, "{what}: the writer's .tmp: {tmps:?}");
    let name = tmps[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("crash-"), "{what}: {name}");
    read_report(&tmps[0]).unwrap_or_else(|e| panic!("{what}: the .tmp is whole: {e}"));
}

/// A handler that never finishes is ended by the watchdog (1 s here) with the crash signal's
/// default action: the parent sees SIGSEGV or SIGABRT, the same as without the handler, not
/// SIGALRM. Nothing else can end this child, so dying after the second is the timer's work.
#[test]
fn watchdog_ends_a_stalled_handler_by_the_crash_signal() {
    for (kind, signal) in [("segfault", SIGSEGV), ("abort", SIGABRT)] {
        let baseline_dir = TempDir::new(kind);
        let baseline = run_child(kind, &baseline_dir.0, false);
        assert_eq!(
            baseline.signal(),
            Some(signal),
            "{kind}: without the handler"
        );

        let dir = TempDir::new(kind);
        let (status, took) = run_bounded(kind, &dir.0, &["--watchdog=1", "--fault=stall"]);
        assert_eq!(status.signal(), Some(signal), "{kind}: {status:?}");
        assert!(
            took >= Duration::from_millis(900),
            "{kind}: ended after {took:?}, before the watchdog's second"
        );
        assert_only_tmp_left(&dir.0, kind);
    }
}

/// A crash inside the handler reaches the handler again, which gives up on the report and
/// ends the process by the signal it was reporting, at once: SIGABRT stays SIGABRT although
/// the handler's own fault is a SIGSEGV. The watchdog is off, so the re-entry alone ends it.
/// No report at all: the fault comes before the rename, and the handler does not try again
/// (a second attempt by a handler that just crashed could only crash again).
#[test]
fn crash_inside_the_handler_dies_of_the_original_signal() {
    for (kind, signal) in [("segfault", SIGSEGV), ("abort", SIGABRT)] {
        let dir = TempDir::new(kind);
        let (status, took) = run_bounded(kind, &dir.0, &["--watchdog=0", "--fault=crash"]);
        assert_eq!(status.signal(), Some(signal), "{kind}: {status:?}");
        assert!(took < Duration::from_secs(5), "{kind}: took {took:?}");
        assert_only_tmp_left(&dir.0, kind);
    }
}

/// Four threads crash at once and the one writing the report hangs: the others wait for it,
/// the watchdog ends the process by SIGSEGV, and only the writer's `.tmp` is left. (The
/// waiting threads give up on their own after the watchdog's time plus one second, so either
/// way the process cannot hang; this checks that it ends, how, and what it leaves.)
#[test]
fn concurrent_crashes_with_a_stalled_writer() {
    let dir = TempDir::new("concurrent-stall");
    let (status, took) = run_bounded("concurrent", &dir.0, &["--watchdog=1", "--fault=stall"]);
    assert_eq!(status.signal(), Some(SIGSEGV), "{status:?}");
    assert!(took >= Duration::from_millis(900), "ended after {took:?}");
    assert_only_tmp_left(&dir.0, "concurrent");
}
