//! Checks on event JSON shared by several test files.

use serde_json::Value;

/// Asserts that `event`'s first exception has a stack trace of addresses only: the copy the
/// panic hook keeps when it does not wait for symbol names.
pub fn assert_addresses_only(event: &Value) {
    let frames = event["exception"]["values"][0]["stacktrace"]["frames"]
        .as_array()
        .expect("frames");
    assert!(!frames.is_empty());
    assert!(frames.iter().all(|f| f["instruction_addr"].is_string()));
    assert!(
        frames.iter().all(|f| f["function"].is_null()),
        "{frames:#?}"
    );
}
