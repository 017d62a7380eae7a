//! Example programs live next to this crate: see `demo.rs` and the others.
