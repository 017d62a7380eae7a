//! Delivery figures, one process per measurement (`bench-delivery <what>`):
//!
//! - `throughput-ours` / `throughput-official`: events per second one SDK delivers to a local
//!   HTTP sink (200 at once, keep-alive) over its real HTTP transport: `EVENTS` captures in
//!   batches of `BATCH`, each batch flushed (the official transport queue holds 30, so a
//!   larger batch would drop events there); time from the first capture to the last flush.
//!   The sink's count confirms every event arrived.
//! - `memory`: our resident memory over 1,000,000 captures (100 breadcrumbs, 10 tags in the
//!   scope) while the server refuses connections: VmRSS at 0, 250k, 500k, 750k and 1M.

use std::time::{Duration, Instant};

use sentry_benches::results::Results;
use sentry_benches::sink::{Mode, Sink, refused_port};
use sentry_benches::{rss_kib, scratch_dir};

const EVENTS: usize = 20_000;
const BATCH: usize = 25;
const MEMORY_CAPTURES: usize = 1_000_000;

fn main() {
    let what = std::env::args().nth(1).expect("what to measure");
    let mut results = Results::default();
    match what.as_str() {
        "throughput-ours" | "throughput-official" => throughput(&what, &mut results),
        "memory" => memory(&mut results),
        other => panic!("unknown measurement {other}"),
    }
    results.save(&what);
}

fn throughput(what: &str, results: &mut Results) {
    let sink = Sink::start(Mode::Ok, Duration::from_secs(600)).expect("start the sink");
    let database = scratch_dir(what);
    let ours = what == "throughput-ours";
    let _ours = ours.then(|| {
        sentry_core::init(
            sentry_core::ClientOptions::new()
                .dsn(sink.dsn())
                .database_path(&database),
        )
    });
    let _official = (!ours).then(|| sentry::init(sink.dsn()));
    let flush = || {
        if ours {
            assert!(
                sentry_core::flush(Duration::from_secs(30)),
                "flush timed out"
            );
        } else if let Some(client) = sentry::Hub::current().client() {
            assert!(
                client.flush(Some(Duration::from_secs(30))),
                "flush timed out"
            );
        }
    };
    // One event first: connection set up, contexts gathered, outbox opened.
    capture(ours, 0);
    flush();
    let before = sink.answered();
    let start = Instant::now();
    for batch in 0..EVENTS / BATCH {
        for i in 0..BATCH {
            capture(ours, batch * BATCH + i);
        }
        flush();
    }
    let elapsed = start.elapsed().as_secs_f64();
    let delivered = sink.answered() - before;
    results.set("events", EVENTS);
    results.set("delivered", delivered);
    results.set("events_per_second", delivered as f64 / elapsed);
}

fn capture(ours: bool, i: usize) {
    let message = format!("event {i}");
    if ours {
        sentry_core::capture_message(&message, sentry_core::protocol::Level::Info);
    } else {
        sentry::capture_message(&message, sentry::Level::Info);
    }
}

fn memory(results: &mut Results) {
    let database = scratch_dir("memory");
    let dsn = format!("http://public@127.0.0.1:{}/1", refused_port());
    let guard = sentry_core::init(
        sentry_core::ClientOptions::new()
            .dsn(dsn)
            .database_path(&database)
            .shutdown_timeout(Duration::from_millis(500)),
    );
    for i in 0..100 {
        sentry_core::add_breadcrumb(
            sentry_core::protocol::Breadcrumb::new(format!("request {i} served")).category("http"),
        );
    }
    for i in 0..10 {
        sentry_core::configure_scope(|s| s.set_tag(format!("tag{i}"), format!("value {i}")));
    }
    results.set("rss_kib_right_after_init", rss_kib());
    // The panic hook's warm-up thread loads the binary's debug information in the
    // background after init (tens of MiB for this binary, which links both SDKs); the
    // baseline is taken once it is done, so that the figures show what the captures cost.
    std::thread::sleep(Duration::from_secs(2));
    let start = Instant::now();
    for i in 0..=MEMORY_CAPTURES {
        if i % 250_000 == 0 {
            results.set(format!("rss_kib_at_{}k", i / 1000), rss_kib());
        }
        if i < MEMORY_CAPTURES {
            // Distinct messages: identical ones would be folded into one event by the loop
            // guard, and the queue and outbox bounds would never be reached.
            let message = format!("server down ({i})");
            sentry_core::capture_message(&message, sentry_core::protocol::Level::Error);
        }
    }
    results.set("seconds", start.elapsed().as_secs_f64());
    if let Some(client) = guard.client() {
        for reason in [
            sentry_core::DropReason::QueueOverflow,
            sentry_core::DropReason::CacheOverflow,
        ] {
            results.set(
                format!("dropped_{}", reason.as_str()),
                client.dropped(reason),
            );
        }
    }
    drop(guard);
    let kept = walk_count(&database);
    results.set("outbox_files_after_close", kept);
}

fn walk_count(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let path = e.path();
            if path.is_dir() { walk_count(&path) } else { 1 }
        })
        .sum()
}
