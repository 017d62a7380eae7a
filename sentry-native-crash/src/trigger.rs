//! Deliberate crashes, to check that crash reporting works end to end.
//!
//! Each function crashes the calling process in one particular way, on purpose: a program
//! (or a test) calls one after `init`, dies, and its next start should send a crash report
//! that says what happened and where. They are here, and not in the programs that use them,
//! because crashing takes `unsafe` code and this crate is the only one of the SDK allowed any.
//! Never call them in a program that is not meant to die.
//!
//! Every crashing function is `#[inline(never)]` and makes the fault itself, in its own body,
//! so that the innermost frame of the report is the function (for example
//! `sentry_native_crash::trigger::segfault`) and the next one is its caller. The exceptions
//! say so: [`abort`] and [`libc_strlen`] fault inside the C library, [`stack_overflow`] in a
//! recursive helper, and on aarch64 [`divide_by_zero`] raises the signal.
//!
//! A function that returns `!` ends the process even when the fault does not (a debugger
//! stepped over it, a handler skipped the instruction): it then says so on stderr and aborts.
//!
//! Linux on x86_64 and aarch64 only, like the crash handler.

use std::ffi::{CStr, CString};
use std::hint::black_box;
use std::io;

/// Stores to `addr` with one instruction written in place. A macro rather than a function,
/// so that no inlined frame of a helper stands between the fault and the trigger function.
macro_rules! store_to {
    ($addr:expr) => {{
        let addr: usize = $addr;
        // SAFETY: not safe at all, and meant not to be: `addr` is never mapped, and the
        // fault this store raises is the whole point of the function.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("mov qword ptr [{a}], 1", a = in(reg) addr, options(nostack))
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            std::arch::asm!("str xzr, [{a}]", a = in(reg) addr, options(nostack))
        };
    }};
}

/// Loads one byte from `addr` with one instruction written in place (see `store_to!`).
macro_rules! load_from {
    ($addr:expr) => {{
        let addr: usize = $addr;
        // SAFETY: not safe at all, and meant not to be: reading `addr` faults, which is the
        // whole point of the function.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!(
                "movzx {t:e}, byte ptr [{a}]",
                a = in(reg) addr,
                t = out(reg) _,
                options(nostack, readonly)
            )
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            std::arch::asm!(
                "ldrb {t:w}, [{a}]",
                a = in(reg) addr,
                t = out(reg) _,
                options(nostack, readonly)
            )
        };
    }};
}

/// Ends the process when a deliberate crash did not: returning would let the caller run on
/// as if it had crashed, which no caller of this module expects.
#[cold]
#[inline(never)]
fn did_not_crash(what: &str) -> ! {
    eprintln!("sentry_native_crash::trigger::{what}: the process survived the crash; aborting");
    std::process::abort()
}

/// SIGSEGV: writes to address 0x8, as a write through a null pointer to a struct field does.
/// Addresses that low are below `vm.mmap_min_addr`, so nothing is ever mapped there.
#[inline(never)]
pub fn segfault() -> ! {
    // black_box: the compiler must not see the constant and reason about the store.
    store_to!(black_box(0x8usize));
    did_not_crash("segfault")
}

/// SIGABRT: `std::process::abort`, which raises the signal inside the C library (`abort`,
/// `raise`, `pthread_kill`): the innermost frames are the C library's, this function below.
#[inline(never)]
pub fn abort() -> ! {
    std::process::abort()
}

/// SIGILL: executes an instruction that is undefined on purpose (`ud2`, `udf #0`).
#[inline(never)]
pub fn illegal_instruction() -> ! {
    // SAFETY: an undefined instruction touches no memory; the SIGILL it raises is the purpose.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("ud2", options(nostack))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("udf #0", options(nostack))
    };
    did_not_crash("illegal_instruction")
}

