//! Native crashes: the crash handler of `sentry-native-crash`, wired into the client.
//!
//! At [`init`](crate::init()) (feature `native-crash`, option
//! [`native_crash_handler`](crate::ClientOptions::native_crash_handler), Linux on x86_64 and
//! aarch64) the SDK
//!
//! * creates and locks this process's outbox run directory, `<database>/runs/<run>/`, at once
//!   (not lazily on the worker as without the handler) and installs the signal handlers
//!   with that directory as the report directory: the next start adopts the directory of a
//!   dead run with every `.crash` file in it, and the lock keeps a live process's reports
//!   away from other processes of the same application;
//! * hands the handler what it cannot compute itself: the loaded images (JSON of the
//!   [`DebugImage`](crate::protocol::DebugImage)s, pushed again whenever the image cache
//!   changes) and a snapshot of the scope, kept current on every
//!   [`configure_scope`](crate::configure_scope) and [`add_breadcrumb`](crate::add_breadcrumb)
//!   (see [`snapshot`] for how that stays cheap);
//! * on the worker, turns every report earlier runs left into a fatal event (see [`report`]),
//!   stores it in the outbox and only then deletes the report, so a report is gone only once
//!   its event is on disk or accepted. Unreadable reports go to `<database>/corrupt/`.
//!
//! Elsewhere, and without the feature, every function here is an empty stub.

#[cfg(native_crash)]
mod linux;
#[cfg(native_crash)]
pub(crate) mod report;
#[cfg(native_crash)]
pub(crate) mod snapshot;

#[cfg(native_crash)]
pub(crate) use linux::{
    breadcrumbs_cleared, images_seen, ring_capacity, ring_push, ring_read, ring_version,
    scope_changed, send_pending_reports, setup,
};

#[cfg(not(native_crash))]
mod stub;
#[cfg(not(native_crash))]
pub(crate) use stub::{
    breadcrumbs_cleared, images_seen, ring_capacity, ring_push, ring_read, ring_version,
    scope_changed, send_pending_reports, setup,
};
