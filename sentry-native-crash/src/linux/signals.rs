//! Signal handler installation, the handler itself, and chaining to what was there before.
//!
//! Who writes: the first thread to enter the handler stores its thread id in [`CRASHING`] and
//! writes the one report. Another thread crashing meanwhile waits (sleeping, bounded) until the
//! report is done, then chains, so the process still dies of a crash signal.
//!
//! When the handler fails: the owning thread entering again before it is done means the
//! handler itself crashed, and a writer still busy after `watchdog_secs` is ended by the
//! watchdog's SIGALRM. Both end the process at once by the default action of the signal being
//! reported (see `die_of_default`), leaving at most a `.tmp` file, never a `.crash` one: the
//! parent sees the crash signal, not the handler's own fault or SIGALRM. The previous handler
//! is not run then, since chaining needs a handler that can still be trusted to return.
//!
//! How the process dies: after the report, the previous action of the signal is restored.
//! Then a signal some process sent (`kill`, `raise`, `abort`; `si_code <= 0`) and a trap
//! (which does not repeat on return) are raised again for this thread, while a fault simply
//! returns: the faulting instruction runs again and the signal comes back to the previous
//! action. Rust's own SIGSEGV/SIGBUS handler is such a previous action: it prints its stack
//! overflow message and aborts, as it would without us, otherwise restores the default. Either
//! way the parent sees the same signal as it would without this crate.

use std::ffi::CStr;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use super::writer::{self, Signal};
use super::{SIGNALS, State, state};
use crate::config::InstallError;

/// Thread id of the thread writing the report; 0 while no crash is being handled.
static CRASHING: AtomicI32 = AtomicI32::new(0);

/// Set once the owning thread has finished with the report (written or not).
static DONE: AtomicBool = AtomicBool::new(false);

/// The signal the owning thread is reporting, set before it starts: what the process dies of
/// when the handler crashes or the watchdog fires.
static ORIGINAL: AtomicI32 = AtomicI32::new(0);

/// Thread id whose next SIGABRT writes no report (see `suppress_next_abort`); 0: none.
static SUPPRESSED_ABORT: AtomicI32 = AtomicI32::new(0);

/// The calling thread's next SIGABRT is reported elsewhere (a panic about to abort).
pub(crate) fn suppress_next_abort() {
    SUPPRESSED_ABORT.store(gettid(), Ordering::Release);
}

/// Whether this SIGABRT on thread `tid` was announced by `suppress_next_abort`; consumes it.
fn take_suppressed(sig: libc::c_int, tid: libc::c_int) -> bool {
    sig == libc::SIGABRT
        && SUPPRESSED_ABORT
            .compare_exchange(tid, 0, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
}

pub(super) fn open_dir(path: &CStr) -> io::Result<libc::c_int> {
    // SAFETY: `path` is NUL-terminated; open has no other preconditions.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(fd)
    }
}

/// The actions currently installed for [`SIGNALS`], to chain to later.
pub(super) fn current_actions() -> Result<[libc::sigaction; SIGNALS.len()], InstallError> {
    // SAFETY: sigaction is plain data for which all-zeroes is a valid value (SIG_DFL).
    let mut out: [libc::sigaction; SIGNALS.len()] = unsafe { std::mem::zeroed() };
    for (slot, &sig) in out.iter_mut().zip(SIGNALS.iter()) {
        // SAFETY: querying only: a null new action and a valid place for the old one.
        let rc = unsafe { libc::sigaction(sig, std::ptr::null(), slot) };
        if rc != 0 {
            return Err(InstallError::Os("sigaction", io::Error::last_os_error()));
        }
    }
    Ok(out)
}

pub(super) fn install_handlers() -> Result<(), InstallError> {
    for &sig in &SIGNALS {
        // SAFETY: `action` is fully initialized (zeroed, then the handler, flags and an empty
        // mask set); `on_signal` has the signature SA_SIGINFO requires.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            // ONSTACK: a stack overflow leaves no room on the thread's own stack.
            // NODEFER: a fault inside the handler reaches the handler again (and is recognized
            // as re-entry) instead of being blocked, which would kill without chaining.
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(InstallError::Os("sigaction", io::Error::last_os_error()));
        }
    }
    Ok(())
}

