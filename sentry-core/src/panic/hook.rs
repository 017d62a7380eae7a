//! The hook's work on the panicking thread: for a panic that ends the process, with a
//! short-lived helper thread that it waits for; for any other, without waiting (the
//! persistent helper in `helper.rs` completes the event).

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sentry_panic::{PanicHandler, PanicReport};
use uuid::Uuid;

use super::PanicCapture;
use crate::client::Client;
use crate::debug::sdk_debug;
use crate::options::ClientOptions;
use crate::protocol::Event;
use crate::scope::Scope;
use crate::stacktrace::CapturedBacktrace;

/// Putting the event on disk gets at least this long, whatever `panic_flush_timeout` says:
/// without it a `panic = "abort"` program would lose the event.
const MIN_PERSIST_WAIT: Duration = Duration::from_secs(1);

/// The worker's thread: its panics are caught and logged by the worker itself, and
/// reporting them could feed on itself.
const WORKER_THREAD: &str = "sentry-worker";

thread_local! {
    /// Until when the hook on this thread may wait for delivery, between `capture` and
    /// `after_previous_hook`.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
}

struct Hook;

static HOOK: Hook = Hook;

/// Installs the panic hook unless `options` turn it off. Once per process: the hook reports
/// to whichever client is current when a panic happens.
pub(crate) fn install_hook(options: &ClientOptions) {
    if options.panic_capture == PanicCapture::Off {
        sdk_debug!("panic_capture is Off: no panic hook");
        return;
    }
    if sentry_panic::install(&HOOK) {
        sdk_debug!("panic hook installed");
        // The helper also loads the debug information soon, so that it is ready before
        // most first panics.
        super::helper::start();
    }
}

impl PanicHandler for Hook {
    fn capture(&self, report: &PanicReport) -> bool {
        let start = Instant::now();
        let Some(client) = crate::hub::client() else {
            return false;
        };
        let decision = decide(
            client.options().panic_capture,
            report.caught,
            report.is_abort_notice && report.previous_on_thread_reported,
        );
        let Some(handled) = decision else {
            if report.is_abort_notice && report.previous_on_thread_reported {
                // std aborts next, and the panic before (reported from an unwinding thread,
                // so not waited for) still has to reach the server.
                wait_after_previous_hook(start + client.options().panic_flush_timeout);
                return true;
            }
            return false;
        };
        if report.thread_name.as_deref() == Some(WORKER_THREAD) {
            sdk_debug!("panic: on the SDK's worker thread is not reported");
            return false;
        }
        if report.abort_follows {
            suppress_abort_report();
        }
        // Sampled once, here: the event may be written twice (held, then complete).
        let event = super::event::panic_event(report, handled);
        if !client.sampled(event.event_id) {
            if ends_process(report) {
                // What was captured before still gets its chance to be delivered.
                wait_after_previous_hook(start + client.options().panic_flush_timeout);
            }
            return true;
        }
        // Only addresses here; resolving them, unless they were resolved before, is a
        // helper's job.
        let backtrace = CapturedBacktrace::capture();
        let scope = crate::hub::try_current_scope().unwrap_or_else(|| {
            sdk_debug!("panic: the scope is locked by the panicking thread; reporting without it");
            Arc::default()
        });
        if !ends_process(report) {
            let job = Box::new(super::helper::Job {
                client,
                event,
                report: report.clone(),
                backtrace,
                scope,
                held: None,
            });
            let Err(job) = keep_without_waiting(job) else {
                return true;
            };
            // No helper thread: prepared as for a panic that ends the process.
            let job = *job;
            return persist_and_wait(
                job.client,
                job.event,
                report,
                job.backtrace,
                job.scope,
                start,
            );
        }
        persist_and_wait(client, event, report, backtrace, scope, start)
    }

