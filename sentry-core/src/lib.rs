//! Crash and error reporting for Rust programs. (Crate docs are written with the client.)

pub mod dsn;
pub mod envelope;
pub mod images;
pub mod protocol;
pub mod stacktrace;
pub mod transport;
