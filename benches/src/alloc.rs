//! A global allocator that counts, per thread, how often the calling thread asked for memory.
//!
//! Each benchmark binary that reports allocations installs it:
//!
//! ```ignore
//! #[global_allocator]
//! static ALLOC: sentry_benches::alloc::CountingAlloc = sentry_benches::alloc::CountingAlloc;
//! ```
//!
//! The counter is thread-local so that the worker threads of either SDK do not show up in the
//! calling thread's figure: what is counted is exactly what the capturing thread pays.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    // Const-initialized and without a destructor: reading it never allocates, which an
    // allocator needs (a lazily initialized thread-local could recurse into `alloc`).
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting `alloc`, `alloc_zeroed` and `realloc` calls (a `realloc`
/// is a request for memory too; `dealloc` is not counted).
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

fn count() {
    // `try_with`: the thread may be exiting, with its locals already gone.
    let _ = COUNT.try_with(|c| c.set(c.get() + 1));
}

/// Allocations made so far by the calling thread (0 unless [`CountingAlloc`] is installed).
pub fn thread_allocations() -> u64 {
    COUNT.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; counting
// touches only a thread-local `Cell`, which neither allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}
