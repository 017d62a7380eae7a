//! Log records as Sentry breadcrumbs and events, around the logger you already use.
//!
//! [`SentryLogger`] is a [`log::Log`] that wraps another logger (`env_logger`, `simplelog`,
//! anything): every record still goes to that logger exactly as before, so console output
//! does not change, and a copy goes to Sentry:
//!
//! * by default `error!` records become **events** and `warn!` and `info!` records become
//!   **breadcrumbs**, the trail of what happened before the next event; `debug!` and
//!   `trace!` are left out (they are many and rarely help);
//! * [`SentryLogger::filter`] changes that per record ([`LogFilter`]).
//!
//! The logger does nothing before [`sentry_core::init`]: the adapter only translates records,
//! and the core decides whether and where to send.
//!
//! ```
//! use log::LevelFilter;
//!
//! let _guard = sentry_core::init(sentry_core::ClientOptions::new()); // SENTRY_DSN, etc.
//!
//! // The logger you had, unchanged; sentry-log wraps it.
//! let console = env_logger::Builder::new().filter_level(LevelFilter::Info).build();
//! sentry_log::SentryLogger::with_dest(console)
//!     .install(LevelFilter::Info)
//!     .expect("no other logger was installed");
//!
//! log::info!(target: "db", "connected to {}", "db.internal"); // a breadcrumb
//! log::error!("payment failed for order {}", 42);              // an event, with the breadcrumb
//! ```
//!
//! # What a record becomes
//!
//! | record | breadcrumb | event |
//! |---|---|---|
//! | `args()` formatted | `message` | `message` |
//! | level | `level` (`trace` and `debug` are `debug`, `warn` is `warning`) | `level` |
//! | target | `category` | `logger` |
//! | module path, file, line | `data` | `extra` |
//!
//! Events carry the scope (tags, user, earlier breadcrumbs) like every other event; they
//! carry no stack trace, since the record says where it was logged. Structured key-values
//! (`log`'s `kv` feature) are not read.
#![deny(missing_docs)]

use std::fmt;

use log::{Level, LevelFilter, Log, Metadata, Record, SetLoggerError};
use sentry_core::protocol::{self, Breadcrumb, Event, Map, Value};

/// What to do with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFilter {
    /// Send nothing to Sentry (the wrapped logger still gets the record).
    Ignore,
    /// Record a breadcrumb.
    Breadcrumb,
    /// Capture an event.
    Event,
    /// Capture an event and also keep it as a breadcrumb for later events.
    EventAndBreadcrumb,
}

/// The default filter: errors are events, warnings and info are breadcrumbs, the rest is
/// ignored.
///
/// ```
/// use log::{Level, Metadata};
/// use sentry_log::{LogFilter, default_filter};
///
/// let meta = Metadata::builder().level(Level::Warn).build();
/// assert_eq!(default_filter(&meta), LogFilter::Breadcrumb);
/// ```
pub fn default_filter(metadata: &Metadata<'_>) -> LogFilter {
    match metadata.level() {
        Level::Error => LogFilter::Event,
        Level::Warn | Level::Info => LogFilter::Breadcrumb,
        Level::Debug | Level::Trace => LogFilter::Ignore,
    }
}

/// A logger that never writes anything: the destination of a [`SentryLogger`] that has no
/// other logger to wrap.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLogger;

impl Log for NoLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        false
    }
    fn log(&self, _: &Record<'_>) {}
    fn flush(&self) {}
}

