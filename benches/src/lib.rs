//! Benchmarks of this SDK (`sentry-core`) against the official `sentry` crate.
//!
//! `scripts/bench` runs everything and writes `docs/benchmarks.md`; see that file for what
//! each figure means. This library holds what the benchmark programs share: the counting
//! allocator, the envelope-dropping transports, the workloads (one function per SDK and
//! workload, so that the timed and the counted code are the same), and a tiny HTTP sink.
//!
//! Unsafe code is allowed here (and only in this crate outside `sentry-native-crash`): a
//! global allocator, `dlopen` and `inotify` need it, and none of it ships.
#![allow(unsafe_code)]

pub mod alloc;
pub mod results;
pub mod sink;
pub mod workloads;

/// A DSN both SDKs accept. Nothing listens on port 9: with the dropping transports nothing
/// is sent; the DSN only makes the official client enabled (it needs one) and puts the same
/// header into both SDKs' envelopes.
pub const UNUSED_DSN: &str = "http://public@127.0.0.1:9/1";

/// Nanoseconds since `CLOCK_MONOTONIC`'s origin: comparable across processes on this
/// machine, which the native crash benchmark needs (the child stamps, the parent compares).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to write to; CLOCK_MONOTONIC always exists on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// CPU time the calling thread has used, in nanoseconds (`CLOCK_THREAD_CPUTIME_ID`): the
/// calling thread's own work, whatever the other threads (our worker) do meanwhile.
pub fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: as in `monotonic_ns`.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Resident memory of this process in KiB, from `VmRSS` in `/proc/self/status`.
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Median of `values` (sorted in place); 0 for none.
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The path of a sibling program built with this one (`bench-hello-ours`, ...): benchmark
/// programs run each other from the same target directory.
pub fn sibling(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.with_file_name(name)
}

/// A fresh, empty scratch directory under the results directory.
pub fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = results::dir().join("tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}
