//! The client: turns what the program captured into envelopes and hands them to the
//! worker.
//!
//! The split of work is the point of this module. On the calling thread a capture costs a
//! sampling decision, an event id, a reference count on the scope and a non-blocking push
//! onto the worker's queue. Merging the scope, resolving symbols, gathering contexts and
//! debug images, `before_send`, serialization and the network all happen on the worker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::Mutex;
use uuid::Uuid;

use crate::client_report::ClientReports;
use crate::debug::{sdk_debug, sdk_warn};
use crate::dsn::Dsn;
use crate::envelope::Envelope;
use crate::noise::Noise;
use crate::noise::loop_guard::Window;
use crate::options::ClientOptions;
use crate::outbox::Outbox;
use crate::protocol::{Breadcrumb, ClientSdkInfo, Contexts, DebugMeta, Event, Thread, Threads};
use crate::scope::Scope;
use crate::sender::{Sender, SharedOutbox};
use crate::stacktrace::{CapturedBacktrace, InAppRules};
use crate::stats::{DropCounters, DropReason};
use crate::transport::Transport;
use crate::worker::{Job, Rejected, Worker};

mod outbox_first;

use outbox_first::wait_for_panics;

/// Where a captured stack trace goes in the event.
pub(crate) enum TraceTarget {
    /// On the outermost exception (errors).
    Exception,
    /// On the current thread's entry in `threads` (messages).
    Thread(ThreadInfo),
}

/// The capturing thread, as the event reports it.
pub(crate) struct ThreadInfo {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
}

impl ThreadInfo {
    pub(crate) fn current() -> Self {
        let thread = std::thread::current();
        ThreadInfo {
            id: rust_thread_id(&thread),
            name: thread.name().map(str::to_owned),
        }
    }
}

/// Rust's own thread number (`ThreadId(7)` is 7): stable while the thread lives.
fn rust_thread_id(thread: &std::thread::Thread) -> u64 {
    let debug = format!("{:?}", thread.id());
    debug
        .trim_start_matches("ThreadId(")
        .trim_end_matches(')')
        .parse()
        .unwrap_or(0)
}

/// A configured client. Most programs never touch it: [`init`](crate::init()) creates one
/// and the free functions of the crate use it.
pub struct Client {
    processor: Arc<Processor>,
    worker: Worker,
}

/// The contexts (os, device, runtime, app) and server name every event gets.
struct HostDefaults {
    contexts: Contexts,
    server_name: Option<String>,
}

