//! The process's breadcrumbs: one log of encoded records, outside the scope.
//!
//! [`add_breadcrumb`](crate::add_breadcrumb) is the SDK's hottest call: a program may leave
//! one for every request, query or log line. Kept inside the process [`Scope`], each one
//! would take the scope's write lock and copy-on-write both the scope and its breadcrumb
//! list (a shared pointer's atomic check each), then copy the breadcrumb again for the crash
//! handler. Here it is encoded once, into a reused buffer, and copied once: into the crash
//! handler's ring of breadcrumb slots when the handler runs and the ring has room for
//! `max_breadcrumbs` ([`in_ring`]), else into a log under a lock of its own ([`locked`]),
//! which then gives the handler the same record.
//!
//! Events need the breadcrumbs as they were when captured, so a capture takes a
//! [`Records`] copy of the breadcrumbs (one allocation; reused while nothing was added) and
//! the worker decodes it. The process scope links to the live log (its breadcrumbs *are* the
//! log); a scope pushed with [`with_scope`](crate::with_scope) starts from such a copy and
//! keeps its own breadcrumbs after it, which end with the scope.
//!
//! [`Scope`]: crate::scope::Scope

mod in_ring;
mod locked;
pub(crate) mod record;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use crate::protocol::Breadcrumb;

/// Whether the breadcrumbs live in the crash handler's ring ([`in_ring`]) rather than in
/// the [`locked`] log. Changed only by [`use_handler_ring`], at init.
static IN_RING: AtomicBool = AtomicBool::new(false);
/// How many of the ring's breadcrumbs events get while [`IN_RING`].
static RING_MAX: AtomicUsize = AtomicUsize::new(0);

/// Moves on every change of the [`locked`] log (written under its lock) and on every switch
/// between the two places; with the ring's own version, tells a copy whether it is still
/// current without taking a lock.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Appends `crumb`, dropping the oldest so that at most `max` (at least 1) are kept.
pub(crate) fn push(crumb: &Breadcrumb, max: usize) {
    if IN_RING.load(Ordering::Relaxed) && in_ring::push(crumb) {
        return;
    }
    locked::push(crumb, max);
}

/// Moves [`GENERATION`]: a load and a store, not a read-modify-write, since every writer
/// holds the locked log's lock.
fn bump_generation() {
    let next = GENERATION.load(Ordering::Relaxed).wrapping_add(1);
    GENERATION.store(next, Ordering::Release);
}

/// Removes every breadcrumb.
pub(crate) fn clear() {
    // Under the log's lock, so that a switch of place cannot interleave.
    let mut log = locked::lock();
    log.records.clear();
    in_ring::clear_large();
    crate::native::breadcrumbs_cleared();
    bump_generation();
}

/// Keeps the breadcrumbs in the crash handler's ring from now on if it runs and has room
/// for `max`, else in the locked log; moves those kept so far to the new place. Called by
/// every init, after the handler's setup.
///
/// A breadcrumb added by another thread while the place changes may miss the copy (it is
/// still in the crash handler's ring).
pub(crate) fn use_handler_ring(max: usize) {
    let ring_fits = crate::native::ring_capacity().is_some_and(|(slots, _)| max <= slots);
    let mut log = locked::lock();
    let was_in_ring = IN_RING.load(Ordering::Relaxed);
    RING_MAX.store(max, Ordering::Relaxed);
    match (was_in_ring, ring_fits) {
        (false, true) => {
            // The ring mirrored the log: start it again from the log's records, large ones
            // whole this time.
            crate::native::breadcrumbs_cleared();
            for record in log.records.drain(..) {
                in_ring::push_encoded(&record, || record::decode(&record).unwrap_or_default());
            }
            IN_RING.store(true, Ordering::Relaxed);
        }
        (true, false) => {
            let records = in_ring::snapshot(max);
            log.records = records.iter().map(<[u8]>::to_vec).collect();
            in_ring::clear_large();
            IN_RING.store(false, Ordering::Relaxed);
        }
        _ => {}
    }
    bump_generation();
}

/// A number that moves whenever the breadcrumbs change.
pub(crate) fn generation() -> u64 {
    GENERATION
        .load(Ordering::Acquire)
        .wrapping_add(crate::native::ring_version())
}

