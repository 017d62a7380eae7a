//! A program that crashes natively, for trying out crash reporting:
//! `cargo run --example crash -- <kind>`, then `cargo run --example crash -- none`.
//!
//! The first run sets a tag and two breadcrumbs (one larger than a crash report keeps whole)
//! and crashes in the way asked for; the crash handler installed by `init` writes a report
//! into the database directory. The second run
//! (`none`) only starts, which sends the report as a fatal event, and exits.
//!
//! Like the demo, it sends to `SENTRY_DSN` when set and is a dry run otherwise (envelopes
//! printed on stderr, or written to `SENTRY_DRY_RUN_DIR`). `SENTRY_DATABASE_PATH` says where
//! reports and undelivered events are kept.
//!
//! Kinds: segfault, abort, illegal, bus, fpe, trap, stack-overflow, thread-segfault,
//! thread-stack-overflow, c-thread, libc, malloc, concurrent, none.

use std::time::Duration;

use sentry_core::ClientOptions;
use sentry_core::protocol::Breadcrumb;

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
    "libc",
    "malloc",
    "concurrent",
    "none",
];

fn main() {
    let kind = std::env::args().nth(1).unwrap_or_default();
    if !KINDS.contains(&kind.as_str()) {
        eprintln!("usage: crash <{}>", KINDS.join("|"));
        std::process::exit(2);
    }
    let has_dsn = std::env::var("SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty());
    let _guard = sentry_core::init(
        ClientOptions::new()
            .release(concat!("sentry-crash-example@", env!("CARGO_PKG_VERSION")))
            .dry_run(!has_dsn)
            .shutdown_timeout(Duration::from_secs(10)),
    );
    if kind == "none" {
        // Starting is all it takes: init sends the reports of earlier runs on its worker.
        // Dropping the guard waits for that (at most shutdown_timeout).
        eprintln!("crash: started without crashing; pending crash reports are sent");
        return;
    }
    sentry_core::configure_scope(|scope| scope.set_tag("crash.kind", &kind));
    // Larger than a breadcrumb slot of the crash handler (1 KiB): the report keeps its gist,
    // the message without the data.
    sentry_core::add_breadcrumb(
        Breadcrumb::new("payload received")
            .category("crash.example")
            .data("payload", "x".repeat(2000)),
    );
    sentry_core::add_breadcrumb(
        Breadcrumb::new(format!("about to crash: {kind}")).category("crash.example"),
    );
    eprintln!("crash: crashing with {kind}");
    crashes::crash(&kind);
    eprintln!("crash: {kind} did not crash");
    std::process::exit(3);
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod crashes {
    use std::sync::{Arc, Barrier};

    use sentry_native_crash::trigger;

    pub(crate) fn crash(kind: &str) {
        // Core dumps of intended crashes are only clutter.
        let _ = trigger::disable_core_dumps();
        match kind {
            "segfault" => crate::segfault(),
            "abort" => crate::abort(),
            "illegal" => crate::illegal(),
            "bus" => crate::bus(),
            "fpe" => crate::fpe(),
            "trap" => crate::trap(),
            "stack-overflow" => crate::stack_overflow(),
            "thread-segfault" => named_thread("crashy-worker", crate::segfault),
            "thread-stack-overflow" => named_thread("deep-worker", crate::stack_overflow),
            // A thread created by C's pthread_create, which crashes.
            "c-thread" => trigger::run_in_c_thread(c"c-worker", crate::segfault).expect("thread"),
            "libc" => crate::libc_strlen(),
            "malloc" => crate::corrupt_heap(),
            "concurrent" => concurrent(),
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

    /// Four threads crash at the same moment: one report, one event.
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
                        crate::segfault();
                    })
                    .expect("spawn")
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
    }
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod crashes {
    pub(crate) fn crash(kind: &str) {
        eprintln!("crash: {kind}: native crashes are only captured on Linux (x86_64, aarch64)");
    }
}

// The crashing functions sit at the crate root so that their names in the stack trace are
// short (`crash::segfault`, `crash::illegal`, ...), and are never inlined, so that each is
// the frame right below the `sentry_native_crash::trigger` function that faults. The
// crashing itself takes unsafe code, which lives in that module.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
use sentry_native_crash::trigger;

/// Writes to an address that is never mapped: SIGSEGV.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn segfault() {
    trigger::segfault();
}

/// `std::process::abort`: SIGABRT raised inside the C library.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn abort() {
    trigger::abort();
}

/// Executes an undefined instruction: SIGILL.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn illegal() {
    trigger::illegal_instruction();
}

/// Reads a mapping of a file past the file's end: SIGBUS.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn bus() {
    trigger::bus_error();
}

/// A real integer division by zero: SIGFPE.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn fpe() {
    trigger::divide_by_zero();
}

/// Executes a breakpoint instruction: SIGTRAP.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn trap() {
    trigger::breakpoint();
}

/// Recurses until the stack overflows.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn stack_overflow() {
    trigger::stack_overflow();
}

/// Crashes inside the C library: `strlen` of an unmapped pointer.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn libc_strlen() {
    trigger::libc_strlen();
}

/// Corrupts glibc's heap, then allocates: glibc aborts inside `malloc` with its arena lock
/// held, where a handler that allocated would deadlock.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn corrupt_heap() {
    trigger::heap_corruption();
}
