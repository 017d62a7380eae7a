//! The client's way for panics: events put in the outbox by the reporting thread itself,
//! before the worker's queue, so that they survive the process ending right after.
#![cfg_attr(not(feature = "panic"), allow(dead_code))]

use std::sync::Arc;
use std::time::Instant;

use uuid::Uuid;

use super::{Client, SendJob, SendPendingJob};
use crate::debug::sdk_debug;
use crate::envelope::Envelope;
use crate::outbox::Entry;
use crate::protocol::Event;
use crate::scope::Scope;
use crate::stats::DropReason;
use crate::worker::Job;

impl Client {
    /// Whether `sample_rate` keeps the event `id`; one that is left out is counted.
    pub(crate) fn sampled(&self, id: Uuid) -> bool {
        let keep = crate::random::sample(self.processor.options.sample_rate);
        if !keep {
            self.drop_event(id, DropReason::SampleRate, "sample_rate left it out");
        }
        keep
    }

    /// Captures an event (already [`sampled`](Self::sampled)) without the worker's queue,
    /// for panics: prepares it on the calling thread, keeps its envelope in the outbox, then
    /// asks the worker to send the outbox. Once this returns the event survives the process
    /// ending; [`flush`](Self::flush) waits for its delivery. Without an outbox (dry run,
    /// unusable directory) the event goes to the worker as usual. Returns the id, or nil
    /// when `before_send` or a filter dropped the event.
    ///
    /// With `held` (the event's incomplete copy, see [`keep_held`](Self::keep_held)) the
    /// complete envelope takes its place in the outbox, or it goes when the event is
    /// dropped. The envelope is sent by the worker's pass over the outbox, like those of
    /// earlier runs, and removed once accepted, so this process sends it once.
    pub(crate) fn keep_complete(&self, event: Event, scope: &Scope, held: Option<&Entry>) -> Uuid {
        let id = event.event_id;
        let Some(event) = self.processor.prepare_event(event, scope, None) else {
            sdk_debug!("dropped event {} (before_send or a filter)", id.simple());
            if let Some(held) = held {
                self.forget_kept(held);
            }
            return Uuid::nil();
        };
        let envelope = self.processor.envelope_for(&event);
        let outbox = &self.processor.outbox;
        let kept = match held {
            Some(held) => {
                outbox.replace_held(held, &envelope, &self.processor.drops);
                true
            }
            None => outbox.keep(&envelope, &self.processor.drops).is_some(),
        };
        let job: Box<dyn Job> = if kept {
            sdk_debug!("event {} kept in the outbox", id.simple());
            Box::new(SendPendingJob(Arc::clone(&self.processor)))
        } else {
            Box::new(SendJob(Arc::clone(&self.processor), event))
        };
        if let Err(why) = self.worker.submit(job) {
            // On disk it waits for the next pass or the next start; without an outbox it
            // is lost like any event the queue refuses.
            sdk_debug!(
                "event {}: the worker did not take it ({why:?})",
                id.simple()
            );
        }
        id
    }

    /// Writes an incomplete copy of a panic's event (no symbol names, no `before_send`) to
    /// the outbox without sending it: it is what the next start sends should this process
    /// end before [`keep_complete`](Self::keep_complete) replaces it. `None` without an
    /// outbox or when writing failed.
    pub(crate) fn keep_held(&self, event: Event, scope: &Scope) -> Option<Entry> {
        let envelope = self.envelope_without_callbacks(event, scope);
        self.processor.outbox.keep_held(&envelope)
    }

    /// Writes a panic's event to the outbox as it is, without symbol names and without
    /// `before_send`, when the full preparation did not finish in time. The full event, if
    /// it finishes later, has the same event id, so the server keeps only one.
    pub(crate) fn keep_fallback(&self, event: Event, scope: &Scope) -> Option<Entry> {
        let envelope = self.envelope_without_callbacks(event, scope);
        self.processor.outbox.keep(&envelope, &self.processor.drops)
    }

    /// The envelope of `event` prepared with `scope` but without user callbacks, which may
    /// not run on a panicking thread.
    fn envelope_without_callbacks(&self, event: Event, scope: &Scope) -> Envelope {
        let event = self.processor.prepare_without_callbacks(event, scope, None);
        self.processor.envelope_for(&event)
    }

    /// Removes an envelope [`keep_fallback`](Self::keep_fallback) or
    /// [`keep_held`](Self::keep_held) wrote, once a better copy of the same event is kept.
    pub(crate) fn forget_kept(&self, entry: &Entry) {
        if let Some(outbox) = self.processor.outbox.get() {
            outbox.remove(entry);
        }
    }
}

/// Waits until `deadline` for the panics whose complete event is still being prepared (see
/// `panic::helper`), so that a flush covers them; false when some are not done.
pub(super) fn wait_for_panics(deadline: Instant) -> bool {
    #[cfg(feature = "panic")]
    {
        crate::panic::wait_for_pending(deadline)
    }
    #[cfg(not(feature = "panic"))]
    {
        let _ = deadline;
        true
    }
}
