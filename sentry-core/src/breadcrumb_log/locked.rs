//! The log behind a lock: where the breadcrumbs live when the crash handler's ring cannot
//! hold them (no handler, or more breadcrumbs kept than it has slots).
//!
//! Each record is mirrored into the handler's ring when one runs (its gist when larger than
//! a slot), under the log's lock, so that the ring holds them in the log's order.

use std::collections::VecDeque;
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use super::Records;
use super::record;
use crate::protocol::Breadcrumb;

pub(super) struct Log {
    /// Oldest first. Evicted records' buffers are reused for new ones.
    pub(super) records: VecDeque<Vec<u8>>,
}

static LOG: Mutex<Log> = Mutex::new(Log {
    records: VecDeque::new(),
});

/// The log, locked: for moving the breadcrumbs between here and the ring.
pub(super) fn lock() -> MutexGuard<'static, Log> {
    LOG.lock()
}

/// Appends `crumb`, dropping the oldest so that at most `max` (at least 1) are kept.
pub(super) fn push(crumb: &Breadcrumb, max: usize) {
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
    let _ = super::in_ring::push_to_ring(&slot, || crumb.clone());
    log.records.push_back(slot);
    super::bump_generation();
}

/// A copy of the log, waiting at most `wait` for its lock when given (`None` past it).
pub(super) fn snapshot_within(wait: Option<Duration>) -> Option<Records> {
    let log = match wait {
        Some(wait) => LOG.try_lock_for(wait)?,
        None => LOG.lock(),
    };
    let mut records = Records::builder(log.records.iter().map(|r| 4 + r.len()).sum());
    for record in &log.records {
        records.push(record);
    }
    drop(log);
    Some(records.build())
}