    fn after_previous_hook(&self, _report: &PanicReport) {
        let Some(deadline) = DEADLINE.try_with(Cell::take).ok().flatten() else {
            return;
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(client) = crate::hub::client()
            && !left.is_zero()
            && !client.flush(left)
        {
            sdk_debug!(
                "panic: not delivered within panic_flush_timeout; it is sent at the next start"
            );
        }
    }
}

/// For a panic that ends the process: the complete event on disk (or its fallback when
/// preparing it takes too long), then, after the previous hook, a bounded wait for
/// delivery.
fn persist_and_wait(
    client: Arc<Client>,
    event: Event,
    report: &PanicReport,
    backtrace: CapturedBacktrace,
    scope: Arc<Scope>,
    start: Instant,
) -> bool {
    let timeout = client.options().panic_flush_timeout;
    let id = persist(
        client,
        event,
        report,
        backtrace,
        scope,
        start + timeout.max(MIN_PERSIST_WAIT),
    );
    wait_after_previous_hook(start + timeout);
    if id.is_none_or(|id| id.is_nil()) {
        sdk_debug!("panic: the event is not on disk (dropped, or not done in time)");
    }
    true
}

/// Makes `after_previous_hook` on this thread wait for delivery until `deadline`.
fn wait_after_previous_hook(deadline: Instant) {
    let _ = DEADLINE.try_with(|d| d.set(Some(deadline)));
}

/// Whether the process ends right after this panic, so that its event must be delivered
/// before the hook returns: `panic = "abort"` and std's abort after a double panic, or an
/// uncaught panic on the main thread (which ends `main`). A panic inside a plain
/// `std::panic::catch_unwind` on the main thread looks uncaught and waits too.
fn ends_process(report: &PanicReport) -> bool {
    report.abort_follows || (!report.caught && report.thread_name.as_deref() == Some("main"))
}

/// For a panic the process survives: puts the event on disk and returns without waiting
/// for delivery (the worker sends it; a later start sends what is left). When every frame
/// was resolved before and no `before_send` is set, the complete event is written here;
/// otherwise an incomplete copy (addresses only, no callbacks) is held in the outbox and the
/// helper thread replaces it with the complete event. Gives the job back when there is no
/// helper thread.
fn keep_without_waiting(mut job: Box<super::helper::Job>) -> Result<(), Box<super::helper::Job>> {
    let client = Arc::clone(&job.client);
    if client.options().before_send.is_none()
        && let Some(stacktrace) = job.backtrace.resolve_cached(client.in_app())
    {
        super::event::put_stacktrace(&mut job.event, &job.report, stacktrace);
        client.keep_complete(job.event, &job.scope, None);
        return Ok(());
    }
    let held = super::event::with_addresses_only(&job.event, &job.backtrace);
    job.held = client.keep_held(held, &job.scope);
    if job.held.is_some() {
        sdk_debug!("panic: kept with addresses only; the helper completes it");
    }
    super::helper::submit(job).map_err(|mut job| {
        if let Some(held) = job.held.take() {
            // Prepared again from the start by the caller: the held copy would be a second
            // envelope of the same panic.
            client.forget_kept(&held);
        }
        job
    })
}

/// Whether to report the panic, and as handled or not.
fn decide(capture: PanicCapture, caught: bool, notice_of_reported_panic: bool) -> Option<bool> {
    if notice_of_reported_panic {
        // std's closing word on a double panic whose cause is already reported.
        return None;
    }
    match (capture, caught) {
        (PanicCapture::Off, _) | (PanicCapture::Unhandled, true) => None,
        (_, caught) => Some(caught),
    }
}

/// Prepares the event and puts it in the outbox on a helper thread, waiting for it until
/// `deadline`. `Some(id)` once done (nil when dropped by `before_send`), `None` when the
/// helper was not done in time.
fn persist(
    client: Arc<Client>,
    mut event: Event,
    report: &PanicReport,
    backtrace: CapturedBacktrace,
    scope: Arc<Scope>,
    deadline: Instant,
) -> Option<Uuid> {
    // What is written instead if the helper is not done in time: same event id, frames
    // with addresses only, no user callbacks (they may not run on a panicking thread).
    let fallback = super::event::with_addresses_only(&event, &backtrace);
    let (fallback_client, fallback_scope) = (Arc::clone(&client), Arc::clone(&scope));
    let handoff = Arc::new(Handoff::default());
    let helper_handoff = Arc::clone(&handoff);
    let report = report.clone();
    let work = move || {
        super::event::attach_stacktrace(&mut event, &report, &backtrace, client.in_app());
        let id = client.keep_complete(event, &scope, None);
        let mut state = helper_handoff.state.lock();
        state.completed = Some(id);
        // Late, but complete: it replaces the fallback (or, dropped by before_send, the
        // fallback goes too).
        if let Some(entry) = state.fallback.take() {
            client.forget_kept(&entry);
        }
        drop(state);
        helper_handoff.completed.notify_all();
    };
    // The work is shared so that it can still run here if no thread can be started.
    let work = Arc::new(parking_lot::Mutex::new(Some(work)));
    let for_helper = Arc::clone(&work);
    let spawned = std::thread::Builder::new()
        .name("sentry-panic".into())
        .spawn(move || {
            sentry_panic::ignore_panics_on_this_thread();
            if let Some(work) = for_helper.lock().take() {
                work();
            }
        });
    if let Err(error) = spawned {
        sdk_debug!("panic: no helper thread ({error}); preparing the event on this thread");
        if let Some(work) = work.lock().take() {
            work();
        }
    }
    let mut state = handoff.state.lock();
    while state.completed.is_none() {
        if handoff
            .completed
            .wait_until(&mut state, deadline)
            .timed_out()
        {
            break;
        }
    }
    if state.completed.is_none() {
        state.fallback = fallback_client.keep_fallback(fallback, &fallback_scope);
        if state.fallback.is_some() {
            sdk_debug!("panic: kept without symbol names; the preparation did not finish in time");
        }
    }
    state.completed
}

/// Between the panicking thread and its helper: which of them wrote the event. The helper's
/// complete event replaces the panicking thread's fallback when both did.
///
/// A condition variable rather than a channel: the waiting side also needs the lock, to
/// write the fallback only while the helper has not finished.
#[derive(Default)]
struct Handoff {
    state: parking_lot::Mutex<HandoffState>,
    completed: parking_lot::Condvar,
}

#[derive(Default)]
struct HandoffState {
    /// The helper's event id, once its event is written (nil when `before_send` dropped it).
    completed: Option<Uuid>,
    fallback: Option<crate::outbox::Entry>,
}

/// Tells the native crash handler that the SIGABRT about to follow is this panic's.
fn suppress_abort_report() {
    #[cfg(feature = "native-crash")]
    sentry_native_crash::suppress_next_abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        assert_eq!(decide(PanicCapture::All, false, false), Some(false));
        assert_eq!(decide(PanicCapture::All, true, false), Some(true));
        assert_eq!(decide(PanicCapture::Unhandled, false, false), Some(false));
        assert_eq!(decide(PanicCapture::Unhandled, true, false), None);
        assert_eq!(decide(PanicCapture::Off, false, false), None);
        assert_eq!(decide(PanicCapture::All, false, true), None);
    }
}