/// The part of the client the worker runs: everything after the hand-off.
pub(crate) struct Processor {
    options: ClientOptions,
    in_app: InAppRules,
    dsn: Option<Dsn>,
    /// Gathered by the worker when it starts, not by `init` on the caller's thread.
    host: OnceLock<HostDefaults>,
    drops: DropCounters,
    sender: Mutex<Sender>,
    noise: Noise,
    reports: ClientReports,
    closing: Arc<AtomicBool>,
    /// The sender's outbox too, for [`Client::keep_complete`], which must not wait for
    /// the sender's lock: the worker holds it during a send that may hang.
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    outbox: Arc<SharedOutbox>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.processor.options)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client that sends through `transport`. `dsn` is only used in envelope headers.
    pub(crate) fn new(
        options: ClientOptions,
        dsn: Option<Dsn>,
        transport: Box<dyn Transport>,
        database: Option<PathBuf>,
        crash_run: Option<Outbox>,
    ) -> std::io::Result<Client> {
        let in_app = InAppRules {
            include: options.in_app_include.clone(),
            exclude: options.in_app_exclude.clone(),
        };
        let closing = Arc::new(AtomicBool::new(false));
        let crash_run = crash_run.map(|outbox| Arc::new(SharedOutbox::created(outbox)));
        let outbox = match (&crash_run, database) {
            // One run directory per process: the crash handler's is the outbox's. (A dry run
            // keeps no envelopes; its crash run only holds the handler's reports.)
            (Some(crash_run), Some(_)) => Arc::clone(crash_run),
            (_, database) => Arc::new(SharedOutbox::new(database)),
        };
        let processor = Processor {
            in_app,
            dsn,
            host: OnceLock::new(),
            drops: DropCounters::default(),
            sender: Mutex::new(Sender::new(
                transport,
                Arc::clone(&outbox),
                Arc::clone(&closing),
            )),
            outbox,
            closing,
            noise: Noise::new(&options),
            reports: ClientReports::new(options.send_client_reports),
            options,
        };
        let processor = Arc::new(processor);
        let ticking = Arc::clone(&processor);
        let worker = Worker::start(processor.options.queue_size, move || ticking.tick())?;
        if let Some(outbox) = crash_run {
            let job = CrashReportsJob {
                processor: Arc::clone(&processor),
                outbox,
            };
            if worker.submit(Box::new(job)).is_err() {
                sdk_debug!("crash reports of earlier runs not sent now: the queue is full");
            }
        }
        Ok(Client { processor, worker })
    }

    /// The options the client was created with.
    pub fn options(&self) -> &ClientOptions {
        &self.processor.options
    }

    /// How many events were dropped for `reason` since the client started.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.processor.drops.get(reason)
    }

    /// Captures an event with `scope`: samples, then queues it for the worker. Returns the
    /// event id, or the nil id when the event was dropped at once.
    pub(crate) fn capture(
        &self,
        event: Event,
        scope: Arc<Scope>,
        trace: Option<(CapturedBacktrace, TraceTarget)>,
    ) -> Uuid {
        let id = event.event_id;
        if !crate::random::sample(self.processor.options.sample_rate) {
            self.drop_event(id, DropReason::SampleRate, "sample_rate left it out");
            return Uuid::nil();
        }
        let addresses = trace.as_ref().map(|(backtrace, _)| backtrace.addresses());
        let window = match self
            .processor
            .noise
            .admit(&event, scope.fingerprint(), addresses)
        {
            Ok(window) => window,
            Err(why) => {
                self.drop_event(id, DropReason::EventProcessor, why);
                return Uuid::nil();
            }
        };
        let job = EventJob {
            processor: Arc::clone(&self.processor),
            event,
            scope,
            trace,
            window,
        };
        match self.worker.submit(Box::new(job)) {
            Ok(()) => id,
            Err(Rejected::Full) => {
                self.drop_event(
                    id,
                    DropReason::QueueOverflow,
                    "the queue to the worker is full",
                );
                Uuid::nil()
            }
            Err(Rejected::Closed) => {
                sdk_debug!("event {id} not sent: the client is closed");
                Uuid::nil()
            }
        }
    }

    /// The rules that mark frames in-app, for stack traces resolved outside the worker.
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn in_app(&self) -> &InAppRules {
        &self.processor.in_app
    }

    fn drop_event(&self, id: Uuid, reason: DropReason, why: impl std::fmt::Display) {
        self.processor.drop_event(id, reason, why);
    }

    /// Asks the worker to send parked events and a client report now, and to park nothing
    /// for `timeout`.
    fn release_all(&self, timeout: Duration) {
        self.processor.noise.force_for(timeout);
        let job = ReleaseJob(Arc::clone(&self.processor));
        if let Err(why) = self.worker.submit(Box::new(job)) {
            sdk_debug!("parked events and counts not sent now: the worker refused ({why:?})");
        }
    }

    /// Applies `before_breadcrumb`; a callback that panics keeps the breadcrumb as it was.
    pub(crate) fn prepare_breadcrumb(&self, breadcrumb: Breadcrumb) -> Option<Breadcrumb> {
        let Some(callback) = &self.processor.options.before_breadcrumb else {
            return Some(breadcrumb);
        };
        let backup = breadcrumb.clone();
        match call_user_callback(|| callback(breadcrumb)) {
            Ok(result) => result,
            Err(_) => {
                sdk_warn!("before_breadcrumb panicked; the breadcrumb is kept unchanged");
                Some(backup)
            }
        }
    }

    /// Waits at most `timeout` for every queued event to be sent.
    pub fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        self.release_all(timeout);
        let prepared = wait_for_panics(deadline);
        let done = self
            .worker
            .flush(deadline.saturating_duration_since(Instant::now()))
            && prepared;
        if !done {
            sdk_debug!("flush: events still pending after {timeout:?}");
        }
        done
    }

    /// Flushes within `timeout` and stops the client; later captures are discarded.
    ///
    /// Most of `timeout` goes to sending; in the last part, what is still queued is only
    /// written to the outbox (fast), so it is sent on the next start rather than lost.
    pub fn close(&self, timeout: Duration) -> bool {
        // The waits below end a little early: a timed wait wakes up late by the scheduler's
        // latency (milliseconds on a loaded machine), and close must return within timeout.
        let timeout = timeout.saturating_sub((timeout / 100).min(Duration::from_millis(20)));
        let deadline = Instant::now() + timeout;
        // For good, not only for `timeout`: events still queued when close returns (behind
        // a full queue) are written to the outbox when the worker reaches them, never
        // parked in memory.
        self.processor.noise.stop_parking();
        self.processor.outbox.stop_spares();
        self.release_all(timeout);
        let keep_time = (timeout / 5).min(Duration::from_millis(500));
        // A panic still being symbolicated is waited for as long as there is time to send
        // it; past that its incomplete copy stays on disk for the next start.
        let send_until = deadline - keep_time;
        wait_for_panics(send_until);
        let mut done = self
            .worker
            .flush(send_until.saturating_duration_since(Instant::now()));
        if !done {
            self.processor.closing.store(true, Ordering::Release);
            done = self.worker.flush(keep_time);
        }
        self.worker.close(Duration::ZERO);
        // A worker that ends promptly releases the outbox's lock now, so a client created
        // next in this process adopts what this one kept. Within `timeout`: a worker stuck
        // in a hanging request would otherwise add this wait to every shutdown.
        let left = deadline.saturating_duration_since(Instant::now());
        self.worker
            .wait_for_exit(left.min(Duration::from_millis(100)));
        sdk_debug!(
            "client closed{}",
            if done {
                ""
            } else {
                " with events still pending"
            }
        );
        done
    }
}