fn gettid() -> libc::c_int {
    // SAFETY: the gettid system call has no arguments and cannot fail.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    tid as libc::c_int
}

/// Sleeps `ms` milliseconds (nanosleep is async-signal-safe).
fn sleep_ms(ms: u64) {
    let ts = libc::timespec {
        tv_sec: (ms / 1000) as libc::time_t,
        tv_nsec: ((ms % 1000) * 1_000_000) as libc::c_long,
    };
    // SAFETY: `ts` is valid; the remainder pointer may be null.
    unsafe {
        libc::nanosleep(&ts, std::ptr::null_mut());
    }
}

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, uc: *mut libc::c_void) {
    let tid = gettid();
    let Some(state) = state() else {
        // Cannot happen (handlers are installed after the state), but never swallow a crash.
        reset_default_and_reraise(sig, info);
        return;
    };
    match CRASHING.compare_exchange(0, tid, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            ORIGINAL.store(sig, Ordering::Release);
            let alarm = Watchdog::arm(state.watchdog_secs);
            // A suppressed abort still takes the writer's place, so a crash of another
            // thread meanwhile waits for it as usual; it just writes nothing.
            if !take_suppressed(sig, tid) && !info.is_null() && !uc.is_null() {
                // SAFETY: the kernel passes a valid siginfo_t for SA_SIGINFO handlers.
                let (code, address) = unsafe { ((*info).si_code, (*info).si_addr() as u64) };
                let signal = Signal {
                    number: sig,
                    code,
                    address,
                };
                let mut job = WriteJob {
                    state,
                    signal: &signal,
                    // SAFETY: `uc` is the context the kernel passed with SA_SIGINFO, valid
                    // for the whole handler.
                    context: unsafe { &*(uc as *const libc::ucontext_t) },
                    tid: tid as u64,
                };
                // SAFETY: this thread won the CAS, so it alone uses the crash stack and the
                // scratch space; `write_on_crash_stack` does not unwind (it is extern "C",
                // and a panic there aborts).
                unsafe {
                    state
                        .crash_stack
                        .run(write_on_crash_stack, (&mut job as *mut WriteJob).cast());
                }
            }
            alarm.disarm();
            DONE.store(true, Ordering::Release);
        }
        Err(owner) if owner == tid && !DONE.load(Ordering::Acquire) => {
            // The handler itself crashed: give up on the report (its `.tmp` stays, never
            // renamed) and die of the crash being reported, not of the handler's own fault.
            die_of_default(ORIGINAL.load(Ordering::Acquire));
        }
        // Once DONE, a process that survived its first crash (a raised signal its previous
        // handler ignored) just chains, whichever thread crashes next.
        Err(_) => {
            // Another thread is writing the report. Wait for it rather than racing to the
            // default action, which would kill the process mid-write. Bounded: the watchdog
            // ends a writer that hangs, and this wait ends on its own regardless.
            let limit_ms = u64::from(state.watchdog_secs.max(1)) * 1000 + 1000;
            let mut waited = 0;
            while !DONE.load(Ordering::Acquire) && waited < limit_ms {
                sleep_ms(10);
                waited += 10;
            }
        }
    }
    chain(state, sig, info);
}

/// What the report writer needs, passed to it on the crash stack.
struct WriteJob<'a> {
    state: &'a State,
    signal: &'a Signal,
    context: &'a libc::ucontext_t,
    tid: u64,
}

extern "C" fn write_on_crash_stack(job: *mut std::ffi::c_void) {
    // SAFETY: `job` is the `WriteJob` on `on_signal`'s frame, alive for the whole call, and
    // this thread won the right to write the report (see `on_signal`).
    unsafe {
        let job = &*(job as *const WriteJob);
        writer::write_report(job.state, job.signal, job.context, job.tid);
    }
}

/// Restores the action that was installed before ours and makes the signal reach it.
fn chain(state: &State, sig: libc::c_int, info: *mut libc::siginfo_t) {
    let Some(index) = SIGNALS.iter().position(|&s| s == sig) else {
        return;
    };
    // SAFETY: restoring a sigaction value obtained from the kernel at install.
    unsafe {
        libc::sigaction(sig, &state.previous[index], std::ptr::null_mut());
    }
    if needs_reraise(sig, info) {
        reraise(sig);
    }
}

