//! Delivery that loses nothing: every envelope goes to the outbox before the network, and
//! leaves it only when the server accepted it or refused it for good.
//!
//! Runs on the worker thread. While the server is unreachable the sender backs off
//! (1 s, doubling up to 5 min) and only stores new envelopes; when the backoff ends it sends
//! the outbox oldest first. What the previous run of the program left is sent the same way.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::debug::{sdk_debug, sdk_warn};
use crate::envelope::Envelope;
use crate::outbox::{Entry, Limits, Outbox};
use crate::rate_limits::{RateLimits, category_of};
use crate::stats::{DropCounters, DropReason};
use crate::transport::{Delivery, Transport};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// The transport, the outbox and the backoff state, owned by the worker.
pub(crate) struct Sender {
    transport: Box<dyn Transport>,
    outbox: Arc<SharedOutbox>,
    backoff: Option<(Instant, Duration)>,
    limits: RateLimits,
    /// Set when the client's shutdown time is nearly up: from then on envelopes only go to
    /// the outbox, which is fast, so everything still queued is kept for the next start
    /// instead of waiting on the network.
    closing: Arc<AtomicBool>,
}

/// The outbox, opened at its first use by whichever thread needs it first: the worker, or
/// a panicking thread that puts its event on disk itself because the worker may be busy
/// (see `Client::keep_complete`). `init` does no disk work.
pub(crate) struct SharedOutbox {
    database: Option<PathBuf>,
    /// `None` inside after a failed open: the SDK then sends without a copy on disk.
    opened: OnceLock<Option<Outbox>>,
    /// Whether a failed write was already reported on stderr.
    warned: AtomicBool,
    /// Cleared when the client starts shutting down (see [`SharedOutbox::stop_spares`]).
    spares: AtomicBool,
}

impl SharedOutbox {
    /// An outbox under `database`, or none.
    pub(crate) fn new(database: Option<PathBuf>) -> Self {
        SharedOutbox {
            database,
            opened: OnceLock::new(),
            warned: AtomicBool::new(false),
            spares: AtomicBool::new(true),
        }
    }

    /// An outbox whose run directory `init` already created (for the crash handler, which
    /// needs it at once); it adopts what earlier runs left at its first use.
    pub(crate) fn created(outbox: Outbox) -> Self {
        SharedOutbox {
            database: None,
            opened: OnceLock::from(Some(outbox)),
            warned: AtomicBool::new(false),
            spares: AtomicBool::new(true),
        }
    }

    /// The outbox, opened on first use (adopting what earlier runs left).
    pub(crate) fn get(&self) -> Option<&Outbox> {
        let outbox = self
            .opened
            .get_or_init(|| open_outbox(self.database.as_deref()?))
            .as_ref()?;
        // Only the first call adopts; later ones cost one atomic load.
        if let Err(error) = outbox.adopt() {
            sdk_debug!(
                "outbox: could not index {}: {error}",
                outbox.root().display()
            );
        }
        Some(outbox)
    }

    /// No spare file is made from now on: the client is shutting down, and a spare made now
    /// would be created and deleted again within the shutdown (two file system operations
    /// on a short program's critical path). A store without a spare creates its file.
    pub(crate) fn stop_spares(&self) {
        self.spares.store(false, Ordering::Release);
    }

    /// Makes a spare file for the next store (see [`Outbox::prepare_spare`]) unless the
    /// client is shutting down.
    fn prepare_spare(&self, outbox: &Outbox) {
        if self.spares.load(Ordering::Acquire) {
            outbox.prepare_spare();
        }
    }

    /// Stores the envelope on disk; `None` when there is no outbox or writing failed.
    /// Envelopes evicted to make room are counted as dropped.
    pub(crate) fn keep(&self, envelope: &Envelope, drops: &DropCounters) -> Option<Entry> {
        let outbox = self.get()?;
        let stored = outbox.store(&envelope.to_bytes());
        self.finish_write(outbox, stored, drops)
    }

    /// Stores the envelope on disk without sending it from this process (see
    /// [`Outbox::store_held`]); `None` when there is no outbox or writing failed.
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn keep_held(&self, envelope: &Envelope) -> Option<Entry> {
        let outbox = self.get()?;
        let stored = outbox
            .store_held(&envelope.to_bytes())
            .map(|e| (e, Vec::new()));
        self.finish_write(outbox, stored, &DropCounters::default())
    }

    /// Puts `envelope` in the place of the held `held` and makes it pending; when that
    /// fails, the held copy is made pending as it is, so the event is still sent.
    #[cfg_attr(not(feature = "panic"), allow(dead_code))]
    pub(crate) fn replace_held(&self, held: &Entry, envelope: &Envelope, drops: &DropCounters) {
        let Some(outbox) = self.get() else { return };
        let replaced = outbox.replace_held(held, &envelope.to_bytes());
        if self.finish_write(outbox, replaced, drops).is_none() {
            self.note_evicted(outbox.release_held(held), drops);
        }
    }

