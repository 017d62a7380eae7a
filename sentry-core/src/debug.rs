//! The SDK's own diagnostic log.
//!
//! With `debug` on (or `SENTRY_DEBUG=1`) the SDK says on stderr what it does and why:
//! which DSN it uses, what it drops and for what reason, what the server answered. It is a
//! flag checked before any formatting, so it costs nothing when off.

use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the diagnostic log on or off for the whole process.
pub(crate) fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the diagnostic log is on.
pub(crate) fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Writes one line of the diagnostic log to stderr when it is on.
macro_rules! sdk_debug {
    ($($arg:tt)*) => {
        if $crate::debug::enabled() {
            eprintln!("[sentry] {}", format_args!($($arg)*));
        }
    };
}

/// Writes one line to stderr whether or not `debug` is on: for problems the user must see,
/// such as an invalid DSN given in code.
macro_rules! sdk_warn {
    ($($arg:tt)*) => {
        eprintln!("[sentry] {}", format_args!($($arg)*))
    };
}

pub(crate) use {sdk_debug, sdk_warn};
