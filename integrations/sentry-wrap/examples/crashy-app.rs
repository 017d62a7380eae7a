//! A program that uses this SDK and dies before it could send: for trying `sentry-wrap`.
//!
//! ```sh
//! cargo build -p sentry-wrap --examples
//! # The program's own DSN points at a port where nothing listens, so its message stays in
//! # the outbox; then it aborts. The wrapper reports the SIGABRT and delivers the message.
//! SENTRY_DSN=http://key@127.0.0.1:9/1 target/debug/sentry-wrap --dsn "$REAL_DSN" -- \
//!     target/debug/examples/crashy-app
//! ```
//!
//! It reads the DSN and `SENTRY_DATABASE_PATH` (set by the wrapper) from the environment.

use std::time::Duration;

use sentry_core::protocol::Level;

fn main() {
    let guard = sentry_core::init_with_release!(sentry_core::ClientOptions::new());
    sentry_core::capture_message("crashy-app: this message was left behind", Level::Warning);
    // The send fails (nothing listens), so the message waits in the outbox on disk.
    sentry_core::flush(Duration::from_secs(2));
    eprintln!("crashy-app: giving up");
    std::mem::forget(guard);
    std::process::abort();
}
