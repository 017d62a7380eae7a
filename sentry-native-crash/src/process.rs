//! Safe wrappers for the few signal calls a process supervisor needs (`sentry-wrap`): dying of
//! a child's signal, and forwarding signals to a child. They live here because this crate
//! is the only one allowed `unsafe`; they are ordinary code, not used by the crash handler.

use std::io;

/// Ends the calling process by `signal`, the way the child it supervised ended: the signal's
/// action is reset to the default, the signal is unblocked and raised. A parent shell then
/// sees "killed by signal N" (and a core dump where the default action makes one), not an
/// exit code.
///
/// When the default action of `signal` does not end the process (SIGCHLD, SIGWINCH, or a
/// signal this platform cannot raise), it exits with status `128 + signal`, the shell's
/// convention for "died of a signal".
pub fn die_by_signal(signal: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: plain libc calls on a valid signal set owned by this frame. Resetting the
    // action to SIG_DFL and raising the signal is what we intend: the process ends.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, signal);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        libc::raise(signal);
    }
    std::process::exit(128 + signal)
}

/// Sends `signal` to process `pid`.
pub fn send_signal(pid: u32, signal: i32) -> io::Result<()> {
    #[cfg(unix)]
    {
        let pid = libc::pid_t::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
        // SAFETY: kill has no memory-safety preconditions.
        if unsafe { libc::kill(pid, signal) } == 0 {
            return Ok(());
        }
        Err(io::Error::last_os_error())
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, signal);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}

/// Forwards `signals` that are sent to this process to the process `child`, from a
/// background thread, for the rest of this process's life.
///
/// The signals are blocked in the calling thread (and so in every thread it creates
/// afterwards: call this before starting other threads) and taken with `sigwaitinfo` by the
/// forwarding thread. Only signals sent by a process (`kill`, `systemctl stop`, a `timeout`
/// command) are forwarded; those the kernel generates for the terminal (Ctrl-C, Ctrl-\) are
/// not, because the terminal sends them to the child itself too, and a second copy would be
/// one too many for programs that count them. Either way they no longer end this process.
///
/// Linux only; elsewhere it returns an `Unsupported` error and changes nothing.
pub fn forward_signals(child: u32, signals: &[i32]) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: the set is initialized by sigemptyset before use; pthread_sigmask only
        // changes this thread's mask.
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &signal in signals {
                libc::sigaddset(&mut set, signal);
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            set
        };
        std::thread::Builder::new()
            .name("signal-forwarder".into())
            .spawn(move || {
                loop {
                    // SAFETY: `set` was initialized above; `info` is written by the kernel.
                    let (signal, code) = unsafe {
                        let mut info: libc::siginfo_t = std::mem::zeroed();
                        let signal = libc::sigwaitinfo(&set, &mut info);
                        (signal, info.si_code)
                    };
                    // si_code > 0 means the kernel sent it (SI_KERNEL from the terminal);
                    // 0 and below mean a process did (SI_USER, SI_QUEUE, SI_TKILL).
                    if signal > 0 && code <= 0 {
                        let _ = send_signal(child, signal);
                    }
                }
            })?;
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (child, signals);
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }
}
