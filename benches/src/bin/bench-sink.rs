//! The local HTTP sink on its own, for trying a program against it by hand:
//! `bench-sink [ok|hang] [seconds]` prints the DSN, serves for `seconds` (default 60), then
//! prints how many requests it answered.

use std::time::Duration;

use sentry_benches::sink::{Mode, Sink};

fn main() {
    let mode = match std::env::args().nth(1).as_deref() {
        Some("hang") => Mode::Hang,
        _ => Mode::Ok,
    };
    let seconds: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let sink = Sink::start(mode, Duration::from_secs(seconds)).expect("start the sink");
    println!("{}", sink.dsn());
    std::thread::sleep(Duration::from_secs(seconds));
    println!("answered {}", sink.answered());
}
