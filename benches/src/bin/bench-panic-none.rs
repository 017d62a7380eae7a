//! The panic benchmark's program without any SDK: the cost of a panic itself (std's hook
//! printing the message, unwinding, join); see `src/panic_timing.rs`.

include!("../panic_timing.rs");

fn main() {
    time_panics(|_| ());
}
