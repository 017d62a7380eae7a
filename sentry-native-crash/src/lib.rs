//! Native crash capture for the SDK: signal handlers that write a crash report to disk, and a
//! reader that turns such a file back into a [`CrashReport`] on the next start.
//!
//! This crate captures; it does not know about events or envelopes. The core prepares what
//! the handler needs (the report directory, the serialized scope and image list) and, later,
//! turns reports into events:
//!
//! ```no_run
//! use sentry_native_crash as native;
//!
//! let dir = std::path::Path::new("/var/lib/myapp/crashes"); // created, private (0700)
//! native::install(native::HandlerConfig::new(dir))?;
//! native::set_images(b"[...serialized image list...]").ok();
//! native::set_scope(b"{...serialized scope...}").ok(); // again whenever the scope changes
//! native::push_breadcrumb(b"{...one serialized breadcrumb...}").ok(); // cheap, one at a time
//!
//! // On the next start:
//! for path in native::pending_reports(dir) {
//!     match native::read_report(&path) {
//!         Ok(report) => println!("{}", report.description()),
//!         Err(error) => eprintln!("{}: {error}", path.display()),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! On Linux (x86_64 and aarch64) the handler catches SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT
//! and SIGTRAP on any thread, writes one report (see [`format`](crate#report-format) below)
//! using only async-signal-safe system calls and no allocation, then hands the signal to the
//! handler installed before it (or the default action), so that the process dies of the same
//! signal, with the same core dump behaviour, as without this crate. Elsewhere every function
//! is a no-op and [`is_supported`] is false.
//!
//! A handler that fails ends the process all the same: if it crashes itself, or is still
//! writing after [`HandlerConfig::watchdog_secs`], the process dies at once by the default
//! action of the signal being reported (still SIGSEGV, say, for the parent), and leaves no
//! report, at most a `*.tmp` file that is never read.
//!
//! # Threads and stack overflows
//!
//! A handler for a stack overflow must run on an alternate signal stack. [`install`] gives the
//! calling thread one; threads created by Rust's `std::thread` already have Rust's (8 KiB, which
//! the handler fits in); threads created by C code have none: call
//! [`ensure_alt_stack_for_current_thread`] at their start, or their stack overflows end the
//! process without a report.
//!
//! # Report format
//!
//! Line-based text with length-prefixed blobs and a final `end <length> <checksum>` line; see
//! the `format` module source for the grammar. Reports are written as `*.tmp` and renamed to
//! `*.crash` when complete, so a `.crash` file is never half-written.
//!
//! # Unsafe code
//!
//! All `unsafe` of the SDK lives in this crate, each block with the reason it holds: in the
//! Linux modules, the process helpers, and [`trigger`], the deliberate crashes that examples
//! and tests use to check crash reporting end to end. `cargo build` with `-C force-frame-pointers=yes` gives exact stack traces;
//! without frame pointers the handler falls back to scanning the stack.
#![allow(unsafe_code)]

mod config;
mod format;
mod process;
mod reader;

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod linux;
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
use linux as imp;

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub mod trigger;

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod unsupported;
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
use unsupported as imp;

#[doc(hidden)]
pub use config::Fault;
pub use config::{
    HandlerConfig, InstallError, MAX_BREADCRUMBS_LIMIT, MAX_FRAMES_LIMIT, MIN_ALT_STACK_SIZE,
    SnapshotError,
};
pub use format::{REPORT_EXTENSION, TEMP_EXTENSION, signal_name};
pub use process::{die_by_signal, forward_signals, send_signal};
pub use reader::{
    CrashReport, MAX_REPORT_BYTES, ReportError, StackWalk, describe, parse_report, pending_reports,
    read_report,
};

/// Whether native crash capture works on this platform (Linux on x86_64 or aarch64).
pub const fn is_supported() -> bool {
    cfg!(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))
}

/// Installs the crash handlers for SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT and SIGTRAP and
/// gives the calling thread an alternate signal stack.
///
/// The handlers installed before are kept and chained to after the report is written.
/// Calling it again is harmless: the first configuration stays, and the calling thread gets an
/// alternate stack. Fails with [`InstallError::Unsupported`] where [`is_supported`] is false.
pub fn install(config: HandlerConfig) -> Result<(), InstallError> {
    imp::install(config)
}

/// Whether [`install`] has succeeded in this process.
pub fn is_installed() -> bool {
    imp::is_installed()
}

