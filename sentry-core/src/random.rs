//! Fast per-thread randomness for event ids and sampling.
//!
//! Asking the operating system for random bytes on every capture costs a system call; a
//! per-thread generator seeded once from the OS is as unpredictable as an event id needs to
//! be and costs a few instructions.

use std::cell::Cell;

use uuid::Uuid;

thread_local! {
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// A random 64-bit number (SplitMix64 over a per-thread state seeded by the OS).
pub(crate) fn next_u64() -> u64 {
    STATE.with(|state| {
        let mut s = state.get();
        if s == 0 {
            let (high, low) = Uuid::new_v4().as_u64_pair();
            s = high ^ low.rotate_left(17) | 1;
        }
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// A random (version 4) UUID for an event id.
pub(crate) fn uuid_v4() -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&next_u64().to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// True with probability `rate` (clamped to 0..=1).
pub(crate) fn sample(rate: f32) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 || rate.is_nan() {
        return false;
    }
    // 53 random bits give a uniform float in [0, 1).
    let unit = (next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    unit < f64::from(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_version_4_and_distinct() {
        let a = uuid_v4();
        let b = uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
    }

    #[test]
    fn sampling_matches_the_rate() {
        let kept = (0..100_000).filter(|_| sample(0.25)).count();
        assert!((23_000..27_000).contains(&kept), "kept {kept}");
        assert!(sample(1.0) && !sample(0.0));
    }
}
