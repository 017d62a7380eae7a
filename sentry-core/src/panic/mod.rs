//! Reporting panics (feature `panic`, on by default).
//!
//! [`init`](crate::init()) installs a panic hook once per process. For each panic it reports
//! an event with one exception of type `panic` (the message as value, mechanism `panic`,
//! `handled: false`), level `fatal`, the panicking thread, the source location (in
//! `extra["panic.location"]` and the mechanism's data) and the stack trace from the code
//! that panicked down, without the frames of the hook, the SDK and std's panic machinery.
//! The hook that was installed before keeps running, so the usual message still prints.
//!
//! # Nothing is lost, nothing hangs, little waits
//!
//! The event does not wait in the worker's queue: before the hook returns it is written to
//! the on-disk outbox, from where the worker sends it and, should the process end first,
//! the next start does.
//!
//! A panic that ends the process (an uncaught panic on the main thread, `panic = "abort"`,
//! the abort after a double panic) is also delivered before the hook returns: the hook
//! waits at most [`panic_flush_timeout`](crate::ClientOptions::panic_flush_timeout). Its
//! event is prepared on a short-lived helper thread that the hook waits for: a panic inside
//! a panic hook aborts the process (even inside `catch_unwind`), and the panicking thread
//! may hold a lock the SDK needs (a panic inside [`configure_scope`](crate::configure_scope));
//! on the helper, a `before_send` that panics or a lock that is never released costs the
//! event at worst, not the program.
//!
//! A panic the process survives (on any other thread, or caught) does not wait for
//! delivery, nor for symbol names. When the stack's frames were all resolved before and
//! there is no `before_send`, the panicking thread writes the complete event itself (around
//! a tenth of a millisecond, mostly writing the file). Otherwise it writes a copy with instruction addresses only (the
//! server can still group and symbolicate it), which this process does not send, and one
//! persistent helper thread resolves the stack, runs `before_send` and puts the complete
//! event in that copy's place; the worker then sends it, and [`flush`](crate::flush) and
//! shutdown wait for that. So one panic is one envelope, and a process that dies before the
//! helper is done leaves the addresses-only copy for the next start. The first panic of a
//! process therefore does not pay for loading debug information, which takes tens to
//! hundreds of milliseconds; the helper also loads it 200 ms after start.
//!
//! One wait remains: the `backtrace` crate lets one thread at a time walk or resolve a
//! stack, so a panic that comes while the helper is loading the debug information (the
//! first 200-300 ms after start, or right after the first panic that found it unloaded)
//! waits for that load to finish before its stack is captured.
//!
//! # Caught panics
//!
//! A panic hook runs before unwinding starts and cannot see whether a
//! `std::panic::catch_unwind` is waiting above: such panics are reported as unhandled like
//! any other. Wrap code whose panics you catch on purpose in [`catch_unwind`] instead, and
//! choose with [`PanicCapture`] whether they are reported as handled (level `error`) or not at
//! all.
//!
//! # Double panics
//!
//! A panic in a `Drop` during unwinding makes std abort. Both panics are reported, each
//! persisted before the hook returns; std's own closing panic ("panic in a destructor during
//! cleanup") is not, when the panic before it on that thread was, but the hook waits at it
//! for their delivery as for any panic that ends the process. With the `native-crash`
//! feature the SIGABRT that follows a reported panic does not become a second event.

#[cfg(feature = "panic")]
mod event;
#[cfg(feature = "panic")]
mod helper;
#[cfg(feature = "panic")]
mod hook;

#[cfg(feature = "panic")]
pub(crate) use helper::wait_for_pending;
#[cfg(feature = "panic")]
pub(crate) use hook::install_hook;

/// Which panics the panic hook reports ([`ClientOptions::panic_capture`](crate::ClientOptions::panic_capture)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PanicCapture {
    /// Every panic; those inside [`catch_unwind`] as handled, at level `error`.
    #[default]
    All,
    /// Only panics that are not inside [`catch_unwind`]: the program did not expect them.
    Unhandled,
    /// None: the hook is not installed (an installed one stays, and reports nothing).
    Off,
}

/// [`std::panic::catch_unwind`] that tells the SDK's panic hook the panic is caught: it is
/// reported as handled, or not at all with [`PanicCapture::Unhandled`].
///
/// Only the calling thread is covered: threads spawned inside report their panics as
/// unhandled. In `panic = "abort"` builds nothing can be caught, and the panic is reported
/// as unhandled before the process aborts.
///
/// ```
/// let result = sentry_core::catch_unwind(|| {
///     let items: Vec<u32> = Vec::new();
///     items[3]
/// });
/// assert!(result.is_err());
/// ```
pub fn catch_unwind<F: FnOnce() -> R + std::panic::UnwindSafe, R>(f: F) -> std::thread::Result<R> {
    #[cfg(feature = "panic")]
    {
        sentry_panic::catch_unwind(f)
    }
    #[cfg(not(feature = "panic"))]
    {
        std::panic::catch_unwind(f)
    }
}
