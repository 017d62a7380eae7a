//! What a newcomer runs first: `cargo run --example demo`.
//!
//! Without `SENTRY_DSN` it runs as a dry run and prints every envelope it would have sent,
//! so you see exactly what leaves the machine. With `SENTRY_DSN` set it reports to that
//! server.
//!
//! It also shows what the SDK keeps out of your error stream: the breadcrumb, extra data
//! and message below hold a password, tokens and credentials, and every one of them
//! leaves the machine as `[Filtered]`; an error raised 1000 times in a loop is sent as one
//! event carrying `"repeat_count": 999`, and a client report counts what was held back.

use std::fmt;

use sentry_core::protocol::{Breadcrumb, Level, User};
use sentry_core::{ClientOptions, DropReason};

/// A small error with a cause, like most application errors.
#[derive(Debug)]
struct CatalogError {
    path: String,
    source: std::io::Error,
}

impl fmt::Display for CatalogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not load the catalog from {}", self.path)
    }
}

impl std::error::Error for CatalogError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn load_catalog(path: &str) -> Result<String, CatalogError> {
    std::fs::read_to_string(path).map_err(|source| CatalogError {
        path: path.into(),
        source,
    })
}

fn main() {
    let has_dsn = std::env::var("SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty());
    if !has_dsn {
        eprintln!(
            "demo: SENTRY_DSN is not set, so this is a dry run: envelopes are printed, not sent."
        );
    }
    let guard = sentry_core::init(
        ClientOptions::new()
            .release(concat!("sentry-demo@", env!("CARGO_PKG_VERSION")))
            .attach_stacktrace(true)
            .dry_run(!has_dsn),
    );

    sentry_core::configure_scope(|scope| {
        scope.set_tag("demo", "yes");
        scope.set_user(Some(User {
            id: Some("demo-user".into()),
            ..Default::default()
        }));
    });
    sentry_core::add_breadcrumb(Breadcrumb::new("demo started").category("app.lifecycle"));

    let id = sentry_core::capture_message("Hello from the demo", Level::Info);
    eprintln!("demo: captured a message, event id {}", id.simple());

    sentry_core::add_breadcrumb(Breadcrumb::new("loading the catalog").category("io"));
    if let Err(error) = load_catalog("/nonexistent/catalog.json") {
        let id = sentry_core::capture_error(&error);
        eprintln!(
            "demo: captured an error with its cause, event id {}",
            id.simple()
        );
    }

    // Secrets in breadcrumbs, extra data and the message: scrubbing is on by default.
    sentry_core::add_breadcrumb(
        Breadcrumb::new("signing in")
            .category("auth")
            .data("username", "demo-user")
            .data("password", "correct horse battery staple"),
    );
    sentry_core::configure_scope(|scope| {
        scope.set_extra("api_token", "tok_live_4f9a8b7c6d5e");
        scope.set_extra("attempt", 2);
    });
    let id = sentry_core::capture_message(
        "sign-in failed: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkZW1vIn0.c2ln \
         from https://deploy:s3cr3t-pa55@auth.example.com/token",
        Level::Error,
    );
    eprintln!(
        "demo: captured a message full of secrets, event id {}",
        id.simple()
    );

    // The same error 1000 times from a loop: sent once, with how often it repeated.
    for _ in 0..1000 {
        if let Err(error) = load_catalog("/nonexistent/hot-loop.json") {
            sentry_core::capture_error(&error);
        }
    }
    sentry_core::flush(std::time::Duration::from_secs(2));
    if let Some(client) = guard.client() {
        eprintln!(
            "demo: raised one error 1000 times in a loop; {} repeats were held back and are \
             counted on the event that was sent",
            client.dropped(DropReason::EventProcessor)
        );
    }
    // Dropping the guard sends what is pending (at most `shutdown_timeout`, 2 s by default),
    // and a client report of what was dropped.
}
