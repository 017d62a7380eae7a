//! The Linux implementation: installing the handler and keeping what it needs current.
//!
//! Everything the handler touches is allocated here, at install, and reached through one
//! pointer ([`STATE`]) that is set once and never freed, so that the handler never allocates
//! and never sees freed memory.

mod altstack;
mod crash_stack;
mod crumb_ring;
mod maps;
mod registers;
mod scope_slot;
mod signals;
mod stackwalk;
mod writer;
mod zeroed;

use std::cell::UnsafeCell;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::config::{
    Fault, HandlerConfig, InstallError, MAX_BREADCRUMBS_LIMIT, MAX_FRAMES_LIMIT,
    MIN_ALT_STACK_SIZE, SnapshotError,
};
use crumb_ring::CrumbRing;
use scope_slot::Snapshot;

pub(crate) use altstack::ensure_alt_stack_for_current_thread;
pub(crate) use signals::suppress_next_abort;

/// The signals handled, in the order of [`State::previous`].
pub(crate) const SIGNALS: [libc::c_int; 6] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
    libc::SIGABRT,
    libc::SIGTRAP,
];

/// What the handler needs, prepared at install.
pub(crate) struct State {
    /// The report directory, opened with O_DIRECTORY: reports are created relative to it with
    /// `openat`, so the handler never resolves a path that could have changed.
    pub(crate) dir_fd: libc::c_int,
    pub(crate) max_frames: usize,
    pub(crate) watchdog_secs: u32,
    /// Test-only fault injection (see [`Fault`]); `Fault::None` in production.
    pub(crate) fault: Fault,
    pub(crate) scope: Snapshot,
    pub(crate) images: Snapshot,
    pub(crate) breadcrumbs: CrumbRing,
    /// Where the handler copies a snapshot before writing it. Used only by the thread that
    /// won the right to write the report (see `signals::CRASHING`), hence the `UnsafeCell`.
    pub(crate) copy: UnsafeCell<Box<[u8]>>,
    /// Where the report is written, whatever stack the signal arrived on (see
    /// [`crash_stack`]); used only by the thread that won the right to write the report.
    pub(crate) crash_stack: crash_stack::CrashStack,
    /// The actions installed before ours, restored when chaining. Written before the state is
    /// published and never after.
    pub(crate) previous: [libc::sigaction; SIGNALS.len()],
}

// SAFETY: `State` is shared between threads through `STATE`. Its fields are either immutable
// after publication (`dir_fd`, limits, `previous`), internally synchronized (`Snapshot`), or,
// for `copy`, only touched by the one thread that owns the crash (exclusive by the CAS on
// `signals::CRASHING`), so sharing it cannot create a data race.
unsafe impl Sync for State {}

/// The installed state; null until [`install`] succeeds, then never changed or freed.
pub(crate) static STATE: AtomicPtr<State> = AtomicPtr::new(ptr::null_mut());

/// Serializes installs so that two racing calls cannot install twice.
static INSTALL: Mutex<()> = Mutex::new(());

pub(crate) fn state() -> Option<&'static State> {
    let p = STATE.load(Ordering::Acquire);
    // SAFETY: `p` is either null or came from `Box::leak` in `install` and is never freed or
    // mutated through another pointer afterwards, so a shared 'static reference is valid.
    unsafe { p.as_ref() }
}

pub(crate) fn install(config: HandlerConfig) -> Result<(), InstallError> {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    // A handler that already runs keeps its directory and limits: a second install only makes
    // sure the calling thread has an alternate stack.
    if state().is_some() {
        return ensure_alt_stack_for_current_thread();
    }
    let dir = CString::new(config.report_dir.as_os_str().as_bytes()).map_err(|_| {
        InstallError::ReportDir(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "path contains a NUL byte",
        ))
    })?;
    let dir_fd = signals::open_dir(&dir).map_err(InstallError::ReportDir)?;
    let copy_len = config
        .max_scope_bytes
        .max(config.max_images_bytes)
        .max(config.max_breadcrumb_bytes + 8);
    let state = State {
        dir_fd,
        max_frames: config.max_frames.clamp(1, MAX_FRAMES_LIMIT),
        watchdog_secs: config.watchdog_secs,
        fault: config.fault,
        scope: Snapshot::new(config.max_scope_bytes),
        images: Snapshot::new(config.max_images_bytes),
        breadcrumbs: CrumbRing::new(
            config.max_breadcrumbs.min(MAX_BREADCRUMBS_LIMIT),
            config.max_breadcrumb_bytes,
        ),
        copy: UnsafeCell::new(vec![0u8; copy_len].into_boxed_slice()),
        crash_stack: crash_stack::CrashStack::map().map_err(|e| InstallError::Os("mmap", e))?,
        previous: signals::current_actions()?,
    };
    altstack::set_size(config.alt_stack_size.max(MIN_ALT_STACK_SIZE));
    ensure_alt_stack_for_current_thread()?;
    STATE.store(Box::leak(Box::new(state)), Ordering::Release);
    signals::install_handlers()
}

fn set_snapshot(pick: fn(&State) -> &Snapshot, data: &[u8]) -> Result<(), SnapshotError> {
    let state = state().ok_or(SnapshotError::NotInstalled)?;
    let slot = pick(state);
    if slot.set(data) {
        Ok(())
    } else {
        Err(SnapshotError::TooLarge {
            len: data.len(),
            max: slot.capacity(),
        })
    }
}

pub(crate) fn set_scope(data: &[u8]) -> Result<(), SnapshotError> {
    set_snapshot(|s| &s.scope, data)
}

pub(crate) fn set_images(data: &[u8]) -> Result<(), SnapshotError> {
    set_snapshot(|s| &s.images, data)
}

pub(crate) fn push_breadcrumb(data: &[u8]) -> Result<u64, SnapshotError> {
    let state = state().ok_or(SnapshotError::NotInstalled)?;
    state.breadcrumbs.push(data).ok_or(SnapshotError::TooLarge {
        len: data.len(),
        max: state.breadcrumbs.slot_capacity(),
    })
}

pub(crate) fn read_breadcrumbs(f: impl FnMut(u64, &[u8])) -> Result<(), SnapshotError> {
    let state = state().ok_or(SnapshotError::NotInstalled)?;
    // Not the handler: this thread may allocate.
    let mut buf = vec![0u8; state.breadcrumbs.slot_capacity()];
    state.breadcrumbs.for_each(&mut buf, f);
    Ok(())
}

pub(crate) fn breadcrumbs_version() -> u64 {
    state().map_or(0, |state| state.breadcrumbs.version())
}

pub(crate) fn breadcrumb_capacity() -> Option<(usize, usize)> {
    let ring = &state()?.breadcrumbs;
    Some((ring.slot_count(), ring.slot_capacity()))
}

pub(crate) fn keep_newest_breadcrumbs(n: usize) -> Result<(), SnapshotError> {
    let state = state().ok_or(SnapshotError::NotInstalled)?;
    state.breadcrumbs.keep_newest(n);
    Ok(())
}

pub(crate) fn is_installed() -> bool {
    state().is_some()
}
