//! The event payload as the Sentry protocol defines it.
//!
//! These types serialize to exactly the JSON a Sentry-compatible server expects. Optional
//! fields are skipped when empty so an event carries only what the SDK knows. Field names
//! follow <https://develop.sentry.dev/sdk/data-model/event-payloads/>.

mod breadcrumb;
mod debug_meta;
mod event;
mod exception;
pub(crate) mod json;
mod level;
mod request;
mod stacktrace;
mod user;

pub use breadcrumb::{Breadcrumb, Breadcrumbs};
pub use debug_meta::{DebugImage, DebugMeta};
pub use event::{ClientSdkInfo, Context, Contexts, Event, LogEntry, Map, Thread, Threads, Value};
pub use exception::{Exception, Exceptions, Mechanism};
pub use level::Level;
pub use request::Request;
pub use stacktrace::{Frame, Stacktrace};
pub use user::User;

/// Seconds since the Unix epoch with sub-second precision, the form Sentry accepts for
/// every timestamp field.
#[inline]
pub fn timestamp_now() -> f64 {
    to_timestamp(std::time::SystemTime::now())
}

/// Converts a [`std::time::SystemTime`] into the protocol's float timestamp.
#[inline]
pub fn to_timestamp(time: std::time::SystemTime) -> f64 {
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod wire_tests;
