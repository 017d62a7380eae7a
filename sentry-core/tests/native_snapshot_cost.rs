//! What keeping the crash handler's scope snapshot current costs `add_breadcrumb` and
//! `configure_scope`, printed, not asserted (timings vary by machine):
//! `cargo test --release -p sentry-core --test native_snapshot_cost -- --nocapture`.

#![cfg(all(
    feature = "native-crash",
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]

use std::time::{Duration, Instant};

use sentry_core::ClientOptions;
use sentry_core::protocol::Breadcrumb;
use sentry_core::transport::MemoryTransport;

fn crumb(i: u32) -> Breadcrumb {
    Breadcrumb::new("GET /api/items returned 200")
        .category("http")
        .data("status", 200)
        .data("n", i)
}

fn measure(handler: bool) -> (Duration, Duration) {
    let database = std::env::temp_dir().join(format!(
        "sentry-native-cost-{}-{handler}",
        std::process::id()
    ));
    let guard = sentry_core::init(
        ClientOptions::new()
            .dsn("https://key@example.invalid/1")
            .database_path(&database)
            .native_crash_handler(handler)
            .transport(|_| Box::new(MemoryTransport::new().0)),
    );
    sentry_core::configure_scope(|scope| {
        scope.clear();
        scope.set_tag("component", "importer");
    });
    for i in 0..100 {
        sentry_core::add_breadcrumb(crumb(i));
    }
    let rounds = 20_000u32;
    let start = Instant::now();
    for i in 0..rounds {
        sentry_core::add_breadcrumb(crumb(i));
    }
    let add = start.elapsed() / rounds;
    let start = Instant::now();
    for i in 0..rounds {
        sentry_core::configure_scope(|scope| scope.set_tag("counter", i));
    }
    let configure = start.elapsed() / rounds;
    drop(guard);
    let _ = std::fs::remove_dir_all(database);
    (add, configure)
}

#[test]
fn cost_of_keeping_the_crash_snapshot_current() {
    // Without the handler first: the handler cannot be uninstalled.
    let (add_off, configure_off) = measure(false);
    let (add_on, configure_on) = measure(true);
    eprintln!(
        "add_breadcrumb with 100 breadcrumbs kept: {add_off:?} without the crash handler, {add_on:?} with it"
    );
    eprintln!(
        "configure_scope(set_tag): {configure_off:?} without the crash handler, {configure_on:?} with it"
    );
}
