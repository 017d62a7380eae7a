//! Capturing messages, errors and events: the calling thread's side.

use std::error::Error;

use uuid::Uuid;

use crate::client::{ThreadInfo, TraceTarget};
use crate::hub;
use crate::protocol::{Event, Level};
use crate::stacktrace::{CapturedBacktrace, InAppRules};

/// Captures a message at `level`. With `attach_stacktrace` on, the calling thread's stack
/// trace goes with it. Returns the event id (nil when the SDK is off or dropped the event).
///
/// ```
/// use sentry_core::protocol::Level;
///
/// sentry_core::capture_message("cache rebuilt in 3 s", Level::Warning);
/// ```
pub fn capture_message(message: &str, level: Level) -> Uuid {
    let Some(client) = hub::client() else {
        return Uuid::nil();
    };
    let event = Event {
        message: Some(message.to_owned()),
        level,
        ..Event::default()
    };
    let trace = client.options().attach_stacktrace.then(|| {
        (
            CapturedBacktrace::capture(),
            TraceTarget::Thread(ThreadInfo::current()),
        )
    });
    client.capture(event, hub::current_scope(), trace)
}

/// Captures an error with its whole `source()` chain, each cause an exception of its own
/// (the root cause first, `error` last). With `attach_stacktrace` on, the calling thread's
/// stack trace goes on the outermost exception.
///
/// ```
/// if let Err(error) = std::fs::read("/etc/app/config.toml") {
///     sentry_core::capture_error(&error);
/// }
/// ```
pub fn capture_error<E: Error + ?Sized>(error: &E) -> Uuid {
    let Some(client) = hub::client() else {
        return Uuid::nil();
    };
    let event = event_from_error(error);
    let trace = client
        .options()
        .attach_stacktrace
        .then(|| (CapturedBacktrace::capture(), TraceTarget::Exception));
    client.capture(event, hub::current_scope(), trace)
}

/// The event [`capture_error`] sends for `error`, without sending it: to change it first
/// and send it with [`capture_event`].
pub fn event_from_error<E: Error + ?Sized>(error: &E) -> Event {
    Event {
        exception: Some(crate::error_chain::exceptions_from_error(error)),
        level: Level::Error,
        ..Event::default()
    }
}

/// Captures an event built by hand, with the current scope applied.
pub fn capture_event(event: Event) -> Uuid {
    let Some(client) = hub::client() else {
        return Uuid::nil();
    };
    client.capture(event, hub::current_scope(), None)
}

/// The in-app rules of the running client (its `in_app_include` and `in_app_exclude`), or
/// the default rules when the SDK is off. For integrations that build stack traces
/// themselves, such as from a parsed backtrace, so their frames are marked like the SDK's.
///
/// ```
/// let rules = sentry_core::in_app_rules();
/// assert_eq!(rules.is_in_app(Some("std::rt::lang_start"), None), Some(false));
/// ```
pub fn in_app_rules() -> InAppRules {
    match hub::client() {
        Some(client) => InAppRules {
            include: client.options().in_app_include.clone(),
            exclude: client.options().in_app_exclude.clone(),
        },
        None => InAppRules::default(),
    }
}
