//! Breadcrumbs for the report, one slot each, so that adding one costs copying that one.
//!
//! A ring of fixed-capacity slots. The breadcrumb pushed as number `seq` goes to slot
//! `seq % n`, whose stamp says which number it holds and whether it is complete
//! (`2 * seq + 2`) or being written (`2 * seq + 1`): a seqlock per slot. The handler reads the
//! newest numbers and keeps a slot only if its stamp is the complete stamp of the number it
//! expected, before and after the copy; a slot being overwritten meanwhile by a newer push is
//! left out rather than reported torn or out of order. Bytes are stored in `AtomicU64` words,
//! so that a concurrent read is a race the memory model allows rather than undefined
//! behaviour.
//!
//! Pushes are serialized by a spin flag rather than a mutex: a push holds it for the few
//! nanoseconds of one small copy, and taking it is one atomic read-modify-write, where a
//! mutex costs two. This is the hot path of every `add_breadcrumb` of the SDK. The handler
//! never takes the flag.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

use super::zeroed::ZeroedWords;

struct Slot {
    /// `2 * seq + 1` while breadcrumb `seq` is written, `2 * seq + 2` once it is complete;
    /// 0 before the first.
    stamp: AtomicU64,
    len: AtomicUsize,
}

pub(crate) struct CrumbRing {
    slots: Box<[Slot]>,
    /// The slots' bytes in one mapping, `slot_cap` rounded up to words each (see
    /// [`words_of`](Self::words_of)).
    words: ZeroedWords,
    slot_cap: usize,
    /// Breadcrumbs pushed, ever; the next one gets this number. Written under `busy`.
    pushed: AtomicU64,
    /// Breadcrumbs numbered below this are left out of reports (see `keep_newest`).
    floor: AtomicU64,
    /// Held by the one push (or `keep_newest`) under way.
    busy: AtomicBool,
    /// Set by the handler while it copies: pushes wait before starting.
    frozen: AtomicBool,
}

impl CrumbRing {
    /// Allocates `n` slots of `cap` bytes now, so that neither a push nor a read allocates.
    pub(crate) fn new(n: usize, cap: usize) -> Self {
        let slot_words = cap.div_ceil(8);
        CrumbRing {
            slots: (0..n)
                .map(|_| Slot {
                    stamp: AtomicU64::new(0),
                    len: AtomicUsize::new(0),
                })
                .collect(),
            words: ZeroedWords::new(n * slot_words),
            slot_cap: cap,
            pushed: AtomicU64::new(0),
            floor: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            frozen: AtomicBool::new(false),
        }
    }

    /// Largest breadcrumb a slot holds.
    pub(crate) fn slot_capacity(&self) -> usize {
        self.slot_cap
    }

    /// How many breadcrumbs it keeps.
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// A number that moves on every push and every [`keep_newest`](Self::keep_newest)
    /// that left something out, so that a copy read after loading it can tell later
    /// whether it is still current.
    pub(crate) fn version(&self) -> u64 {
        // Both only grow, so their sum moves whenever either does.
        self.pushed.load(Ordering::Acquire) + self.floor.load(Ordering::Acquire)
    }

    /// Adds a breadcrumb after the others, replacing the oldest when all slots are used, and
    /// returns its number (one more than the previous one's). `None` when it is larger than
    /// a slot or there are no slots.
    pub(crate) fn push(&self, data: &[u8]) -> Option<u64> {
        if data.len() > self.slot_cap || self.slots.is_empty() {
            return None;
        }
        self.lock();
        let seq = self.pushed.load(Ordering::Relaxed);
        let index = (seq % self.slots.len() as u64) as usize;
        let (slot, words) = (&self.slots[index], self.words_of(index));
        slot.stamp.store(2 * seq + 1, Ordering::Relaxed);
        // The odd stamp is visible before any word changes: a reader that sees a changed
        // word also sees the stamp move.
        fence(Ordering::Release);
        let mut chunks = data.chunks_exact(8);
        for (word, chunk) in words.iter().zip(&mut chunks) {
            let bytes: [u8; 8] = chunk.try_into().unwrap_or_default();
            word.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut bytes = [0u8; 8];
            bytes[..tail.len()].copy_from_slice(tail);
            words[data.len() / 8].store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        }
        slot.len.store(data.len(), Ordering::Relaxed);
        slot.stamp.store(2 * seq + 2, Ordering::Release);
        self.pushed.store(seq + 1, Ordering::Release);
        self.unlock();
        Some(seq)
    }

    /// Keeps only the newest `n` breadcrumbs in reports (0 clears them).
    pub(crate) fn keep_newest(&self, n: usize) {
        self.lock();
        let pushed = self.pushed.load(Ordering::Relaxed);
        let floor = pushed.saturating_sub(n as u64);
        // Only when it leaves out one still in a slot: the version moves exactly when the
        // breadcrumbs of a report change.
        let oldest_in_slots = pushed.saturating_sub(self.slots.len() as u64);
        if floor > self.floor.load(Ordering::Relaxed).max(oldest_in_slots) {
            self.floor.store(floor, Ordering::Release);
        }
        self.unlock();
    }

    /// The words of slot `index`.
    fn words_of(&self, index: usize) -> &[AtomicU64] {
        let slot_words = self.slot_cap.div_ceil(8);
        &self.words[index * slot_words..][..slot_words]
    }

