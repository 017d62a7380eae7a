//! Zero-filled buffers of words that cost nothing until they are written.
//!
//! The handler's buffers are allocated at install, and most processes never fill them: a
//! scope of a few hundred bytes in a 64 KiB snapshot, a few breadcrumbs in a ring of a
//! hundred. Asked for zeroed memory, the allocator writes the zeros itself for a block it
//! carves from its heap (glibc: anything under 128 KiB), which faults in every page of it:
//! for the scope snapshot and the breadcrumb ring, 61 of the 336 page faults of a program
//! that inits, sends one event and exits. A mapping of our own stays on the kernel's shared
//! zero page until a page is first written.

use std::ops::Deref;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicU64;

/// `len` words of zero in an anonymous mapping (on the heap should mapping fail).
pub(crate) struct ZeroedWords {
    ptr: NonNull<AtomicU64>,
    len: usize,
    /// Bytes mapped; 0 when the words are on the heap or there are none.
    mapped: usize,
}

// SAFETY: the words are atomics, and `ZeroedWords` is their only owner (like a
// `Box<[AtomicU64]>`, which is `Send` and `Sync`).
unsafe impl Send for ZeroedWords {}
// SAFETY: as above; shared access only ever goes through `&[AtomicU64]`.
unsafe impl Sync for ZeroedWords {}

impl ZeroedWords {
    pub(crate) fn new(len: usize) -> ZeroedWords {
        let bytes = len * std::mem::size_of::<AtomicU64>();
        if bytes == 0 {
            return ZeroedWords {
                ptr: NonNull::dangling(),
                len: 0,
                mapped: 0,
            };
        }
        let page = super::altstack::page_size();
        let mapped = bytes.div_ceil(page) * page;
        // SAFETY: a fresh anonymous private mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        match NonNull::new(base.cast::<AtomicU64>()) {
            Some(ptr) if base != libc::MAP_FAILED => ZeroedWords { ptr, len, mapped },
            _ => ZeroedWords::on_heap(len),
        }
    }

    /// The fallback: zeroed words from the allocator.
    fn on_heap(len: usize) -> ZeroedWords {
        let words: Box<[AtomicU64]> = (0..len).map(|_| AtomicU64::new(0)).collect();
        let raw = Box::into_raw(words).cast::<AtomicU64>();
        ZeroedWords {
            // A `Box` pointer is never null.
            ptr: NonNull::new(raw).unwrap_or(NonNull::dangling()),
            len,
            mapped: 0,
        }
    }
}

impl Deref for ZeroedWords {
    type Target = [AtomicU64];

    fn deref(&self) -> &[AtomicU64] {
        // SAFETY: `ptr` points to `len` words that live as long as `self`: a mapping of at
        // least `len * 8` bytes, page-aligned and zero-filled by the kernel (all-zero is a
        // valid `AtomicU64`), or a boxed slice of `len` words; or `len` is 0 and `ptr` is
        // dangling but aligned, which an empty slice allows.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for ZeroedWords {
    fn drop(&mut self) {
        if self.mapped > 0 {
            // SAFETY: the mapping made in `new`, of `mapped` bytes; nothing refers to it now
            // that its only owner goes.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped) };
        } else if self.len > 0 {
            // SAFETY: the boxed slice leaked by `on_heap`, given back once.
            drop(unsafe {
                Box::from_raw(ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len))
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;

    #[test]
    fn words_start_at_zero_and_hold_what_is_stored() {
        for len in [0, 1, 511, 512, 513, 20_000] {
            let words = ZeroedWords::new(len);
            assert_eq!(words.len(), len);
            assert!(words.iter().all(|w| w.load(Ordering::Relaxed) == 0));
            if let Some(last) = words.last() {
                last.store(u64::MAX, Ordering::Relaxed);
                assert_eq!(words[len - 1].load(Ordering::Relaxed), u64::MAX);
            }
        }
    }

    #[test]
    fn the_heap_fallback_is_zeroed_and_freed() {
        let words = ZeroedWords::on_heap(100);
        assert!(words.iter().all(|w| w.load(Ordering::Relaxed) == 0));
        words[99].store(7, Ordering::Relaxed);
        assert_eq!(words[99].load(Ordering::Relaxed), 7);
    }
}
