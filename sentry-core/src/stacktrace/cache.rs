//! Resolved frames by instruction address, so that resolving a stack seen before (a panic
//! that repeats, the same code path reporting again) costs a look-up per address instead of
//! a search of the debug information, and can be done on the reporting thread itself.
//!
//! Only what the debug information says is kept (function, file, line, column): the module
//! and the in-app flag are filled in by each resolution, since the in-app rules belong to a
//! client. Code is not expected to move while the process runs; a library unloaded and
//! another loaded at the same address would be named after the first (the images cache has
//! the same blind spot).

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::protocol::Frame;

/// How many addresses the cache holds before it starts over: a program's panics and
/// captures go through far fewer distinct frames, and a runaway one (generated code) must
/// not grow it without end.
const MAX_ADDRESSES: usize = 8192;

static FRAMES: Mutex<Option<HashMap<u64, Box<[Frame]>>>> = Mutex::new(None);

/// Appends the frames resolved before for `addr` (several for inlined code); false when it
/// was not resolved before.
pub(super) fn append_cached(addr: u64, frames: &mut Vec<Frame>) -> bool {
    let cache = FRAMES.lock();
    match cache.as_ref().and_then(|map| map.get(&addr)) {
        Some(cached) => {
            frames.extend(cached.iter().cloned());
            true
        }
        None => false,
    }
}

/// The frames of every address, newest first, with how many frames each address gave;
/// `None` as soon as one address was not resolved before.
pub(super) fn cached_frames(addresses: &[u64]) -> Option<(Vec<Frame>, Vec<usize>)> {
    let cache = FRAMES.lock();
    let map = cache.as_ref()?;
    let mut frames = Vec::with_capacity(addresses.len() + addresses.len() / 2);
    let mut counts = Vec::with_capacity(addresses.len());
    for addr in addresses {
        let cached = map.get(addr)?;
        frames.extend(cached.iter().cloned());
        counts.push(cached.len());
    }
    Some((frames, counts))
}

/// Keeps what resolving `addr` gave.
pub(super) fn remember(addr: u64, frames: &[Frame]) {
    let mut cache = FRAMES.lock();
    let map = cache.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_ADDRESSES {
        map.clear();
    }
    map.insert(addr, frames.into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_only_for_addresses_resolved_before() {
        // Addresses no real code has, so other tests' resolutions do not interfere.
        let (a, b) = (0xdead_0000_0001, 0xdead_0000_0002);
        let named = |name: &str| Frame {
            function: Some(name.into()),
            ..Frame::default()
        };
        assert!(cached_frames(&[a]).is_none());
        remember(a, &[named("inlined"), named("outer")]);
        remember(b, &[named("caller")]);
        let (frames, counts) = cached_frames(&[a, b]).unwrap();
        assert_eq!(counts, [2, 1]);
        assert_eq!(frames.len(), 3);
        assert!(cached_frames(&[a, b, 0xdead_0000_0003]).is_none());
        let mut appended = Vec::new();
        assert!(append_cached(b, &mut appended));
        assert_eq!(appended[0].function.as_deref(), Some("caller"));
    }
}
