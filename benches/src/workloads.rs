//! The in-process workloads, each written once per SDK with the same content, and the
//! envelope-dropping transports that leave only the SDK's own work to measure.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Which SDK a figure is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    /// This SDK, `sentry-core`.
    Ours,
    /// The official `sentry` crate.
    Official,
}

impl Sdk {
    /// Both, ours first.
    pub const ALL: [Sdk; 2] = [Sdk::Ours, Sdk::Official];

    /// The short name used in result files and criterion ids.
    pub fn name(self) -> &'static str {
        match self {
            Sdk::Ours => "ours",
            Sdk::Official => "official",
        }
    }
}

/// One in-process workload: what a single timed call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `capture_message` with 100 breadcrumbs and 10 tags in the scope.
    CaptureMessageFullScope,
    /// `capture_message` with nothing in the scope.
    CaptureMessageEmptyScope,
    /// `capture_error` of an error whose `source()` chain has 3 levels.
    CaptureErrorChain,
    /// `add_breadcrumb`, building the breadcrumb (message and category) included.
    AddBreadcrumb,
    /// `configure_scope` setting one tag.
    ConfigureScopeSetTag,
}

impl Workload {
    /// Every workload, in table order.
    pub const ALL: [Workload; 5] = [
        Workload::CaptureMessageFullScope,
        Workload::CaptureMessageEmptyScope,
        Workload::CaptureErrorChain,
        Workload::AddBreadcrumb,
        Workload::ConfigureScopeSetTag,
    ];

    /// The id used in result files and criterion.
    pub fn id(self) -> &'static str {
        match self {
            Workload::CaptureMessageFullScope => "capture_message_100_breadcrumbs_10_tags",
            Workload::CaptureMessageEmptyScope => "capture_message_empty_scope",
            Workload::CaptureErrorChain => "capture_error_3_level_chain",
            Workload::AddBreadcrumb => "add_breadcrumb",
            Workload::ConfigureScopeSetTag => "configure_scope_set_tag",
        }
    }

    /// Whether a call queues an event (and so needs flushing between timed batches).
    pub fn captures(self) -> bool {
        matches!(
            self,
            Workload::CaptureMessageFullScope
                | Workload::CaptureMessageEmptyScope
                | Workload::CaptureErrorChain
        )
    }
}

/// Calls per timed batch. Our queue is sized above it, and every batch is followed by an
/// untimed flush, so no capture is ever measured on the "queue full, event dropped" path.
pub const BATCH: usize = 256;

/// Our queue size in the benchmarks: room for a whole batch, with margin.
pub const QUEUE_SIZE: usize = 4 * BATCH;

/// How long an untimed flush between batches may take before the run is declared broken.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// The 3-level error chain of [`Workload::CaptureErrorChain`]: outer, middle, root.
#[derive(Debug)]
pub struct ChainError {
    level: u8,
    source: Option<Box<ChainError>>,
}

impl ChainError {
    /// `config not loaded` caused by `cannot read file` caused by `permission denied`.
    pub fn three_levels() -> ChainError {
        ChainError {
            level: 3,
            source: Some(Box::new(ChainError {
                level: 2,
                source: Some(Box::new(ChainError {
                    level: 1,
                    source: None,
                })),
            })),
        }
    }
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.level {
            3 => "config not loaded",
            2 => "cannot read /etc/app/config.toml",
            _ => "permission denied (os error 13)",
        })
    }
}

impl std::error::Error for ChainError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// Our transport for the benchmarks: accepts every envelope and drops it.
#[derive(Debug, Default)]
pub struct OursDrop;

impl sentry_core::transport::Transport for OursDrop {
    fn send(
        &mut self,
        _envelope: &sentry_core::envelope::Envelope,
    ) -> sentry_core::transport::Response {
        sentry_core::transport::Response::new(sentry_core::transport::Delivery::Accepted)
    }
}

/// The official SDK's transport for the benchmarks: drops every envelope.
#[derive(Debug, Default)]
pub struct OfficialDrop;

impl sentry::Transport for OfficialDrop {
    fn send_envelope(&self, envelope: sentry::Envelope) {
        drop(envelope);
    }
}

/// One SDK initialized with a dropping transport, and the scope a workload needs.
pub enum Session {
    /// Our guard.
    Ours(sentry_core::ClientInitGuard),
    /// The official guard.
    Official(sentry::ClientInitGuard),
}

