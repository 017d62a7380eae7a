//! The process's breadcrumbs: one log of encoded records, outside the scope.
//!
//! [`add_breadcrumb`](crate::add_breadcrumb) is the SDK's hottest call: a program may leave
//! one for every request, query or log line. Kept inside the process [`Scope`], each one
//! would take the scope's write lock and copy-on-write both the scope and its breadcrumb
//! list (a shared pointer's atomic check each), then copy the breadcrumb again for the crash
//! handler. Here it is encoded once, into a reused buffer, under one lock of its own, and
//! that same record is what the crash handler gets.
//!
//! Events need the breadcrumbs as they were when captured, so a capture takes a
//! [`Records`] copy of the log (one allocation; reused while nothing was added) and the
//! worker decodes it. The process scope links to the live log (its breadcrumbs *are* the
//! log); a scope pushed with [`with_scope`](crate::with_scope) starts from such a copy and
//! keeps its own breadcrumbs after it, which end with the scope.
//!
//! [`Scope`]: crate::scope::Scope

pub(crate) mod record;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::protocol::Breadcrumb;

struct Log {
    /// Oldest first. Evicted records' buffers are reused for new ones.
    records: VecDeque<Vec<u8>>,
}

static LOG: Mutex<Log> = Mutex::new(Log {
    records: VecDeque::new(),
});

/// Moves on every change of the log (written under its lock), so that a copy can tell
/// whether it is still current without taking the lock.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Appends `crumb`, dropping the oldest so that at most `max` (at least 1) are kept.
pub(crate) fn push(crumb: &Breadcrumb, max: usize) {
    let mut log = LOG.lock();
    while log.records.len() > max {
        log.records.pop_front();
    }
    let mut slot = if log.records.len() == max {
        log.records.pop_front().unwrap_or_default()
    } else {
        Vec::new()
    };
    record::encode(crumb, usize::MAX, &mut slot);
    // Under the lock, so that the handler's ring holds them in the log's order.
    crate::native::breadcrumb_record_added(&slot, crumb);
    log.records.push_back(slot);
    bump_generation();
}

/// Moves [`GENERATION`]: a load and a store, not a read-modify-write, since every writer
/// holds the log's lock.
fn bump_generation() {
    let next = GENERATION.load(Ordering::Relaxed).wrapping_add(1);
    GENERATION.store(next, Ordering::Release);
}

/// Removes every breadcrumb.
pub(crate) fn clear() {
    let mut log = LOG.lock();
    log.records.clear();
    crate::native::breadcrumbs_cleared();
    bump_generation();
}

/// A number that moves whenever the log changes.
pub(crate) fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// A copy of the log as it is now, with the [`generation`] it was taken at.
pub(crate) fn snapshot() -> (u64, Records) {
    snapshot_within(None).unwrap_or_default()
}

/// [`snapshot`], waiting at most `wait` for the log's lock when given (`None` past it).
pub(crate) fn snapshot_within(wait: Option<Duration>) -> Option<(u64, Records)> {
    let log = match wait {
        Some(wait) => LOG.try_lock_for(wait)?,
        None => LOG.lock(),
    };
    let generation = GENERATION.load(Ordering::Relaxed);
    if log.records.is_empty() {
        return Some((generation, Records::default()));
    }
    let len = log.records.iter().map(|r| 4 + r.len()).sum();
    let mut bytes = Vec::with_capacity(len);
    for record in &log.records {
        bytes.extend_from_slice(&(record.len() as u32).to_le_bytes());
        bytes.extend_from_slice(record);
    }
    let count = log.records.len();
    drop(log);
    let records = Records {
        bytes: Arc::from(bytes),
        skip: 0,
        count,
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

impl Records {
    /// How many breadcrumbs.
    pub(crate) fn len(&self) -> usize {
        self.count - self.skip
    }

    /// Leaves out the oldest `n`.
    pub(crate) fn drop_oldest(&mut self, n: usize) {
        self.skip = (self.skip + n).min(self.count);
    }

    /// The breadcrumbs, decoded; a damaged record (which the SDK never writes) is left out.
    pub(crate) fn decode(&self) -> impl Iterator<Item = Breadcrumb> + '_ {
        let mut rest: &[u8] = &self.bytes;
        std::iter::from_fn(move || {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let record = rest.get(4..4 + len)?;
            rest = &rest[4 + len..];
            Some(record)
        })
        .skip(self.skip)
        .filter_map(record::decode)
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
