//! A program that crashes natively, for trying out crash reporting:
//! `cargo run --example crash -- <kind>`, then `cargo run --example crash -- none`.
//!
//! The first run sets a tag and a breadcrumb and crashes in the way asked for; the crash
//! handler installed by `init` writes a report into the database directory. The second run
//! (`none`) only starts, which sends the report as a fatal event, and exits.
//!
//! Like the demo, it sends to `SENTRY_DSN` when set and is a dry run otherwise (envelopes
//! printed on stderr, or written to `SENTRY_DRY_RUN_DIR`). `SENTRY_DATABASE_PATH` says where
//! reports and undelivered events are kept.
//!
//! Kinds: segfault, abort, illegal, bus, fpe, trap, stack-overflow, thread-segfault,
//! thread-stack-overflow, c-thread, libc, malloc, concurrent, none.

// Crashing on purpose takes unsafe code; none of it is in the SDK.
#![allow(unsafe_code)]

use std::time::Duration;

use sentry_core::ClientOptions;
use sentry_core::protocol::Breadcrumb;

const KINDS: &[&str] = &[
    "segfault",
    "abort",
    "illegal",
    "bus",
    "fpe",
    "trap",
    "stack-overflow",
    "thread-segfault",
    "thread-stack-overflow",
    "c-thread",
    "libc",
    "malloc",
    "concurrent",
    "none",
];

fn main() {
    let kind = std::env::args().nth(1).unwrap_or_default();
    if !KINDS.contains(&kind.as_str()) {
        eprintln!("usage: crash <{}>", KINDS.join("|"));
        std::process::exit(2);
    }
    let has_dsn = std::env::var("SENTRY_DSN").is_ok_and(|dsn| !dsn.trim().is_empty());
    let _guard = sentry_core::init(
        ClientOptions::new()
            .release(concat!("sentry-crash-example@", env!("CARGO_PKG_VERSION")))
            .dry_run(!has_dsn)
            .shutdown_timeout(Duration::from_secs(10)),
    );
    if kind == "none" {
        // Starting is all it takes: init sends the reports of earlier runs on its worker.
        // Dropping the guard waits for that (at most shutdown_timeout).
        eprintln!("crash: started without crashing; pending crash reports are sent");
        return;
    }
    sentry_core::configure_scope(|scope| scope.set_tag("crash.kind", &kind));
    sentry_core::add_breadcrumb(
        Breadcrumb::new(format!("about to crash: {kind}")).category("crash.example"),
    );
    eprintln!("crash: crashing with {kind}");
    crashes::crash(&kind);
    eprintln!("crash: {kind} did not crash");
    std::process::exit(3);
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod crashes {
    use std::sync::{Arc, Barrier};

    pub(crate) fn crash(kind: &str) {
        no_core_dumps();
        match kind {
            "segfault" => crate::segfault(),
            "abort" => crate::abort(),
            "illegal" => crate::illegal(),
            "bus" => crate::bus(),
            "fpe" => crate::fpe(),
            "trap" => crate::trap(),
            "stack-overflow" => {
                crate::recurse(0);
            }
            "thread-segfault" => named_thread("crashy-worker", crate::segfault),
            "thread-stack-overflow" => named_thread("deep-worker", || {
                crate::recurse(0);
            }),
            "c-thread" => c_thread(),
            "libc" => crate::libc_strlen(),
            "malloc" => crate::corrupt_heap(),
            "concurrent" => concurrent(),
            _ => unreachable!(),
        }
    }

    /// Core dumps of intended crashes are only clutter.
    fn no_core_dumps() {
        let limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid rlimit; lowering our own core limit is always allowed.
        unsafe {
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
        }
    }

    fn named_thread(name: &str, f: fn()) {
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(f)
            .expect("spawn");
        let _ = handle.join();
    }

    extern "C" fn c_thread_main(_: *mut libc::c_void) -> *mut libc::c_void {
        // SAFETY: the name is NUL-terminated and at most 16 bytes.
        unsafe {
            libc::prctl(libc::PR_SET_NAME, c"c-worker".as_ptr());
        }
        crate::segfault();
        std::ptr::null_mut()
    }

    /// A thread created by C's `pthread_create`, which crashes.
    fn c_thread() {
        // SAFETY: `c_thread_main` has the signature pthread_create wants and ignores its
        // argument; the thread is joined before `thread` goes out of scope.
        unsafe {
            let mut thread: libc::pthread_t = std::mem::zeroed();
            let rc = libc::pthread_create(
                &mut thread,
                std::ptr::null(),
                c_thread_main,
                std::ptr::null_mut(),
            );
            assert_eq!(rc, 0, "pthread_create");
            libc::pthread_join(thread, std::ptr::null_mut());
        }
    }

    /// Four threads crash at the same moment: one report, one event.
    fn concurrent() {
        const THREADS: usize = 4;
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let barrier = barrier.clone();
                std::thread::Builder::new()
                    .name(format!("crasher-{i}"))
                    .spawn(move || {
                        barrier.wait();
                        crate::segfault();
                    })
                    .expect("spawn")
            })
            .collect();
        for h in handles {
            let _ = h.join();
        }
    }

    /// Stores to `addr` with one instruction written in place, so that the fault is in the
    /// calling function.
    #[inline(always)]
    pub(crate) fn store_to(addr: usize) {
        // SAFETY: not safe at all: this fault is the point of the example.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("mov qword ptr [{a}], 1", a = in(reg) addr)
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            std::arch::asm!("str xzr, [{a}]", a = in(reg) addr)
        };
    }

    /// Loads a byte from `addr` with one instruction written in place.
    #[inline(always)]
    pub(crate) fn load_from(addr: usize) {
        // SAFETY: not safe at all: this fault is the point of the example.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::asm!("movzx {t:e}, byte ptr [{a}]", a = in(reg) addr, t = out(reg) _)
        };
        // SAFETY: as above.
        #[cfg(target_arch = "aarch64")]
        unsafe {
            std::arch::asm!("ldrb {t:w}, [{a}]", a = in(reg) addr, t = out(reg) _)
        };
    }

    pub(crate) use std::hint::black_box as keep;
}