fn reset_default_and_reraise(sig: libc::c_int, info: *mut libc::siginfo_t) {
    // SAFETY: installing SIG_DFL with an empty mask is always valid.
    unsafe {
        libc::signal(sig, libc::SIG_DFL);
    }
    if needs_reraise(sig, info) {
        reraise(sig);
    }
}

/// Whether returning from the handler would fail to bring the signal back: it was sent by a
/// process (si_code <= 0: kill, tgkill, raise, abort, sigqueue) or is a trap, after which the
/// interrupted instruction does not run again.
fn needs_reraise(sig: libc::c_int, info: *mut libc::siginfo_t) -> bool {
    if sig == libc::SIGTRAP || info.is_null() {
        return true;
    }
    // SAFETY: `info` is the non-null siginfo_t the kernel passed.
    let code = unsafe { (*info).si_code };
    code <= 0
}

/// Ends the process by the default action of `sig` (one of [`SIGNALS`], all of which end it),
/// whatever action and mask are in place: the last resort of a handler that crashed or timed
/// out. Async-signal-safe.
fn die_of_default(sig: libc::c_int) {
    // SAFETY: installing SIG_DFL with an empty mask and unblocking one signal in this thread
    // are always valid; both calls are async-signal-safe.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigemptyset(&mut dfl.sa_mask);
        libc::sigaction(sig, &dfl, std::ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, sig);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    // Fatal, unblocked and at its default action: the kernel ends the whole process before
    // tgkill returns.
    reraise(sig);
}

fn reraise(sig: libc::c_int) {
    // SAFETY: sends `sig` to this very thread; with the previous action restored and the
    // signal not blocked (SA_NODEFER) it is acted on before tgkill returns.
    unsafe {
        libc::syscall(libc::SYS_tgkill, libc::getpid(), gettid(), sig);
    }
}

/// `alarm()` with our SIGALRM handler, [`on_watchdog`], so that a report that cannot be
/// finished (a blocked write, a hung NFS directory) ends the process instead of hanging it.
struct Watchdog {
    armed: bool,
    previous_action: libc::sigaction,
    previous_alarm: libc::c_uint,
}

impl Watchdog {
    fn arm(secs: u32) -> Self {
        let mut w = Watchdog {
            armed: secs > 0,
            // SAFETY: all-zero is a valid sigaction (SIG_DFL).
            previous_action: unsafe { std::mem::zeroed() },
            previous_alarm: 0,
        };
        if !w.armed {
            return w;
        }
        // SAFETY: sigaction/sigprocmask/alarm with valid pointers; all async-signal-safe.
        // `on_watchdog` has the signature a handler without SA_SIGINFO needs.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_watchdog as *const () as libc::sighandler_t;
            // ONSTACK: the thread that takes it may be one whose own stack overflowed.
            action.sa_flags = libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGALRM, &action, &mut w.previous_action);
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGALRM);
            // SIGALRM goes to any thread that does not block it; unblock it here so that at
            // least this one takes it.
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            w.previous_alarm = libc::alarm(secs);
        }
        w
    }

    fn disarm(self) {
        if !self.armed {
            return;
        }
        // SAFETY: cancels our alarm, then restores the values saved by `arm`. Cancelling
        // first, so that our alarm cannot go off into the application's SIGALRM action once
        // that is back (by default it would kill a process that survives its crash); the
        // application's own alarm, if any, is set again after.
        unsafe {
            libc::alarm(0);
            libc::sigaction(libc::SIGALRM, &self.previous_action, std::ptr::null_mut());
            if self.previous_alarm > 0 {
                libc::alarm(self.previous_alarm);
            }
        }
    }
}

/// The watchdog fired: the report was not finished in time. Ends the process by the crash
/// signal's default action, so the parent sees SIGSEGV (or whichever it was), as it would
/// without this crate, rather than SIGALRM. Runs on any thread that does not block SIGALRM;
/// the signal kills the whole process from there.
extern "C" fn on_watchdog(_: libc::c_int) {
    let original = match ORIGINAL.load(Ordering::Acquire) {
        0 => libc::SIGALRM,
        sig => sig,
    };
    die_of_default(original);
    // Not reached (the signal is fatal); never go back to the hung handler regardless.
    // SAFETY: _exit is async-signal-safe and has no preconditions.
    unsafe { libc::_exit(128 + original) }
}