/// SIGBUS: maps one page of an empty memory file (`memfd_create`) and reads it. The page lies
/// past the end of the file, which the kernel answers with SIGBUS, not SIGSEGV.
#[inline(never)]
pub fn bus_error() -> ! {
    // The mapping is made by a helper so that this function's own stack frame stays small:
    // a report walked by scanning the stack then finds the return address to the caller
    // right above it, not stale addresses left in a large frame.
    let page = page_past_the_end_of_a_file();
    load_from!(page);
    did_not_crash("bus_error")
}

/// The address of a page mapped from an empty memory file, which no access may touch.
#[inline(never)]
fn page_past_the_end_of_a_file() -> usize {
    // SAFETY: memfd_create gets a NUL-terminated name; mmap gets a fresh descriptor and asks
    // for a new mapping anywhere, so it cannot replace memory in use.
    let page = unsafe {
        let fd = libc::memfd_create(c"sentry-trigger-bus".as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0, "memfd_create: {}", io::Error::last_os_error());
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    assert!(
        page != libc::MAP_FAILED,
        "mmap: {}",
        io::Error::last_os_error()
    );
    page as usize
}

/// SIGFPE: a real integer division by zero. Rust checks `/` for zero, so on x86_64 the `div`
/// is written in assembly. aarch64 has no trap for it (the result is 0), so there the signal
/// is raised instead, and the innermost frames are the C library's.
#[inline(never)]
pub fn divide_by_zero() -> ! {
    #[cfg(target_arch = "x86_64")]
    {
        let divisor: u32 = black_box(0);
        // SAFETY: divides by zero on purpose, which is the SIGFPE wanted; touches no memory and
        // clobbers only the registers declared.
        unsafe {
            std::arch::asm!(
                "xor edx, edx",
                "mov eax, 1",
                "div {d:e}",
                d = in(reg) divisor,
                out("eax") _,
                out("edx") _,
                options(nostack, nomem)
            )
        };
    }
    // SAFETY: raise has no memory-safety preconditions; the signal is the purpose.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        libc::raise(libc::SIGFPE);
    }
    did_not_crash("divide_by_zero")
}

/// SIGTRAP: executes a breakpoint instruction (`int3`, `brk #0`), as a debug assertion
/// compiled to a trap does. Under a debugger this stops there instead.
#[inline(never)]
pub fn breakpoint() -> ! {
    // SAFETY: a breakpoint touches no memory; the SIGTRAP it raises is the purpose.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("int3", options(nostack))
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("brk #0", options(nostack))
    };
    did_not_crash("breakpoint")
}

/// A stack overflow: recurses (in the private `recurse`, 1 KiB of stack a call) until the
/// guard page is hit. The report's innermost frame is then
/// `sentry_native_crash::trigger::recurse`, and the caller of this function is far below,
/// usually beyond the frames a report keeps.
///
/// The SIGSEGV is handled on the thread's alternate signal stack; Rust's own handler then
/// prints its "has overflowed its stack" message and aborts, so the process dies of SIGABRT.
/// On a thread created by C code call
/// [`ensure_alt_stack_for_current_thread`](crate::ensure_alt_stack_for_current_thread)
/// first, or there is no report.
#[inline(never)]
pub fn stack_overflow() -> ! {
    black_box(recurse(0));
    did_not_crash("stack_overflow")
}

/// One level of [`stack_overflow`]. The test on `depth` is never true in practice; it keeps
/// the compiler from proving the recursion endless and turning it into a loop or a trap.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[depth as usize % 1024] = depth as u8;
    black_box(&mut frame);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    black_box(recurse(depth + 1)) + u64::from(frame[3])
}

/// SIGSEGV inside the C library: `strlen` of a pointer to unmapped memory. The innermost
/// frame is the C library's `strlen`; this function is the next one.
#[inline(never)]
pub fn libc_strlen() -> ! {
    let p = black_box(0x10usize) as *const libc::c_char;
    // SAFETY: not safe at all, and meant not to be: `p` points to unmapped memory, and the
    // fault inside strlen is the purpose.
    black_box(unsafe { libc::strlen(p) });
    did_not_crash("libc_strlen")
}

