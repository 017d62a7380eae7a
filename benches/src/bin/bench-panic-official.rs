//! The panic benchmark's program for the official SDK (default features and transport);
//! see `src/panic_timing.rs`.

include!("../panic_timing.rs");

fn main() {
    time_panics(|dsn| sentry::init(dsn.to_owned()));
}
