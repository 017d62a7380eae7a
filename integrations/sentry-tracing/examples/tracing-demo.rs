//! `cargo run -p sentry-tracing --example tracing-demo`: an error inside two spans, sent
//! with the spans' fields as the `tracing` context and the earlier info event as breadcrumb.
//!
//! Without `SENTRY_DSN` this is a dry run: the envelope is printed instead of sent.

use tracing_subscriber::prelude::*;

fn main() {
    let dry_run = std::env::var("SENTRY_DSN").is_err();
    let _guard =
        sentry_core::init_with_release!(sentry_core::ClientOptions::new().dry_run(dry_run));
    tracing_subscriber::registry()
        .with(sentry_tracing::layer())
        .init();

    let job = tracing::info_span!("nightly_import", source = "s3://bucket/orders");
    let _job = job.enter();
    tracing::info!(files = 12, "listing done");
    let file = tracing::info_span!("file", name = "orders-7.csv");
    let _file = file.enter();
    tracing::error!(line = 17, "price column missing");
}
