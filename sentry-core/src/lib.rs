//! Crash and error reporting for Rust programs, to any Sentry-compatible server.
//!
//! # Quick start
//!
//! ```no_run
//! use sentry_core::protocol::Level;
//!
//! fn main() {
//!     // Reads SENTRY_DSN, SENTRY_RELEASE, SENTRY_ENVIRONMENT when the options leave them unset.
//!     let _guard = sentry_core::init(
//!         sentry_core::ClientOptions::new().dsn("https://public_key@sentry.example.com/42"),
//!     );
//!
//!     sentry_core::configure_scope(|scope| scope.set_tag("component", "importer"));
//!     sentry_core::capture_message("import started", Level::Info);
//!
//!     if let Err(error) = std::fs::read_to_string("missing.csv") {
//!         sentry_core::capture_error(&error);
//!     }
//!     // Dropping the guard sends what is pending, waiting at most `shutdown_timeout`.
//! }
//! ```
//!
//! # How it works
//!
//! Capturing never blocks and never fails. The calling thread takes a snapshot of the
//! scope (a reference count) and puts the event on a bounded queue; one background worker
//! merges the scope, resolves the stack trace, adds contexts and debug images, serializes
//! an envelope and sends it. When the queue is full the event is dropped and counted, and
//! with `debug` on the SDK says so on stderr.
//!
//! # Native crashes
//!
//! With the `native-crash` feature (on by default) on Linux, `init` also installs signal
//! handlers (option [`ClientOptions::native_crash_handler`]): a segmentation fault, abort,
//! illegal instruction, bus error, floating-point exception or trap is written to the
//! database directory with the scope (tags, user, breadcrumbs up to the last one added,
//! release, ...) and the loaded images, and sent as a fatal event by the next start of the
//! program. Try it with `cargo run --example crash -- segfault`, then
//! `cargo run --example crash -- none`.

pub mod dsn;
pub mod envelope;
pub mod images;
pub mod protocol;
pub mod stacktrace;
pub mod transport;

mod breadcrumb_log;
mod capture;
mod client;
mod client_report;
mod contexts;
mod debug;
mod error_chain;
mod hub;
mod init;
mod native;
mod noise;
mod options;
mod outbox;
mod panic;
mod random;
mod rate_limits;
mod scope;
mod sender;
mod stats;
mod time;
mod worker;

pub use capture::{capture_error, capture_event, capture_message, event_from_error, in_app_rules};
pub use client::Client;
pub use hub::{ScopeGuard, add_breadcrumb, configure_scope, push_scope, with_scope};
pub use init::{ClientInitGuard, InitError, close, flush, init, try_init};
pub use noise::REPEAT_COUNT_KEY;
pub use noise::patterns::Pattern;
pub use options::{BeforeBreadcrumb, BeforeSend, ClientOptions, TransportFactory};
pub use outbox::database_path_for;
pub use panic::{PanicCapture, catch_unwind};
pub use scope::Scope;
pub use stats::DropReason;
pub use uuid::Uuid;

/// Entry points for the fuzz targets in `fuzz/`; not part of the API.
#[doc(hidden)]
pub mod __fuzz {
    /// Feeds one response's rate-limit headers to the parser and the limit bookkeeping.
    pub fn rate_limit_headers(
        status: Option<u16>,
        rate_limits: Option<&str>,
        retry_after: Option<&str>,
    ) {
        let mut limits = crate::rate_limits::RateLimits::default();
        limits.update(status, rate_limits, retry_after);
        for category in crate::rate_limits::KNOWN_CATEGORIES {
            let _ = limits.limited_for(category);
        }
    }
}

/// The SDK's name in events and in the `sentry_client` of requests.
pub const SDK_NAME: &str = "sentry.rust.native";

/// The SDK's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The default User-Agent and `sentry_client`: `sentry.rust.native/<version>`.
pub const USER_AGENT: &str = concat!("sentry.rust.native/", env!("CARGO_PKG_VERSION"));

/// The release name of the crate this macro is called in: `<package>@<version>` from its
/// `Cargo.toml`, such as `my-app@1.2.3`, as a `&'static str`.
///
/// A library cannot see the package name of the program that uses it, so the SDK cannot
/// fill in the release by itself: the macro expands at the call site, where Cargo's
/// `CARGO_PKG_NAME` and `CARGO_PKG_VERSION` are the application's. [`init_with_release!`] uses it.
///
/// ```
/// let options = sentry_core::ClientOptions::new().release(sentry_core::release_name!());
/// assert_eq!(options.release.as_deref(), Some(concat!("sentry-core@", env!("CARGO_PKG_VERSION"))));
/// ```
#[macro_export]
macro_rules! release_name {
    () => {
        ::core::concat!(
            ::core::env!("CARGO_PKG_NAME"),
            "@",
            ::core::env!("CARGO_PKG_VERSION")
        )
    };
}

/// [`init()`] with the release defaulting to the calling package's [`release_name!`].
///
/// The order is: a release set in code, else `SENTRY_RELEASE`, else `<package>@<version>`
/// of the crate that calls the macro. Takes the same argument as [`init()`] (options or a
/// DSN), or none for all defaults, and returns the same guard.
///
/// ```
/// let _guard = sentry_core::init_with_release!(sentry_core::ClientOptions::new().dry_run(false));
/// // Events now carry `release: "<your package>@<your version>"` unless SENTRY_RELEASE is set.
/// ```
#[macro_export]
macro_rules! init_with_release {
    () => {
        $crate::init_with_release!($crate::ClientOptions::new())
    };
    ($options:expr $(,)?) => {{
        // The environment is applied first so that SENTRY_RELEASE wins over the default.
        let mut options =
            <$crate::ClientOptions as ::core::convert::From<_>>::from($options).apply_env();
        if options.release.is_none() {
            options.release = ::core::option::Option::Some($crate::release_name!().into());
        }
        $crate::init(options)
    }};
}
