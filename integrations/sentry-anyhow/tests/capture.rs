//! capture_anyhow against the real client, with envelopes collected in memory.
//!
//! anyhow records a backtrace only when `RUST_LIB_BACKTRACE` or `RUST_BACKTRACE` is set when
//! the error is created, and the standard library reads that variable once per process. So
//! the test that needs a backtrace runs itself again in a child process with the variable set.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_lot::Mutex;
use sentry_core::ClientOptions;
use sentry_core::transport::MemoryTransport;
use serde_json::Value;

static SERIAL: Mutex<()> = Mutex::new(());

fn run(options: ClientOptions, body: impl FnOnce()) -> Vec<Value> {
    let _serial = SERIAL.lock();
    let (transport, collected) = MemoryTransport::new();
    let slot = Arc::new(Mutex::new(Some(transport)));
    let database = std::env::temp_dir().join(format!("sentry-anyhow-test-{}", std::process::id()));
    let guard = sentry_core::init(
        options
            .database_path(&database)
            .transport(move |_| Box::new(slot.lock().take().expect("one client"))),
    );
    body();
    assert!(sentry_core::flush(Duration::from_secs(10)));
    drop(guard);
    let _ = std::fs::remove_dir_all(database);
    collected.event_json()
}

#[inline(never)]
fn read_settings() -> anyhow::Result<u16> {
    let text = "port = x80";
    let value = text.trim_start_matches("port = ");
    Ok(value.parse::<u16>()?)
}

#[inline(never)]
fn start_server() -> anyhow::Result<()> {
    read_settings().context("invalid settings")?;
    Ok(())
}

/// Runs `test` of this file again in a child process with `RUST_LIB_BACKTRACE` set to
/// `setting` (it wins over `RUST_BACKTRACE`); true in the parent, false in the child.
fn in_child(test: &str, setting: &str) -> bool {
    if std::env::var_os("SENTRY_ANYHOW_CHILD").is_some() {
        return false;
    }
    let status = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("SENTRY_ANYHOW_CHILD", "1")
        .env("RUST_LIB_BACKTRACE", setting)
        .status()
        .unwrap();
    assert!(status.success(), "the child run of {test} failed");
    true
}

#[test]
fn chain_and_recorded_backtrace_arrive_on_the_outermost_exception() {
    if in_child(
        "chain_and_recorded_backtrace_arrive_on_the_outermost_exception",
        "1",
    ) {
        return;
    }
    let error = start_server().unwrap_err();
    let events = run(
        ClientOptions::new().in_app_exclude([concat!(module_path!(), "::read_settings")]),
        || {
            sentry_anyhow::capture_anyhow(&error);
        },
    );
    let values = events[0]["exception"]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0]["type"], "ParseIntError");
    assert_eq!(values[0]["value"], "invalid digit found in string");
    assert_eq!(values[1]["value"], "invalid settings");
    assert!(values[0]["stacktrace"].is_null());

    let frames = values[1]["stacktrace"]["frames"].as_array().unwrap();
    let names: Vec<&str> = frames
        .iter()
        .map(|f| f["function"].as_str().unwrap_or("?"))
        .collect();
    // Oldest first; the newest frame is where the error was created (the `?` in
    // read_settings), not anyhow's or the backtrace's own code.
    let newest = frames.last().unwrap();
    assert!(
        names.last().unwrap().ends_with("read_settings"),
        "{names:#?}"
    );
    assert!(
        names[names.len() - 2].ends_with("start_server"),
        "{names:#?}"
    );
    assert!(newest["lineno"].as_u64().unwrap() > 0);
    assert!(newest["abs_path"].as_str().unwrap().ends_with("capture.rs"));
    assert!(
        newest["instruction_addr"]
            .as_str()
            .unwrap()
            .starts_with("0x")
    );
    // in_app: the client's rules apply (exclude wins for read_settings), start_server is in-app.
    assert_eq!(newest["in_app"], false);
    assert_eq!(frames[frames.len() - 2]["in_app"], true);
    assert!(
        frames
            .iter()
            .all(|f| !f["function"].as_str().unwrap_or("").starts_with("anyhow::"))
    );
    // The addresses are this process's, so the modules that hold them are listed.
    assert!(
        !events[0]["debug_meta"]["images"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn without_a_recorded_backtrace_the_reporting_stack_is_used() {
    if in_child(
        "without_a_recorded_backtrace_the_reporting_stack_is_used",
        "0",
    ) {
        return;
    }
    let error = anyhow::anyhow!("plain failure");
    let status = error.backtrace().status();
    assert_eq!(status, std::backtrace::BacktraceStatus::Disabled);
    let events = run(ClientOptions::new().attach_stacktrace(true), || {
        sentry_anyhow::capture_anyhow(&error);
    });
    let values = events[0]["exception"]["values"].as_array().unwrap();
    assert_eq!(values.last().unwrap()["value"], "plain failure");
    assert!(values.last().unwrap()["stacktrace"]["frames"].is_array());
}
