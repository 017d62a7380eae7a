//! The persistent helper thread: it completes the events of panics that did not wait for
//! symbol names, and loads the debug information shortly after start.
//!
//! A panic on a thread that does not end the process keeps an incomplete copy of its event
//! in the outbox, held back from sending, and hands the rest to this thread: resolving the
//! stack (slow until the debug information is loaded), `before_send`, and the complete
//! envelope, which takes the held copy's place and is then sent. One thread for the whole
//! process: starting one per panic would cost the panicking thread more than the rest of
//! its work, and resolutions share one lock in the `backtrace` crate anyway.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use sentry_panic::PanicReport;

use crate::client::Client;
use crate::debug::sdk_debug;
use crate::outbox::Entry;
use crate::protocol::Event;
use crate::scope::Scope;
use crate::stacktrace::CapturedBacktrace;

/// How long after the helper starts the debug information is loaded, when no panic did it
/// first. Not at once: a short program (a CLI run, a cron job) would pay for it in CPU,
/// memory and shutdown time without ever panicking.
const WARM_UP_DELAY: Duration = Duration::from_millis(200);

/// A panic whose event the helper completes.
pub(super) struct Job {
    pub(super) client: Arc<Client>,
    /// The event without its stack trace.
    pub(super) event: Event,
    pub(super) report: PanicReport,
    pub(super) backtrace: CapturedBacktrace,
    pub(super) scope: Arc<Scope>,
    /// The incomplete copy in the outbox, which the complete event replaces.
    pub(super) held: Option<Entry>,
}

impl Job {
    fn run(mut self: Box<Self>) {
        super::event::attach_stacktrace(
            &mut self.event,
            &self.report,
            &self.backtrace,
            self.client.in_app(),
        );
        self.client
            .keep_complete(self.event, &self.scope, self.held.as_ref());
    }
}

/// The way to the helper thread; `None` until it is started, or when it could not be.
static QUEUE: Mutex<Option<mpsc::Sender<Box<Job>>>> = Mutex::new(None);

/// Jobs handed to the helper and not finished, for [`wait_for_pending`].
static PENDING: Mutex<usize> = Mutex::new(0);
static FINISHED: Condvar = Condvar::new();

thread_local! {
    /// Set on the helper thread, which must not wait for its own jobs.
    static ON_HELPER: Cell<bool> = const { Cell::new(false) };
}

/// Starts the helper thread (once the hook is installed); false when no thread can be
/// started, in which case panics prepare their events as the process-ending ones do.
pub(super) fn start() -> bool {
    let mut queue = QUEUE.lock();
    if queue.is_some() {
        return true;
    }
    let (sender, receiver) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("sentry-panic".into())
        .spawn(move || serve(&receiver));
    match spawned {
        Ok(_) => {
            *queue = Some(sender);
            true
        }
        Err(error) => {
            sdk_debug!("panic: no helper thread ({error})");
            false
        }
    }
}

/// Hands `job` to the helper; gives it back when there is no helper (it could not be
/// started, or it ended) and none can be started now.
pub(super) fn submit(job: Box<Job>) -> Result<(), Box<Job>> {
    *PENDING.lock() += 1;
    let mut job = job;
    for _ in 0..2 {
        let sender = QUEUE.lock().clone();
        let Some(sender) = sender else { break };
        match sender.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(returned)) => {
                // The helper ended (a bug in the SDK panicked on it): start another.
                sdk_debug!("panic: the helper thread is gone; starting another");
                job = returned;
                *QUEUE.lock() = None;
                if !start() {
                    break;
                }
            }
        }
    }
    finish_one();
    Err(job)
}

/// Waits until `deadline` for the jobs handed to the helper so far; true when none is left.
/// On the helper itself (a `before_send` that flushes) it does not wait.
pub(crate) fn wait_for_pending(deadline: Instant) -> bool {
    if ON_HELPER.try_with(Cell::get).unwrap_or(false) {
        return *PENDING.lock() == 0;
    }
    let mut pending = PENDING.lock();
    while *pending > 0 {
        if FINISHED.wait_until(&mut pending, deadline).timed_out() {
            return *pending == 0;
        }
    }
    true
}

fn finish_one() {
    let mut pending = PENDING.lock();
    *pending = pending.saturating_sub(1);
    if *pending == 0 {
        FINISHED.notify_all();
    }
}

fn serve(jobs: &mpsc::Receiver<Box<Job>>) {
    sentry_panic::ignore_panics_on_this_thread();
    let _ = ON_HELPER.try_with(|on| on.set(true));
    let warm_up_at = Instant::now() + WARM_UP_DELAY;
    let mut warmed_up = false;
    loop {
        let next = if warmed_up {
            jobs.recv()
                .map_err(|_| mpsc::RecvTimeoutError::Disconnected)
        } else {
            jobs.recv_timeout(warm_up_at.saturating_duration_since(Instant::now()))
        };
        match next {
            Ok(job) => {
                // Counted as finished even if it panics, so that a flush does not wait for
                // it in vain; the panic then ends this thread and `submit` starts another.
                struct Finish;
                impl Drop for Finish {
                    fn drop(&mut self) {
                        finish_one();
                    }
                }
                let _finish = Finish;
                job.run();
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Loading debug information is most of the cost of a first stack trace.
                CapturedBacktrace::warm_up();
                warmed_up = true;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}
