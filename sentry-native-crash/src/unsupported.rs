//! Platforms without native crash capture: everything is a no-op that says so.

use crate::config::{HandlerConfig, InstallError, SnapshotError};

pub(crate) fn install(_config: HandlerConfig) -> Result<(), InstallError> {
    Err(InstallError::Unsupported)
}

pub(crate) fn is_installed() -> bool {
    false
}

pub(crate) fn ensure_alt_stack_for_current_thread() -> Result<(), InstallError> {
    Err(InstallError::Unsupported)
}

pub(crate) fn suppress_next_abort() {}

pub(crate) fn set_scope(_data: &[u8]) -> Result<(), SnapshotError> {
    Err(SnapshotError::NotInstalled)
}

pub(crate) fn set_images(_data: &[u8]) -> Result<(), SnapshotError> {
    Err(SnapshotError::NotInstalled)
}

pub(crate) fn push_breadcrumb(_data: &[u8]) -> Result<u64, SnapshotError> {
    Err(SnapshotError::NotInstalled)
}

pub(crate) fn read_breadcrumbs(_f: impl FnMut(u64, &[u8])) -> Result<(), SnapshotError> {
    Err(SnapshotError::NotInstalled)
}

pub(crate) fn breadcrumbs_version() -> u64 {
    0
}

pub(crate) fn breadcrumb_capacity() -> Option<(usize, usize)> {
    None
}

pub(crate) fn keep_newest_breadcrumbs(_n: usize) -> Result<(), SnapshotError> {
    Err(SnapshotError::NotInstalled)
}