#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
mod crashes {
    pub(crate) fn crash(kind: &str) {
        eprintln!("crash: {kind}: native crashes are only captured on Linux (x86_64, aarch64)");
    }
}

// The crashing functions sit at the crate root so that their names in the stack trace are
// short: `crash::segfault`, `crash::illegal`, ...

/// Writes to an address that is never mapped.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn segfault() {
    crashes::store_to(crashes::keep(0x8usize));
}

/// `std::process::abort`: SIGABRT raised inside the C library.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn abort() {
    std::process::abort();
}

/// Executes an undefined instruction.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn illegal() {
    // SAFETY: executes an undefined instruction on purpose.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("ud2")
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("udf #0")
    };
}

/// Executes a breakpoint instruction.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn trap() {
    // SAFETY: executes a breakpoint instruction on purpose.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("int3")
    };
    // SAFETY: as above.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("brk #0")
    };
}

/// A real integer division by zero (Rust checks `/`, so the `div` is written in asm).
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn fpe() {
    #[cfg(target_arch = "x86_64")]
    {
        let divisor: u32 = crashes::keep(0);
        // SAFETY: divides by zero on purpose; clobbers only the declared registers.
        unsafe {
            std::arch::asm!(
                "xor edx, edx",
                "mov eax, 1",
                "div {d:e}",
                d = in(reg) divisor,
                out("eax") _,
                out("edx") _,
            )
        };
    }
    // aarch64 integer division by zero yields 0 instead of trapping: raise it instead.
    // SAFETY: raising a signal has no memory-safety preconditions.
    #[cfg(target_arch = "aarch64")]
    unsafe {
        libc::raise(libc::SIGFPE);
    }
}

/// Touches a mapping of a file past the file's end, which is SIGBUS.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn bus() {
    // SAFETY: an anonymous memory file of size 0 mapped for one page; reading that page is
    // the intended fault.
    unsafe {
        let fd = libc::memfd_create(c"crash-example-bus".as_ptr(), 0);
        assert!(fd >= 0, "memfd_create");
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        assert!(p != libc::MAP_FAILED, "mmap");
        crashes::load_from(p as usize);
    }
}

/// Recurses until the stack overflows.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 1024];
    frame[depth as usize % 1024] = depth as u8;
    crashes::keep(&mut frame);
    if crashes::keep(depth) == u64::MAX {
        return 0;
    }
    crashes::keep(recurse(depth + 1)) + u64::from(frame[3])
}

/// Crashes inside the C library: `strlen` of an unmapped pointer.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn libc_strlen() {
    let p = crashes::keep(0x10usize) as *const libc::c_char;
    // SAFETY: not safe: the invalid read inside libc is the point.
    crashes::keep(unsafe { libc::strlen(p) });
}

/// Corrupts the size of glibc's top chunk, then allocates: glibc aborts inside `malloc`
/// with its arena lock held, where a handler that allocated would deadlock.
#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
#[inline(never)]
fn corrupt_heap() {
    // With a second thread having existed, glibc really takes its arena locks.
    std::thread::spawn(|| ()).join().expect("thread");
    // SAFETY: deliberately writes over allocator metadata right after our own chunk.
    unsafe {
        // Allocate until a chunk comes from the top of the main arena: then the top chunk
        // follows it and ends at the program break.
        let request = 0xfff0usize;
        for _ in 0..64 {
            let p = libc::malloc(request) as *mut u8;
            assert!(!p.is_null());
            let top = p.add(request);
            let size_field = top.add(8) as *mut usize;
            let size = std::ptr::read_volatile(size_field) & !0x7;
            if top.add(size) as *mut libc::c_void != libc::sbrk(0) {
                continue;
            }
            std::ptr::write_volatile(size_field, usize::MAX & !0xf);
            for size in [0x8000, 0xc000, 0xf000, 0x1_0000] {
                crashes::keep(libc::malloc(size));
            }
        }
    }
}
