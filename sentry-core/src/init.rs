//! Starting and stopping the SDK.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::client::Client;
use crate::debug::{sdk_debug, sdk_warn};
use crate::dsn::{Dsn, DsnError, Scheme};
use crate::options::ClientOptions;
use crate::transport::{DryRunTransport, HttpOptions, HttpTransport, Transport};

/// Why [`try_init`] could not start the SDK.
#[derive(Debug)]
#[non_exhaustive]
pub enum InitError {
    /// The DSN given in code or in `SENTRY_DSN` is not valid.
    InvalidDsn {
        /// The DSN as given.
        dsn: String,
        /// What is wrong with it.
        source: DsnError,
    },
    /// The HTTP transport could not be set up (for example an invalid proxy URL).
    Transport(String),
    /// The background worker thread could not be started.
    Worker(std::io::Error),
}

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InitError::InvalidDsn { source, .. } => write!(f, "invalid DSN: {source}"),
            InitError::Transport(why) => write!(f, "cannot set up sending: {why}"),
            InitError::Worker(error) => write!(f, "cannot start the background worker: {error}"),
        }
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InitError::InvalidDsn { source, .. } => Some(source),
            InitError::Worker(error) => Some(error),
            InitError::Transport(_) => None,
        }
    }
}

/// Keeps the SDK running; dropping it sends what is pending (within `shutdown_timeout`)
/// and stops the SDK. Keep it alive for the life of the program: `let _guard = ...`.
#[must_use = "the SDK stops when the guard is dropped; bind it with `let _guard = ...`"]
pub struct ClientInitGuard {
    client: Option<Arc<Client>>,
}

impl ClientInitGuard {
    /// Whether events are sent (or written, in a dry run).
    pub fn is_enabled(&self) -> bool {
        self.client.is_some()
    }

    /// The client, for its drop counters and options.
    pub fn client(&self) -> Option<&Arc<Client>> {
        self.client.as_ref()
    }
}

impl fmt::Debug for ClientInitGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientInitGuard")
            .field("enabled", &self.is_enabled())
            .finish()
    }
}

impl Drop for ClientInitGuard {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            client.close(client.options().shutdown_timeout);
            crate::hub::unbind_client(&client);
        }
    }
}

/// Starts the SDK: reads the environment for what `options` leaves unset, then sends every
/// event captured from any thread to the DSN's server.
///
/// Without a DSN the SDK is disabled and capturing costs nothing (unless `dry_run` is on).
/// A DSN that is set but invalid is reported on stderr, always, and the SDK stays disabled;
/// use [`try_init`] to handle the error yourself.
///
/// ```
/// let _guard = sentry_core::init(sentry_core::ClientOptions::new().release("my-app@1.0.0"));
/// sentry_core::capture_message("started", sentry_core::protocol::Level::Info);
/// ```
pub fn init(options: impl Into<ClientOptions>) -> ClientInitGuard {
    match try_init(options) {
        Ok(guard) => guard,
        Err(error) => {
            sdk_warn!("the SDK is disabled: {error}");
            ClientInitGuard { client: None }
        }
    }
}

/// Like [`init`], but an invalid DSN or proxy is an error instead of a message on stderr.
///
/// ```
/// let error = sentry_core::try_init("https://example.com/42").unwrap_err();
/// assert!(error.to_string().contains("public key"));
/// ```
pub fn try_init(options: impl Into<ClientOptions>) -> Result<ClientInitGuard, InitError> {
    let options = options.into().apply_env();
    crate::debug::set_enabled(options.debug);
    let dsn = match options
        .dsn
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        Some(text) => Some(
            text.parse::<Dsn>()
                .map_err(|source| InitError::InvalidDsn {
                    dsn: text.to_owned(),
                    source,
                })?,
        ),
        None => None,
    };
    let Some(transport) = make_transport(&options, dsn.as_ref())? else {
        sdk_debug!("no DSN set (option dsn or SENTRY_DSN): the SDK is disabled");
        crate::hub::bind_client(None);
        return Ok(ClientInitGuard { client: None });
    };
    // A dry run sends nothing, so it keeps nothing for later either.
    let database = (!options.dry_run).then(|| options.effective_database_path());
    // The crash handler needs this run's directory now (even in a dry run: a crash is still
    // reported on the next start).
    let crash_run = crate::native::setup(&options);
    let client =
        Client::new(options, dsn, transport, database, crash_run).map_err(InitError::Worker)?;
    let client = Arc::new(client);
    if let Some(previous) = crate::hub::bind_client(Some(Arc::clone(&client))) {
        previous.close(previous.options().shutdown_timeout);
    }
    #[cfg(feature = "panic")]
    crate::panic::install_hook(client.options());
    sdk_debug!("initialized: {:?}", client.options());
    Ok(ClientInitGuard {
        client: Some(client),
    })
}

/// Picks the transport: a custom one, a dry run, HTTP to the DSN, or none (disabled).
fn make_transport(
    options: &ClientOptions,
    dsn: Option<&Dsn>,
) -> Result<Option<Box<dyn Transport>>, InitError> {
    if let Some(factory) = &options.transport {
        return Ok(Some(factory(options)));
    }
    if options.dry_run {
        sdk_debug!("dry run: envelopes are written, not sent");
        return Ok(Some(match &options.dry_run_dir {
            Some(dir) => Box::new(DryRunTransport::to_directory(dir.clone(), dsn)),
            None => Box::new(DryRunTransport::to_stderr(dsn)),
        }));
    }
    let Some(dsn) = dsn else { return Ok(None) };
    let proxy = match dsn.scheme() {
        Scheme::Https => options.https_proxy.clone(),
        Scheme::Http => options.http_proxy.clone(),
    };
    let http = HttpOptions {
        user_agent: options.user_agent.to_string(),
        sdk_client: crate::USER_AGENT.to_owned(),
        proxy,
        connect_timeout: options.connect_timeout,
        request_timeout: options.request_timeout,
    };
    let transport =
        HttpTransport::new(dsn, http).map_err(|e| InitError::Transport(e.to_string()))?;
    sdk_debug!("sending to {}", dsn.envelope_url());
    Ok(Some(Box::new(transport)))
}

/// Waits at most `timeout` for every event captured so far to be sent. Returns whether
/// they all were.
pub fn flush(timeout: Duration) -> bool {
    crate::hub::client().is_none_or(|client| client.flush(timeout))
}

/// Sends what is pending within `timeout` and stops the SDK. For programs that leave
/// through [`std::process::exit`], where the guard of [`init`] is never dropped.
pub fn close(timeout: Duration) -> bool {
    let Some(client) = crate::hub::bind_client(None) else {
        return true;
    };
    client.close(timeout)
}
