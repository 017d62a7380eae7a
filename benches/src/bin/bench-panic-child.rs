//! One process of the panic benchmark: `bench-panic-child <ours|official|none> <steady>
//! <delay-ms>`. Initializes the SDK against `BENCH_DSN` (real HTTP transport, default
//! options), waits `delay-ms`, then times panics in spawned threads from the `panic!` to
//! `join` returning: the first panic of the process, then `steady` more. Prints one JSON
//! object: `{"first_us": .., "steady_us": [..]}`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

static STARTED: Mutex<Option<Instant>> = Mutex::new(None);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sdk = args[1].as_str();
    let steady: usize = args[2].parse().expect("steady count");
    let delay = Duration::from_millis(args[3].parse().expect("delay in ms"));
    let dsn = std::env::var("BENCH_DSN").expect("BENCH_DSN");
    let _ours = (sdk == "ours").then(|| {
        let mut options = sentry_core::ClientOptions::new().dsn(dsn.as_str());
        if let Some(database) = std::env::var_os("BENCH_DATABASE") {
            options = options.database_path(database);
        }
        sentry_core::init(options)
    });
    let _official = (sdk == "official").then(|| sentry::init(dsn.as_str()));
    std::thread::sleep(delay);
    let first = one_panic();
    let steady: Vec<f64> = (0..steady).map(|_| one_panic()).collect();
    println!(
        "{}",
        serde_json::json!({ "first_us": first, "steady_us": steady })
    );
}

/// Microseconds from `panic!` in a new thread to `join` returning in this one.
fn one_panic() -> f64 {
    let thread = std::thread::spawn(|| {
        *STARTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        panic!("benchmark panic");
    });
    let _ = thread.join();
    let started = STARTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .expect("the thread ran");
    started.elapsed().as_secs_f64() * 1e6
}