/// A copy of the breadcrumbs as they are now, with the [`generation`] it was taken at.
pub(crate) fn snapshot() -> (u64, Records) {
    snapshot_within(None).unwrap_or_default()
}

/// [`snapshot`], waiting at most `wait` for a lock when given (`None` past it).
pub(crate) fn snapshot_within(wait: Option<Duration>) -> Option<(u64, Records)> {
    // Loaded before the copy: a change during the copy makes the copy look outdated.
    let generation = generation();
    let records = if IN_RING.load(Ordering::Acquire) {
        in_ring::snapshot(RING_MAX.load(Ordering::Relaxed))
    } else {
        locked::snapshot_within(wait)?
    };
    Some((generation, records))
}

/// Encoded breadcrumbs, oldest first: a copy of the log, cheap to share.
#[derive(Debug, Clone, Default)]
pub(crate) struct Records {
    /// `u32` length (little-endian) and record, for each.
    bytes: Arc<[u8]>,
    /// Leading records left out (dropped to make room).
    skip: usize,
    /// Records in `bytes`, the skipped included.
    count: usize,
}

/// Assembles a [`Records`] one record at a time.
pub(crate) struct RecordsBuilder {
    bytes: Vec<u8>,
    count: usize,
}

impl RecordsBuilder {
    pub(crate) fn push(&mut self, record: &[u8]) {
        self.bytes
            .extend_from_slice(&(record.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(record);
        self.count += 1;
    }

    pub(crate) fn build(self) -> Records {
        if self.count == 0 {
            return Records::default();
        }
        Records {
            bytes: Arc::from(self.bytes),
            skip: 0,
            count: self.count,
        }
    }
}

impl Records {
    /// Starts a copy of `len` bytes: for each record, 4 and its length.
    pub(crate) fn builder(len: usize) -> RecordsBuilder {
        RecordsBuilder {
            bytes: Vec::with_capacity(len),
            count: 0,
        }
    }

    /// How many breadcrumbs.
    pub(crate) fn len(&self) -> usize {
        self.count - self.skip
    }

    /// Leaves out the oldest `n`.
    pub(crate) fn drop_oldest(&mut self, n: usize) {
        self.skip = (self.skip + n).min(self.count);
    }

    /// The encoded records, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut rest: &[u8] = &self.bytes;
        std::iter::from_fn(move || {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let record = rest.get(4..4 + len)?;
            rest = &rest[4 + len..];
            Some(record)
        })
        .skip(self.skip)
    }

    /// The breadcrumbs, decoded; a damaged record (which the SDK never writes) is left out.
    pub(crate) fn decode(&self) -> impl Iterator<Item = Breadcrumb> + '_ {
        self.iter().filter_map(record::decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(records: &Records) -> Vec<String> {
        records
            .decode()
            .map(|c| c.message.unwrap_or_default().into_owned())
            .collect()
    }

    /// The log is process-wide, so its whole life is one test.
    #[test]
    fn keeps_the_newest_and_copies_do_not_see_later_changes() {
        clear();
        let start = generation();
        for i in 0..7 {
            push(&Breadcrumb::new(format!("crumb {i}")), 5);
        }
        assert_ne!(generation(), start);
        let (at, copy) = snapshot();
        assert_eq!(at, generation());
        assert_eq!(copy.len(), 5);
        assert_eq!(
            texts(&copy),
            ["crumb 2", "crumb 3", "crumb 4", "crumb 5", "crumb 6"]
        );

        push(&Breadcrumb::new("later"), 5);
        assert_eq!(texts(&copy)[4], "crumb 6", "the copy is unchanged");
        // A smaller maximum drops the surplus at the next push.
        push(&Breadcrumb::new("smaller"), 2);
        assert_eq!(texts(&snapshot().1), ["later", "smaller"]);

        let mut copy = copy;
        copy.drop_oldest(3);
        assert_eq!(texts(&copy), ["crumb 5", "crumb 6"]);
        copy.drop_oldest(10);
        assert_eq!(copy.len(), 0);

        clear();
        assert_eq!(snapshot().1.len(), 0);
    }
}