    /// Takes the push flag, then waits while the handler copies.
    fn lock(&self) {
        while self
            .busy
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            // Another push holds it for nanoseconds, unless its thread was preempted.
            std::thread::yield_now();
        }
        // SeqCst pairs with the handler's store: once it froze, no push starts. Yielding,
        // not sleeping: the handler thaws within microseconds, or the process is ending.
        while self.frozen.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }

    fn unlock(&self) {
        self.busy.store(false, Ordering::Release);
    }

    /// Makes pushes wait until [`thaw`](Self::thaw), so that the handler reads the newest
    /// breadcrumbs while pushes keep coming: at most the one push already under way
    /// completes meanwhile. Async-signal-safe (one atomic store); the handler must thaw
    /// again, for a process that survives its crash.
    pub(crate) fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Lets pushes continue after [`freeze`](Self::freeze). Async-signal-safe.
    pub(crate) fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    /// Calls `f` with the number and bytes of each breadcrumb of the report, oldest first,
    /// copied through `buf` (at least `slot_capacity()` bytes). Async-signal-safe: no locks,
    /// no allocation, bounded work. Also safe on any thread at any time: a breadcrumb
    /// overwritten while it is read is left out, never given torn.
    pub(crate) fn for_each(&self, buf: &mut [u8], mut f: impl FnMut(u64, &[u8])) {
        let n = self.slots.len() as u64;
        if n == 0 {
            return;
        }
        let pushed = self.pushed.load(Ordering::Acquire);
        let floor = self.floor.load(Ordering::Acquire);
        let first = pushed.saturating_sub(n).max(floor);
        for seq in first..pushed {
            let index = (seq % n) as usize;
            let (slot, words) = (&self.slots[index], self.words_of(index));
            let complete = 2 * seq + 2;
            if slot.stamp.load(Ordering::Acquire) != complete {
                continue;
            }
            let len = slot
                .len
                .load(Ordering::Relaxed)
                .min(self.slot_cap)
                .min(buf.len());
            for (i, chunk) in buf[..len].chunks_mut(8).enumerate() {
                let word = words[i].load(Ordering::Relaxed).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            // The words are read before the stamp is checked again.
            fence(Ordering::Acquire);
            if slot.stamp.load(Ordering::Relaxed) == complete {
                f(seq, &buf[..len]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// The breadcrumbs a report would hold, checking that their numbers follow each other.
    fn collect(ring: &CrumbRing) -> Vec<Vec<u8>> {
        let mut buf = vec![0u8; ring.slot_capacity()];
        let mut out = Vec::new();
        let mut numbers = Vec::new();
        ring.for_each(&mut buf, |n, b| {
            numbers.push(n);
            out.push(b.to_vec());
        });
        assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
        out
    }

    #[test]
    fn keeps_the_newest_in_order() {
        let ring = CrumbRing::new(3, 16);
        assert!(collect(&ring).is_empty());
        for b in [&b"a"[..], b"bb", b"ccc", b"dddd"] {
            assert!(ring.push(b).is_some());
        }
        assert_eq!(collect(&ring), [&b"bb"[..], b"ccc", b"dddd"]);
        let version = ring.version();
        ring.keep_newest(3);
        ring.keep_newest(4);
        assert_eq!(ring.version(), version, "nothing left out: no change");
        ring.keep_newest(1);
        assert_eq!(collect(&ring), [b"dddd"]);
        assert_ne!(ring.version(), version);
        ring.keep_newest(0);
        assert!(collect(&ring).is_empty());
        assert_eq!(ring.push(b"e"), Some(4));
        assert_eq!(collect(&ring), [b"e"]);
        assert_eq!(ring.push(&[0u8; 17]), None, "larger than a slot");
        assert_eq!(ring.push(&[7u8; 16]), Some(5), "exactly a slot");
        assert_eq!(collect(&ring), [&b"e"[..], &[7u8; 16]]);
    }

    #[test]
    fn wraps_around_many_times_with_lengths_across_word_boundaries() {
        let ring = CrumbRing::new(5, 40);
        for i in 0..1000usize {
            let data = vec![(i % 251) as u8; i % 41];
            assert_eq!(ring.push(&data), Some(i as u64));
        }
        let want: Vec<Vec<u8>> = (995..1000usize)
            .map(|i| vec![(i % 251) as u8; i % 41])
            .collect();
        assert_eq!(collect(&ring), want);
    }

    /// Readers racing with pushers from several threads never see a torn or out-of-order
    /// breadcrumb: every one read is whole (all its bytes the same, its length among the
    /// ones pushed) and numbers increase per pusher.
    #[test]
    fn concurrent_pushers_and_a_reader_never_see_a_torn_breadcrumb() {
        let ring = Arc::new(CrumbRing::new(8, 64));
        let pushers: Vec<_> = (0..3u8)
            .map(|t| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    for i in 0..20_000u32 {
                        // Thread in the first byte, counter in the next four, then filler
                        // that repeats the counter's low byte.
                        let len = 5 + (i as usize % 50);
                        let mut data = vec![(i & 0xff) as u8; len];
                        data[0] = t;
                        data[1..5].copy_from_slice(&i.to_le_bytes());
                        ring.push(&data);
                    }
                })
            })
            .collect();
        let mut buf = vec![0u8; 64];
        let mut reads = 0;
        while pushers.iter().any(|p| !p.is_finished()) || reads == 0 {
            let mut last = [None::<u32>; 3];
            ring.for_each(&mut buf, |_, crumb| {
                let t = crumb[0] as usize;
                let i = u32::from_le_bytes(crumb[1..5].try_into().unwrap());
                assert_eq!(crumb.len(), 5 + (i as usize % 50), "whole length");
                assert!(
                    crumb[5..].iter().all(|&b| b == (i & 0xff) as u8),
                    "not torn"
                );
                assert!(last[t] < Some(i), "in order per thread");
                last[t] = Some(i);
            });
            reads += 1;
        }
        for pusher in pushers {
            pusher.join().unwrap();
        }
        assert_eq!(collect(&ring).len(), 8);
    }
}
