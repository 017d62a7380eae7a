//! Test helper: installs the crash handler, then crashes in the way asked for (with the
//! crate's own [`trigger`] functions, so that they are tested too).
//!
//! `crash-child <kind> <report-dir> [--watchdog=<secs>] [--fault=stall|crash]`; with
//! `CRASH_CHILD_NO_INSTALL=1` the handler is not installed, which gives the tests the signal
//! the process dies of without this crate. `--watchdog` sets `watchdog_secs` (default 5);
//! `--fault` makes the handler hang or crash once the report is in its `.tmp` file (the
//! crate's hidden `Fault`), to test the watchdog and a crash inside the handler.
//! The scope snapshot is a marker naming the kind and the address of the function that
//! crashes, so that the tests can check both the scope and the pc in the report.

#![allow(unsafe_code)]

use std::sync::{Arc, Barrier};

use sentry_native_crash::{Fault, HandlerConfig, install, set_images, set_scope, trigger};

const KINDS: &[&str] = &[
    "segfault",
    "abort",
    "illegal",
    "bus",
    "fpe",
    "trap",
    "stack-overflow",
    "thread-segfault",
    "thread-stack-overflow",
    "c-thread",
    "c-thread-overflow",
    "libc",
    "malloc",
    "concurrent",
    "raise",
    "chained",
    "install-twice",
    "suppressed-abort",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let options = (args.len() >= 3 && KINDS.contains(&args[1].as_str()))
        .then(|| parse_options(&args[3..]))
        .flatten();
    let Some((watchdog_secs, fault)) = options else {
        eprintln!(
            "usage: crash-child <{}> <report-dir> [--watchdog=<secs>] [--fault=stall|crash]",
            KINDS.join("|")
        );
        std::process::exit(2);
    };
    let (kind, dir) = (args[1].as_str(), args[2].as_str());
    trigger::disable_core_dumps().expect("setrlimit");
    if kind == "chained" {
        install_marker_handler(dir);
    }
    let fn_addr = crash_fn_address(kind);
    if std::env::var_os("CRASH_CHILD_NO_INSTALL").is_none() {
        let mut config = HandlerConfig::new(dir);
        config.watchdog_secs = watchdog_secs;
        config.fault = fault;
        install(config).expect("install");
        if kind == "install-twice" {
            install(HandlerConfig::new("/nonexistent")).expect("second install");
        }
        set_images(b"[{\"code_file\":\"crash-child\"}]").expect("images");
        set_scope(b"{\"marker\":\"old\"}").expect("scope");
        let scope = format!("{{\"marker\":\"scope-marker-{kind}\",\"fn\":\"{fn_addr:#x}\"}}");
        set_scope(scope.as_bytes()).expect("scope");
    }
    crash(kind);
    eprintln!("crash-child: {kind} did not crash");
    std::process::exit(3);
}

/// `--watchdog=<secs>` and `--fault=stall|crash`, in any order; None if anything else.
fn parse_options(args: &[String]) -> Option<(u32, Fault)> {
    let (mut watchdog_secs, mut fault) = (5, Fault::None);
    for arg in args {
        if let Some(secs) = arg.strip_prefix("--watchdog=") {
            watchdog_secs = secs.parse().ok()?;
        } else {
            fault = match arg.strip_prefix("--fault=")? {
                "stall" => Fault::StallInHandler,
                "crash" => Fault::CrashInHandler,
                _ => return None,
            };
        }
    }
    Some((watchdog_secs, fault))
}

fn crash_fn_address(kind: &str) -> usize {
    match kind {
        "segfault" | "chained" | "install-twice" | "thread-segfault" => {
            trigger::segfault as *const () as usize
        }
        "illegal" => trigger::illegal_instruction as *const () as usize,
        "bus" => trigger::bus_error as *const () as usize,
        "fpe" => trigger::divide_by_zero as *const () as usize,
        "trap" => trigger::breakpoint as *const () as usize,
        _ => 0,
    }
}

fn crash(kind: &str) {
    match kind {
        "segfault" | "chained" | "install-twice" => trigger::segfault(),
        "abort" => trigger::abort(),
        "suppressed-abort" => {
            sentry_native_crash::suppress_next_abort();
            trigger::abort()
        }
        "illegal" => trigger::illegal_instruction(),
        "bus" => trigger::bus_error(),
        "fpe" => trigger::divide_by_zero(),
        "trap" => trigger::breakpoint(),
        "stack-overflow" => trigger::stack_overflow(),
        "thread-segfault" => named_thread("crashy-worker", || trigger::segfault()),
        "thread-stack-overflow" => named_thread("deep-worker", || trigger::stack_overflow()),
        "c-thread" => {
            trigger::run_in_c_thread(c"c-worker", || trigger::segfault()).expect("c thread")
        }
        "c-thread-overflow" => trigger::run_in_c_thread(c"c-worker", || {
            // A C thread has no alternate signal stack until it asks for one.
            if std::env::var_os("CRASH_CHILD_NO_INSTALL").is_none() {
                sentry_native_crash::ensure_alt_stack_for_current_thread().expect("altstack");
            }
            trigger::stack_overflow()
        })
        .expect("c thread"),
        "libc" => trigger::libc_strlen(),
        "malloc" => trigger::heap_corruption(),
        "concurrent" => concurrent(),
        "raise" => {
            // SAFETY: raising a signal has no memory-safety preconditions.
            unsafe {
                libc::raise(libc::SIGSEGV);
            }
        }
        _ => unreachable!(),
    }
}

fn named_thread(name: &str, f: fn()) {
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn");
    let _ = handle.join();
}

fn concurrent() {
    const THREADS: usize = 4;
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::Builder::new()
                .name(format!("crasher-{i}"))
                .spawn(move || {
                    barrier.wait();
                    trigger::segfault();
                })
                .expect("spawn")
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

/// A host's own SIGSEGV handler, installed before ours: writes `chained-marker` into the
/// report directory, restores the default action and returns so the fault repeats and kills.
fn install_marker_handler(dir: &str) {
    static mut MARKER_PATH: [u8; 4096] = [0; 4096];
    let path = format!("{dir}/chained-marker\0");
    extern "C" fn host_handler(sig: libc::c_int) {
        // SAFETY: MARKER_PATH was written before the handler was installed and is only read
        // here; open/write/close/signal are async-signal-safe.
        unsafe {
            let path = std::ptr::addr_of!(MARKER_PATH) as *const libc::c_char;
            let fd = libc::open(
                path,
                libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                0o600,
            );
            if fd >= 0 {
                libc::write(fd, b"host handler ran\n".as_ptr().cast(), 17);
                libc::close(fd);
            }
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    // SAFETY: MARKER_PATH is written before any handler that reads it exists; the action is
    // fully initialized.
    unsafe {
        let dst = &mut *std::ptr::addr_of_mut!(MARKER_PATH);
        dst[..path.len()].copy_from_slice(path.as_bytes());
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = host_handler as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
    }
}
