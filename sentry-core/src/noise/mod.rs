//! Noise control: what keeps an application's error stream useful and safe to send.
//!
//! Each step runs where it costs least:
//!
//! | step | where | module |
//! |---|---|---|
//! | `ignore_errors` | calling thread, before the queue | [`ignore`] |
//! | loop guard (repeats of one error within `repeat_window`) | calling thread, before the queue | [`loop_guard`] |
//! | `allow_urls` / `deny_urls` | worker, once frames are resolved | [`urls`] |
//! | dedupe (identical to the previous event, frames included) | worker, before `before_send` | [`dedupe`] |
//! | personal data of the request, unless `send_default_pii` | worker, after `before_send` | [`request`] |
//! | scrubbing of sensitive keys and secret shapes | worker, after `before_send` | [`scrub`], [`secrets`], [`request`] |
//! | size limits | worker, last | [`limits`] |
//!
//! An event the loop guard let through opens a time window; the worker keeps it
//! ("parked") until the window closes, then sends it with `extra.repeat_count`, the number
//! of repeats held back in the window. A flush or shutdown closes every window at once.
//! Every dropped event is counted under [`DropReason::EventProcessor`] and logged with its
//! reason when `debug` is on.
//!
//! [`DropReason::EventProcessor`]: crate::DropReason::EventProcessor

pub(crate) mod dedupe;
pub(crate) mod ignore;
pub(crate) mod limits;
pub(crate) mod loop_guard;
pub(crate) mod patterns;
pub(crate) mod request;
pub(crate) mod scrub;
pub(crate) mod secrets;
pub(crate) mod urls;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::options::ClientOptions;
use crate::protocol::{Event, Value, timestamp_now};

use self::dedupe::{Dedupe, Verdict};
use self::ignore::IgnoreErrors;
use self::loop_guard::{Admission, LoopGuard, Window};
use self::patterns::Pattern;
use self::scrub::Scrubber;
use self::urls::UrlFilter;

/// The key in `extra` that carries how many repeats of the event were held back.
pub const REPEAT_COUNT_KEY: &str = "repeat_count";

/// Why an event was dropped; formatted only when the debug log is on.
#[derive(Debug)]
pub(crate) enum Rejection<'a> {
    Ignored(&'a Pattern),
    Repeat { held: u64 },
    Duplicate { repeats: u64 },
    Url(String),
}

impl fmt::Display for Rejection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Ignored(pattern) => write!(f, "ignore_errors {pattern} matches"),
            Rejection::Repeat { held } => write!(
                f,
                "a repeat inside the loop guard's window ({held} held back so far)"
            ),
            Rejection::Duplicate { repeats } => write!(
                f,
                "identical to the previous event ({repeats} dropped so far)"
            ),
            Rejection::Url(why) => f.write_str(why),
        }
    }
}

/// An event kept until its window closes.
struct Parked {
    event: Event,
    window: Arc<Window>,
}

/// The noise control of one client.
pub(crate) struct Noise {
    ignore: IgnoreErrors,
    urls: UrlFilter,
    loop_guard: Option<LoopGuard>,
    dedupe: Option<Dedupe>,
    scrubber: Option<Scrubber>,
    send_default_pii: bool,
    parked: Mutex<Vec<Parked>>,
    /// The most events parked at once; beyond it the oldest is sent early, so that many
    /// distinct errors cannot grow memory without bound.
    max_parked: usize,
    /// Until when nothing is parked: set by a flush or shutdown, so that events still
    /// queued behind a full queue when it began are sent too, not parked after it.
    forced_until: Mutex<Option<Instant>>,
    /// Set by shutdown, for good: an event the worker reaches after the shutdown's wait
    /// ended (it was queued behind a full queue) must still go to the outbox, not be parked
    /// in memory where nothing would ever release it.
    closed: AtomicBool,
}

