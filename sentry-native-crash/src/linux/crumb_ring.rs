//! Breadcrumbs for the report, one slot each, so that adding one costs copying that one.
//!
//! A ring of fixed-capacity [`Snapshot`]s. Slot `seq % n` holds the breadcrumb pushed as
//! number `seq`, with `seq` stored in front of it; the handler reads the newest `visible`
//! sequence numbers and keeps a slot only if it still holds the number it expected (a slot
//! overwritten meanwhile by a newer push is left out rather than reported out of order).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use super::scope_slot::Snapshot;

pub(crate) struct CrumbRing {
    slots: Box<[Snapshot]>,
    slot_cap: usize,
    /// Breadcrumbs pushed, ever; the next one gets this number.
    pushed: AtomicU64,
    /// How many of the newest belong in a report.
    visible: AtomicUsize,
    writers: Mutex<()>,
}

impl CrumbRing {
    /// Allocates `n` slots of `cap` bytes now, so that neither a push nor a read allocates.
    pub(crate) fn new(n: usize, cap: usize) -> Self {
        CrumbRing {
            slots: (0..n).map(|_| Snapshot::new(cap + 8)).collect(),
            slot_cap: cap,
            pushed: AtomicU64::new(0),
            visible: AtomicUsize::new(0),
            writers: Mutex::new(()),
        }
    }

    /// Largest breadcrumb a slot holds.
    pub(crate) fn slot_capacity(&self) -> usize {
        self.slot_cap
    }

    /// Adds a breadcrumb after the others, replacing the oldest when all slots are used.
    /// False when it is larger than a slot or there are no slots.
    pub(crate) fn push(&self, data: &[u8]) -> bool {
        if data.len() > self.slot_cap || self.slots.is_empty() {
            return false;
        }
        let _guard = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let seq = self.pushed.load(Ordering::Relaxed);
        let slot = &self.slots[(seq % self.slots.len() as u64) as usize];
        slot.set_prefixed(seq, data);
        self.pushed.store(seq + 1, Ordering::Release);
        let visible = self.visible.load(Ordering::Relaxed);
        self.visible
            .store((visible + 1).min(self.slots.len()), Ordering::Release);
        true
    }

    /// Keeps only the newest `n` breadcrumbs in reports (0 clears them).
    pub(crate) fn keep_newest(&self, n: usize) {
        let _guard = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let visible = self.visible.load(Ordering::Relaxed);
        self.visible.store(visible.min(n), Ordering::Release);
    }

    /// Makes pushes wait until [`thaw`](Self::thaw) (see [`Snapshot::freeze`]), so that the
    /// handler reads the newest breadcrumbs while pushes keep coming. Async-signal-safe.
    pub(crate) fn freeze(&self) {
        self.slots.iter().for_each(Snapshot::freeze);
    }

    /// Lets pushes continue after [`freeze`](Self::freeze). Async-signal-safe.
    pub(crate) fn thaw(&self) {
        self.slots.iter().for_each(Snapshot::thaw);
    }

    /// Calls `f` with each breadcrumb of the report, oldest first, copied through `buf`
    /// (at least `slot_capacity() + 8` bytes). Async-signal-safe: no locks, no allocation.
    pub(crate) fn for_each(&self, buf: &mut [u8], mut f: impl FnMut(&[u8])) {
        let n = self.slots.len() as u64;
        if n == 0 {
            return;
        }
        let visible = self.visible.load(Ordering::Acquire) as u64;
        let pushed = self.pushed.load(Ordering::Acquire);
        let first = pushed.saturating_sub(visible.min(n));
        for seq in first..pushed {
            let slot = &self.slots[(seq % n) as usize];
            let Some(len) = slot.read_into(buf) else {
                continue;
            };
            if len < 8 || buf[..8] != seq.to_le_bytes() {
                continue;
            }
            f(&buf[8..len]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(ring: &CrumbRing) -> Vec<Vec<u8>> {
        let mut buf = vec![0u8; ring.slot_capacity() + 8];
        let mut out = Vec::new();
        ring.for_each(&mut buf, |b| out.push(b.to_vec()));
        out
    }

    #[test]
    fn keeps_the_newest_in_order() {
        let ring = CrumbRing::new(3, 16);
        assert!(collect(&ring).is_empty());
        for b in [&b"a"[..], b"bb", b"ccc", b"dddd"] {
            assert!(ring.push(b));
        }
        assert_eq!(collect(&ring), [&b"bb"[..], b"ccc", b"dddd"]);
        ring.keep_newest(1);
        assert_eq!(collect(&ring), [b"dddd"]);
        ring.keep_newest(0);
        assert!(collect(&ring).is_empty());
        assert!(ring.push(b"e"));
        assert_eq!(collect(&ring), [b"e"]);
        assert!(!ring.push(&[0u8; 17]), "larger than a slot");
        assert_eq!(collect(&ring), [b"e"]);
    }
}