/// SIGABRT from inside `malloc`: overwrites the size of glibc's top chunk, then allocates, and
/// glibc aborts ("malloc(): corrupted top size") while it holds its arena lock. That is the
/// hard case for a crash handler: one that allocated would deadlock there.
///
/// Returns if the C library did not notice (it is not glibc, or glibc changed its checks):
/// the heap is then corrupt, so the caller should end the process at once.
#[inline(never)]
pub fn heap_corruption() {
    // glibc takes its arena locks only once the process has had a second thread.
    std::thread::spawn(|| ()).join().expect("spawn a thread");
    let request = 0xfff0usize;
    // Allocate until a chunk comes from the top of the main arena (earlier frees may serve the
    // first ones): then the top chunk follows it and ends at the program break.
    for _ in 0..64 {
        // SAFETY: not safe at all past the allocation, and meant not to be: the chunk is
        // 0x10000 bytes with its header at p - 16, so the top chunk starts at p + request and
        // its size is the word after that; overwriting it is the corruption glibc must find.
        // The chunks are leaked on purpose: the process is about to die.
        unsafe {
            let p = libc::malloc(request).cast::<u8>();
            assert!(!p.is_null(), "malloc");
            let top = p.add(request);
            let size_field = top.add(8).cast::<usize>();
            let size = std::ptr::read_volatile(size_field) & !0x7;
            if top.add(size).cast::<libc::c_void>() != libc::sbrk(0) {
                continue;
            }
            std::ptr::write_volatile(size_field, usize::MAX & !0xf);
            // Too big for tcache and the small bins, well below the mmap threshold: one of
            // these is served from the top, where glibc checks its size.
            for size in [0x8000, 0xc000, 0xf000, 0x1_0000] {
                black_box(libc::malloc(size));
            }
        }
    }
}

/// Runs `f` on a thread created by C's `pthread_create` (so without the alternate signal
/// stack Rust gives its own threads), named `name`, and waits for it. For crashes on "a
/// thread of some C library". A panic in `f` aborts the process: it cannot unwind into C.
pub fn run_in_c_thread(name: &CStr, f: fn()) -> io::Result<()> {
    struct Start {
        name: CString,
        f: fn(),
    }
    extern "C" fn start(arg: *mut libc::c_void) -> *mut libc::c_void {
        // SAFETY: `arg` is the Box leaked below for this thread alone; taking it back once
        // frees it.
        let start = unsafe { Box::from_raw(arg.cast::<Start>()) };
        let _ = set_current_thread_name(&start.name);
        (start.f)();
        std::ptr::null_mut()
    }
    let arg = Box::into_raw(Box::new(Start {
        name: name.to_owned(),
        f,
    }));
    // SAFETY: `start` has the signature pthread_create wants and owns `arg` once the thread
    // exists; `thread` is written by pthread_create before it is read.
    let rc = unsafe {
        let mut thread: libc::pthread_t = std::mem::zeroed();
        let rc = libc::pthread_create(&mut thread, std::ptr::null(), start, arg.cast());
        if rc == 0 {
            libc::pthread_join(thread, std::ptr::null_mut());
        }
        rc
    };
    if rc != 0 {
        // SAFETY: no thread was created, so `arg` is still ours alone.
        drop(unsafe { Box::from_raw(arg) });
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Names the calling thread (what crash reports show as the thread name), for threads that
/// Rust's `std::thread::Builder::name` did not create. The kernel keeps the first 15 bytes.
pub fn set_current_thread_name(name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the kernel reads at most 16 bytes of it.
    if unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets this process's core dump size limit to zero: the crashes above are intended, and
/// their core dumps would only be clutter (or slow, under a system's crash collector).
pub fn disable_core_dumps() -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit; lowering the own limits is always allowed.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
