//! Helpers shared by the integration tests of sentry-core.
#![allow(dead_code)]

pub mod events;
pub mod fault_server;
