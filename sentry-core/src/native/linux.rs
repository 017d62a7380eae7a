//! The handler's setup, the snapshots it needs, and sending what earlier runs left.

use std::fs::File;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use sentry_native_crash as handler;

use super::snapshot::{Handler, SnapshotWriter};
use crate::debug::{sdk_debug, sdk_warn};
use crate::images::ImageList;
use crate::options::ClientOptions;
use crate::outbox::{Limits, Outbox};
use crate::protocol::Event;
use crate::scope::Scope;
use crate::stacktrace::InAppRules;

/// Whether scope changes must be pushed to the handler: set once the handler runs.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The snapshot writer, once the handler runs.
static WRITER: Mutex<Option<SnapshotWriter>> = Mutex::new(None);
/// The image list last pushed, by address (compared only, never dereferenced).
static PUSHED_IMAGES: AtomicUsize = AtomicUsize::new(0);
/// Keeps a copy of the lock of the run directory the handler writes into, for the life of
/// the process: reports written after the client closed are still this run's, and no other
/// process adopts them while this one lives.
static HANDLER_RUN_LOCK: OnceLock<File> = OnceLock::new();

/// Capacity of the scope snapshot (without breadcrumbs) in reports.
const MAX_SCOPE_BYTES: usize = 64 * 1024;
/// Capacity of one breadcrumb in reports: a larger record goes to the handler as its gist
/// (see `breadcrumb_log::record::encode`); the breadcrumb log keeps every one whole.
const MAX_BREADCRUMB_BYTES: usize = 1024;
const _: () = assert!(MAX_BREADCRUMB_BYTES >= crate::breadcrumb_log::record::GIST_MAX);
/// Capacity of the image list in reports.
const MAX_IMAGES_BYTES: usize = 256 * 1024;

/// Creates this process's outbox run directory now, installs the crash handler writing into
/// it, and pushes the first images and scope. Returns the outbox, whose reports of earlier
/// runs are sent by [`send_pending_reports`] on the worker.
///
/// `None` when the handler is turned off or the directory cannot be created (the SDK then
/// works as without the feature, and says why on stderr).
pub(crate) fn setup(options: &ClientOptions) -> Option<Outbox> {
    let database = options.effective_database_path();
    if !options.native_crash_handler {
        // No handler in this process, but the reports earlier runs (or a wrapped program)
        // left are still sent: a supervisor such as sentry-wrap relies on it.
        if options.dry_run {
            return None;
        }
        return Outbox::create(&database, Limits::default()).ok();
    }
    let outbox = match Outbox::create(&database, Limits::default()) {
        Ok(outbox) => outbox,
        Err(error) => {
            sdk_warn!(
                "native crashes are not captured: cannot use {} ({error})",
                database.display()
            );
            return None;
        }
    };
    if !handler::is_installed() {
        let mut config = handler::HandlerConfig::new(outbox.run_dir());
        config.max_scope_bytes = MAX_SCOPE_BYTES;
        config.max_images_bytes = MAX_IMAGES_BYTES;
        config.max_breadcrumbs = options.max_breadcrumbs.min(handler::MAX_BREADCRUMBS_LIMIT);
        config.max_breadcrumb_bytes = MAX_BREADCRUMB_BYTES;
        match handler::install(config) {
            Ok(()) => {
                if let Ok(lock) = outbox.lock_file().try_clone() {
                    let _ = HANDLER_RUN_LOCK.set(lock);
                }
                sdk_debug!(
                    "native crash handler installed; reports go to {}",
                    outbox.run_dir().display()
                );
            }
            Err(error) => {
                sdk_warn!("native crashes are not captured: {error}");
                // The outbox still serves the sender, and earlier runs' reports are sent.
                return Some(outbox);
            }
        }
    } else {
        sdk_debug!("native crash handler already installed; it keeps its report directory");
    }
    *WRITER.lock() = Some(SnapshotWriter::new(
        options.release.as_deref().map(str::to_owned),
        Some(options.effective_environment().into_owned()),
    ));
    ACTIVE.store(true, Ordering::Release);
    push_images(&crate::images::loaded_images());
    scope_changed(&crate::hub::current_scope());
    Some(outbox)
}

/// Brings the handler's copy of the scope head up to date after a change. A no-op (one
/// atomic load) until the handler is installed.
#[inline]
pub(crate) fn scope_changed(scope: &Scope) {
    if ACTIVE.load(Ordering::Acquire) {
        push_scope(scope);
    }
}

#[inline(never)]
fn push_scope(scope: &Scope) {
    let mut guard = WRITER.lock();
    if let Some(writer) = guard.as_mut() {
        writer.update_head(scope, &mut Installed);
    }
}

