//! Where the client and the scope live: one per process.
//!
//! The process scope is global, not per thread, so a thread spawned before `init`, a
//! thread pool's worker and the main thread all report with the same tags, user and
//! breadcrumbs. [`with_scope`] and [`push_scope`] layer a temporary scope over it on the
//! current thread only; [`configure_scope`] changes the innermost layer of the calling
//! thread, which is the process scope unless a layer was pushed.
//!
//! The process scope's breadcrumbs are kept apart, in the [`breadcrumb_log`], so that the
//! hottest call, [`add_breadcrumb`], takes neither the scope's lock nor a copy of it; an
//! event gets the scope with a copy of the log as it was when it was captured.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::breadcrumb_log;
use crate::client::Client;
use crate::protocol::Breadcrumb;
use crate::scope::Scope;

static CLIENT: RwLock<Option<Arc<Client>>> = RwLock::new(None);
/// The process scope (its breadcrumbs are the [`breadcrumb_log`]); `None` until first used.
static PROCESS_SCOPE: RwLock<Option<Arc<Scope>>> = RwLock::new(None);
/// Moves on every change of the process scope (written under its write lock).
static PROCESS_VERSION: AtomicU64 = AtomicU64::new(0);

/// The process scope as events see it (its breadcrumbs a copy of the log), reused by every
/// capture until the scope or the log changes: most captures then cost one reference count.
struct View {
    version: u64,
    generation: u64,
    scope: Arc<Scope>,
}
static VIEW: Mutex<Option<View>> = Mutex::new(None);

/// What [`add_breadcrumb`] needs of the client, kept beside it so that the hot path reads two
/// atomics instead of taking the client's lock: `max_breadcrumbs` of the bound client (0
/// without one, so breadcrumbs are discarded), and whether it has a `before_breadcrumb`.
/// Written under `CLIENT`'s write lock.
static MAX_BREADCRUMBS: AtomicUsize = AtomicUsize::new(0);
static BEFORE_BREADCRUMB: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Scopes pushed on this thread, innermost last.
    static LAYERS: RefCell<Vec<Arc<Scope>>> = const { RefCell::new(Vec::new()) };
}

/// The client events go to, if the SDK is initialized and enabled.
pub(crate) fn client() -> Option<Arc<Client>> {
    CLIENT.read().clone()
}

/// Makes `client` the process's client and returns the one it replaces.
pub(crate) fn bind_client(client: Option<Arc<Client>>) -> Option<Arc<Client>> {
    let mut current = CLIENT.write();
    let (max, callback) = client.as_ref().map_or((0, false), |c| {
        let options = c.options();
        (options.max_breadcrumbs, options.before_breadcrumb.is_some())
    });
    if client.is_some() {
        // After the crash handler's setup: whether its ring can hold the breadcrumbs.
        breadcrumb_log::use_handler_ring(max);
    }
    MAX_BREADCRUMBS.store(max, Ordering::Relaxed);
    BEFORE_BREADCRUMB.store(callback, Ordering::Relaxed);
    std::mem::replace(&mut *current, client)
}

/// Unbinds `client` if it is still the process's client.
pub(crate) fn unbind_client(client: &Arc<Client>) {
    let mut current = CLIENT.write();
    if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, client)) {
        MAX_BREADCRUMBS.store(0, Ordering::Relaxed);
        *current = None;
    }
}

/// The scope an event captured now on this thread gets: the innermost layer, or the process
/// scope with a copy of the breadcrumb log as it is now.
pub(crate) fn current_scope() -> Arc<Scope> {
    if let Some(top) = LAYERS.with(|layers| layers.borrow().last().cloned()) {
        return top;
    }
    let process = PROCESS_SCOPE.read();
    process_view(process.as_deref(), None).unwrap_or_default()
}

/// Like [`current_scope`], but never blocks, for the panic hook: a panic inside
/// [`configure_scope`] happens while this very thread holds the scope's lock, and waiting
/// for it would hang the program. `None` when the scope is locked.
#[cfg_attr(not(feature = "panic"), allow(dead_code))]
pub(crate) fn try_current_scope() -> Option<Arc<Scope>> {
    let top = LAYERS.try_with(|layers| layers.try_borrow().map(|l| l.last().cloned()));
    match top {
        Ok(Ok(Some(top))) => return Some(top),
        Ok(Err(_)) => return None,
        // No layer, or the thread is exiting: the process scope.
        Ok(Ok(None)) | Err(_) => {}
    }
    // Another thread holding the lock lets go quickly; this thread holding it never does.
    let wait = Duration::from_millis(100);
    let process = PROCESS_SCOPE.try_read_for(wait)?;
    process_view(process.as_deref(), Some(wait))
}

/// The process scope `process` (read-locked by the caller) as an event sees it: the cached
/// view while it is current, else a new one. With `wait`, gives up (`None`) rather than
/// wait longer for a lock.
fn process_view(process: Option<&Scope>, wait: Option<Duration>) -> Option<Arc<Scope>> {
    let version = PROCESS_VERSION.load(Ordering::Acquire);
    let mut view = match wait {
        Some(wait) => VIEW.try_lock_for(wait)?,
        None => VIEW.lock(),
    };
    if let Some(current) = view.as_ref()
        && current.version == version
        && current.generation == breadcrumb_log::generation()
    {
        return Some(Arc::clone(&current.scope));
    }
    let (generation, records) = breadcrumb_log::snapshot_within(wait)?;
    let scope = Arc::new(match process {
        Some(process) => process.frozen(records),
        None => Scope::process().frozen(records),
    });
    *view = Some(View {
        version,
        generation,
        scope: Arc::clone(&scope),
    });
    Some(scope)
}

