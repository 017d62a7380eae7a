//! `RUST_LIB_BACKTRACE=1 cargo run -p sentry-anyhow --example anyhow-demo`: an error with two
//! contexts, sent with its chain and the backtrace anyhow recorded where it happened.
//!
//! Without `SENTRY_DSN` this is a dry run: the envelope is printed instead of sent.

use anyhow::Context;

fn parse_port(text: &str) -> anyhow::Result<u16> {
    text.parse::<u16>()
        .with_context(|| format!("{text:?} is not a port"))
}

fn load_settings() -> anyhow::Result<u16> {
    parse_port("80x").context("invalid settings")
}

fn main() {
    let dry_run = std::env::var("SENTRY_DSN").is_err();
    let _guard =
        sentry_core::init_with_release!(sentry_core::ClientOptions::new().dry_run(dry_run));
    if let Err(error) = load_settings() {
        eprintln!("error: {error:#}");
        sentry_anyhow::capture_anyhow(&error);
    }
}
