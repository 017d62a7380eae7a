//! The hook's work on the panicking thread, and the helper thread that does the rest.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use sentry_panic::{PanicHandler, PanicReport};
use uuid::Uuid;

use super::PanicCapture;
use crate::client::Client;
use crate::debug::sdk_debug;
use crate::options::ClientOptions;
use crate::scope::Scope;
use crate::stacktrace::CapturedBacktrace;

/// Putting the event on disk gets at least this long, whatever `panic_flush_timeout` says:
/// without it a `panic = "abort"` program would lose the event.
const MIN_PERSIST_WAIT: Duration = Duration::from_secs(1);

/// How long after the hook is installed the debug information is loaded in the background.
const WARM_UP_DELAY: Duration = Duration::from_millis(200);

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
        // Loading debug information is most of the cost of a first stack trace; do it soon,
        // on a thread of its own that nothing waits for, so the first panic finds it ready.
        // Not at once: a short program (a CLI run, a cron job) would pay for it in CPU,
        // memory and shutdown time without ever panicking; one that panics before the
        // delay loads it then, as it would without the warm-up.
        let _ = std::thread::Builder::new()
            .name("sentry-warmup".into())
            .spawn(|| {
                std::thread::sleep(WARM_UP_DELAY);
                crate::stacktrace::CapturedBacktrace::warm_up();
            });
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
            return false;
        };
        if report.thread_name.as_deref() == Some(WORKER_THREAD) {
            sdk_debug!("panic on the SDK's worker thread is not reported");
            return false;
        }
        // Only addresses here; resolving them is the helper's job.
        let backtrace = CapturedBacktrace::capture();
        let scope = crate::hub::try_current_scope().unwrap_or_else(|| {
            sdk_debug!("panic: the scope is locked by the panicking thread; reporting without it");
            Arc::default()
        });
        if report.abort_follows {
            suppress_abort_report();
        }
        let timeout = client.options().panic_flush_timeout;
        let deadline = start + timeout;
        let id = persist(
            client,
            report,
            handled,
            backtrace,
            scope,
            start + timeout.max(MIN_PERSIST_WAIT),
        );
        let _ = DEADLINE.try_with(|d| d.set(Some(deadline)));
        if id.is_none_or(|id| id.is_nil()) {
            sdk_debug!("panic: the event is not on disk (dropped, or not done in time)");
        }
        true
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
/// `deadline`. `Some(id)` once done (nil when dropped by sampling or `before_send`), `None`
/// when the helper was not done in time.
fn persist(
    client: Arc<Client>,
    report: &PanicReport,
    handled: bool,
    backtrace: CapturedBacktrace,
    scope: Arc<Scope>,
    deadline: Instant,
) -> Option<Uuid> {
    let mut event = super::event::panic_event(report, handled);
    // What is written instead if the helper is not done in time: same event id, frames
    // with addresses only, no user callbacks (they may not run on a panicking thread).
    let mut fallback = event.clone();
    if let Some(exception) = fallback
        .exception
        .as_mut()
        .and_then(|e| e.values.last_mut())
    {
        exception.stacktrace = Some(backtrace.unresolved());
    }
    let (fallback_client, fallback_scope) = (Arc::clone(&client), Arc::clone(&scope));
    let handoff = Arc::new(parking_lot::Mutex::new(Handoff::default()));
    let helper_handoff = Arc::clone(&handoff);
    let report = report.clone();
    let (done, wait) = mpsc::channel();
    let work = move || {
        super::event::attach_stacktrace(&mut event, &report, &backtrace, client.in_app());
        let id = client.capture_to_outbox(event, &scope);
        let mut handoff = helper_handoff.lock();
        handoff.helper_done = true;
        // Late, but complete: it replaces the fallback (or, dropped by before_send, the
        // fallback goes too).
        if let Some(entry) = handoff.fallback.take() {
            client.forget_kept(&entry);
        }
        drop(handoff);
        let _ = done.send(id);
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
    let outcome = wait
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .ok();
    if outcome.is_none() {
        let mut handoff = handoff.lock();
        if !handoff.helper_done {
            handoff.fallback = fallback_client.keep_fallback(fallback, &fallback_scope);
            if handoff.fallback.is_some() {
                sdk_debug!(
                    "panic: kept without symbol names; the preparation did not finish in time"
                );
            }
        }
    }
    outcome
}

/// Between the panicking thread and its helper: which of them wrote the event. The helper's
/// complete event replaces the panicking thread's fallback when both did.
#[derive(Default)]
struct Handoff {
    helper_done: bool,
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
