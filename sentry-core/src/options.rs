//! What the SDK does, and where it sends: one struct with sensible defaults.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::Pattern;
use crate::panic::PanicCapture;
use crate::protocol::{Breadcrumb, Event};
use crate::transport::Transport;

/// A callback that sees every event before it is sent and may change or drop it.
pub type BeforeSend = Arc<dyn Fn(Event) -> Option<Event> + Send + Sync>;

/// A callback that sees every breadcrumb before it is recorded and may change or drop it.
pub type BeforeBreadcrumb = Arc<dyn Fn(Breadcrumb) -> Option<Breadcrumb> + Send + Sync>;

/// Builds the transport the client sends through, from the final options.
pub type TransportFactory = Arc<dyn Fn(&ClientOptions) -> Box<dyn Transport> + Send + Sync>;

/// Options of the client, given to [`init`](crate::init()).
///
/// Every field has a default; the environment fills what the code leaves unset (see
/// [`ClientOptions::apply_env`]). Each field has a setter of the same name, so options
/// read as one expression; the fields are public too, for code that sets them one by one.
/// The struct is `#[non_exhaustive]` so that new options are not a breaking change.
///
/// ```
/// use std::time::Duration;
/// use sentry_core::ClientOptions;
///
/// let options = ClientOptions::new()
///     .dsn("https://public@o1.ingest.example.com/42")
///     .release("my-app@1.2.3")
///     .attach_stacktrace(true)
///     .shutdown_timeout(Duration::from_secs(1));
///
/// let mut same = ClientOptions::default();
/// same.attach_stacktrace = true;
/// # drop((options, same));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Where to send events. `None` or empty (and no `SENTRY_DSN`) disables sending; an
    /// invalid DSN is an error at [`try_init`](crate::try_init).
    pub dsn: Option<String>,
    /// The release, such as `my-app@1.2.3` (`SENTRY_RELEASE`).
    pub release: Option<Cow<'static, str>>,
    /// The environment (`SENTRY_ENVIRONMENT`); `development` in debug builds and
    /// `production` in release builds when unset.
    pub environment: Option<Cow<'static, str>>,
    /// The host name reported with events; the machine's host name when unset.
    pub server_name: Option<Cow<'static, str>>,
    /// Log what the SDK does and why to stderr (`SENTRY_DEBUG=1`).
    pub debug: bool,
    /// Do all the work but send nothing: write each envelope to stderr, or to
    /// [`dry_run_dir`](Self::dry_run_dir) when set (`SENTRY_DRY_RUN=1`).
    pub dry_run: bool,
    /// Where a dry run writes envelopes, one file each (`SENTRY_DRY_RUN_DIR`); stderr when
    /// unset.
    pub dry_run_dir: Option<PathBuf>,
    /// The per-application directory where undelivered events and crash reports are kept
    /// (`SENTRY_DATABASE_PATH`); `~/.cache/sentry-rs/<executable name>` when unset.
    pub database_path: Option<PathBuf>,
    /// The share of events to send, from 0.0 (none) to 1.0 (all).
    pub sample_rate: f32,
    /// How many breadcrumbs the scope keeps; the oldest go first.
    pub max_breadcrumbs: usize,
    /// Attach the capturing thread's stack trace to messages and errors.
    pub attach_stacktrace: bool,
    /// Send personal data the SDK gathers by itself (IP addresses, user names). Off by
    /// default, and today the SDK gathers none: it sends the host name as `server_name`
    /// and no user. What you set yourself with [`Scope::set_user`](crate::Scope::set_user)
    /// is always sent as set (its other fields are scrubbed by key like extra data).
    ///
    /// A [`Request`](crate::protocol::Request)'s cookies and client address are personal
    /// data whoever recorded them, so with this off its cookie values, the `Cookie`,
    /// `Set-Cookie` and client-IP headers (such as `X-Forwarded-For`) become `[Filtered]`
    /// and `env.REMOTE_ADDR` is removed, even with [`scrub_data`](Self::scrub_data) off.
    pub send_default_pii: bool,
    /// Function or module prefixes whose frames are always the application's own.
    pub in_app_include: Vec<String>,
    /// Function or module prefixes whose frames are never the application's own.
    pub in_app_exclude: Vec<String>,
    /// Sees every event before it is sent; return `None` to drop it.
    pub before_send: Option<BeforeSend>,
    /// Sees every breadcrumb before it is recorded; return `None` to drop it.
    pub before_breadcrumb: Option<BeforeBreadcrumb>,
    /// Drop repeats of the same error (on by default). An event identical to the previous
    /// one within [`repeat_window`](Self::repeat_window) is dropped, and a loop raising the
    /// same error many times a second sends it once per window, with the number of
    /// repeats held back in `extra.repeat_count`. The sent event leaves when its window
    /// closes (or at a flush or shutdown), so events arrive up to one window late.
    ///
    /// Repeats are recognised on the calling thread by message, outermost error type and
    /// value, fingerprint and, with [`attach_stacktrace`](Self::attach_stacktrace), the
    /// place in the code; without a stack trace the same message raised from two places
    /// within one window counts as one error.
    pub dedupe: bool,
    /// The time window of [`dedupe`](Self::dedupe).
    pub repeat_window: Duration,
    /// Events whose message, outermost error value, or `"type: value"` matches one of
    /// these are dropped on the calling thread, before any other work. See [`Pattern`].
    pub ignore_errors: Vec<Pattern>,
    /// When not empty, only errors raised in a source file matching one of these are sent.
    /// The file is that of the newest frame with a path of the error's stack trace; an
    /// event without one is kept.
    pub allow_urls: Vec<Pattern>,
    /// Errors raised in a source file matching one of these are dropped (see
    /// [`allow_urls`](Self::allow_urls) for which file).
    pub deny_urls: Vec<Pattern>,
    /// Replace values under sensitive keys (password, secret, token, auth, session,
    /// cookie, ...) and secret shapes in text (bearer tokens, credentials in URLs, private
    /// keys, card numbers) with `[Filtered]` before sending (on by default).
    pub scrub_data: bool,
    /// More key fragments whose values are filtered, matched like the built-in ones
    /// (case-insensitive, as substrings).
    pub sensitive_keys: Vec<String>,
    /// Your own secret shapes: a regular expression and its replacement, in which `$1`
    /// refers to a group. Applied to the same texts as the built-in detectors.
    pub scrub_patterns: Vec<(String, String)>,
    /// Send counts of dropped events to the server as client reports (on by default).
    pub send_client_reports: bool,
    /// Proxy for `http://` DSNs; `HTTP_PROXY` when unset.
    pub http_proxy: Option<String>,
    /// Proxy for `https://` DSNs; `HTTPS_PROXY` when unset.
    pub https_proxy: Option<String>,
    /// The longest a connection attempt may take.
    pub connect_timeout: Duration,
    /// The longest one request may take, from connecting to the end of the answer.
    pub request_timeout: Duration,
    /// How long dropping the guard of [`init`](crate::init()) waits for pending events.
    pub shutdown_timeout: Duration,
    /// How many events may wait for the background worker; beyond that new events are
    /// dropped and counted, so capturing never blocks.
    pub queue_size: usize,
    /// The User-Agent header of requests.
    pub user_agent: Cow<'static, str>,
    /// Replaces the HTTP transport, for tests or a custom HTTP stack.
    pub transport: Option<TransportFactory>,
    /// Which panics the panic hook reports (feature `panic`); see [`PanicCapture`].
    pub panic_capture: PanicCapture,
    /// The longest the panic hook holds up a panic that ends the process (an uncaught panic
    /// on the main thread, `panic = "abort"`, a double panic), counted from the panic: it
    /// first puts the event on disk (never given less than 1 s for that, so `0` still
    /// persists it), then waits for delivery. What is not delivered by then is sent on the
    /// next start. Other panics only put their event on disk and do not wait. Default 2 s.
    pub panic_flush_timeout: Duration,
    /// Install the native crash handler at init (feature `native-crash`, Linux): crashes
    /// (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP) are written to the database
    /// directory and sent as events on the next start. Off, the process installs no handler
    /// but still sends the reports earlier runs left (what a supervisor like sentry-wrap
    /// needs).
    pub native_crash_handler: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            dsn: None,
            release: None,
            environment: None,
            server_name: None,
            debug: false,
            dry_run: false,
            dry_run_dir: None,
            database_path: None,
            sample_rate: 1.0,
            max_breadcrumbs: 100,
            attach_stacktrace: false,
            send_default_pii: false,
            in_app_include: Vec::new(),
            in_app_exclude: Vec::new(),
            before_send: None,
            before_breadcrumb: None,
            dedupe: true,
            repeat_window: Duration::from_secs(1),
            ignore_errors: Vec::new(),
            allow_urls: Vec::new(),
            deny_urls: Vec::new(),
            scrub_data: true,
            sensitive_keys: Vec::new(),
            scrub_patterns: Vec::new(),
            send_client_reports: true,
            http_proxy: None,
            https_proxy: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(2),
            queue_size: 256,
            user_agent: Cow::Borrowed(crate::USER_AGENT),
            transport: None,
            panic_capture: PanicCapture::default(),
            panic_flush_timeout: Duration::from_secs(2),
            native_crash_handler: true,
        }
    }
}

