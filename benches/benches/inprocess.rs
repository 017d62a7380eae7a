//! In-process figures: each workload on each SDK, same process, same run, wall time of the
//! calling thread per call.
//!
//! Calls are timed in batches of [`BATCH`]; after each batch, outside the timed section, the
//! SDK is flushed (our worker drains its queue), so the queue never fills and no figure comes
//! from the cheaper "queue full, event dropped" path (the flush asserts that nothing was
//! dropped). Our worker runs concurrently during a batch, as it does in a real program; it
//! may compete with the calling thread for the two cores, and that is measured, not hidden.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sentry_benches::workloads::{BATCH, Sdk, Session, Workload};

fn inprocess(c: &mut Criterion) {
    let database = tempdir("inprocess");
    for workload in Workload::ALL {
        let mut group = c.benchmark_group(workload.id());
        // The untimed flushes cost far more than the timed calls for captures (the worker
        // prepares, serializes and stores every event), so the timed budget is kept small
        // to keep the whole run within minutes; the sample count stays statistically useful.
        if workload.captures() {
            group
                .warm_up_time(Duration::from_millis(300))
                .measurement_time(Duration::from_millis(600))
                .sample_size(20);
        } else {
            quick_calls(&mut group);
        }
        for (sdk, id) in order(workload) {
            let session = Session::start(sdk, workload, &database);
            group.bench_function(id, |b| {
                b.iter_custom(|iters| {
                    let mut timed = Duration::ZERO;
                    let mut left = iters as usize;
                    while left > 0 {
                        let n = left.min(BATCH);
                        let start = Instant::now();
                        for _ in 0..n {
                            session.run(workload);
                        }
                        timed += start.elapsed();
                        left -= n;
                        if workload.captures() {
                            session.flush();
                        }
                    }
                    timed
                })
            });
            session.flush();
            drop(session);
        }
        group.finish();
    }
}

/// Which SDK is measured when, and under which criterion id. The calls of nanoseconds are
/// measured twice, ours, official, official, ours (`-again`): a 2-core VM's speed drifts over
/// the seconds of one measurement, and the report takes the mean of both, so that a drift
/// lands on both SDKs alike. Captures, whose figures are in microseconds and far from their
/// targets, are measured once each.
fn order(workload: Workload) -> Vec<(Sdk, &'static str)> {
    let once = [(Sdk::Ours, "ours"), (Sdk::Official, "official")];
    if workload.captures() {
        return once.to_vec();
    }
    let again = [(Sdk::Official, "official-again"), (Sdk::Ours, "ours-again")];
    once.into_iter().chain(again).collect()
}

/// A reference, not a target: building and dropping the breadcrumb of the `add_breadcrumb`
/// workload without recording it, to show how much of that workload is the building (three
/// strings and the clock in both SDKs), which no SDK-side change can remove.
fn reference(c: &mut Criterion) {
    let mut group = c.benchmark_group("reference_build_breadcrumb");
    quick_calls(&mut group);
    group.bench_function("ours", |b| {
        b.iter(|| {
            std::hint::black_box(
                sentry_core::protocol::Breadcrumb::new("user clicked save").category("ui.click"),
            )
        })
    });
    group.bench_function("official", |b| {
        b.iter(|| {
            std::hint::black_box(sentry::Breadcrumb {
                message: Some("user clicked save".into()),
                category: Some("ui.click".into()),
                ..Default::default()
            })
        })
    });
    group.finish();
}

/// A reference, not a target: `configure_scope` + `set_tag` giving the tag a different value
/// on every call. The workload sets the same value every time, which our `set_tag` finds
/// unchanged and skips; this row shows the cost when the value does change.
fn reference_changing_tag(c: &mut Criterion) {
    let database = tempdir("reference-tag");
    let mut group = c.benchmark_group("reference_set_tag_changing_value");
    quick_calls(&mut group);
    const VALUES: [&str; 2] = ["upload", "download"];
    for sdk in Sdk::ALL {
        let session = Session::start(sdk, Workload::ConfigureScopeSetTag, &database);
        let mut i = 0usize;
        group.bench_function(sdk.name(), |b| {
            b.iter(|| {
                i += 1;
                let value = VALUES[i % 2];
                match sdk {
                    Sdk::Ours => sentry_core::configure_scope(|s| s.set_tag("request_kind", value)),
                    Sdk::Official => sentry::configure_scope(|s| s.set_tag("request_kind", value)),
                }
            })
        });
        session.flush();
        drop(session);
    }
    group.finish();
}

/// The timing of a group of calls that cost nanoseconds and need no flush.
fn quick_calls(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = sentry_benches::results::dir().join("tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

mod group {
    // criterion_group! defines an undocumented public function.
    #![allow(missing_docs)]
    super::criterion_group!(
        benches,
        super::inprocess,
        super::reference,
        super::reference_changing_tag
    );
}
criterion_main!(group::benches);
