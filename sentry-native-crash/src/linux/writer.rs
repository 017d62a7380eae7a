//! Writing the report from inside the signal handler.
//!
//! Only async-signal-safe system calls are used (`openat`, `write`, `fsync`, `renameat`,
//! `unlinkat`, `close`, `clock_gettime`, `prctl`, `open`/`read` of `/proc/self/maps`), nothing
//! allocates and no lock is taken. Large buffers are static rather than on the stack because the
//! handler may run on an 8 KiB alternate stack; only the thread that owns the crash (see
//! `signals::CRASHING`) uses them.
//!
//! The report is written to `<name>.tmp`, synced, then renamed to `<name>.crash`, so a report
//! that exists under its final name is complete; the reader also checks its end line.

use std::cell::UnsafeCell;

use super::State;
use super::maps;
use super::registers;
use super::stackwalk;
use crate::config::Fault;
use crate::format::{ReportWriter, Sink, format_hex_bare, signal_name};
use crate::reader::StackWalk;

/// Most executable mappings remembered for the stack walk; more are ignored (addresses in them
/// are then not recognized as code).
const MAX_EXEC_RANGES: usize = 2048;

struct Scratch {
    out: [u8; 4096],
    maps: [u8; 4096],
    exec: [(u64, u64); MAX_EXEC_RANGES],
}

struct ScratchCell(UnsafeCell<Scratch>);

// SAFETY: the scratch space is used only by the thread that owns the crash (the winner of the
// CAS on `signals::CRASHING`), so there is never more than one user.
unsafe impl Sync for ScratchCell {}

static SCRATCH: ScratchCell = ScratchCell(UnsafeCell::new(Scratch {
    out: [0; 4096],
    maps: [0; 4096],
    exec: [(0, 0); MAX_EXEC_RANGES],
}));

pub(super) fn errno() -> libc::c_int {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

struct FdSink(libc::c_int);

impl Sink for FdSink {
    fn write_all(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            // SAFETY: `bytes` is valid for reads of its length; the fd is ours.
            let n = unsafe { libc::write(self.0, bytes.as_ptr().cast(), bytes.len()) };
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                return false;
            }
            bytes = &bytes[n as usize..];
        }
        true
    }
}

/// `crash-<seconds, 16 hex digits>-<pid hex>-<tid hex>.tmp\0` and the same with `.crash`:
/// names sort by time, and two processes (or a pid reused in the same second by another
/// thread id) do not collide.
struct Names {
    tmp: [u8; 96],
    done: [u8; 96],
}