impl ClientOptions {
    /// Options with defaults only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets where to send events.
    pub fn dsn(mut self, value: impl Into<String>) -> Self {
        self.dsn = Some(value.into());
        self
    }

    /// Sets the release.
    pub fn release(mut self, value: impl Into<Cow<'static, str>>) -> Self {
        self.release = Some(value.into());
        self
    }

    /// Sets the environment.
    pub fn environment(mut self, value: impl Into<Cow<'static, str>>) -> Self {
        self.environment = Some(value.into());
        self
    }

    /// Sets the server name.
    pub fn server_name(mut self, value: impl Into<Cow<'static, str>>) -> Self {
        self.server_name = Some(value.into());
        self
    }

    /// Turns the diagnostic log on stderr on or off.
    pub fn debug(mut self, value: bool) -> Self {
        self.debug = value;
        self
    }

    /// Turns dry-run mode on or off.
    pub fn dry_run(mut self, value: bool) -> Self {
        self.dry_run = value;
        self
    }

    /// Makes a dry run write envelopes into this directory.
    pub fn dry_run_dir(mut self, value: impl Into<PathBuf>) -> Self {
        self.dry_run_dir = Some(value.into());
        self
    }

    /// Sets the per-application database directory.
    pub fn database_path(mut self, value: impl Into<PathBuf>) -> Self {
        self.database_path = Some(value.into());
        self
    }

