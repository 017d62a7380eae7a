//! The whole-process benchmark's program for the official SDK: init (default features and
//! transport), capture one event, shut down. The DSN comes from `BENCH_DSN`.

fn main() {
    let dsn = std::env::var("BENCH_DSN").expect("BENCH_DSN");
    let guard = sentry::init(dsn);
    sentry::capture_message("hello", sentry::Level::Info);
    // When the shutdown starts, for the benchmark's shutdown figure (on stdout, in ns of the system clock, which the harness reads too).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    println!("{}", now.map_or(0, |d| d.as_nanos()));
    drop(guard);
}
