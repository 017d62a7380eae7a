//! The whole-process benchmark's program for this SDK: init, capture one event, shut down.
//! The DSN comes from `BENCH_DSN` and the outbox directory from `BENCH_DATABASE`.

fn main() {
    let dsn = std::env::var("BENCH_DSN").expect("BENCH_DSN");
    let mut options = sentry_core::ClientOptions::new().dsn(dsn);
    if let Some(database) = std::env::var_os("BENCH_DATABASE") {
        options = options.database_path(database);
    }
    let guard = sentry_core::init(options);
    sentry_core::capture_message("hello", sentry_core::protocol::Level::Info);
    // When the shutdown starts, for the benchmark's shutdown figure (on stdout, in ns of the system clock, which the harness reads too).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    println!("{}", now.map_or(0, |d| d.as_nanos()));
    drop(guard);
}