type FilterFn = Box<dyn Fn(&Metadata<'_>) -> LogFilter + Send + Sync>;

/// A [`log::Log`] that sends records to Sentry and passes them on to another logger.
pub struct SentryLogger<L: Log = NoLogger> {
    dest: L,
    filter: FilterFn,
}

impl SentryLogger<NoLogger> {
    /// A logger that only sends to Sentry, with [`default_filter`].
    pub fn new() -> Self {
        Self::with_dest(NoLogger)
    }
}

impl Default for SentryLogger<NoLogger> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: Log> SentryLogger<L> {
    /// A logger that passes every record on to `dest` and sends to Sentry what
    /// [`default_filter`] selects.
    pub fn with_dest(dest: L) -> Self {
        SentryLogger {
            dest,
            filter: Box::new(default_filter),
        }
    }

    /// Replaces the filter that decides what each record becomes.
    ///
    /// ```
    /// use log::Level;
    /// use sentry_log::{LogFilter, SentryLogger};
    ///
    /// // Warnings from the `payments` target are events too; noisy `hyper` is left out.
    /// let logger = SentryLogger::new().filter(|meta| match (meta.level(), meta.target()) {
    ///     (_, target) if target.starts_with("hyper") => LogFilter::Ignore,
    ///     (Level::Warn, "payments") | (Level::Error, _) => LogFilter::Event,
    ///     (Level::Debug | Level::Trace, _) => LogFilter::Ignore,
    ///     _ => LogFilter::Breadcrumb,
    /// });
    /// # drop(logger);
    /// ```
    pub fn filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> LogFilter + Send + Sync + 'static,
    ) -> Self {
        self.filter = Box::new(filter);
        self
    }

    /// The wrapped logger.
    pub fn dest(&self) -> &L {
        &self.dest
    }

    /// Installs this logger as the `log` crate's logger and sets the maximum level.
    ///
    /// `max_level` caps what any logger sees, so it must be at least the most verbose level
    /// either the wrapped logger or the filter wants (`Info` for the default filter).
    pub fn install(self, max_level: LevelFilter) -> Result<(), SetLoggerError>
    where
        L: Send + Sync + 'static,
    {
        log::set_boxed_logger(Box::new(self))?;
        log::set_max_level(max_level);
        Ok(())
    }
}

impl<L: Log> fmt::Debug for SentryLogger<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLogger").finish_non_exhaustive()
    }
}

impl<L: Log> Log for SentryLogger<L> {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.dest.enabled(metadata) || (self.filter)(metadata) != LogFilter::Ignore
    }

    fn log(&self, record: &Record<'_>) {
        match (self.filter)(record.metadata()) {
            LogFilter::Ignore => {}
            LogFilter::Breadcrumb => sentry_core::add_breadcrumb(breadcrumb_from_record(record)),
            LogFilter::Event => {
                sentry_core::capture_event(event_from_record(record));
            }
            LogFilter::EventAndBreadcrumb => {
                sentry_core::capture_event(event_from_record(record));
                sentry_core::add_breadcrumb(breadcrumb_from_record(record));
            }
        }
        // Checked here because `enabled` is true for records only Sentry wants: the wrapped
        // logger must not print what its own configuration filters out.
        if self.dest.enabled(record.metadata()) {
            self.dest.log(record);
        }
    }

    fn flush(&self) {
        self.dest.flush();
    }
}

/// The protocol level of a `log` level.
pub fn convert_level(level: Level) -> protocol::Level {
    match level {
        Level::Error => protocol::Level::Error,
        Level::Warn => protocol::Level::Warning,
        Level::Info => protocol::Level::Info,
        Level::Debug | Level::Trace => protocol::Level::Debug,
    }
}

/// The breadcrumb a record becomes.
///
/// ```
/// let record = log::Record::builder()
///     .args(format_args!("cache miss for {}", "user:7"))
///     .level(log::Level::Info)
///     .target("cache")
///     .build();
/// let crumb = sentry_log::breadcrumb_from_record(&record);
/// assert_eq!(crumb.message.as_deref(), Some("cache miss for user:7"));
/// assert_eq!(crumb.category.as_deref(), Some("cache"));
/// ```
pub fn breadcrumb_from_record(record: &Record<'_>) -> Breadcrumb {
    let level = convert_level(record.level());
    let mut crumb = Breadcrumb::new(record.args().to_string())
        .category(record.target().to_owned())
        .level(level);
    if level >= protocol::Level::Error {
        crumb = crumb.ty("error");
    }
    crumb.data = location(record);
    crumb
}

/// The event a record becomes.
///
/// ```
/// let record = log::Record::builder()
///     .args(format_args!("payment failed"))
///     .level(log::Level::Error)
///     .target("billing")
///     .build();
/// let event = sentry_log::event_from_record(&record);
/// assert_eq!(event.message.as_deref(), Some("payment failed"));
/// assert_eq!(event.logger.as_deref(), Some("billing"));
/// ```
pub fn event_from_record(record: &Record<'_>) -> Event {
    Event {
        message: Some(record.args().to_string()),
        level: convert_level(record.level()),
        logger: Some(record.target().to_owned()),
        extra: location(record),
        ..Event::default()
    }
}

/// Where the record was logged, as far as it says.
fn location(record: &Record<'_>) -> Map {
    let mut data = Map::new();
    if let Some(module) = record.module_path() {
        data.insert("module_path".into(), Value::from(module));
    }
    if let Some(file) = record.file() {
        data.insert("file".into(), Value::from(file));
    }
    if let Some(line) = record.line() {
        data.insert("line".into(), Value::from(line));
    }
    data
}