    fn finish_write(
        &self,
        outbox: &Outbox,
        stored: std::io::Result<(Entry, Vec<Entry>)>,
        drops: &DropCounters,
    ) -> Option<Entry> {
        match stored {
            Ok((entry, evicted)) => {
                self.note_evicted(evicted, drops);
                Some(entry)
            }
            Err(error) => {
                // Said once on stderr whatever `debug` is (a full or read-only disk is the
                // user's to fix), then only in the debug log.
                if !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    sdk_warn!(
                        "could not keep an event in the outbox at {} ({error}); events are sent without a copy on disk and are lost if they cannot be sent",
                        outbox.root().display()
                    );
                } else {
                    sdk_debug!(
                        "could not keep the envelope in the outbox at {}: {error}",
                        outbox.root().display()
                    );
                }
                None
            }
        }
    }

    fn note_evicted(&self, evicted: Vec<Entry>, drops: &DropCounters) {
        for old in evicted {
            drops.record(DropReason::CacheOverflow);
            sdk_debug!("outbox full: evicted {} (cache_overflow)", old.name());
        }
    }
}

fn open_outbox(database: &std::path::Path) -> Option<Outbox> {
    match Outbox::open(database, Limits::default()) {
        Ok(outbox) => {
            let waiting = outbox.pending().len();
            sdk_debug!(
                "outbox at {}: {waiting} envelope(s) waiting",
                database.display()
            );
            Some(outbox)
        }
        Err(error) => {
            sdk_warn!(
                "cannot use {} to keep undelivered events ({error}); they will be lost if they cannot be sent",
                database.display()
            );
            None
        }
    }
}

/// How one attempt ended, for the caller's bookkeeping.
enum Attempt {
    Done,
    Later,
}

impl Sender {
    /// A sender keeping envelopes in `outbox`; `closing` is raised by the client's close.
    pub(crate) fn new(
        transport: Box<dyn Transport>,
        outbox: Arc<SharedOutbox>,
        closing: Arc<AtomicBool>,
    ) -> Self {
        Sender {
            transport,
            outbox,
            backoff: None,
            limits: RateLimits::default(),
            closing,
        }
    }

    /// Keeps an envelope in the outbox and sends it unless the server is backed off.
    /// Returns whether the envelope is safe: kept in the outbox, or answered for good by the
    /// server (so that its source, such as a crash report, may be deleted).
    pub(crate) fn send(&mut self, envelope: &Envelope, drops: &DropCounters) -> bool {
        if !envelope.items().is_empty()
            && envelope
                .items()
                .iter()
                .all(|item| self.is_limited(item.item_type()))
        {
            // Everything in it is rate limited: count it without touching the disk.
            for item in envelope.items() {
                drops.record(DropReason::RateLimitBackoff);
                sdk_debug!(
                    "{} dropped (ratelimit_backoff): rate limit in force",
                    item.item_type()
                );
            }
            // Not safe: a crash report behind it is kept for a later start.
            return false;
        }
        let entry = self.keep(envelope, drops);
        if self.closing.load(Ordering::Acquire) {
            if entry.is_none() {
                drops.record(DropReason::NetworkError);
                sdk_debug!("envelope dropped (network_error): shutting down and no outbox");
            }
            return entry.is_some();
        }
        if self.backing_off() {
            if entry.is_none() {
                drops.record(DropReason::NetworkError);
                sdk_debug!("envelope dropped (network_error): server backed off and no outbox");
            }
            return entry.is_some();
        }
        match self.attempt(envelope, entry.as_ref(), drops) {
            Attempt::Done => true,
            Attempt::Later if entry.is_none() => {
                drops.record(DropReason::NetworkError);
                false
            }
            Attempt::Later => true,
        }
    }

    /// Stores the envelope on disk; `None` when there is no outbox or writing failed.
    fn keep(&mut self, envelope: &Envelope, drops: &DropCounters) -> Option<Entry> {
        self.outbox.keep(envelope, drops)
    }

    fn backing_off(&self) -> bool {
        self.backoff
            .is_some_and(|(until, _)| Instant::now() < until)
    }