    /// Sets the share of events to send.
    pub fn sample_rate(mut self, value: f32) -> Self {
        self.sample_rate = value;
        self
    }

    /// Sets how many breadcrumbs are kept.
    pub fn max_breadcrumbs(mut self, value: usize) -> Self {
        self.max_breadcrumbs = value;
        self
    }

    /// Attaches stack traces to messages and errors.
    pub fn attach_stacktrace(mut self, value: bool) -> Self {
        self.attach_stacktrace = value;
        self
    }

    /// Allows sending personal data the SDK gathers itself.
    pub fn send_default_pii(mut self, value: bool) -> Self {
        self.send_default_pii = value;
        self
    }

    /// Sets the prefixes of frames that are always in-app.
    pub fn in_app_include(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.in_app_include = value.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the prefixes of frames that are never in-app.
    pub fn in_app_exclude(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.in_app_exclude = value.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the callback that sees every event before it is sent.
    pub fn before_send(
        mut self,
        value: impl Fn(Event) -> Option<Event> + Send + Sync + 'static,
    ) -> Self {
        self.before_send = Some(Arc::new(value));
        self
    }

    /// Sets the callback that sees every breadcrumb.
    pub fn before_breadcrumb(
        mut self,
        value: impl Fn(Breadcrumb) -> Option<Breadcrumb> + Send + Sync + 'static,
    ) -> Self {
        self.before_breadcrumb = Some(Arc::new(value));
        self
    }

    /// Turns dropping of repeated errors on or off.
    pub fn dedupe(mut self, value: bool) -> Self {
        self.dedupe = value;
        self
    }

    /// Sets the time window of dedupe and the loop guard.
    pub fn repeat_window(mut self, value: Duration) -> Self {
        self.repeat_window = value;
        self
    }

    /// Sets the patterns of errors to drop: plain strings match as substrings, strings
    /// starting with `re:` are regular expressions.
    ///
    /// ```
    /// let options = sentry_core::ClientOptions::new()
    ///     .ignore_errors(["connection reset by peer", "re:^Timeout: .* after \\d+ s$"]);
    /// # drop(options);
    /// ```
    pub fn ignore_errors(mut self, value: impl IntoIterator<Item = impl Into<Pattern>>) -> Self {
        self.ignore_errors = value.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the source paths errors must come from to be sent.
    ///
    /// ```
    /// let options = sentry_core::ClientOptions::new()
    ///     .allow_urls(["/src/"])
    ///     .deny_urls(["re:/\\.cargo/registry/"]);
    /// # drop(options);
    /// ```
    pub fn allow_urls(mut self, value: impl IntoIterator<Item = impl Into<Pattern>>) -> Self {
        self.allow_urls = value.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the source paths whose errors are dropped.
    pub fn deny_urls(mut self, value: impl IntoIterator<Item = impl Into<Pattern>>) -> Self {
        self.deny_urls = value.into_iter().map(Into::into).collect();
        self
    }

    /// Turns scrubbing of sensitive data on or off.
    pub fn scrub_data(mut self, value: bool) -> Self {
        self.scrub_data = value;
        self
    }

    /// Sets more key fragments whose values are filtered.
    pub fn sensitive_keys(mut self, value: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.sensitive_keys = value.into_iter().map(Into::into).collect();
        self
    }

    /// Sets your own secret shapes, each a regular expression and its replacement.
    ///
    /// ```
    /// let options = sentry_core::ClientOptions::new()
    ///     .scrub_patterns([(r"(auth\.token|SENTRY_AUTH_TOKEN)=\w+", "$1=[Filtered]")]);
    /// # drop(options);
    /// ```
    pub fn scrub_patterns(
        mut self,
        value: impl IntoIterator<Item = (impl Into<String>, impl Into<String>)>,
    ) -> Self {
        self.scrub_patterns = value
            .into_iter()
            .map(|(regex, replacement)| (regex.into(), replacement.into()))
            .collect();
        self
    }

    /// Turns client reports on or off.
    pub fn send_client_reports(mut self, value: bool) -> Self {
        self.send_client_reports = value;
        self
    }

    /// Sets the longest a connection attempt may take.
    pub fn connect_timeout(mut self, value: Duration) -> Self {
        self.connect_timeout = value;
        self
    }

    /// Sets the longest one request may take.
    pub fn request_timeout(mut self, value: Duration) -> Self {
        self.request_timeout = value;
        self
    }

    /// Sets how long dropping the guard waits for pending events.
    pub fn shutdown_timeout(mut self, value: Duration) -> Self {
        self.shutdown_timeout = value;
        self
    }

    /// Sets how many events may wait for the worker.
    pub fn queue_size(mut self, value: usize) -> Self {
        self.queue_size = value;
        self
    }

    /// Sets which panics are reported.
    pub fn panic_capture(mut self, value: PanicCapture) -> Self {
        self.panic_capture = value;
        self
    }

    /// Sets how long the panic hook may hold up a panic that ends the process.
    pub fn panic_flush_timeout(mut self, value: Duration) -> Self {
        self.panic_flush_timeout = value;
        self
    }

    /// Replaces the HTTP transport.
    pub fn transport(
        mut self,
        value: impl Fn(&ClientOptions) -> Box<dyn Transport> + Send + Sync + 'static,
    ) -> Self {
        self.transport = Some(Arc::new(value));
        self
    }

    /// Turns the native crash handler on or off.
    pub fn native_crash_handler(mut self, value: bool) -> Self {
        self.native_crash_handler = value;
        self
    }

    /// Fills what the code left unset from the environment: `SENTRY_DSN`,
    /// `SENTRY_RELEASE`, `SENTRY_ENVIRONMENT`, `SENTRY_DEBUG`, `SENTRY_DRY_RUN`,
    /// `SENTRY_DRY_RUN_DIR`, `SENTRY_DATABASE_PATH`, `HTTPS_PROXY` and `HTTP_PROXY` (lowercase forms too).
    /// [`init`](crate::init()) calls it; values set in code win.
    pub fn apply_env(mut self) -> Self {
        self.apply_env_from(|name| std::env::var(name).ok());
        self
    }

    pub(crate) fn apply_env_from(&mut self, var: impl Fn(&str) -> Option<String>) {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if self.dsn.is_none() {
            self.dsn = non_empty("SENTRY_DSN");
        }
        if self.release.is_none() {
            self.release = non_empty("SENTRY_RELEASE").map(Cow::Owned);
        }
        if self.environment.is_none() {
            self.environment = non_empty("SENTRY_ENVIRONMENT").map(Cow::Owned);
        }
        if !self.debug {
            self.debug = non_empty("SENTRY_DEBUG").is_some_and(|v| is_truthy(&v));
        }
        if !self.dry_run {
            self.dry_run = non_empty("SENTRY_DRY_RUN").is_some_and(|v| is_truthy(&v));
        }
        if self.dry_run_dir.is_none() {
            self.dry_run_dir = non_empty("SENTRY_DRY_RUN_DIR").map(PathBuf::from);
        }
        if self.database_path.is_none() {
            self.database_path = non_empty("SENTRY_DATABASE_PATH").map(PathBuf::from);
        }
        if self.https_proxy.is_none() {
            self.https_proxy = non_empty("HTTPS_PROXY").or_else(|| non_empty("https_proxy"));
        }
        if self.http_proxy.is_none() {
            self.http_proxy = non_empty("HTTP_PROXY").or_else(|| non_empty("http_proxy"));
        }
    }

    /// The database directory: the configured one or the per-user default.
    pub(crate) fn effective_database_path(&self) -> PathBuf {
        self.database_path
            .clone()
            .unwrap_or_else(crate::outbox::default_database_path)
    }

    /// The environment events report: the configured one, or `development` in debug builds
    /// and `production` in release builds.
    pub(crate) fn effective_environment(&self) -> Cow<'static, str> {
        match &self.environment {
            Some(env) => env.clone(),
            None if cfg!(debug_assertions) => Cow::Borrowed("development"),
            None => Cow::Borrowed("production"),
        }
    }
}

fn is_truthy(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("dsn", &self.dsn.as_ref().map(|_| "<set>"))
            .field("release", &self.release)
            .field("environment", &self.environment)
            .field("server_name", &self.server_name)
            .field("debug", &self.debug)
            .field("dry_run", &self.dry_run)
            .field("dry_run_dir", &self.dry_run_dir)
            .field("database_path", &self.database_path)
            .field("sample_rate", &self.sample_rate)
            .field("max_breadcrumbs", &self.max_breadcrumbs)
            .field("attach_stacktrace", &self.attach_stacktrace)
            .field("send_default_pii", &self.send_default_pii)
            .field("in_app_include", &self.in_app_include)
            .field("in_app_exclude", &self.in_app_exclude)
            .field("before_send", &self.before_send.as_ref().map(|_| "<fn>"))
            .field(
                "before_breadcrumb",
                &self.before_breadcrumb.as_ref().map(|_| "<fn>"),
            )
            .field("dedupe", &self.dedupe)
            .field("repeat_window", &self.repeat_window)
            .field("ignore_errors", &self.ignore_errors)
            .field("allow_urls", &self.allow_urls)
            .field("deny_urls", &self.deny_urls)
            .field("scrub_data", &self.scrub_data)
            .field("sensitive_keys", &self.sensitive_keys)
            .field("scrub_patterns", &self.scrub_patterns.len())
            .field("send_client_reports", &self.send_client_reports)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("queue_size", &self.queue_size)
            .field("transport", &self.transport.as_ref().map(|_| "<custom>"))
            .field("native_crash_handler", &self.native_crash_handler)
            .field("panic_capture", &self.panic_capture)
            .field("panic_flush_timeout", &self.panic_flush_timeout)
            .finish_non_exhaustive()
    }
}

impl From<&str> for ClientOptions {
    fn from(dsn: &str) -> Self {
        ClientOptions {
            dsn: Some(dsn.to_owned()),
            ..Default::default()
        }
    }
}

impl From<String> for ClientOptions {
    fn from(dsn: String) -> Self {
        ClientOptions {
            dsn: Some(dsn),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn environment_fills_what_code_left_unset() {
        let mut options = ClientOptions {
            release: Some("code@1".into()),
            ..Default::default()
        };
        options.apply_env_from(env(&[
            ("SENTRY_DSN", "https://k@h/1"),
            ("SENTRY_RELEASE", "env@2"),
            ("SENTRY_ENVIRONMENT", "staging"),
            ("SENTRY_DEBUG", "1"),
            ("SENTRY_DRY_RUN", "true"),
            ("HTTPS_PROXY", "http://proxy:3128"),
        ]));
        assert_eq!(options.dsn.as_deref(), Some("https://k@h/1"));
        assert_eq!(options.release.as_deref(), Some("code@1"));
        assert_eq!(options.environment.as_deref(), Some("staging"));
        assert!(options.debug && options.dry_run);
        assert_eq!(options.https_proxy.as_deref(), Some("http://proxy:3128"));
        assert_eq!(options.http_proxy, None);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let mut options = ClientOptions::default();
        options.apply_env_from(env(&[("SENTRY_DSN", "  "), ("SENTRY_DEBUG", "0")]));
        assert_eq!(options.dsn, None);
        assert!(!options.debug);
    }

    #[test]
    fn debug_output_hides_the_dsn() {
        let options = ClientOptions::from("https://secret@h/1");
        assert!(!format!("{options:?}").contains("secret"));
    }
}
