//! The capture side of the SDK's panic reporting: a chained panic hook, what it knows about
//! a panic, and where the panic machinery ends in a stack trace.
//!
//! This crate knows nothing of events or sending. `sentry-core` installs the hook with a
//! [`PanicHandler`] that turns each [`PanicReport`] into an event; the hook itself only
//! gathers facts and keeps the order of things:
//!
//! 1. [`PanicHandler::capture`] on the panicking thread (report and persist),
//! 2. the hook that was installed before (std's prints the usual message),
//! 3. [`PanicHandler::after_previous_hook`] (wait, bounded, for delivery when the process
//!    is about to end).
//!
//! ```
//! use sentry_panic::{PanicHandler, PanicReport};
//!
//! struct Print;
//! impl PanicHandler for Print {
//!     fn capture(&self, report: &PanicReport) -> bool {
//!         eprintln!("reporting: {}", report.message);
//!         true
//!     }
//!     fn after_previous_hook(&self, _report: &PanicReport) {}
//! }
//!
//! static PRINT: Print = Print;
//! sentry_panic::install(&PRINT);
//! let caught = sentry_panic::catch_unwind(|| panic!("boom"));
//! assert!(caught.is_err());
//! ```
//!
//! A panic inside a panic hook aborts the process, even under `catch_unwind`, so a handler
//! must not panic; `sentry-core` does its real work on a helper thread for that reason.

mod frames;

use std::any::Any;
use std::cell::Cell;
use std::panic::{PanicHookInfo, UnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

pub use frames::{FrameRef, frames_to_trim, is_panic_entry};

/// What the SDK does with a panic; implemented by `sentry-core`.
pub trait PanicHandler: Sync + 'static {
    /// Runs first, on the panicking thread: reports the panic (at least onto disk). Returns
    /// whether it did, or has something to wait for after the previous hook (std's notice of
    /// a double panic, whose first panic must still be delivered before the abort); that
    /// decides whether [`after_previous_hook`](Self::after_previous_hook) runs. Must not
    /// panic: that would abort the process.
    fn capture(&self, report: &PanicReport) -> bool;

    /// Runs after the previous hook, when [`capture`](Self::capture) returned true: the place
    /// to wait (bounded) for delivery, once the user has seen the panic message.
    fn after_previous_hook(&self, report: &PanicReport);
}

/// What the hook knows about one panic.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PanicReport {
    /// The panic message, or `Box<dyn Any>` for a payload that is neither text nor a value
    /// of a type this crate recognizes (as std prints it).
    pub message: String,
    /// The payload's type when known: `&str`, `String`, `i32`, ...; `None` for `Box<dyn Any>`.
    pub payload_type: Option<&'static str>,
    /// Where the panic was raised.
    pub location: Option<Location>,
    /// The panicking thread's name (`main` for the main thread).
    pub thread_name: Option<String>,
    /// Rust's number for the panicking thread (`ThreadId(7)` is 7).
    pub thread_id: u64,
    /// Whether the panic happened inside [`catch_unwind`] of this crate (or `sentry-core`'s)
    /// on this thread and will be caught there. Always false in `panic = "abort"` builds.
    pub caught: bool,
    /// Whether the process aborts right after the hook: the build uses `panic = "abort"`, or
    /// this is std's own "panic in a destructor during cleanup" / "panic in a function that
    /// cannot unwind", which ends every double panic.
    pub abort_follows: bool,
    /// Whether this is that std notice of a double panic (see
    /// [`abort_follows`](Self::abort_follows)) rather than a panic of the program.
    pub is_abort_notice: bool,
    /// Whether the previous panic on this thread was reported by the handler. With
    /// [`is_abort_notice`](Self::is_abort_notice) it tells whether the panic that led to the
    /// abort is already known.
    pub previous_on_thread_reported: bool,
}

/// A source location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file, as the compiler saw it (often relative to the crate root).
    pub file: String,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

static INSTALLED: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// How many [`catch_unwind`] calls of this crate are running on this thread.
    static CATCH_DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Whether the last panic on this thread was reported.
    static LAST_REPORTED: Cell<bool> = const { Cell::new(false) };
    /// Set on the SDK's own threads, whose panics the hook leaves alone.
    static IGNORED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the panic hook once per process; later calls do nothing and return false.
///
/// The hook installed before (std's default, or the program's own) is kept and called for
/// every panic, after `handler.capture`.
pub fn install(handler: &'static dyn PanicHandler) -> bool {
    if INSTALLED.swap(true, Ordering::AcqRel) {
        return false;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let report = report_for(info);
        let ignored = IGNORED.try_with(Cell::get).unwrap_or(false);
        let reported = !ignored && handler.capture(&report);
        let _ = LAST_REPORTED.try_with(|last| last.set(reported));
        previous(info);
        if reported {
            handler.after_previous_hook(&report);
        }
    }));
    true
}

/// Whether [`install`] has installed the hook in this process.
pub fn is_installed() -> bool {
    INSTALLED.load(Ordering::Acquire)
}

/// Makes the hook leave panics on the calling thread to the previous hook only: for the
/// SDK's own threads, where reporting a panic could feed on itself.
pub fn ignore_panics_on_this_thread() {
    let _ = IGNORED.try_with(|ignored| ignored.set(true));
}

