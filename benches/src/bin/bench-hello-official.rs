//! The whole-process benchmark's program for the official SDK: init (default features and
//! transport), capture one event, shut down. The DSN comes from `BENCH_DSN`.

fn main() {
    let dsn = std::env::var("BENCH_DSN").expect("BENCH_DSN");
    let _guard = sentry::init(dsn);
    sentry::capture_message("hello", sentry::Level::Info);
}
