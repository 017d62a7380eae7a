//! The loop guard: the same error raised many times in a short time is sent once per time
//! window, with the number of repeats that were held back.
//!
//! It runs on the calling thread, before the event is queued, so a loop that raises the
//! same error a thousand times a second costs a hash and a short lock per repeat, not a
//! thousand trips through the worker. "The same" is decided cheaply: a hash of the
//! message, the outermost exception's type and value, the fingerprint and, when a stack
//! trace was captured, its unresolved instruction addresses (so the same message raised
//! from two places is two errors).
//!
//! The first occurrence opens a window; repeats inside the window are held back and
//! counted. The worker keeps the first occurrence until the window closes (its time is up,
//! or a flush or shutdown) and then sends it with the count. A repeat after the window
//! opens the next one. Windows are measured with event timestamps, the clock the worker's
//! dedupe uses too.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::protocol::Event;

/// How many distinct errors the guard tracks at once; the oldest window is forgotten first.
/// An evicted window still reports its count, through the event that opened it.
const SLOTS: usize = 64;

/// One time window of one error.
#[derive(Debug)]
pub(crate) struct Window {
    /// When it opened, as an event timestamp.
    opened: f64,
    /// When it closes, as an event timestamp.
    pub(crate) closes_at: f64,
    /// Repeats held back so far; changed only under the guard's lock.
    held: AtomicU64,
    /// Set when the worker sent the window's event; later repeats open a new window.
    closed: AtomicBool,
}

/// What the guard decided about one occurrence.
#[derive(Debug)]
pub(crate) enum Admission {
    /// The first occurrence in a new window: send it, with the window's count when it closes.
    Open(Arc<Window>),
    /// A repeat inside an open window: held back. Carries how many are held so far.
    Held(u64),
}

#[derive(Debug)]
struct Slot {
    key: u64,
    window: Arc<Window>,
}

/// The loop guard of a client.
#[derive(Debug)]
pub(crate) struct LoopGuard {
    window_secs: f64,
    slots: Mutex<Vec<Slot>>,
}

impl LoopGuard {
    pub(crate) fn new(window: std::time::Duration) -> Self {
        LoopGuard {
            window_secs: window.as_secs_f64(),
            slots: Mutex::new(Vec::with_capacity(SLOTS)),
        }
    }

    /// Decides whether the occurrence with `key` at event time `now` is sent or held.
    pub(crate) fn admit(&self, key: u64, now: f64) -> Admission {
        let mut slots = self.slots.lock();
        let open = |now: f64| {
            Arc::new(Window {
                opened: now,
                closes_at: now + self.window_secs,
                held: AtomicU64::new(0),
                closed: AtomicBool::new(false),
            })
        };
        if let Some(slot) = slots.iter_mut().find(|slot| slot.key == key) {
            let window = &slot.window;
            // A clock that went backwards opens a new window rather than holding forever.
            let inside = now >= window.opened && now < window.closes_at;
            if inside && !window.closed.load(Ordering::Relaxed) {
                let held = window.held.load(Ordering::Relaxed) + 1;
                window.held.store(held, Ordering::Relaxed);
                return Admission::Held(held);
            }
            slot.window = open(now);
            return Admission::Open(Arc::clone(&slot.window));
        }
        let window = open(now);
        let slot = Slot {
            key,
            window: Arc::clone(&window),
        };
        if slots.len() < SLOTS {
            slots.push(slot);
        } else if let Some(oldest) = slots
            .iter_mut()
            .min_by(|a, b| a.window.opened.total_cmp(&b.window.opened))
        {
            *oldest = slot;
        }
        Admission::Open(window)
    }

    /// Closes `window` and returns how many repeats it held back. Taken under the guard's
    /// lock so that no repeat is counted into a window after its count was read.
    pub(crate) fn close(&self, window: &Window) -> u64 {
        let _slots = self.slots.lock();
        window.closed.store(true, Ordering::Relaxed);
        window.held.load(Ordering::Relaxed)
    }
}

/// The cheap identity of an event on the calling thread: message, outermost exception
/// type and value, fingerprint (the event's own, else the scope's), and the captured
/// instruction addresses.
pub(crate) fn key(
    event: &Event,
    scope_fingerprint: Option<&[String]>,
    addresses: Option<&[u64]>,
) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    event.message.hash(&mut hasher);
    if let Some(outermost) = event.exception.as_ref().and_then(|e| e.values.last()) {
        outermost.ty.hash(&mut hasher);
        outermost.value.hash(&mut hasher);
    }
    if event.fingerprint.is_empty() {
        scope_fingerprint.hash(&mut hasher);
    } else {
        event.fingerprint.hash(&mut hasher);
    }
    addresses.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn repeats_inside_the_window_are_held_and_counted() {
        let guard = LoopGuard::new(Duration::from_secs(1));
        let Admission::Open(first) = guard.admit(7, 100.0) else {
            panic!("the first occurrence opens a window");
        };
        for n in 1..=999 {
            match guard.admit(7, 100.0 + n as f64 / 2000.0) {
                Admission::Held(held) => assert_eq!(held, n),
                Admission::Open(_) => panic!("repeat {n} opened a window"),
            }
        }
        // Another error is not held by this one's window.
        assert!(matches!(guard.admit(8, 100.1), Admission::Open(_)));
        assert_eq!(guard.close(&first), 999);
        // Once closed, the next occurrence opens a new window even inside the old one.
        assert!(matches!(guard.admit(7, 100.6), Admission::Open(_)));
    }

    #[test]
    fn the_next_window_opens_when_the_time_is_up() {
        let guard = LoopGuard::new(Duration::from_millis(500));
        assert!(matches!(guard.admit(1, 10.0), Admission::Open(_)));
        assert!(matches!(guard.admit(1, 10.4), Admission::Held(1)));
        assert!(matches!(guard.admit(1, 10.5), Admission::Open(_)));
        // A clock set back does not hold the error until it catches up.
        assert!(matches!(guard.admit(1, 3.0), Admission::Open(_)));
    }

    #[test]
    fn an_evicted_window_keeps_its_count() {
        let guard = LoopGuard::new(Duration::from_secs(60));
        let Admission::Open(first) = guard.admit(0, 1.0) else {
            panic!()
        };
        assert!(matches!(guard.admit(0, 1.1), Admission::Held(1)));
        for key in 1..=SLOTS as u64 {
            assert!(matches!(guard.admit(key, 2.0), Admission::Open(_)));
        }
        // Key 0 was the oldest and was evicted: it opens a new window ...
        assert!(matches!(guard.admit(0, 3.0), Admission::Open(_)));
        // ... and the old window still reports what it held.
        assert_eq!(guard.close(&first), 1);
    }

    #[test]
    fn keys_tell_errors_apart() {
        let a = Event {
            message: Some("a".into()),
            ..Event::default()
        };
        let b = Event {
            message: Some("b".into()),
            ..Event::default()
        };
        assert_eq!(key(&a, None, None), key(&a.clone(), None, None));
        assert_ne!(key(&a, None, None), key(&b, None, None));
        assert_ne!(key(&a, None, Some(&[1, 2])), key(&a, None, Some(&[1, 3])));
        let scoped = ["db".to_owned()];
        assert_ne!(key(&a, None, None), key(&a, Some(&scoped), None));
    }
}
