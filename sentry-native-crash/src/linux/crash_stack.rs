//! A stack of its own for writing the report, whatever stack the signal arrived on.
//!
//! The handler starts on the crashing thread's alternate stack. For a thread that never
//! called `ensure_alt_stack_for_current_thread`, that is the one Rust's runtime gives every
//! thread it spawns: `SIGSTKSZ` or the kernel's minimum signal frame, whichever is larger,
//! and the kernel's signal frame takes most of it where the CPU has large vector registers
//! (over 3 KiB with AVX-512, over 10 KiB with AMX). What is left is too little for writing a
//! report, above all in a debug build, and a handler that overflows it dies without a report.
//!
//! So the thread that won the right to write the report (only one does, see `signals.rs`)
//! moves to a stack mapped at install ([`CrashStack`]), writes there, and moves back. While
//! it is there its alternate stack is disabled: a signal arriving meanwhile (the watchdog, a
//! crash inside the writer) is then taken on the crash stack below the writer's frames,
//! rather than at the top of the alternate stack, where the interrupted handler's frame and
//! the context it is reporting live.

use std::ffi::c_void;
use std::io;
use std::ptr;

/// Size of the crash stack: the writer needs a few KiB in release builds and some tens in
/// debug builds; the rest is margin for a chained or recursive fault.
const SIZE: usize = 256 * 1024;

/// The stack the report is written on, mapped at install and never unmapped.
pub(crate) struct CrashStack {
    /// One past the highest usable byte, 16-byte aligned.
    top: *mut u8,
}

// SAFETY: the stack is only ever used by the one thread that won the right to write the
// report; the pointer itself is plain data shared read-only.
unsafe impl Send for CrashStack {}
// SAFETY: as above; no method mutates `self`.
unsafe impl Sync for CrashStack {}

impl CrashStack {
    /// Maps the stack with a guard page below it.
    pub(crate) fn map() -> io::Result<CrashStack> {
        let len = SIZE + super::altstack::page_size();
        let base = super::altstack::map_with_guard(len)?;
        Ok(CrashStack {
            top: base.cast::<u8>().wrapping_add(len),
        })
    }

    /// Runs `f(arg)` on the crash stack, with the thread's alternate stack disabled meanwhile
    /// (restored after). Async-signal-safe: `sigaltstack` and a stack switch.
    ///
    /// # Safety
    ///
    /// Only one thread at a time may call this (the crash stack is not shared), and `f` must
    /// not unwind.
    pub(crate) unsafe fn run(&self, f: extern "C" fn(*mut c_void), arg: *mut c_void) {
        // SAFETY: querying and then disabling the alternate stack: we are not running on
        // the crash stack's own alternate stack, and disabling is refused (EPERM, harmless)
        // only while running on the alternate stack, which the switch below leaves.
        let mut saved: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: `saved` is a valid out-pointer.
        let have_saved = unsafe { libc::sigaltstack(ptr::null(), &mut saved) } == 0;
        // SAFETY: the caller guarantees exclusive use of the stack, `top` is 16-byte aligned
        // and the mapping below it is ours and large enough; `f` does not unwind.
        unsafe { switch_and_call(self.top, f, arg, have_saved.then_some(&saved)) };
    }
}

/// The function run on the crash stack: disables the alternate stack, calls the writer,
/// restores the alternate stack.
struct OnStack {
    f: extern "C" fn(*mut c_void),
    arg: *mut c_void,
    saved: Option<*const libc::stack_t>,
}

extern "C" fn on_crash_stack(data: *mut c_void) {
    // SAFETY: `data` is the `OnStack` that `switch_and_call` placed on the caller's frame,
    // alive for the whole call.
    let call = unsafe { &*(data as *const OnStack) };
    if let Some(saved) = call.saved {
        let disable = libc::stack_t {
            ss_sp: ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: we run on the crash stack now, not on the alternate stack, so disabling it
        // succeeds; `saved` restores it as it was.
        unsafe {
            libc::sigaltstack(&disable, ptr::null_mut());
            (call.f)(call.arg);
            libc::sigaltstack(saved, ptr::null_mut());
        }
    } else {
        (call.f)(call.arg);
    }
}

/// Calls `on_crash_stack` with the stack pointer at `top`, then returns to the old stack.
///
/// # Safety
///
/// `top` must be 16-byte aligned, one past a writable region large enough for the call, and
/// used by no one else meanwhile; `f` must not unwind.
unsafe fn switch_and_call(
    top: *mut u8,
    f: extern "C" fn(*mut c_void),
    arg: *mut c_void,
    saved: Option<&libc::stack_t>,
) {
    let mut call = OnStack {
        f,
        arg,
        saved: saved.map(|s| s as *const libc::stack_t),
    };
    let data = (&mut call as *mut OnStack).cast::<c_void>();
    let target: extern "C" fn(*mut c_void) = on_crash_stack;
    // SAFETY: the old stack pointer is kept in a callee-saved register across the call and
    // restored after it; the callee follows the C ABI (all caller-saved registers are
    // declared clobbered); the new stack is aligned as the ABI requires at a call.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!(
            "mov r12, rsp",
            "mov rsp, {top}",
            "call {target}",
            "mov rsp, r12",
            top = in(reg) top,
            target = in(reg) target,
            in("rdi") data,
            out("r12") _,
            clobber_abi("C"),
        );
    }
    // SAFETY: as above; x20 is callee-saved (x19 is reserved by LLVM).
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!(
            "mov x20, sp",
            "mov sp, {top}",
            "blr {target}",
            "mov sp, x20",
            top = in(reg) top,
            target = in(reg) target,
            in("x0") data,
            out("x20") _,
            clobber_abi("C"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    extern "C" fn deep(arg: *mut c_void) {
        // Uses far more stack than a small alternate stack has, and reports where it ran.
        let buf = std::hint::black_box([7u8; 64 * 1024]);
        // SAFETY: `arg` is the `(usize, u8)` the test passes.
        let out = unsafe { &mut *(arg as *mut (usize, u8)) };
        *out = (&buf as *const _ as usize, buf[1000]);
    }

    fn current_alt_stack() -> (usize, usize, i32) {
        // SAFETY: all-zero is a valid stack_t, filled in by the query.
        let mut now: libc::stack_t = unsafe { std::mem::zeroed() };
        // SAFETY: valid out-pointer.
        unsafe { libc::sigaltstack(ptr::null(), &mut now) };
        (now.ss_sp as usize, now.ss_size, now.ss_flags)
    }

    #[test]
    fn runs_on_its_own_stack_and_comes_back() {
        let stack = CrashStack::map().unwrap();
        let before = current_alt_stack();
        let mut out = (0usize, 0u8);
        // SAFETY: this test is the only user of `stack`; `deep` does not unwind.
        unsafe { stack.run(deep, (&mut out as *mut (usize, u8)).cast()) };
        let top = stack.top as usize;
        assert!(out.0 < top && out.0 > top - SIZE, "ran on the crash stack");
        assert_eq!(out.1, 7);
        assert_eq!(current_alt_stack(), before, "alternate stack restored");
        // The stack is reusable.
        let mut again = (0usize, 0u8);
        // SAFETY: as above.
        unsafe { stack.run(deep, (&mut again as *mut (usize, u8)).cast()) };
        assert_eq!(again, out);
    }
}