/// One captured event on its way through the worker.
struct EventJob {
    processor: Arc<Processor>,
    event: Event,
    scope: Arc<Scope>,
    trace: Option<(CapturedBacktrace, TraceTarget)>,
    /// The loop guard's window the event opened: it is sent when the window closes.
    window: Option<Arc<Window>>,
}

impl Job for EventJob {
    fn run(self: Box<Self>) {
        let EventJob {
            processor,
            event,
            scope,
            trace,
            window,
        } = *self;
        if let Some(event) = processor.prepare_event(event, &scope, trace) {
            let now = match window {
                Some(window) => processor.noise.park(event, window),
                None => Some(event),
            };
            if let Some(event) = now {
                // Events still held from earlier (during a flush, all of them; else those
                // whose window closed) were captured before this one: they go first.
                processor.release_parked(false);
                processor.send_event(&event);
            }
        }
    }
}

/// Sends the crash reports earlier runs left (see [`crate::native`]).
struct CrashReportsJob {
    processor: Arc<Processor>,
    outbox: Arc<SharedOutbox>,
}

impl Job for CrashReportsJob {
    fn run(self: Box<Self>) {
        let processor = &self.processor;
        let Some(outbox) = self.outbox.get() else {
            return;
        };
        crate::native::send_pending_reports(outbox, &processor.in_app, |mut event| {
            processor.apply_defaults(&mut event);
            match processor.before_send(event) {
                Some(event) => processor.send_event(&event),
                None => true,
            }
        });
    }
}

/// Sends what waits in the outbox (an event the panic path stored there).
#[cfg_attr(not(feature = "panic"), allow(dead_code))]
struct SendPendingJob(Arc<Processor>);

impl Job for SendPendingJob {
    fn run(self: Box<Self>) {
        self.0.retry_pending();
    }
}

/// Sends an event prepared elsewhere.
#[cfg_attr(not(feature = "panic"), allow(dead_code))]
struct SendJob(Arc<Processor>, Event);

impl Job for SendJob {
    fn run(self: Box<Self>) {
        let _ = self.0.send_event(&self.1);
    }
}

/// Sends every parked event and a client report, for flush and close.
struct ReleaseJob(Arc<Processor>);

impl Job for ReleaseJob {
    fn run(self: Box<Self>) {
        self.0.release_parked(true);
        self.0.send_client_report(true);
    }
}

