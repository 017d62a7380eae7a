//! Allocations and CPU time per call on the calling thread, for every in-process workload on
//! both SDKs, with a thread-local counting allocator. Calls run in untimed-flush batches as in
//! the criterion benchmark, so no call takes the "queue full" path.

use sentry_benches::alloc::{CountingAlloc, thread_allocations};
use sentry_benches::results::Results;
use sentry_benches::thread_cpu_ns;
use sentry_benches::workloads::{BATCH, Sdk, Session, Workload};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Batches counted per workload and SDK, after two batches of warm-up.
const BATCHES: usize = 20;

fn main() {
    let database = sentry_benches::results::dir().join("tmp").join("allocs");
    let _ = std::fs::remove_dir_all(&database);
    std::fs::create_dir_all(&database).expect("create the database directory");
    let mut results = Results::default();
    for workload in Workload::ALL {
        for sdk in Sdk::ALL {
            let session = Session::start(sdk, workload, &database);
            for _ in 0..2 {
                for _ in 0..BATCH {
                    session.run(workload);
                }
                session.flush();
            }
            let (mut allocs, mut cpu) = (0u64, 0u64);
            for _ in 0..BATCHES {
                let (a0, c0) = (thread_allocations(), thread_cpu_ns());
                for _ in 0..BATCH {
                    session.run(workload);
                }
                let (a1, c1) = (thread_allocations(), thread_cpu_ns());
                allocs += a1 - a0;
                cpu += c1 - c0;
                session.flush();
            }
            let calls = (BATCHES * BATCH) as f64;
            let key = format!("{}.{}", workload.id(), sdk.name());
            results.set(format!("{key}.allocs"), allocs as f64 / calls);
            results.set(format!("{key}.cpu_ns"), cpu as f64 / calls);
            drop(session);
        }
    }
    results.save("allocs");
}