/// The handler's ring of breadcrumbs, which the breadcrumb log may keep its breadcrumbs in
/// (see `breadcrumb_log::in_ring`): how many it holds and how large each may be, once the
/// handler runs.
pub(crate) fn ring_capacity() -> Option<(usize, usize)> {
    if !ACTIVE.load(Ordering::Acquire) {
        return None;
    }
    handler::breadcrumb_capacity()
}

/// Appends a record to the ring; its number, or `None` when it does not fit.
#[inline]
pub(crate) fn ring_push(record: &[u8]) -> Option<u64> {
    handler::push_breadcrumb(record).ok()
}

/// Calls `f` with the number and record of each breadcrumb in the ring, oldest first.
pub(crate) fn ring_read(f: impl FnMut(u64, &[u8])) {
    let _ = handler::read_breadcrumbs(f);
}

/// Moves whenever the ring's breadcrumbs change; 0 without the handler.
#[inline]
pub(crate) fn ring_version() -> u64 {
    handler::breadcrumbs_version()
}

/// The breadcrumb log was cleared: so are the handler's breadcrumbs.
pub(crate) fn breadcrumbs_cleared() {
    if ACTIVE.load(Ordering::Acquire) {
        let _ = handler::keep_newest_breadcrumbs(0);
    }
}

/// The installed crash handler.
struct Installed;

impl Handler for Installed {
    fn set_scope(&mut self, head: &[u8]) -> bool {
        handler::set_scope(head).is_ok()
    }
}

/// Pushes the image list again if it is not the one the handler has. Cheap when unchanged:
/// one pointer comparison. Called wherever the SDK obtains the process's image list.
pub(crate) fn images_seen(images: &Arc<ImageList>) {
    if ACTIVE.load(Ordering::Acquire)
        && PUSHED_IMAGES.load(Ordering::Relaxed) != Arc::as_ptr(images) as usize
    {
        push_images(images);
    }
}

fn push_images(images: &Arc<ImageList>) {
    // Kept alive so that the address compared in `images_seen` is never reused.
    static HELD: Mutex<Option<Arc<ImageList>>> = Mutex::new(None);
    let mut held = HELD.lock();
    if held.as_ref().is_some_and(|h| Arc::ptr_eq(h, images)) {
        return;
    }
    match serde_json::to_vec(images.images()) {
        Ok(json) => {
            if let Err(error) = handler::set_images(&json) {
                sdk_debug!("crash handler kept its previous image list: {error}");
            }
        }
        Err(error) => sdk_debug!("cannot serialize the image list: {error}"),
    }
    PUSHED_IMAGES.store(Arc::as_ptr(images) as usize, Ordering::Relaxed);
    *held = Some(Arc::clone(images));
}

/// Sends the reports of earlier runs found in `outbox`'s run directory (after adopting the
/// directories of dead runs): each becomes an event given to `send`, which returns whether
/// the event is safe (stored in the outbox or answered by the server); only then is the
/// report deleted. Unreadable reports are set aside in `<database>/corrupt/`.
pub(crate) fn send_pending_reports(
    outbox: &Outbox,
    rules: &InAppRules,
    mut send: impl FnMut(Event) -> bool,
) {
    if let Err(error) = outbox.adopt() {
        sdk_debug!(
            "outbox: could not index {}: {error}",
            outbox.root().display()
        );
    }
    for path in handler::pending_reports(outbox.run_dir()) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let read = std::fs::metadata(&path)
            .map_err(|e| e.to_string())
            .and_then(|meta| {
                if meta.len() > handler::MAX_REPORT_BYTES {
                    return Err(format!("too large ({} bytes)", meta.len()));
                }
                std::fs::read(&path).map_err(|e| e.to_string())
            })
            .and_then(|bytes| {
                let report = handler::parse_report(&bytes).map_err(|e| e.to_string())?;
                Ok((report, bytes))
            });
        let (report, bytes) = match read {
            Ok(read) => read,
            Err(why) => {
                sdk_warn!("crash report {name} is unreadable ({why}); set aside");
                outbox.set_aside_file(&name);
                continue;
            }
        };
        let event = super::report::event_from_report(&report, &bytes, rules);
        sdk_debug!(
            "sending the crash of process {} ({}) as event {}",
            report.pid,
            report.description(),
            event.event_id.simple()
        );
        if send(event) {
            if let Err(error) = std::fs::remove_file(&path) {
                sdk_debug!("could not remove the sent crash report {name}: {error}");
            }
        } else {
            sdk_debug!("crash report {name} kept: its event is neither stored nor delivered");
        }
    }
}