impl Processor {
    /// Everything between capture and serialization. `None` when `before_send` dropped it.
    pub(crate) fn prepare_event(
        &self,
        event: Event,
        scope: &Scope,
        trace: Option<(CapturedBacktrace, TraceTarget)>,
    ) -> Option<Event> {
        // Events captured through `Client::capture` passed this on the calling thread; this
        // is for those prepared by other paths.
        if let Some(why) = self.noise.ignored(&event) {
            self.drop_event(event.event_id, DropReason::EventProcessor, why);
            return None;
        }
        let mut event = self.merge_context(event, scope, trace);
        if let Err(why) = self.noise.filter_prepared(&mut event) {
            self.drop_event(event.event_id, DropReason::EventProcessor, why);
            return None;
        }
        let mut event = self.before_send(event)?;
        // After before_send, so that what the callback added is scrubbed and trimmed too.
        self.noise.finish(&mut event);
        Some(event)
    }

    /// What `prepare_event` does except calling back into user code and the filters that
    /// drop: for an event that must be written from a thread where user code may not run
    /// (a panic whose deadline passed). It is still scrubbed and trimmed.
    pub(crate) fn prepare_without_callbacks(
        &self,
        event: Event,
        scope: &Scope,
        trace: Option<(CapturedBacktrace, TraceTarget)>,
    ) -> Event {
        let mut event = self.merge_context(event, scope, trace);
        self.noise.finish(&mut event);
        event
    }

    /// The scope, the defaults, the stack trace and the debug images, merged into the event.
    fn merge_context(
        &self,
        mut event: Event,
        scope: &Scope,
        trace: Option<(CapturedBacktrace, TraceTarget)>,
    ) -> Event {
        scope.apply_to_event(&mut event);
        self.apply_defaults(&mut event);
        if let Some((backtrace, target)) = trace {
            self.attach_trace(&mut event, &backtrace, target);
        }
        self.attach_debug_images(&mut event);
        event
    }

    fn drop_event(&self, id: Uuid, reason: DropReason, why: impl std::fmt::Display) {
        self.drops.record(reason);
        sdk_debug!("dropped event {} ({}): {why}", id.simple(), reason.as_str());
    }

    fn apply_defaults(&self, event: &mut Event) {
        let options = &self.options;
        if event.release.is_none() {
            event.release = options.release.as_deref().map(str::to_owned);
        }
        if event.environment.is_none() {
            event.environment = Some(options.effective_environment().into_owned());
        }
        if event.server_name.is_none() {
            event.server_name = self.host().server_name.clone();
        }
        if event.sdk.is_none() {
            event.sdk = Some(sdk_info());
        }
        for (key, context) in &self.host().contexts {
            event
                .contexts
                .entry(key.clone())
                .or_insert_with(|| context.clone());
        }
    }

    /// What every event gets from the machine, gathered once.
    fn host(&self) -> &HostDefaults {
        self.host.get_or_init(|| HostDefaults {
            contexts: crate::contexts::default_contexts(),
            server_name: match &self.options.server_name {
                Some(name) => Some(name.to_string()),
                None => crate::contexts::server_name(),
            },
        })
    }

    fn attach_trace(&self, event: &mut Event, backtrace: &CapturedBacktrace, target: TraceTarget) {
        let stacktrace = backtrace.resolve(&self.in_app);
        if stacktrace.frames.is_empty() {
            return;
        }
        match target {
            TraceTarget::Exception => {
                let outermost = event.exception.as_mut().and_then(|e| e.values.last_mut());
                if let Some(exception) = outermost {
                    exception.stacktrace = Some(stacktrace);
                }
            }
            TraceTarget::Thread(info) => {
                let thread = Thread {
                    id: Some(info.id),
                    main: Some(info.name.as_deref() == Some("main")),
                    name: info.name,
                    stacktrace: Some(stacktrace),
                    crashed: Some(false),
                    current: Some(true),
                };
                event
                    .threads
                    .get_or_insert_with(Threads::default)
                    .values
                    .push(thread);
            }
        }
    }

    /// Adds the loaded modules when the event has native frames, refreshing the cached
    /// module list when a frame points outside every known module.
    fn attach_debug_images(&self, event: &mut Event) {
        if event
            .debug_meta
            .as_ref()
            .is_some_and(|meta| !meta.images.is_empty())
        {
            return;
        }
        let addresses: Vec<u64> = event
            .stacktraces()
            .flat_map(|trace| trace.frames.iter())
            .filter_map(|frame| frame.instruction_addr.as_deref())
            .filter_map(crate::images::parse_hex_addr)
            .collect();
        if addresses.is_empty() {
            return;
        }
        let images = crate::images::images_covering(addresses);
        crate::native::images_seen(&images);
        event
            .debug_meta
            .get_or_insert_with(DebugMeta::default)
            .images = images.images().to_vec();
    }