fn names(secs: u64, pid: u64, tid: u64) -> Names {
    let mut base = [0u8; 80];
    let mut n = 0;
    let mut push = |bytes: &[u8], base: &mut [u8; 80]| {
        base[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    push(b"crash-", &mut base);
    for shift in (0..16).rev() {
        push(
            &[b"0123456789abcdef"[((secs >> (shift * 4)) & 0xf) as usize]],
            &mut base,
        );
    }
    let mut hex = [0u8; 18];
    push(b"-", &mut base);
    push(format_hex_bare(pid, &mut hex), &mut base);
    push(b"-", &mut base);
    push(format_hex_bare(tid, &mut hex), &mut base);
    let mut out = Names {
        tmp: [0; 96],
        done: [0; 96],
    };
    for (buf, ext) in [
        (&mut out.tmp, &b".tmp\0"[..]),
        (&mut out.done, &b".crash\0"[..]),
    ] {
        buf[..n].copy_from_slice(&base[..n]);
        buf[n..n + ext.len()].copy_from_slice(ext);
    }
    out
}

fn now() -> (u64, u64) {
    // SAFETY: clock_gettime only writes into `ts`.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts);
        ts
    };
    (ts.tv_sec as u64, ts.tv_nsec as u64)
}

/// Everything about the signal the report needs, read from the kernel's `siginfo_t`.
pub(super) struct Signal {
    pub(super) number: libc::c_int,
    pub(super) code: libc::c_int,
    pub(super) address: u64,
}

/// Writes one complete report for the crash, or leaves no `.crash` file at all.
/// Returns whether a report was written.
///
/// # Safety
///
/// The caller must own the crash (be the one thread allowed to use the scratch space and
/// `state.copy`), and `uc` must be the context the kernel passed to the handler.
pub(super) unsafe fn write_report(
    state: &State,
    sig: &Signal,
    uc: &libc::ucontext_t,
    tid: u64,
) -> bool {
    // SAFETY: exclusive use is the caller's promise (see above).
    let scratch = unsafe { &mut *SCRATCH.0.get() };
    // SAFETY: as above, `copy` belongs to the crash owner.
    let copy: &mut [u8] = unsafe { &mut *state.copy.get() };
    let (secs, nanos) = now();
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() } as u64;
    let names = names(secs, pid, tid);
    // SAFETY: `names.tmp` is NUL-terminated; `dir_fd` stays open for the process lifetime.
    let fd = unsafe {
        libc::openat(
            state.dir_fd,
            names.tmp.as_ptr().cast(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o600,
        )
    };
    if fd < 0 {
        return false;
    }
    let mut w = ReportWriter::new(FdSink(fd), &mut scratch.out);
    w.hex_line(b"signal", sig.number as u64);
    w.hex_line(b"code", sig.code as i64 as u64);
    w.text_line(
        b"name",
        signal_name(sig.number).unwrap_or("UNKNOWN").as_bytes(),
    );
    w.hex_line(b"addr", sig.address);
    w.hex_line(b"pid", pid);
    w.hex_line(b"tid", tid);
    let mut name = [0u8; 17];
    // SAFETY: PR_GET_NAME writes at most 16 bytes (NUL included) into `name`.
    if unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr()) } == 0 {
        let len = name.iter().position(|&b| b == 0).unwrap_or(16);
        w.text_line(b"thread", &name[..len]);
    }
    w.bytes(b"time ");
    w.hex(secs);
    w.bytes(b" ");
    w.hex(nanos);
    w.bytes(b"\n");
    let start = registers::write(&mut w, uc);

    let info = maps::read(&mut scratch.maps, &mut scratch.exec, start.sp);
    let (exec_count, stack) = info.map_or((0, None), |i| (i.exec_count, i.stack));
    if let Some((lo, hi)) = stack {
        w.bytes(b"stack ");
        w.hex(lo);
        w.bytes(b" ");
        w.hex(hi);
        w.bytes(b"\n");
    }
    let how = stackwalk::walk(
        start,
        stack,
        &scratch.exec[..exec_count],
        state.max_frames,
        // SAFETY: `walk` only reads 8-aligned words inside `stack`, a readable mapping that
        // holds the crashing thread's stack, which stays mapped while the thread is here.
        |addr| unsafe { std::ptr::read_volatile(addr as *const u64) },
        |frame| w.hex_line(b"frame", frame),
    );
    w.text_line(
        b"walk",
        match how {
            StackWalk::FramePointers => b"fp",
            StackWalk::Scan => b"scan",
            StackWalk::None => b"none",
        },
    );
    // Frozen, so that threads updating the scope all the time cannot make every copy race
    // (an empty scope): updates wait, and the copies are the last complete snapshots. Thawed
    // at once after, for a process that survives its crash. A snapshot that still raced on
    // every attempt is written empty, never torn.
    state.scope.freeze();
    state.breadcrumbs.freeze();
    state.images.freeze();
    let n = state.scope.read_into(copy).unwrap_or(0);
    w.blob(b"scope", &copy[..n]);
    state
        .breadcrumbs
        .for_each(copy, |_, crumb| w.blob(b"crumb", crumb));
    let n = state.images.read_into(copy).unwrap_or(0);
    w.blob(b"images", &copy[..n]);
    state.scope.thaw();
    state.breadcrumbs.thaw();
    state.images.thaw();
    let (FdSink(fd), ok) = w.finish();
    // The nastiest point for a failure: the whole report sits in the `.tmp` file, not yet
    // synced or renamed. Only the crate's crash tests set a fault.
    if state.fault != Fault::None {
        inject(state.fault);
    }

    // SAFETY: plain system calls on our fd and NUL-terminated names relative to `dir_fd`.
    unsafe {
        let synced = ok && libc::fsync(fd) == 0;
        libc::close(fd);
        if synced
            && libc::renameat(
                state.dir_fd,
                names.tmp.as_ptr().cast(),
                state.dir_fd,
                names.done.as_ptr().cast(),
            ) == 0
        {
            // Make the rename itself durable.
            libc::fsync(state.dir_fd);
            return true;
        }
        libc::unlinkat(state.dir_fd, names.tmp.as_ptr().cast(), 0);
    }
    false
}

/// Makes the handler fail the way the crash tests asked for (see [`Fault`]).
#[cold]
#[inline(never)]
fn inject(fault: Fault) {
    match fault {
        Fault::None => {}
        Fault::StallInHandler => loop {
            let second = libc::timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            // SAFETY: `second` is valid; the remainder pointer may be null. nanosleep is
            // async-signal-safe, and the watchdog's SIGALRM interrupts it.
            unsafe {
                libc::nanosleep(&second, std::ptr::null_mut());
            }
        },
        // A store to address 0x8: SIGSEGV inside the handler, reaching it again as re-entry.
        Fault::CrashInHandler => crate::trigger::segfault(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_differ_in_suffix() {
        let n = names(0x65f0_a1b2, 0x4d2, 0x4d3);
        let tmp = std::ffi::CStr::from_bytes_until_nul(&n.tmp).unwrap();
        let done = std::ffi::CStr::from_bytes_until_nul(&n.done).unwrap();
        assert_eq!(tmp.to_str().unwrap(), "crash-0000000065f0a1b2-4d2-4d3.tmp");
        assert_eq!(
            done.to_str().unwrap(),
            "crash-0000000065f0a1b2-4d2-4d3.crash"
        );
    }
}
