//! Test helper: installs the crash handler, then crashes in the way asked for.
//!
//! `crash-child <kind> <report-dir>`; with `CRASH_CHILD_NO_INSTALL=1` the handler is not
//! installed, which gives the tests the signal the process dies of without this crate.
//! The scope snapshot is a marker naming the kind and the address of the function that
//! crashes, so that the tests can check both the scope and the pc in the report.

#![allow(unsafe_code)]

use std::hint::black_box;
use std::sync::{Arc, Barrier};

use sentry_native_crash::{HandlerConfig, install, set_images, set_scope};

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
    "c-thread-overflow",
    "libc",
    "malloc",
    "concurrent",
    "raise",
    "chained",
    "install-twice",
    "suppressed-abort",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 || !KINDS.contains(&args[1].as_str()) {
        eprintln!("usage: crash-child <{}> <report-dir>", KINDS.join("|"));
        std::process::exit(2);
    }
    let (kind, dir) = (args[1].as_str(), args[2].as_str());
    no_core_dumps();
    if kind == "chained" {
        install_marker_handler(dir);
    }
    let fn_addr = crash_fn_address(kind);
    if std::env::var_os("CRASH_CHILD_NO_INSTALL").is_none() {
        let mut config = HandlerConfig::new(dir);
        config.watchdog_secs = 5;
        install(config).expect("install");
        if kind == "install-twice" {
            install(HandlerConfig::new("/nonexistent")).expect("second install");
        }
        set_images(b"[{\"code_file\":\"crash-child\"}]").expect("images");
        set_scope(b"{\"marker\":\"old\"}").expect("scope");
        let scope = format!("{{\"marker\":\"scope-marker-{kind}\",\"fn\":\"{fn_addr:#x}\"}}");
        set_scope(scope.as_bytes()).expect("scope");
    }
    crash(kind);
    eprintln!("crash-child: {kind} did not crash");
    std::process::exit(3);
}

fn crash_fn_address(kind: &str) -> usize {
    match kind {
        "segfault" | "chained" | "install-twice" | "thread-segfault" => {
            segfault as *const () as usize
        }
        "illegal" => illegal as *const () as usize,
        "bus" => bus as *const () as usize,
        "fpe" => fpe as *const () as usize,
        "trap" => trap as *const () as usize,
        _ => 0,
    }
}

fn crash(kind: &str) {
    match kind {
        "segfault" | "chained" | "install-twice" => segfault(),
        "abort" => std::process::abort(),
        "suppressed-abort" => {
            sentry_native_crash::suppress_next_abort();
            std::process::abort()
        }
        "illegal" => illegal(),
        "bus" => bus(),
        "fpe" => fpe(),
        "trap" => trap(),
        "stack-overflow" => {
            recurse(0);
        }
        "thread-segfault" => named_thread("crashy-worker", segfault),
        "thread-stack-overflow" => named_thread("deep-worker", || {
            recurse(0);
        }),
        "c-thread" => c_thread(c_thread_segfault),
        "c-thread-overflow" => c_thread(c_thread_overflow),
        "libc" => libc_strlen(),
        "malloc" => corrupt_heap(),
        "concurrent" => concurrent(),
        "raise" => {
            // SAFETY: raising a signal has no memory-safety preconditions.
            unsafe {
                libc::raise(libc::SIGSEGV);
            }
        }
        _ => unreachable!(),
    }
}

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

/// Stores to `addr` with one instruction written in place, so that the fault is in the
/// calling function (a debug build does not inline `ptr::write_volatile`).
#[inline(always)]
fn store_to(addr: usize) {
    // SAFETY: not safe at all: this fault is the point of the helper.
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

/// Loads a byte from `addr` with one instruction written in place (see [`store_to`]).
#[inline(always)]
fn load_from(addr: usize) {
    // SAFETY: not safe at all: this fault is the point of the helper.
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

/// Writes to an address that is never mapped (below `vm.mmap_min_addr`).
#[inline(never)]
fn segfault() {
    store_to(black_box(0x8usize));
}

#[inline(never)]
fn illegal() {
    // SAFETY: executes an undefined instruction on purpose.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("ud2")
    };
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("udf #0")
    };
}

#[inline(never)]
fn trap() {
    // SAFETY: executes a breakpoint instruction on purpose.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::asm!("int3")
    };
    #[cfg(target_arch = "aarch64")]
    unsafe {
        std::arch::asm!("brk #0")
    };
}

