// Shared by the bench-panic-* programs through `include!`, not a module of the library:
// each program must link only its own SDK, since the first panic's cost is mostly loading
// the binary's debug information, which grows with everything linked in.
//
// `bench-panic-<sdk> <steady> <delay-ms> [distinct]`: initializes the SDK against `BENCH_DSN`
// (real HTTP transport, default options, outbox in `BENCH_DATABASE`), waits `delay-ms`, then
// times panics in spawned threads from the `panic!` to `join` returning: the first panic
// of the process, then `steady` more. Prints `{"first_us": .., "steady_us": [..]}`. With
// `distinct`, every panic's message carries its number, so no SDK can fold repeats into one
// event (both drop an event identical to the previous one by default).

use std::sync::Mutex;
use std::time::{Duration, Instant};

static STARTED: Mutex<Option<Instant>> = Mutex::new(None);

fn time_panics<G>(init: impl FnOnce(&str) -> G) {
    let args: Vec<String> = std::env::args().collect();
    let steady: usize = args[1].parse().expect("steady count");
    let delay = Duration::from_millis(args[2].parse().expect("delay in ms"));
    let dsn = std::env::var("BENCH_DSN").expect("BENCH_DSN");
    let distinct = args.get(3).is_some_and(|a| a == "distinct");
    let guard = init(&dsn);
    std::thread::sleep(delay);
    let first = one_panic(distinct.then_some(0));
    let steady: Vec<String> = (1..=steady)
        .map(|n| format!("{:.1}", one_panic(distinct.then_some(n))))
        .collect();
    println!("{{\"first_us\": {first:.1}, \"steady_us\": [{}]}}", steady.join(", "));
    drop(guard);
}

/// Microseconds from `panic!` in a new thread to `join` returning in this one; the message
/// carries `number` when there is one.
fn one_panic(number: Option<usize>) -> f64 {
    let thread = std::thread::spawn(move || {
        *STARTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        match number {
            Some(n) => panic!("benchmark panic {n}"),
            None => panic!("benchmark panic"),
        }
    });
    let _ = thread.join();
    let started = STARTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .expect("the thread ran");
    started.elapsed().as_secs_f64() * 1e6
}
