//! The log kept in the crash handler's ring of breadcrumb slots: one copy per breadcrumb.
//!
//! With the crash handler installed, every breadcrumb must reach its ring anyway, so that a
//! crash report carries the trail. Keeping a second list for events cost a second lock and a
//! second copy on every [`add_breadcrumb`](crate::add_breadcrumb), the SDK's hottest call;
//! here the ring is the only list, and a capture reads the ring back
//! (`sentry_native_crash::read_breadcrumbs`).
//!
//! A slot holds 1 KiB; the rare larger record goes to the ring as its gist (shortened texts,
//! no data, see [`record::encode`]) and whole into a side list here, by its number in the
//! ring, so that events still get it whole.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use super::Records;
use super::record;
use crate::native;
use crate::protocol::Breadcrumb;

/// Records too large for a slot, by their number in the ring, oldest first.
static LARGE: Mutex<VecDeque<(u64, Vec<u8>)>> = Mutex::new(VecDeque::new());
/// Whether [`LARGE`] may hold any: spares a capture its lock in the usual case.
static ANY_LARGE: AtomicBool = AtomicBool::new(false);

/// Appends `crumb` to the ring; false when there is no ring to take it.
pub(super) fn push(crumb: &Breadcrumb) -> bool {
    thread_local! {
        static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }
    let pushed = BUF.try_with(|buf| {
        let Ok(mut buf) = buf.try_borrow_mut() else {
            return push_record(crumb, &mut Vec::new());
        };
        push_record(crumb, &mut buf)
    });
    // A thread that is exiting: without its buffer.
    pushed.unwrap_or_else(|_| push_record(crumb, &mut Vec::new()))
}

fn push_record(crumb: &Breadcrumb, buf: &mut Vec<u8>) -> bool {
    record::encode(crumb, usize::MAX, buf);
    push_encoded(buf, || crumb.clone())
}

/// Appends an encoded record; `crumb` gives its breadcrumb when a gist must be made.
pub(super) fn push_encoded(record: &[u8], crumb: impl FnOnce() -> Breadcrumb) -> bool {
    let Some(pushed) = push_to_ring(record, crumb) else {
        return false;
    };
    if let Pushed::Gist { number, slots } = pushed {
        let mut large = LARGE.lock();
        // Those overwritten in the ring since are of no use any more.
        let oldest_kept = (number + 1).saturating_sub(slots as u64);
        while large.front().is_some_and(|(n, _)| *n < oldest_kept) {
            large.pop_front();
        }
        large.push_back((number, record.to_vec()));
        ANY_LARGE.store(true, Ordering::Release);
    }
    true
}

/// How a record went into the crash handler's ring.
pub(super) enum Pushed {
    Whole,
    /// As its gist, numbered `number` in a ring of `slots`.
    Gist {
        number: u64,
        slots: usize,
    },
}

/// Gives the crash handler's ring `record`, or the gist of `crumb` when the record is larger
/// than a slot. `None` without a ring. The one way records reach the ring: the locked log
/// mirrors its records through it too.
pub(super) fn push_to_ring(record: &[u8], crumb: impl FnOnce() -> Breadcrumb) -> Option<Pushed> {
    // Usually it fits a slot: no need to ask the ring's size first.
    if native::ring_push(record).is_some() {
        return Some(Pushed::Whole);
    }
    let (slots, slot_bytes) = native::ring_capacity()?;
    if record.len() <= slot_bytes {
        // It fits but was refused: there is no ring.
        return None;
    }
    let mut gist = Vec::new();
    record::encode(&crumb(), slot_bytes, &mut gist);
    let number = native::ring_push(&gist)?;
    Some(Pushed::Gist { number, slots })
}

/// Forgets the large records (the ring itself is cleared by the caller).
pub(super) fn clear_large() {
    LARGE.lock().clear();
    ANY_LARGE.store(false, Ordering::Release);
}

/// A copy of the newest `max` breadcrumbs in the ring, large ones whole.
pub(super) fn snapshot(max: usize) -> Records {
    let large = ANY_LARGE.load(Ordering::Acquire).then(|| LARGE.lock());
    let mut records = Records::builder(0);
    native::ring_read(|number, gist| {
        let whole = large.as_ref().and_then(|large| {
            let at = large.binary_search_by_key(&number, |(n, _)| *n).ok()?;
            Some(large[at].1.as_slice())
        });
        records.push(whole.unwrap_or(gist));
    });
    drop(large);
    let mut records = records.build();
    records.drop_oldest(records.len().saturating_sub(max));
    records
}
