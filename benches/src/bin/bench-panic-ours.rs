//! The panic benchmark's program for this SDK; see `src/panic_timing.rs`.

include!("../panic_timing.rs");

fn main() {
    time_panics(|dsn| {
        let mut options = sentry_core::ClientOptions::new().dsn(dsn);
        if let Some(database) = std::env::var_os("BENCH_DATABASE") {
            options = options.database_path(database);
        }
        sentry_core::init(options)
    });
}
