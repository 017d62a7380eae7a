//! One process of the native crash benchmark:
//! `bench-crash-child <report-dir> <libs-dir> <stamp-file> <install: 0|1>`.
//!
//! Loads every `*.so` in `libs-dir` with `dlopen`, installs the crash handler (unless told
//! not to) with the image list and a scope snapshot of realistic size (100 breadcrumbs, 10
//! tags), writes `CLOCK_MONOTONIC` in nanoseconds to `stamp-file` and writes to an unmapped
//! address right after (SIGSEGV). Core dumps are off, so the process's death costs the same with and without the
//! handler.

// dlopen, setrlimit and a deliberate invalid write; this crate never ships.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io::Write;

use sentry_benches::monotonic_ns;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (report_dir, libs_dir, stamp, install) = (&args[1], &args[2], &args[3], args[4] == "1");
    no_core_dumps();
    let mut libs: Vec<_> = std::fs::read_dir(libs_dir)
        .expect("the libraries directory")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "so"))
        .collect();
    libs.sort();
    for lib in &libs {
        let path = CString::new(lib.to_string_lossy().as_bytes()).expect("a path without NUL");
        // SAFETY: the path is a valid C string; the generated libraries have no constructors.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
        assert!(!handle.is_null(), "dlopen {} failed", lib.display());
    }
    let images = sentry_core::images::refresh_loaded_images();
    eprintln!("loaded images: {}", images.len());
    if install {
        let mut config = sentry_native_crash::HandlerConfig::new(report_dir);
        config.watchdog_secs = 5;
        sentry_native_crash::install(config).expect("install the handler");
        let images_json = serde_json::to_vec(images.images()).expect("serialize the images");
        sentry_native_crash::set_images(&images_json).expect("the image list fits");
        sentry_native_crash::set_scope(&scope_snapshot()).expect("the scope fits");
    }
    let mut file = std::fs::File::create(stamp).expect("create the stamp file");
    write!(file, "{}", monotonic_ns()).expect("write the stamp");
    drop(file);
    // A real invalid access rather than `raise`: std's own SIGSEGV handler (for stack
    // overflows) returns on a fault it does not own, and only a faulting instruction that
    // runs again then ends the process by the default action.
    store_to(std::hint::black_box(8));
    unreachable!("SIGSEGV did not end the process");
}

#[inline(never)]
fn store_to(address: usize) {
    // SAFETY: none; this writes to an unmapped page on purpose, to crash.
    unsafe { (address as *mut u8).write_volatile(1) }
}

/// A scope as the core would serialize it: 100 breadcrumbs and 10 tags.
fn scope_snapshot() -> Vec<u8> {
    let breadcrumbs: Vec<_> = (0..100)
        .map(|i| {
            serde_json::json!({
                "timestamp": 1_700_000_000.0 + f64::from(i),
                "type": "default",
                "category": "http",
                "level": "info",
                "message": format!("GET /api/items/{i} served in 12 ms"),
            })
        })
        .collect();
    let tags: serde_json::Map<_, _> = (0..10)
        .map(|i| {
            (
                format!("tag{i}"),
                serde_json::Value::String(format!("value {i}")),
            )
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "breadcrumbs": breadcrumbs, "tags": tags }))
        .expect("serialize the scope")
}

fn no_core_dumps() {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit; lowering our own core limit is always allowed.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &limit);
    }
}