    fn before_send(&self, event: Event) -> Option<Event> {
        let Some(callback) = &self.options.before_send else {
            return Some(event);
        };
        let id = event.event_id;
        let backup = event.clone();
        match call_user_callback(|| callback(event)) {
            Ok(Some(event)) => Some(event),
            Ok(None) => {
                self.drop_event(id, DropReason::BeforeSend, "before_send returned None");
                None
            }
            Err(_) => {
                sdk_warn!(
                    "before_send panicked on event {}; it is sent unchanged",
                    id.simple()
                );
                Some(backup)
            }
        }
    }

    /// Serializes the event into an envelope and delivers it. Returns whether it is safe:
    /// kept in the outbox or answered for good by the server.
    pub(crate) fn send_event(&self, event: &Event) -> bool {
        let envelope = self.envelope_for(event);
        sdk_debug!("sending event {}", event.event_id.simple());
        self.sender.lock().send(&envelope, &self.drops)
    }

    fn envelope_for(&self, event: &Event) -> Envelope {
        let mut envelope = Envelope::from_event(event);
        if let Some(dsn) = &self.dsn {
            envelope.set_dsn(dsn);
        }
        envelope.set_sdk(crate::SDK_NAME, crate::VERSION);
        envelope.set_sent_at(SystemTime::now());
        envelope
    }

    /// Sends what waits in the outbox; returns when to try again.
    fn retry_pending(&self) -> Option<Duration> {
        self.sender.lock().retry_pending(&self.drops)
    }

    /// The worker's periodic work: parked events whose window closed, a client report when
    /// due, the outbox. Returns when to come back.
    fn tick(&self) -> Option<Duration> {
        // Gathered here at start (files under /etc, /proc and /sys: milliseconds) rather
        // than by `init` on the application's thread or by the first event, which may be a
        // panic whose thread waits for it.
        self.host();
        let parked = self.release_parked(false);
        self.send_client_report(false);
        let report = self.reports.next_due(&self.drops);
        let retry = self.retry_pending();
        [parked, report, retry].into_iter().flatten().min()
    }

    /// Sends the parked events whose window closed (all when `force`); returns how long
    /// until the next window closes.
    fn release_parked(&self, force: bool) -> Option<Duration> {
        let (events, next) = self.noise.release(force);
        for event in &events {
            self.send_event(event);
        }
        next
    }

    /// Sends the counts of dropped events, when there are some and a report is due.
    fn send_client_report(&self, force: bool) {
        let Some(payload) = self.reports.take(&self.drops, force) else {
            return;
        };
        let mut envelope = Envelope::new();
        envelope.add_item("client_report", payload);
        if let Some(dsn) = &self.dsn {
            envelope.set_dsn(dsn);
        }
        envelope.set_sdk(crate::SDK_NAME, crate::VERSION);
        envelope.set_sent_at(SystemTime::now());
        sdk_debug!("sending a client report");
        // A report that fails is not counted as a drop: that would only make another one.
        self.sender.lock().send(&envelope, &DropCounters::default());
    }
}

/// Runs a user callback, catching its panic: the SDK keeps the original data instead. The
/// panic is not reported as an event of its own (the panic hook's previous hook still
/// prints it), since the SDK has handled it.
fn call_user_callback<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    #[cfg(feature = "panic")]
    return sentry_panic::catch_unwind_unreported(std::panic::AssertUnwindSafe(f));
    #[cfg(not(feature = "panic"))]
    return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
}

/// The `sdk` block of every event.
fn sdk_info() -> ClientSdkInfo {
    let mut integrations = Vec::new();
    if cfg!(feature = "panic") {
        integrations.push("panic".to_owned());
    }
    if cfg!(feature = "native-crash") {
        integrations.push("native-crash".to_owned());
    }
    ClientSdkInfo {
        name: crate::SDK_NAME.into(),
        version: crate::VERSION.into(),
        integrations,
    }
}