/// Changes the innermost scope of the calling thread: a scope pushed with [`with_scope`]
/// or [`push_scope`], else the process scope that every thread shares.
///
/// ```
/// sentry_core::configure_scope(|scope| scope.set_tag("worker", "ingest"));
/// ```
pub fn configure_scope<R>(f: impl FnOnce(&mut Scope) -> R) -> R {
    modify_scope(|scope| {
        let result = f(scope);
        crate::native::scope_changed(scope);
        result
    })
}

/// Runs `f` on the innermost scope of the calling thread (see [`configure_scope`]). The
/// process scope is locked meanwhile, so `f` also keeps the crash handler's copy in the same
/// order as the scope's changes.
fn modify_scope<R>(f: impl FnOnce(&mut Scope) -> R) -> R {
    let mut f = Some(f);
    let pushed = LAYERS.with(|layers| {
        let mut layers = layers.borrow_mut();
        let top = layers.last_mut()?;
        let f = f.take().expect("called once");
        Some(f(Arc::make_mut(top)))
    });
    match pushed {
        Some(result) => result,
        None => {
            let mut process = PROCESS_SCOPE.write();
            let scope = process.get_or_insert_with(|| Arc::new(Scope::process()));
            let result = (f.take().expect("called once"))(Arc::make_mut(scope));
            PROCESS_VERSION.fetch_add(1, Ordering::Release);
            result
        }
    }
}

/// Runs `body` with a temporary scope on this thread: a copy of the current scope changed
/// by `configure`. Events captured inside `body` carry both; the change is gone afterwards.
///
/// ```
/// use sentry_core::protocol::Level;
///
/// sentry_core::with_scope(
///     |scope| scope.set_tag("request_id", "abc123"),
///     || sentry_core::capture_message("slow request", Level::Warning),
/// );
/// ```
pub fn with_scope<R>(configure: impl FnOnce(&mut Scope), body: impl FnOnce() -> R) -> R {
    let _guard = push_scope();
    configure_scope(configure);
    body()
}

/// Pushes a copy of the current scope on this thread; it is popped when the returned guard
/// is dropped. Prefer [`with_scope`]; this is for code that cannot wrap a closure.
pub fn push_scope() -> ScopeGuard {
    let copy = current_scope();
    let depth = LAYERS.with(|layers| {
        let mut layers = layers.borrow_mut();
        layers.push(copy);
        layers.len()
    });
    ScopeGuard {
        depth,
        _not_send: std::marker::PhantomData,
    }
}

/// Pops the scope pushed by [`push_scope`] when dropped.
#[must_use = "the scope is popped as soon as the guard is dropped"]
#[derive(Debug)]
pub struct ScopeGuard {
    depth: usize,
    // The layer lives on the thread that pushed it.
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        LAYERS.with(|layers| {
            // Guards dropped out of order pop everything they pushed and above.
            layers.borrow_mut().truncate(self.depth - 1);
        });
    }
}

/// Records a breadcrumb in the innermost scope, after `before_breadcrumb`: the process's
/// breadcrumb log, or the layer pushed on this thread (whose breadcrumbs end with it). Before
/// `init` (or with the SDK disabled) breadcrumbs are discarded: nothing would send them.
///
/// A literal message and category cost no allocation (the texts are `Cow<'static, str>`);
/// with the native crash handler installed, the breadcrumb is also copied where a crash
/// report can reach it.
///
/// ```
/// use sentry_core::protocol::Breadcrumb;
///
/// sentry_core::add_breadcrumb(Breadcrumb::new("cache miss").category("cache"));
/// ```
// Inline, so that the usual case (no `before_breadcrumb`, no layer) hands the breadcrumb
// built in the caller's frame to the log by reference instead of moving it here first.
#[inline]
pub fn add_breadcrumb(breadcrumb: Breadcrumb) {
    let max = MAX_BREADCRUMBS.load(Ordering::Relaxed);
    if max == 0 {
        return;
    }
    if !BEFORE_BREADCRUMB.load(Ordering::Relaxed) && !layered() {
        // No layer on this thread: the process's log, with no scope lock and no copy of the
        // scope (see `breadcrumb_log`).
        breadcrumb_log::push(&breadcrumb, max);
        return;
    }
    add_breadcrumb_slowly(breadcrumb, max);
}

/// Whether a layer is pushed on this thread. Not while `configure_scope` of a layer holds
/// the layers borrowed: a breadcrumb added from there goes to the process's log rather than
/// panicking.
#[inline]
fn layered() -> bool {
    LAYERS
        .try_with(|layers| layers.try_borrow().is_ok_and(|l| !l.is_empty()))
        .unwrap_or(false)
}

/// [`add_breadcrumb`] with `before_breadcrumb` or a layer.
#[inline(never)]
fn add_breadcrumb_slowly(breadcrumb: Breadcrumb, max: usize) {
    let breadcrumb = if BEFORE_BREADCRUMB.load(Ordering::Relaxed) {
        // The callback is user code: it runs without any lock held.
        let Some(client) = client() else { return };
        let Some(breadcrumb) = client.prepare_breadcrumb(breadcrumb) else {
            return;
        };
        breadcrumb
    } else {
        breadcrumb
    };
    if !layered() {
        breadcrumb_log::push(&breadcrumb, max);
        return;
    }
    // A layer's own breadcrumbs end with it, and crash reports carry the process's trail
    // (see `native::snapshot`): the crash handler is not told.
    modify_scope(|scope| scope.add_breadcrumb(breadcrumb, max));
}
