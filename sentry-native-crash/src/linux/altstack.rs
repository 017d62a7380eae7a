//! Alternate signal stacks.
//!
//! A thread that overflows its stack can only run a signal handler on another stack: without
//! one, the kernel cannot push the signal frame and kills the process on the spot (no report).
//! Rust's runtime gives the main thread and the threads it spawns a small alternate stack
//! (SIGSTKSZ, 8 KiB on x86_64) for its own overflow message; threads made by C's
//! `pthread_create` have none. So:
//!
//! - `install` gives the calling thread a stack of `alt_stack_size` (64 KiB or more),
//!   replacing a smaller one (Rust's included);
//! - every other thread should call `ensure_alt_stack_for_current_thread` once, which does the
//!   same for it; the stack is unmapped when the thread exits.
//!
//! A thread that never does keeps what it has: Rust threads their 8 KiB (the handler is written
//! to fit: its big buffers are static, see `writer.rs`), C threads nothing (a crash other than a
//! stack overflow is still reported, an overflow is not).

use std::cell::Cell;
use std::io;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::config::{InstallError, MIN_ALT_STACK_SIZE};

static SIZE: AtomicUsize = AtomicUsize::new(MIN_ALT_STACK_SIZE);

pub(super) fn set_size(size: usize) {
    SIZE.store(size, Ordering::Relaxed);
}

/// An alternate stack this crate mapped for the current thread, unmapped at thread exit.
struct Owned {
    /// Start of the mapping (the guard page), and its total length.
    base: Cell<*mut libc::c_void>,
    len: Cell<usize>,
}

impl Drop for Owned {
    fn drop(&mut self) {
        let base = self.base.get();
        if base.is_null() {
            return;
        }
        let page = page_size();
        // SAFETY: querying the current alternate stack writes only into `current`.
        let current = unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(ptr::null(), &mut current);
            current
        };
        let ours = current.ss_sp == base.wrapping_byte_add(page);
        // SAFETY: if the thread still uses our stack it is disabled first (the thread is
        // exiting and not in a handler, so it is not running on it); the mapping was made by
        // `map_stack` with exactly `len` bytes and nothing else refers to it afterwards.
        unsafe {
            if ours {
                let disable = libc::stack_t {
                    ss_sp: ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&disable, ptr::null_mut());
            }
            libc::munmap(base, self.len.get());
        }
    }
}

thread_local! {
    static OWNED: Owned = const {
        Owned { base: Cell::new(ptr::null_mut()), len: Cell::new(0) }
    };
}

/// Maps `len` bytes (a whole number of pages) for a stack, its lowest page a guard: a stack
/// that overflows then faults instead of writing into unrelated memory. Returns the base.
pub(super) fn map_with_guard(len: usize) -> io::Result<*mut libc::c_void> {
    // SAFETY: a fresh anonymous private mapping; no existing memory is affected.
    let base = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
            -1,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the lowest page of our own fresh mapping becomes the guard.
    if unsafe { libc::mprotect(base, page_size(), libc::PROT_NONE) } != 0 {
        let err = io::Error::last_os_error();
        // SAFETY: the mapping was just made and nothing refers to it.
        unsafe { libc::munmap(base, len) };
        return Err(err);
    }
    Ok(base)
}

pub(super) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(n).unwrap_or(4096).max(4096)
}

/// Makes sure the calling thread has an alternate signal stack of at least the configured size
/// (64 KiB by default), mapping one (with a guard page below it) if it has none or a smaller
/// one. Idempotent. Call it first thing in threads not created by Rust's `std::thread`, and
/// in any thread whose stack overflows must be reported with the full handler budget.
pub(crate) fn ensure_alt_stack_for_current_thread() -> Result<(), InstallError> {
    let want = SIZE.load(Ordering::Relaxed);
    // SAFETY: querying the current alternate stack writes only into `current`.
    let current = unsafe {
        let mut current: libc::stack_t = std::mem::zeroed();
        if libc::sigaltstack(ptr::null(), &mut current) != 0 {
            return Err(InstallError::Os("sigaltstack", io::Error::last_os_error()));
        }
        current
    };
    if current.ss_flags & libc::SS_ONSTACK != 0 {
        // Called from a signal handler running on the alternate stack: it cannot be replaced
        // now, and it is evidently there.
        return Ok(());
    }
    if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= want {
        return Ok(());
    }
    let page = page_size();
    let size = want.div_ceil(page) * page;
    let len = size + page;
    let base = map_with_guard(len).map_err(|e| InstallError::Os("mmap", e))?;
    let stack = libc::stack_t {
        ss_sp: base.wrapping_byte_add(page),
        ss_flags: 0,
        ss_size: size,
    };
    // SAFETY: the mapping is ours and stays mapped while it is installed (see `Owned`).
    if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } != 0 {
        let err = io::Error::last_os_error();
        // SAFETY: the mapping was never installed; nothing refers to it.
        unsafe {
            libc::munmap(base, len);
        }
        return Err(InstallError::Os("sigaltstack", err));
    }
    OWNED.with(|owned| {
        // A stack we mapped earlier for this thread and just replaced (the size grew) is no
        // longer in use: release it.
        let old = owned.base.replace(base);
        let old_len = owned.len.replace(len);
        if !old.is_null() {
            // SAFETY: `old` was our mapping of `old_len` bytes and is no longer the thread's
            // alternate stack (replaced above), so nothing uses it.
            unsafe {
                libc::munmap(old, old_len);
            }
        }
    });
    Ok(())
}
