//! The background worker: one thread that prepares and sends what the calling threads
//! captured.
//!
//! Calling threads only put a job on a bounded queue (`try_send`, never blocking); when the
//! queue is full the job is dropped and counted. Flush and close wait on a counter of
//! finished jobs with a deadline, so they return in time whatever the network does: a
//! worker stuck in a hanging request is left behind and the program can still exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// Something for the worker to do.
pub(crate) trait Job: Send + 'static {
    /// Does the work; runs on the worker thread.
    fn run(self: Box<Self>);
}

/// Why a job was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejected {
    /// The queue was full.
    Full,
    /// The worker was closed.
    Closed,
}

/// The handle the client holds on its worker thread.
pub(crate) struct Worker {
    sender: SyncSender<Option<Box<dyn Job>>>,
    progress: Arc<Progress>,
    closed: AtomicBool,
}

#[derive(Default)]
struct Progress {
    /// Jobs handed to the queue (or given up on), ever.
    submitted: AtomicU64,
    /// Jobs finished (or given up on), ever; guarded for waiting.
    finished: Mutex<u64>,
    changed: Condvar,
    /// Set when the worker thread has ended and dropped everything it held.
    exited: AtomicBool,
}

impl Progress {
    fn finish_one(&self) {
        *self.finished.lock() += 1;
        self.changed.notify_all();
    }

    /// Waits until every job submitted before the call is finished, or the deadline.
    fn wait_for(&self, target: u64, deadline: Instant) -> bool {
        let mut finished = self.finished.lock();
        while *finished < target {
            if self.changed.wait_until(&mut finished, deadline).timed_out() {
                return *finished >= target;
            }
        }
        true
    }
}

impl Worker {
    /// Starts the worker thread with a queue of `capacity` jobs. `tick` runs on the worker
    /// at start, after each job, and when the delay it last returned has passed (`None`:
    /// nothing to do until the next job); it is how the outbox gets retried.
    pub(crate) fn start(
        capacity: usize,
        tick: impl FnMut() -> Option<Duration> + Send + 'static,
    ) -> std::io::Result<Worker> {
        let (sender, receiver) = sync_channel(capacity.max(1));
        let progress = Arc::new(Progress::default());
        let thread_progress = Arc::clone(&progress);
        std::thread::Builder::new()
            .name("sentry-worker".into())
            .spawn(move || {
                // `run` owns `tick`; once it returns, what the tick held (the outbox and its
                // lock) is released, and waiting closers may go on.
                run(receiver, &thread_progress, tick);
                let _finished = thread_progress.finished.lock();
                thread_progress.exited.store(true, Ordering::Release);
                thread_progress.changed.notify_all();
            })?;
        Ok(Worker {
            sender,
            progress,
            closed: AtomicBool::new(false),
        })
    }

    /// Queues a job without blocking.
    pub(crate) fn submit(&self, job: Box<dyn Job>) -> Result<(), Rejected> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Rejected::Closed);
        }
        self.progress.submitted.fetch_add(1, Ordering::AcqRel);
        match self.sender.try_send(Some(job)) {
            Ok(()) => Ok(()),
            Err(error) => {
                // Count it as finished so a flush does not wait for it.
                self.progress.finish_one();
                Err(match error {
                    TrySendError::Full(_) => Rejected::Full,
                    TrySendError::Disconnected(_) => Rejected::Closed,
                })
            }
        }
    }

    /// Waits until every job queued before the call is done, at most `timeout`. Returns
    /// whether they all were.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let target = self.progress.submitted.load(Ordering::Acquire);
        self.progress.wait_for(target, Instant::now() + timeout)
    }

    /// Flushes within `timeout`, then stops the worker: later jobs are refused. Returns
    /// whether everything queued was done in time.
    pub(crate) fn close(&self, timeout: Duration) -> bool {
        let done = self.flush(timeout);
        if !self.closed.swap(true, Ordering::AcqRel) {
            // The thread ends when it reaches this marker; if the queue is full the marker
            // is not needed, the thread ends when the channel is dropped with the client.
            let _ = self.sender.try_send(None);
        }
        done
    }

    /// Waits at most `timeout` for the worker thread to end after [`close`](Self::close).
    pub(crate) fn wait_for_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut finished = self.progress.finished.lock();
        while !self.progress.exited.load(Ordering::Acquire) {
            if self
                .progress
                .changed
                .wait_until(&mut finished, deadline)
                .timed_out()
            {
                return self.progress.exited.load(Ordering::Acquire);
            }
        }
        true
    }
}

fn run(
    receiver: Receiver<Option<Box<dyn Job>>>,
    progress: &Progress,
    mut tick: impl FnMut() -> Option<Duration>,
) {
    let mut next_tick = guarded(&mut tick)
        .flatten()
        .map(|delay| Instant::now() + delay);
    loop {
        let job = match next_tick {
            None => receiver.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(at) => receiver.recv_timeout(at.saturating_duration_since(Instant::now())),
        };
        match job {
            Ok(Some(job)) => {
                guarded(|| job.run());
                progress.finish_one();
            }
            Ok(None) | Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        next_tick = guarded(&mut tick)
            .flatten()
            .map(|delay| Instant::now() + delay);
    }
}

/// Runs worker code so that a bug in preparing or sending one event ends neither the worker
/// nor the program.
fn guarded<R>(f: impl FnOnce() -> R) -> Option<R> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => Some(result),
        Err(_) => {
            crate::debug::sdk_warn!(
                "internal error in the background worker; the event was dropped"
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    struct Sleep(Duration, Option<mpsc::Sender<()>>);
    impl Job for Sleep {
        fn run(self: Box<Self>) {
            std::thread::sleep(self.0);
            if let Some(done) = self.1 {
                let _ = done.send(());
            }
        }
    }

    #[test]
    fn flush_waits_for_queued_jobs() {
        let worker = Worker::start(8, || None).unwrap();
        let (tx, rx) = mpsc::channel();
        for _ in 0..3 {
            worker
                .submit(Box::new(Sleep(Duration::from_millis(10), Some(tx.clone()))))
                .unwrap();
        }
        assert!(worker.flush(Duration::from_secs(10)));
        assert_eq!(rx.try_iter().count(), 3);
    }

    #[test]
    fn flush_gives_up_at_its_timeout() {
        let worker = Worker::start(8, || None).unwrap();
        worker
            .submit(Box::new(Sleep(Duration::from_secs(5), None)))
            .unwrap();
        let start = Instant::now();
        assert!(!worker.flush(Duration::from_millis(100)));
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_full_queue_rejects_without_blocking() {
        let worker = Worker::start(1, || None).unwrap();
        let mut rejected = 0;
        for _ in 0..10 {
            if worker
                .submit(Box::new(Sleep(Duration::from_millis(200), None)))
                .is_err()
            {
                rejected += 1;
            }
        }
        assert!(rejected >= 8, "only {rejected} rejected");
    }

    #[test]
    fn tick_runs_at_start_and_when_due() {
        let (tx, rx) = mpsc::channel();
        let mut calls = 0;
        let _worker = Worker::start(4, move || {
            calls += 1;
            let _ = tx.send(calls);
            (calls < 3).then_some(Duration::from_millis(10))
        })
        .unwrap();
        let seen: Vec<_> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        assert_eq!(seen, [1, 2, 3]);
    }

    #[test]
    fn closed_worker_refuses_jobs() {
        let worker = Worker::start(4, || None).unwrap();
        assert!(worker.close(Duration::from_secs(1)));
        let job = Box::new(Sleep(Duration::ZERO, None));
        assert_eq!(worker.submit(job), Err(Rejected::Closed));
    }
}
