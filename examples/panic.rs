//! Panics in several ways, to see what the SDK reports: `cargo run --example panic -- <mode>`.
//!
//! | mode      | what happens                                                          |
//! |-----------|-----------------------------------------------------------------------|
//! | `main`    | the main thread panics (exit code 101)                                |
//! | `thread`  | a spawned thread named `worker` panics; main joins it and exits 0     |
//! | `nested`  | a `Drop` panics while unwinding from a first panic: std aborts        |
//! | `payload` | a thread panics with a non-string payload (`panic_any(42u32)`)        |
//! | `caught`  | a panic inside `sentry_core::catch_unwind`, reported as handled       |
//! | `none`    | no panic: starts, sends what earlier runs left on disk, exits         |
//!
//! Without `SENTRY_DSN` it is a dry run: envelopes are printed, not sent (and nothing is
//! kept on disk). With `SENTRY_DSN`, undelivered events are kept in `SENTRY_DATABASE_PATH`
//! (default `~/.cache/sentry-rs/<executable>`) and sent by the next run, for example
//! `panic -- none`. Build with `CARGO_PROFILE_DEV_PANIC=abort` to see a `panic = "abort"`
//! program report before it aborts. `SENTRY_DEBUG=1` shows what the SDK does.
//!
//! Events carry the tags `example=panic` and `mode=<mode>`, and the release
//! `sentry-panic-example@<version>`, so that tests can find them on the server.

use std::time::Duration;

use sentry_core::ClientOptions;

const MODES: &[&str] = &["main", "thread", "nested", "payload", "caught", "none"];

/// Panics a second time when dropped during unwinding.
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            panic!("second panic, in Drop while unwinding");
        }
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if !MODES.contains(&mode.as_str()) {
        eprintln!("usage: panic <{}>", MODES.join("|"));
        std::process::exit(2);
    }
    let has_dsn = std::env::var("SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty());
    if !has_dsn {
        eprintln!("panic: SENTRY_DSN is not set, so this is a dry run: envelopes are printed.");
    }
    let _guard = sentry_core::init(
        ClientOptions::new()
            .release(concat!("sentry-panic-example@", env!("CARGO_PKG_VERSION")))
            .dry_run(!has_dsn)
            .panic_flush_timeout(Duration::from_secs(5))
            .shutdown_timeout(Duration::from_secs(5)),
    );
    sentry_core::configure_scope(|scope| {
        scope.set_tag("example", "panic");
        scope.set_tag("mode", &mode);
    });

    match mode.as_str() {
        "main" => load_config("/nonexistent/example.toml"),
        "thread" => {
            let worker = std::thread::Builder::new()
                .name("worker".into())
                .spawn(|| load_config("/nonexistent/worker.toml"))
                .expect("spawn");
            let _ = worker.join();
        }
        "nested" => nested(),
        "payload" => {
            let _ = std::thread::spawn(|| std::panic::panic_any(42u32)).join();
        }
        "caught" => {
            let result = sentry_core::catch_unwind(|| load_config("/nonexistent/caught.toml"));
            eprintln!("panic: caught: {}", result.is_err());
        }
        _ => {
            // Dropping the guard waits (at most shutdown_timeout) for the worker, whose
            // first job is to send what earlier runs left in the outbox.
            eprintln!("panic: no panic; sending what earlier runs left");
        }
    }
}

fn load_config(path: &str) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("config file {path} is missing: {error}"));
    eprintln!("{text}");
}

fn nested() {
    let _guard = PanicsOnDrop;
    panic!("first panic, unwinding");
}