impl Session {
    /// Initializes `sdk` for `workload`: dropping transport, default options otherwise (our
    /// queue sized for a batch, our outbox in `database`), and the scope filled as the
    /// workload says.
    pub fn start(sdk: Sdk, workload: Workload, database: &Path) -> Session {
        let session = match sdk {
            Sdk::Ours => Session::Ours(sentry_core::init(
                sentry_core::ClientOptions::new()
                    .dsn(crate::UNUSED_DSN)
                    .database_path(database)
                    .queue_size(QUEUE_SIZE)
                    .transport(|_| Box::new(OursDrop)),
            )),
            Sdk::Official => {
                // The struct is non-exhaustive: start from the defaults and set the field.
                let mut options = sentry::ClientOptions::default();
                options.transport = Some(Arc::new(|_: &sentry::ClientOptions| {
                    Arc::new(OfficialDrop) as Arc<dyn sentry::Transport>
                }));
                Session::Official(sentry::init((crate::UNUSED_DSN, options)))
            }
        };
        // Both SDKs keep the process's scope across init calls: start every workload from
        // an empty one, or the breadcrumbs and tags of the previous workload stay in it.
        match session {
            Session::Ours(_) => sentry_core::configure_scope(|s| s.clear()),
            Session::Official(_) => sentry::configure_scope(|s| s.clear()),
        }
        if workload == Workload::CaptureMessageFullScope {
            for i in 0..100 {
                session.breadcrumb(i);
            }
            for i in 0..10 {
                session.set_tag(&format!("tag{i}"), &format!("value {i}"));
            }
        }
        session
    }

    fn breadcrumb(&self, i: usize) {
        let message = format!("request {i} served");
        match self {
            Session::Ours(_) => sentry_core::add_breadcrumb(
                sentry_core::protocol::Breadcrumb::new(message).category("http"),
            ),
            Session::Official(_) => sentry::add_breadcrumb(sentry::Breadcrumb {
                message: Some(message),
                category: Some("http".into()),
                ..Default::default()
            }),
        }
    }

    fn set_tag(&self, key: &str, value: &str) {
        match self {
            Session::Ours(_) => sentry_core::configure_scope(|s| s.set_tag(key, value)),
            Session::Official(_) => sentry::configure_scope(|s| s.set_tag(key, value)),
        }
    }

    /// One call of `workload`: the code that is timed and whose allocations are counted.
    #[inline]
    pub fn run(&self, workload: Workload) {
        match (self, workload) {
            (
                Session::Ours(_),
                Workload::CaptureMessageFullScope | Workload::CaptureMessageEmptyScope,
            ) => {
                std::hint::black_box(sentry_core::capture_message(
                    "something happened",
                    sentry_core::protocol::Level::Warning,
                ));
            }
            (
                Session::Official(_),
                Workload::CaptureMessageFullScope | Workload::CaptureMessageEmptyScope,
            ) => {
                std::hint::black_box(sentry::capture_message(
                    "something happened",
                    sentry::Level::Warning,
                ));
            }
            (Session::Ours(_), Workload::CaptureErrorChain) => {
                let error = ChainError::three_levels();
                std::hint::black_box(sentry_core::capture_error(&error));
            }
            (Session::Official(_), Workload::CaptureErrorChain) => {
                let error = ChainError::three_levels();
                std::hint::black_box(sentry::capture_error(&error));
            }
            (Session::Ours(_), Workload::AddBreadcrumb) => sentry_core::add_breadcrumb(
                sentry_core::protocol::Breadcrumb::new("user clicked save").category("ui.click"),
            ),
            (Session::Official(_), Workload::AddBreadcrumb) => {
                sentry::add_breadcrumb(sentry::Breadcrumb {
                    message: Some("user clicked save".into()),
                    category: Some("ui.click".into()),
                    ..Default::default()
                })
            }
            (Session::Ours(_), Workload::ConfigureScopeSetTag) => {
                sentry_core::configure_scope(|s| s.set_tag("request_kind", "upload"))
            }
            (Session::Official(_), Workload::ConfigureScopeSetTag) => {
                sentry::configure_scope(|s| s.set_tag("request_kind", "upload"))
            }
        }
    }

    /// Waits until the SDK has done everything queued (untimed, between batches). Panics if
    /// that takes a minute, or if any event was dropped because our queue was full: a
    /// figure from that path would be wrong.
    pub fn flush(&self) {
        match self {
            Session::Ours(guard) => {
                assert!(sentry_core::flush(FLUSH_TIMEOUT), "our flush timed out");
                if let Some(client) = guard.client() {
                    let dropped = client.dropped(sentry_core::DropReason::QueueOverflow);
                    assert_eq!(dropped, 0, "events dropped because the queue was full");
                }
            }
            Session::Official(_) => {
                if let Some(client) = sentry::Hub::current().client() {
                    assert!(
                        client.flush(Some(FLUSH_TIMEOUT)),
                        "official flush timed out"
                    );
                }
            }
        }
    }
}
