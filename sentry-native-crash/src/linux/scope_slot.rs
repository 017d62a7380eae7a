//! A snapshot that ordinary threads replace at any time and the signal handler reads at any
//! time, without the handler ever taking a lock or seeing a torn snapshot.
//!
//! Two preallocated buffers, each guarded by a sequence counter (a seqlock); `current` says
//! which one is published. A writer (serialized with the others by a mutex, which the handler
//! never touches) fills the unpublished buffer, then publishes it. The handler copies the
//! published buffer and keeps the copy only if the counter did not move meanwhile; because the
//! writer works on the other buffer, that retry is needed only if two updates land during one
//! copy. Bytes are stored in `AtomicU64` words so that a concurrent read is a race the memory
//! model allows rather than undefined behaviour.
//!
//! Writers faster than the reader could still make every attempt fail, and a crash during
//! constant scope updates would then be reported with an empty scope. So the handler first
//! [freezes](Snapshot::freeze) the snapshot: writers wait before starting an update until it
//! [thaws](Snapshot::thaw) it, at most the one update already under way completes, and that
//! one goes to the buffer the handler is not reading. The read then succeeds at once, with
//! the last complete snapshot.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

use super::zeroed::ZeroedWords;

/// How often the handler retries a copy that raced with updates before giving up (and writing
/// an empty snapshot rather than a torn one). Frozen, one retry at most is needed.
const READ_ATTEMPTS: usize = 64;

struct Buf {
    /// Even: stable. Odd: being written.
    seq: AtomicU64,
    len: AtomicUsize,
    words: ZeroedWords,
}

impl Buf {
    fn new(cap: usize) -> Self {
        Buf {
            seq: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            words: ZeroedWords::new(cap.div_ceil(8)),
        }
    }
}

/// A fixed-capacity, double-buffered snapshot of opaque bytes.
pub(crate) struct Snapshot {
    cap: usize,
    writers: Mutex<()>,
    /// Set by the handler while it copies the snapshot: writers wait before updating.
    frozen: AtomicBool,
    current: AtomicUsize,
    bufs: [Buf; 2],
}

impl Snapshot {
    /// Allocates both buffers now, so that neither a write nor a read allocates later.
    pub(crate) fn new(cap: usize) -> Self {
        Snapshot {
            cap,
            writers: Mutex::new(()),
            frozen: AtomicBool::new(false),
            current: AtomicUsize::new(0),
            bufs: [Buf::new(cap), Buf::new(cap)],
        }
    }

    /// Capacity in bytes.
    pub(crate) fn capacity(&self) -> usize {
        self.cap
    }

    /// Publishes `data` (ordinary threads only). False, keeping the old one, when too large.
    pub(crate) fn set(&self, data: &[u8]) -> bool {
        if data.len() > self.cap {
            return false;
        }
        // A panic while holding this lock cannot leave the data inconsistent for readers (the
        // counter stays odd and readers use the other buffer), so poisoning is ignored.
        let _guard = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        self.wait_while_frozen();
        let next = 1 - self.current.load(Ordering::Relaxed);
        let buf = &self.bufs[next];
        let seq = buf.seq.load(Ordering::Relaxed);
        buf.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        store_words(&buf.words, data);
        buf.len.store(data.len(), Ordering::Relaxed);
        buf.seq.store(seq.wrapping_add(2), Ordering::Release);
        self.current.store(next, Ordering::Release);
        true
    }

    /// Makes writers wait before their next update until [`thaw`](Self::thaw), so that a
    /// read cannot be starved by updates. Async-signal-safe (one atomic store); for the
    /// handler, which must thaw again: a process that survives its crash (a chained handler
    /// that recovers) would otherwise hang in its next update.
    pub(crate) fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Lets writers update again after [`freeze`](Self::freeze). Async-signal-safe.
    pub(crate) fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    /// Waits (writers only, with the writer lock held) while the handler copies.
    fn wait_while_frozen(&self) {
        // SeqCst pairs with the handler's store: once it froze, no update starts. Yielding,
        // not sleeping: the handler thaws within microseconds, or the process is ending.
        while self.frozen.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
    }

    /// Copies the published snapshot into `out` (at least `capacity()` bytes) and returns its
    /// length, or `None` when every attempt raced with updates. Async-signal-safe: no locks,
    /// no allocation, bounded work.
    pub(crate) fn read_into(&self, out: &mut [u8]) -> Option<usize> {
        for _ in 0..READ_ATTEMPTS {
            let buf = &self.bufs[self.current.load(Ordering::Acquire) & 1];
            let before = buf.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                continue;
            }
            let len = buf.len.load(Ordering::Relaxed).min(self.cap).min(out.len());
            for (i, chunk) in out[..len].chunks_mut(8).enumerate() {
                let word = buf.words[i].load(Ordering::Relaxed).to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            fence(Ordering::Acquire);
            if buf.seq.load(Ordering::Relaxed) == before {
                return Some(len);
            }
        }
        None
    }
}