impl Noise {
    pub(crate) fn new(options: &ClientOptions) -> Self {
        Noise {
            ignore: IgnoreErrors::new(&options.ignore_errors),
            urls: UrlFilter::new(&options.allow_urls, &options.deny_urls),
            loop_guard: options
                .dedupe
                .then(|| LoopGuard::new(options.repeat_window)),
            dedupe: options.dedupe.then(|| Dedupe::new(options.repeat_window)),
            scrubber: options
                .scrub_data
                .then(|| Scrubber::new(&options.sensitive_keys, &options.scrub_patterns)),
            send_default_pii: options.send_default_pii,
            parked: Mutex::new(Vec::new()),
            max_parked: options.queue_size.max(1),
            forced_until: Mutex::new(None),
            closed: AtomicBool::new(false),
        }
    }

    /// The calling thread's checks. `Ok` carries the window the event opened, if the loop
    /// guard is on; the worker parks the event until it closes.
    pub(crate) fn admit(
        &self,
        event: &Event,
        scope_fingerprint: Option<&[String]>,
        addresses: Option<&[u64]>,
    ) -> Result<Option<Arc<Window>>, Rejection<'_>> {
        if let Some(pattern) = self.ignore.matching(event) {
            return Err(Rejection::Ignored(pattern));
        }
        let Some(guard) = &self.loop_guard else {
            return Ok(None);
        };
        let key = loop_guard::key(event, scope_fingerprint, addresses);
        match guard.admit(key, event.timestamp) {
            Admission::Open(window) => Ok(Some(window)),
            Admission::Held(held) => Err(Rejection::Repeat { held }),
        }
    }

    /// `ignore_errors` alone, for events that did not come through the calling thread's
    /// checks (the panic path prepares events itself).
    pub(crate) fn ignored(&self, event: &Event) -> Option<Rejection<'_>> {
        self.ignore.matching(event).map(Rejection::Ignored)
    }

    /// The worker's filters, once the scope is merged and frames are resolved.
    pub(crate) fn filter_prepared(&self, event: &mut Event) -> Result<(), Rejection<'_>> {
        if let Some(why) = self.urls.rejects(event) {
            return Err(Rejection::Url(why));
        }
        if let Some(dedupe) = &self.dedupe {
            match dedupe.check(event) {
                Verdict::Drop { repeats } => return Err(Rejection::Duplicate { repeats }),
                Verdict::Keep { repeats } => add_repeats(event, repeats),
            }
        }
        Ok(())
    }

    /// Personal data, scrubbing and size limits, the last changes before serialization.
    pub(crate) fn finish(&self, event: &mut Event) {
        if !self.send_default_pii {
            request::strip_pii(event);
        }
        if let Some(scrubber) = &self.scrubber {
            scrubber.scrub_event(event);
        }
        limits::apply(event);
    }

    /// Makes every window close as soon as possible for `duration`: for a flush or
    /// shutdown, which must send what was captured before it.
    pub(crate) fn force_for(&self, duration: Duration) {
        *self.forced_until.lock() = Instant::now().checked_add(duration);
    }

    /// Closes every window from now on, for good: for shutdown.
    pub(crate) fn stop_parking(&self) {
        self.closed.store(true, Ordering::Release);
    }

    fn forcing(&self) -> bool {
        self.closed.load(Ordering::Acquire)
            || self
                .forced_until
                .lock()
                .is_some_and(|until| Instant::now() < until)
    }

    /// Keeps `event` until `window` closes. Returns an event to send now: this one during
    /// a flush, or the oldest parked one, with its count so far, when too many are parked.
    pub(crate) fn park(&self, event: Event, window: Arc<Window>) -> Option<Event> {
        if self.forcing() {
            return Some(self.closed(event, &window));
        }
        crate::debug::sdk_debug!(
            "event {} is sent when its repeat window closes",
            event.event_id.simple()
        );
        let mut parked = self.parked.lock();
        parked.push(Parked { event, window });
        if parked.len() <= self.max_parked {
            return None;
        }
        let Parked { event, window } = parked.remove(0);
        Some(self.closed(event, &window))
    }

    /// `event` with the repeat count of its window, which is closed.
    fn closed(&self, mut event: Event, window: &Window) -> Event {
        if let Some(guard) = &self.loop_guard {
            add_repeats(&mut event, guard.close(window));
        }
        event
    }

    /// The parked events whose window has closed (all of them when `force`), each with its
    /// repeat count, and how long until the next window closes.
    pub(crate) fn release(&self, force: bool) -> (Vec<Event>, Option<Duration>) {
        let mut parked = self.parked.lock();
        if parked.is_empty() {
            return (Vec::new(), None);
        }
        let now = timestamp_now();
        let force = force || self.forcing();
        let mut released = Vec::new();
        let mut next: Option<f64> = None;
        let mut index = 0;
        while index < parked.len() {
            let closes_at = parked[index].window.closes_at;
            if force || closes_at <= now {
                let Parked { event, window } = parked.remove(index);
                released.push(self.closed(event, &window));
            } else {
                next = Some(next.map_or(closes_at, |n| n.min(closes_at)));
                index += 1;
            }
        }
        let wait = next.map(|at| Duration::from_secs_f64((at - now).max(0.001)));
        (released, wait)
    }
}