    /// One delivery attempt; updates the outbox and the backoff.
    fn attempt(
        &mut self,
        envelope: &Envelope,
        entry: Option<&Entry>,
        drops: &DropCounters,
    ) -> Attempt {
        let allowed;
        let mut envelope = envelope;
        if envelope
            .items()
            .iter()
            .any(|item| self.is_limited(item.item_type()))
        {
            let mut kept = envelope.clone();
            kept.retain_items(|item| {
                let limited = self.is_limited(item.item_type());
                if limited {
                    drops.record(DropReason::RateLimitBackoff);
                    sdk_debug!(
                        "{} item dropped (ratelimit_backoff): the server's rate limit is in force",
                        item.item_type()
                    );
                }
                !limited
            });
            if kept.items().is_empty() {
                self.forget(entry);
                return Attempt::Done;
            }
            allowed = kept;
            envelope = &allowed;
        }
        let response = self.transport.send(envelope);
        self.limits.update(
            response.status,
            response.rate_limits.as_deref(),
            response.retry_after.as_deref(),
        );
        if response.status == Some(429) {
            // Rate limited: sending it again would only be refused again. Drop and count.
            self.forget(entry);
            for _ in envelope.items() {
                drops.record(DropReason::RateLimitBackoff);
            }
            sdk_debug!("envelope dropped (ratelimit_backoff): the server answered 429");
            return Attempt::Done;
        }
        match response.delivery {
            Delivery::Accepted => {
                self.backoff = None;
                self.forget(entry);
                sdk_debug!("envelope delivered");
                Attempt::Done
            }
            Delivery::Rejected(why) => {
                self.backoff = None;
                self.forget(entry);
                drops.record(DropReason::SendError);
                sdk_debug!("envelope dropped (send_error): the server refused it: {why}");
                Attempt::Done
            }
            Delivery::Retry(why) => {
                let next = self
                    .backoff
                    .map_or(FIRST_BACKOFF, |(_, last)| (last * 2).min(MAX_BACKOFF));
                self.backoff = Some((Instant::now() + next, next));
                let kept = if entry.is_some() {
                    "kept in the outbox"
                } else {
                    "not kept"
                };
                sdk_debug!("envelope not delivered ({why}); {kept}; next attempt in {next:?}");
                Attempt::Later
            }
        }
    }

    fn is_limited(&self, item_type: &str) -> bool {
        self.limits.limited_for(category_of(item_type)).is_some()
    }

    fn forget(&self, entry: Option<&Entry>) {
        if let (Some(outbox), Some(entry)) = (self.outbox.get(), entry) {
            outbox.remove(entry);
        }
    }

    /// Sends what waits in the outbox, oldest first, until it is empty or the server fails
    /// again. Returns when to call again: `None` when nothing waits.
    pub(crate) fn retry_pending(&mut self, drops: &DropCounters) -> Option<Duration> {
        let shared = Arc::clone(&self.outbox);
        let outbox = shared.get();
        if self.closing.load(Ordering::Acquire) {
            return None;
        }
        if let Some(wait) = self.backoff_left() {
            return Some(wait);
        }
        let outbox = outbox?;
        // Before sending: the next panic may come while this pass waits on the network.
        shared.prepare_spare(outbox);
        for entry in outbox.pending() {
            let envelope = match outbox
                .read(&entry)
                .map_err(|e| e.to_string())
                .and_then(|bytes| Envelope::parse(&bytes).map_err(|e| e.to_string()))
            {
                Ok(envelope) => envelope,
                Err(why) => {
                    sdk_debug!(
                        "outbox file {} is unreadable ({why}); set aside",
                        entry.name()
                    );
                    outbox.set_aside(&entry);
                    continue;
                }
            };
            if let Attempt::Later = self.attempt(&envelope, Some(&entry), drops) {
                return self.backoff_left();
            }
        }
        None
    }

    fn backoff_left(&self) -> Option<Duration> {
        let (until, _) = self.backoff?;
        until
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::MemoryTransport;

    fn temp_files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".tmp")
            })
            .count()
    }

    #[test]
    fn a_pass_makes_a_spare_until_shutdown_begins() {
        let db = std::env::temp_dir().join(format!("sentry-sender-spare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&db);
        let shared = Arc::new(SharedOutbox::created(
            Outbox::create(&db, Limits::default()).unwrap(),
        ));
        let run_dir = shared.get().unwrap().run_dir().to_owned();
        let (transport, sent) = MemoryTransport::new();
        let mut sender = Sender::new(
            Box::new(transport),
            Arc::clone(&shared),
            Arc::new(AtomicBool::new(false)),
        );
        let drops = DropCounters::default();
        sender.retry_pending(&drops);
        assert_eq!(temp_files(&run_dir), 1, "a spare for the next store");

        shared.stop_spares();
        let mut envelope = Envelope::new();
        envelope.add_item("event", br#"{"message":"bye"}"#.to_vec());
        assert!(sender.send(&envelope, &drops));
        sender.retry_pending(&drops);
        assert_eq!(sent.len(), 1);
        assert_eq!(
            temp_files(&run_dir),
            0,
            "the spare was used and none made since"
        );
        drop((sender, shared));
        std::fs::remove_dir_all(&db).unwrap();
    }
}