/// Gives the calling thread an alternate signal stack of at least
/// [`HandlerConfig::alt_stack_size`] if it has none or a smaller one, so that a stack overflow
/// on this thread is reported. Idempotent; the stack is released when the thread exits. Call
/// it at the start of threads created outside Rust's `std::thread`.
pub fn ensure_alt_stack_for_current_thread() -> Result<(), InstallError> {
    imp::ensure_alt_stack_for_current_thread()
}

/// Makes the calling thread's next SIGABRT write no report, because it is already reported
/// another way: the SDK's panic hook calls it when the process aborts right after a panic
/// (`panic = "abort"`, a double panic), so that one failure is one event.
///
/// Only the calling thread's next SIGABRT is affected; it still ends the process as usual,
/// and a crash of any other thread is reported. Async-signal-safe; a no-op where
/// [`is_supported`] is false.
pub fn suppress_next_abort() {
    imp::suppress_next_abort()
}

/// Replaces the scope snapshot written into reports (opaque bytes, e.g. the serialized scope).
///
/// Safe to call from any thread at any time, also while another thread crashes: the handler
/// always sees one whole snapshot, the old or the new. A snapshot larger than
/// [`HandlerConfig::max_scope_bytes`] is refused and the previous one kept.
pub fn set_scope(data: &[u8]) -> Result<(), SnapshotError> {
    imp::set_scope(data)
}

/// Replaces the image list written into reports (opaque bytes, e.g. the serialized list of
/// loaded modules). Same guarantees and limits as [`set_scope`], with
/// [`HandlerConfig::max_images_bytes`].
pub fn set_images(data: &[u8]) -> Result<(), SnapshotError> {
    imp::set_images(data)
}

/// Adds a breadcrumb (opaque bytes, e.g. one serialized breadcrumb) after the ones pushed
/// before; reports hold the newest [`HandlerConfig::max_breadcrumbs`], oldest first, in
/// [`CrashReport::breadcrumbs`]. Returns the breadcrumb's number: 0 for the first pushed,
/// then one more each time, as [`read_breadcrumbs`] gives them back.
///
/// Unlike keeping breadcrumbs inside the [`set_scope`] snapshot, this copies only the new
/// breadcrumb, so it stays cheap however many are kept. Same thread-safety as [`set_scope`];
/// a breadcrumb larger than [`HandlerConfig::max_breadcrumb_bytes`] is refused.
pub fn push_breadcrumb(data: &[u8]) -> Result<u64, SnapshotError> {
    imp::push_breadcrumb(data)
}

/// Calls `f` with the number and bytes of each breadcrumb a report written now would hold,
/// oldest first.
///
/// For a caller that keeps its breadcrumbs only here rather than in a list of its own as
/// well: adding one then costs one copy, not two. Safe on any thread, while others push
/// (not in a signal handler: it allocates a buffer of one slot); a breadcrumb overwritten
/// by a push while it is read is left out, never given torn.
///
/// ```no_run
/// use sentry_native_crash as native;
///
/// native::install(native::HandlerConfig::new("/var/lib/myapp/crashes"))?;
/// let first = native::push_breadcrumb(b"first")?;
/// let mut seen = Vec::new();
/// native::read_breadcrumbs(|number, bytes| seen.push((number, bytes.to_vec())))?;
/// assert_eq!(seen, [(first, b"first".to_vec())]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_breadcrumbs(f: impl FnMut(u64, &[u8])) -> Result<(), SnapshotError> {
    imp::read_breadcrumbs(f)
}

/// A number that moves whenever the breadcrumbs [`read_breadcrumbs`] would give change (a
/// push, or [`keep_newest_breadcrumbs`] leaving some out); 0 before [`install`]. Load it
/// before reading: a copy is current while the number has not moved since.
pub fn breadcrumbs_version() -> u64 {
    imp::breadcrumbs_version()
}

/// How many breadcrumbs reports keep and how large one may be, as [`install`] set them up
/// (the first configuration: a later install changes nothing); `None` before.
pub fn breadcrumb_capacity() -> Option<(usize, usize)> {
    imp::breadcrumb_capacity()
}

/// Keeps only the newest `n` breadcrumbs pushed so far in reports: 0 clears them; a number
/// above the current count changes nothing. For a caller whose own list dropped its oldest
/// or was cleared.
pub fn keep_newest_breadcrumbs(n: usize) -> Result<(), SnapshotError> {
    imp::keep_newest_breadcrumbs(n)
}
