//! What a newcomer runs first: `cargo run --example demo`.
//!
//! Without `SENTRY_DSN` it runs as a dry run and prints every envelope it would have sent,
//! so you see exactly what leaves the machine. With `SENTRY_DSN` set it reports to that
//! server.

use std::fmt;

use sentry_core::ClientOptions;
use sentry_core::protocol::{Breadcrumb, Level, User};

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
    let _guard = sentry_core::init(
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
    // Dropping the guard sends what is pending (at most `shutdown_timeout`, 2 s by default).
}