/// Adds `repeats` to the event's `extra.repeat_count`.
fn add_repeats(event: &mut Event, repeats: u64) {
    if repeats == 0 {
        return;
    }
    let before = event
        .extra
        .get(REPEAT_COUNT_KEY)
        .and_then(Value::as_u64)
        .unwrap_or(0);
    event
        .extra
        .insert(REPEAT_COUNT_KEY.to_owned(), Value::from(before + repeats));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Event {
        Event {
            message: Some(text.into()),
            ..Event::default()
        }
    }

    #[test]
    fn a_burst_is_one_event_with_its_repeat_count() {
        let noise = Noise::new(&ClientOptions::new());
        let first = message("boom");
        let window = noise.admit(&first, None, None).unwrap().expect("a window");
        for _ in 0..999 {
            let mut repeat = message("boom");
            repeat.timestamp = first.timestamp;
            assert!(matches!(
                noise.admit(&repeat, None, None),
                Err(Rejection::Repeat { .. })
            ));
        }
        assert!(noise.park(first, window).is_none());
        let (released, next) = noise.release(false);
        assert!(released.is_empty(), "the window is still open");
        assert!(next.is_some());
        let (released, next) = noise.release(true);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].extra[REPEAT_COUNT_KEY], 999);
        assert_eq!(next, None);
    }

    #[test]
    fn too_many_parked_events_send_the_oldest_early() {
        let noise = Noise::new(&ClientOptions::new().queue_size(2));
        let mut early = Vec::new();
        for n in 0..5 {
            let event = message(&format!("error {n}"));
            let window = noise.admit(&event, None, None).unwrap().unwrap();
            early.extend(noise.park(event, window));
        }
        let messages: Vec<_> = early.iter().map(|e| e.message.clone().unwrap()).collect();
        assert_eq!(messages, ["error 0", "error 1", "error 2"]);
        assert_eq!(noise.release(true).0.len(), 2);
    }

    #[test]
    fn during_a_flush_nothing_is_parked() {
        let noise = Noise::new(&ClientOptions::new());
        noise.force_for(Duration::from_secs(5));
        let event = message("boom");
        let window = noise.admit(&event, None, None).unwrap().unwrap();
        assert!(noise.park(event, window).is_some());
        noise.force_for(Duration::ZERO);
        let event = message("bang");
        let window = noise.admit(&event, None, None).unwrap().unwrap();
        assert!(noise.park(event, window).is_none());
        // After shutdown nothing is parked any more, however long after.
        noise.stop_parking();
        let event = message("late");
        let window = noise.admit(&event, None, None).unwrap().unwrap();
        assert!(noise.park(event, window).is_some());
        assert_eq!(
            noise.release(false).0.len(),
            1,
            "what was parked before goes too"
        );
    }

    #[test]
    fn with_dedupe_off_nothing_is_held() {
        let noise = Noise::new(&ClientOptions::new().dedupe(false));
        for _ in 0..3 {
            assert!(matches!(
                noise.admit(&message("boom"), None, None),
                Ok(None)
            ));
        }
    }
}
