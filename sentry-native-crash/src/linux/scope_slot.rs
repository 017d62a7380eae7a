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

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};

/// How often the handler retries a copy that raced with updates before giving up (and writing
/// an empty snapshot rather than a torn one).
const READ_ATTEMPTS: usize = 64;

struct Buf {
    /// Even: stable. Odd: being written.
    seq: AtomicU64,
    len: AtomicUsize,
    words: Box<[AtomicU64]>,
}

impl Buf {
    fn new(cap: usize) -> Self {
        Buf {
            seq: AtomicU64::new(0),
            len: AtomicUsize::new(0),
            words: (0..cap.div_ceil(8)).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// A fixed-capacity, double-buffered snapshot of opaque bytes.
pub(crate) struct Snapshot {
    cap: usize,
    writers: Mutex<()>,
    current: AtomicUsize,
    bufs: [Buf; 2],
}

impl Snapshot {
    /// Allocates both buffers now, so that neither a write nor a read allocates later.
    pub(crate) fn new(cap: usize) -> Self {
        Snapshot {
            cap,
            writers: Mutex::new(()),
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

    /// Publishes the 8 bytes of `prefix` (little-endian) followed by `data`, as `set` would
    /// publish them concatenated, without building the concatenation.
    pub(crate) fn set_prefixed(&self, prefix: u64, data: &[u8]) -> bool {
        if data.len() + 8 > self.cap {
            return false;
        }
        let _guard = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let next = 1 - self.current.load(Ordering::Relaxed);
        let buf = &self.bufs[next];
        let seq = buf.seq.load(Ordering::Relaxed);
        buf.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        buf.words[0].store(prefix.to_le(), Ordering::Relaxed);
        store_words(&buf.words[1..], data);
        buf.len.store(data.len() + 8, Ordering::Relaxed);
        buf.seq.store(seq.wrapping_add(2), Ordering::Release);
        self.current.store(next, Ordering::Release);
        true
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
    use std::sync::atomic::AtomicBool;

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

    /// A reader racing with writers only ever sees one writer's whole snapshot: every snapshot
    /// is one byte value repeated, with a length derived from that byte.
    #[test]
    fn concurrent_reads_are_never_torn() {
        let s = Arc::new(Snapshot::new(4096));
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2u8)
            .map(|t| {
                let (s, stop) = (s.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut n = 0u8;
                    while !stop.load(Ordering::Relaxed) {
                        let b = n.wrapping_mul(2).wrapping_add(t);
                        let len = 1000 + usize::from(b) * 10;
                        assert!(s.set(&vec![b; len]));
                        n = n.wrapping_add(1);
                    }
                })
            })
            .collect();
        let mut out = vec![0u8; 4096];
        let mut seen = 0;
        for _ in 0..20_000 {
            if let Some(len) = s.read_into(&mut out) {
                if len == 0 {
                    continue;
                }
                let b = out[0];
                assert_eq!(len, 1000 + usize::from(b) * 10);
                assert!(out[..len].iter().all(|&x| x == b), "torn snapshot");
                seen += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
        assert!(seen > 0);
    }
}
