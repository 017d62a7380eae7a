//! Without native crash support every hook is a no-op.

use std::sync::Arc;

use crate::images::ImageList;
use crate::options::ClientOptions;
use crate::outbox::Outbox;
use crate::protocol::Event;
use crate::scope::Scope;
use crate::stacktrace::InAppRules;

/// Nothing to install: no run directory is created early.
pub(crate) fn setup(_options: &ClientOptions) -> Option<Outbox> {
    None
}

#[inline(always)]
pub(crate) fn scope_changed(_scope: &Scope) {}

#[inline(always)]
pub(crate) fn breadcrumbs_cleared() {}

#[inline(always)]
pub(crate) fn ring_capacity() -> Option<(usize, usize)> {
    None
}

#[inline(always)]
pub(crate) fn ring_push(_record: &[u8]) -> Option<u64> {
    None
}

#[inline(always)]
pub(crate) fn ring_read(_f: impl FnMut(u64, &[u8])) {}

#[inline(always)]
pub(crate) fn ring_version() -> u64 {
    0
}

#[inline(always)]
pub(crate) fn images_seen(_images: &Arc<ImageList>) {}

pub(crate) fn send_pending_reports(
    _outbox: &Outbox,
    _rules: &InAppRules,
    _send: impl FnMut(Event) -> bool,
) {
}
