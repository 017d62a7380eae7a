//! Support for the end-to-end tests: starts Bugsink and reads back what it stored.
//!
//! The tests in `tests/tests/` send real events over HTTP to a real Sentry-compatible server and then look at what it
//! stored. Everything Python-side (Bugsink, gunicorn, Sentry's Relay normalizer) lives in a virtualenv that the
//! harness creates on first use in `target/e2e-venv` (or `$E2E_VENV`), so plain `cargo test` needs only `python3`
//! and, the first time, access to PyPI.
//!
//! ```no_run
//! use std::time::Duration;
//! use e2e::{Bugsink, assert_relay_valid};
//!
//! let project = Bugsink::shared().new_project("my-test");
//! // ... configure the SDK with project.dsn() and make it send something ...
//! let events = project.wait_for_events(1, Duration::from_secs(10));
//! assert_eq!(events[0]["level"], "error");
//! assert_relay_valid(&events[0]);
//! ```
//!
//! This crate deliberately depends on nothing of the SDK, only on `serde_json` (and `ureq` for its own self-test),
//! so that it keeps working while the SDK changes.

mod bugsink;
mod envelope;
mod helper;
mod relay;
mod support;
mod venv;

pub use bugsink::{Bugsink, Project};
pub use envelope::{IngestResponse, event_envelope, new_event_id, send_envelope};
pub use relay::{
    RelayReport, assert_all_relay_valid, assert_relay_valid, relay_check_all, relay_errors,
    relay_normalize,
};
pub use support::{
    build_example, cargo_build, dsn_via, exception, free_port, fresh_dir, hex, project_dir,
    settled_events, sorted_ids, symbolic_ids, test_dir, wait_until,
};
pub use venv::{VENV_ENV, ensure_venv, target_dir, venv_dir, venv_python, workspace_root};