/// Stores `data` into `words`, 8 bytes a word, little-endian, the last word zero-padded.
fn store_words(words: &[AtomicU64], data: &[u8]) {
    let mut chunks = data.chunks_exact(8);
    for (word, chunk) in words.iter().zip(&mut chunks) {
        let bytes: [u8; 8] = chunk.try_into().unwrap_or([0; 8]);
        word.store(u64::from_le_bytes(bytes), Ordering::Relaxed);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        words[data.len() / 8].store(u64::from_le_bytes(last), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn empty_then_set_then_too_large() {
        let s = Snapshot::new(10);
        let mut out = [0u8; 10];
        assert_eq!(s.read_into(&mut out), Some(0));
        assert!(s.set(b"hello"));
        assert_eq!(s.read_into(&mut out), Some(5));
        assert_eq!(&out[..5], b"hello");
        assert!(!s.set(b"01234567890"));
        assert_eq!(s.read_into(&mut out), Some(5), "old snapshot kept");
        assert!(s.set(b"0123456789"));
        assert_eq!(s.read_into(&mut out), Some(10));
        assert_eq!(&out, b"0123456789");
    }

    /// Two writers publishing whole snapshots as fast as they can, until `stop`, and how many
    /// each published. Every snapshot is one byte value repeated, with a length derived
    /// from that byte, so that a torn one shows.
    fn start_writers(
        s: &Arc<Snapshot>,
        stop: &Arc<AtomicBool>,
    ) -> (Vec<std::thread::JoinHandle<()>>, Arc<AtomicUsize>) {
        let published = Arc::new(AtomicUsize::new(0));
        let writers = (0..2u8)
            .map(|t| {
                let (s, stop, published) = (s.clone(), stop.clone(), published.clone());
                std::thread::spawn(move || {
                    // Built beforehand, so that the writers are as fast as they can be.
                    let snapshots: Vec<Vec<u8>> = (0..=255u8)
                        .filter(|b| b % 2 == t)
                        .map(|b| vec![b; snapshot_len(b)])
                        .collect();
                    for snapshot in snapshots.iter().cycle() {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        assert!(s.set(snapshot));
                        published.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        (writers, published)
    }

    fn snapshot_len(b: u8) -> usize {
        1000 + usize::from(b) * 10
    }

    /// Checks that `out[..len]` is one writer's whole snapshot; returns its byte.
    fn assert_whole(out: &[u8], len: usize) -> u8 {
        let b = out[0];
        assert_eq!(len, snapshot_len(b), "torn snapshot: length of another");
        assert!(out[..len].iter().all(|&x| x == b), "torn snapshot");
        b
    }

    /// A reader racing with writers only ever sees one writer's whole snapshot. It reads
    /// until it has seen many snapshots of many different values (so reads really overlapped
    /// with a stream of updates), however the threads happen to be scheduled: no timing
    /// guess, the loop ends by the writers' progress alone.
    #[test]
    fn concurrent_reads_are_never_torn() {
        const SEEN: usize = 2_000;
        const DISTINCT: usize = 32;
        let s = Arc::new(Snapshot::new(4096));
        let stop = Arc::new(AtomicBool::new(false));
        let (writers, _) = start_writers(&s, &stop);
        let mut out = vec![0u8; 4096];
        let (mut seen, mut values) = (0, [false; 256]);
        while seen < SEEN || values.iter().filter(|&&v| v).count() < DISTINCT {
            // None (every attempt raced) is allowed: it is never a torn snapshot.
            if let Some(len) = s.read_into(&mut out) {
                // Empty until the first writer published.
                if len > 0 {
                    values[usize::from(assert_whole(&out, len))] = true;
                    seen += 1;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }

    /// Frozen, as the handler does it, a read succeeds at the first call however fast the
    /// writers are, and gets a whole snapshot; thawed, the writers go on.
    #[test]
    fn frozen_reads_always_get_the_last_whole_snapshot() {
        let s = Arc::new(Snapshot::new(4096));
        let stop = Arc::new(AtomicBool::new(false));
        let (writers, published) = start_writers(&s, &stop);
        let mut out = vec![0u8; 4096];
        for _ in 0..200 {
            // Wait for progress (not for time): the writers run between two reads.
            let before = published.load(Ordering::Relaxed);
            while published.load(Ordering::Relaxed) < before + 2 {
                std::thread::yield_now();
            }
            s.freeze();
            let len = s.read_into(&mut out).expect("a frozen read never gives up");
            assert_whole(&out, len);
            s.thaw();
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }
}
