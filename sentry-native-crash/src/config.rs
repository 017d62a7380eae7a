//! Handler configuration and errors (platform-independent).

use std::fmt;
use std::path::PathBuf;

/// Smallest alternate signal stack the handler is given on threads it prepares: the handler
/// itself needs a few KiB; the rest is margin for a chained handler.
pub const MIN_ALT_STACK_SIZE: usize = 64 * 1024;

/// Largest frame count a report may hold, whatever [`HandlerConfig::max_frames`] says.
pub const MAX_FRAMES_LIMIT: usize = 1024;

/// Largest breadcrumb count a report may hold, whatever [`HandlerConfig::max_breadcrumbs`]
/// says.
pub const MAX_BREADCRUMBS_LIMIT: usize = 1024;

/// What [`install`](crate::install) needs. Build it with [`HandlerConfig::new`] and adjust.
#[derive(Clone, Debug)]
pub struct HandlerConfig {
    /// Where reports are written: a directory that already exists and that only this user can
    /// read (reports contain scope data and memory addresses). It is opened once at install;
    /// renaming it afterwards does not move where reports go.
    pub report_dir: PathBuf,
    /// Most instruction addresses written per report (capped at [`MAX_FRAMES_LIMIT`]).
    pub max_frames: usize,
    /// Capacity of the scope snapshot; [`set_scope`](crate::set_scope) refuses larger ones.
    pub max_scope_bytes: usize,
    /// Capacity of the image list; [`set_images`](crate::set_images) refuses larger ones.
    pub max_images_bytes: usize,
    /// How many breadcrumbs pushed with [`push_breadcrumb`](crate::push_breadcrumb) a report
    /// holds at most (the newest; capped at [`MAX_BREADCRUMBS_LIMIT`]). Their slots are
    /// allocated at install: twice `max_breadcrumbs * max_breadcrumb_bytes`.
    pub max_breadcrumbs: usize,
    /// Capacity of one breadcrumb; [`push_breadcrumb`](crate::push_breadcrumb) refuses larger
    /// ones.
    pub max_breadcrumb_bytes: usize,
    /// Size of the alternate signal stack given to threads that have none or too small a one
    /// (at least [`MIN_ALT_STACK_SIZE`]).
    pub alt_stack_size: usize,
    /// Seconds the handler may take before a watchdog (`alarm`) ends the process with the
    /// crash signal's default action (so the parent still sees, say, SIGSEGV), leaving no
    /// report: a handler that cannot finish never leaves a hung process. 0 turns the watchdog
    /// off.
    pub watchdog_secs: u32,
    /// Fault injected into the handler, for this crate's own crash tests only: it is how they
    /// make the handler hang or crash to check the watchdog and the re-entry path. Always
    /// [`Fault::None`] outside them.
    #[doc(hidden)]
    pub fault: Fault,
}

/// A failure the handler injects into itself, for this crate's own crash tests (see
/// [`HandlerConfig::fault`]). Not part of the API: it may change or go away at any time.
///
/// It is fixed at install, kept with the rest of the handler's state and read there as a
/// plain field, so the handler pays one load and a compare for it, and no environment or
/// global that could change meanwhile is consulted while crashing.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// No fault: the handler as it runs in production.
    #[default]
    None,
    /// The handler sleeps for ever once the report is written to its temporary file and
    /// before it is renamed, as a write blocked on a hung file system would: only the
    /// watchdog can end the process.
    StallInHandler,
    /// The handler writes through a null pointer at the same point: a crash inside the
    /// handler.
    CrashInHandler,
}

impl HandlerConfig {
    /// Defaults: 256 frames, 64 KiB of scope, 256 KiB of images, 100 breadcrumbs of up to
    /// 1 KiB, 64 KiB alternate stacks, a 10 second watchdog.
    pub fn new(report_dir: impl Into<PathBuf>) -> Self {
        HandlerConfig {
            report_dir: report_dir.into(),
            max_frames: 256,
            max_scope_bytes: 64 * 1024,
            max_images_bytes: 256 * 1024,
            max_breadcrumbs: 100,
            max_breadcrumb_bytes: 1024,
            alt_stack_size: MIN_ALT_STACK_SIZE,
            watchdog_secs: 10,
            fault: Fault::None,
        }
    }
}

/// Why [`install`](crate::install) or
/// [`ensure_alt_stack_for_current_thread`](crate::ensure_alt_stack_for_current_thread) failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum InstallError {
    /// Native crash capture is not implemented on this platform (see
    /// [`is_supported`](crate::is_supported)).
    Unsupported,
    /// The report directory could not be opened.
    ReportDir(std::io::Error),
    /// A system call needed to install the handler failed.
    Os(&'static str, std::io::Error),
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Unsupported => f.write_str("native crash capture is not supported here"),
            InstallError::ReportDir(e) => write!(f, "cannot open the crash report directory: {e}"),
            InstallError::Os(what, e) => write!(f, "{what} failed: {e}"),
        }
    }
}

impl std::error::Error for InstallError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InstallError::ReportDir(e) | InstallError::Os(_, e) => Some(e),
            InstallError::Unsupported => None,
        }
    }
}

/// Why [`set_scope`](crate::set_scope) or [`set_images`](crate::set_images) kept the previous
/// snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The handler is not installed (or not supported here): there is nowhere to keep it.
    NotInstalled,
    /// Bigger than the capacity set at install. The previous snapshot stays: a cut one would
    /// be unparseable, so the caller should shrink it (fewer breadcrumbs) and try again.
    TooLarge {
        /// Size offered.
        len: usize,
        /// Capacity.
        max: usize,
    },
}

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SnapshotError::NotInstalled => f.write_str("the crash handler is not installed"),
            SnapshotError::TooLarge { len, max } => {
                write!(f, "snapshot of {len} bytes exceeds the capacity of {max}")
            }
        }
    }
}

impl std::error::Error for SnapshotError {}