/// A real integer division by zero: Rust checks `/` for zero, so the `div` is written in asm.
#[inline(never)]
fn fpe() {
    #[cfg(target_arch = "x86_64")]
    {
        let divisor: u32 = black_box(0);
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
    #[cfg(target_arch = "aarch64")]
    unsafe {
        libc::raise(libc::SIGFPE);
    }
}

/// Touches a mapping of a file past the file's end, which is SIGBUS.
#[inline(never)]
fn bus() {
    // SAFETY: an anonymous memory file of size 0 mapped for one page; reading that page is the
    // intended fault.
    unsafe {
        let fd = libc::memfd_create(c"crash-child-bus".as_ptr(), 0);
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
        load_from(p as usize);
    }
}

/// Recurses until the stack overflows (the check on `depth` is never true in practice; it
/// keeps the compiler from seeing an infinite recursion).
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

fn named_thread(name: &str, f: fn()) {
    let handle = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn");
    let _ = handle.join();
}

extern "C" fn c_thread_segfault(_: *mut libc::c_void) -> *mut libc::c_void {
    set_c_thread_name();
    segfault();
    std::ptr::null_mut()
}

extern "C" fn c_thread_overflow(_: *mut libc::c_void) -> *mut libc::c_void {
    set_c_thread_name();
    if std::env::var_os("CRASH_CHILD_NO_INSTALL").is_none() {
        sentry_native_crash::ensure_alt_stack_for_current_thread().expect("altstack");
    }
    recurse(0);
    std::ptr::null_mut()
}

fn set_c_thread_name() {
    // SAFETY: the name is NUL-terminated and at most 16 bytes.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"c-worker".as_ptr());
    }
}

/// A thread created by C's `pthread_create`, so without Rust's alternate stack.
fn c_thread(f: extern "C" fn(*mut libc::c_void) -> *mut libc::c_void) {
    // SAFETY: `f` has the signature pthread_create wants and ignores its argument; the thread
    // is joined before `thread` goes out of scope.
    unsafe {
        let mut thread: libc::pthread_t = std::mem::zeroed();
        let rc = libc::pthread_create(&mut thread, std::ptr::null(), f, std::ptr::null_mut());
        assert_eq!(rc, 0, "pthread_create");
        libc::pthread_join(thread, std::ptr::null_mut());
    }
}

/// Crashes inside the C library, in `strlen` on an unmapped pointer.
#[inline(never)]
fn libc_strlen() {
    let p = black_box(0x10usize) as *const libc::c_char;
    // SAFETY: not safe: the invalid read inside libc is the point.
    black_box(unsafe { libc::strlen(p) });
}

/// Corrupts the size of glibc's top chunk, then allocates: glibc notices inside `malloc`, with
/// the arena lock held, and aborts. A handler that allocated would deadlock here (and be ended
/// by the watchdog with SIGALRM instead of SIGABRT).
fn corrupt_heap() {
    // With a second thread having existed, glibc really takes its arena locks.
    std::thread::spawn(|| ()).join().expect("thread");
    // SAFETY: deliberately writes over allocator metadata right after our own chunk.
    unsafe {
        // Allocate until a chunk comes from the top of the main arena (earlier frees may
        // serve the first ones): then the top chunk follows it and ends at the program break.
        let request = 0xfff0usize;
        for _ in 0..64 {
            let p = libc::malloc(request) as *mut u8;
            assert!(!p.is_null());
            // The chunk (header at p - 16) is 0x10000 bytes, so the top chunk starts at
            // p + request and its size field is the word after that.
            let top = p.add(request);
            let size_field = top.add(8) as *mut usize;
            let size = std::ptr::read_volatile(size_field) & !0x7;
            if top.add(size) as *mut libc::c_void != libc::sbrk(0) {
                continue;
            }
            std::ptr::write_volatile(size_field, usize::MAX & !0xf);
            // Too big for tcache and the small bins, well below the mmap threshold (which a
            // chunk of 128 KiB already reaches): one of these is served from the top (a free
            // chunk of the program may serve the first ones).
            for size in [0x8000, 0xc000, 0xf000, 0x1_0000] {
                black_box(libc::malloc(size));
            }
        }
    }
}

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
                    segfault();
                })
                .expect("spawn")
        })
        .collect();
    for h in handles {
        let _ = h.join();
    }
}

/// A host's own SIGSEGV handler, installed before ours: writes `chained-marker` into the
/// report directory, restores the default action and returns so the fault repeats and kills.
fn install_marker_handler(dir: &str) {
    static mut MARKER_PATH: [u8; 4096] = [0; 4096];
    let path = format!("{dir}/chained-marker\0");
    extern "C" fn host_handler(sig: libc::c_int) {
        // SAFETY: MARKER_PATH was written before the handler was installed and is only read
        // here; open/write/close/signal are async-signal-safe.
        unsafe {
            let path = std::ptr::addr_of!(MARKER_PATH) as *const libc::c_char;
            let fd = libc::open(
                path,
                libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                0o600,
            );
            if fd >= 0 {
                libc::write(fd, b"host handler ran\n".as_ptr().cast(), 17);
                libc::close(fd);
            }
            libc::signal(sig, libc::SIG_DFL);
        }
    }
    // SAFETY: MARKER_PATH is written before any handler that reads it exists; the action is
    // fully initialized.
    unsafe {
        let dst = &mut *std::ptr::addr_of_mut!(MARKER_PATH);
        dst[..path.len()].copy_from_slice(path.as_bytes());
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = host_handler as *const () as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGSEGV, &action, std::ptr::null_mut());
    }
}
