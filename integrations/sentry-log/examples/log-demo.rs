//! `cargo run -p sentry-log --example log-demo`: env_logger output as usual on stderr, and
//! the error sent to Sentry with the earlier info lines as breadcrumbs.
//!
//! Without `SENTRY_DSN` this is a dry run: the envelope is printed instead of sent.

use log::LevelFilter;

fn main() {
    let dry_run = std::env::var("SENTRY_DSN").is_err();
    let _guard =
        sentry_core::init_with_release!(sentry_core::ClientOptions::new().dry_run(dry_run));

    let console = env_logger::Builder::new()
        .filter_level(LevelFilter::Info)
        .parse_default_env() // RUST_LOG still works
        .build();
    sentry_log::SentryLogger::with_dest(console)
        .install(LevelFilter::Info)
        .expect("the first logger");

    log::info!(target: "import", "reading {}", "orders.csv");
    log::warn!(target: "import", "line {} has no price, skipped", 17);
    log::error!(target: "import", "import failed: {} of {} rows invalid", 12, 40);
}