/// [`std::panic::catch_unwind`] that tells the hook the panic is caught, so that it can be
/// reported as handled (see [`PanicReport::caught`]).
///
/// A plain `std::panic::catch_unwind` cannot be seen from a panic hook: panics inside it are
/// reported like any other. In `panic = "abort"` builds nothing is caught and the process
/// aborts, as with std.
pub fn catch_unwind<F: FnOnce() -> R + UnwindSafe, R>(f: F) -> std::thread::Result<R> {
    struct Depth;
    impl Drop for Depth {
        fn drop(&mut self) {
            let _ = CATCH_DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
    let _ = CATCH_DEPTH.try_with(|d| d.set(d.get() + 1));
    let _depth = Depth;
    std::panic::catch_unwind(f)
}

/// [`std::panic::catch_unwind`] whose panics the hook does not report (the previous hook
/// still runs): for the SDK's calls into user callbacks such as `before_breadcrumb`, whose
/// panic the SDK handles itself by keeping the original data.
pub fn catch_unwind_unreported<F: FnOnce() -> R + UnwindSafe, R>(f: F) -> std::thread::Result<R> {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = IGNORED.try_with(|ignored| ignored.set(self.0));
        }
    }
    let before = IGNORED
        .try_with(|ignored| ignored.replace(true))
        .unwrap_or(false);
    let _restore = Restore(before);
    std::panic::catch_unwind(f)
}

/// What the hook hands to the handler for `info`. Must not panic.
fn report_for(info: &PanicHookInfo<'_>) -> PanicReport {
    let (message, payload_type) = describe_payload(info);
    let location = info.location().map(|l| Location {
        file: l.file().to_owned(),
        line: l.line(),
        column: l.column(),
    });
    let is_abort_notice = is_std_abort_notice(&message, location.as_ref());
    let thread = std::thread::current();
    PanicReport {
        message,
        payload_type,
        thread_name: thread.name().map(str::to_owned),
        thread_id: thread_number(&thread),
        location,
        caught: !cfg!(panic = "abort") && CATCH_DEPTH.try_with(Cell::get).unwrap_or(0) > 0,
        abort_follows: cfg!(panic = "abort") || is_abort_notice,
        is_abort_notice,
        previous_on_thread_reported: LAST_REPORTED.try_with(Cell::get).unwrap_or(false),
    }
}

/// The message and payload type: text as it is, a few common value types formatted, and
/// `Box<dyn Any>` (what std prints) for the rest.
fn describe_payload(info: &PanicHookInfo<'_>) -> (String, Option<&'static str>) {
    describe_value(info.payload())
}

fn describe_value(payload: &(dyn Any + Send)) -> (String, Option<&'static str>) {
    // `PanicHookInfo::payload_as_str` is newer than the MSRV; formatted messages reach the
    // hook as a `String` already.
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        return ((*text).to_owned(), Some("&str"));
    }
    if let Some(text) = payload.downcast_ref::<String>() {
        return (text.clone(), Some("String"));
    }
    macro_rules! known {
        ($($ty:ty),*) => {
            $(if let Some(value) = payload.downcast_ref::<$ty>() {
                return (value.to_string(), Some(stringify!($ty)));
            })*
        };
    }
    known!(
        i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool, char
    );
    if let Some(error) = payload.downcast_ref::<std::io::Error>() {
        return (error.to_string(), Some("std::io::Error"));
    }
    if let Some(error) = payload.downcast_ref::<Box<dyn std::error::Error + Send + Sync>>() {
        return (error.to_string(), Some("Box<dyn Error + Send + Sync>"));
    }
    ("Box<dyn Any>".to_owned(), None)
}

/// std's own panic that turns a double panic into an abort, raised in core's panicking.rs.
fn is_std_abort_notice(message: &str, location: Option<&Location>) -> bool {
    let from_core =
        location.is_some_and(|l| l.file.replace('\\', "/").ends_with("core/src/panicking.rs"));
    from_core
        && matches!(
            message,
            "panic in a destructor during cleanup" | "panic in a function that cannot unwind"
        )
}

/// Rust's own thread number, stable while the thread lives (`ThreadId::as_u64` is unstable).
fn thread_number(thread: &std::thread::Thread) -> u64 {
    format!("{:?}", thread.id())
        .trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_known_types_are_formatted() {
        assert_eq!(describe_value(&42u32), ("42".into(), Some("u32")));
        assert_eq!(describe_value(&true), ("true".into(), Some("bool")));
        assert_eq!(describe_value(&"text"), ("text".into(), Some("&str")));
        assert_eq!(
            describe_value(&String::from("s")),
            ("s".into(), Some("String"))
        );
        struct Opaque;
        assert_eq!(describe_value(&Opaque), ("Box<dyn Any>".into(), None));
    }

    #[test]
    fn abort_notice_is_recognized_by_message_and_place() {
        let core = Location {
            file: "/rustc/x/library/core/src/panicking.rs".into(),
            line: 233,
            column: 5,
        };
        assert!(is_std_abort_notice(
            "panic in a destructor during cleanup",
            Some(&core)
        ));
        let user = Location {
            file: "src/main.rs".into(),
            ..core.clone()
        };
        assert!(!is_std_abort_notice(
            "panic in a destructor during cleanup",
            Some(&user)
        ));
        assert!(!is_std_abort_notice("boom", Some(&core)));
    }

    #[test]
    fn catch_unwind_depth_is_restored() {
        let depth = || CATCH_DEPTH.with(Cell::get);
        let inner = catch_unwind(|| {
            assert_eq!(depth(), 1);
            catch_unwind(depth).unwrap()
        });
        assert_eq!(inner.unwrap(), 2);
        assert_eq!(depth(), 0);
        let _ = std::panic::catch_unwind(|| {
            let _ = catch_unwind(|| panic!("quiet"));
            assert_eq!(depth(), 0);
        });
        assert!(thread_number(&std::thread::current()) > 0);
    }
}
