//! The transport that posts envelopes to a Sentry-compatible server over HTTP(S).

mod proxy;
#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
mod system_tls;
mod tls;

use std::fmt;
use std::io::Read;
use std::time::Duration;

use ureq::Agent;
use ureq::http::Response as HttpResponse;

use super::{Delivery, Response, Transport};
use crate::dsn::Dsn;
use crate::envelope::Envelope;

/// The client name sent by default as `User-Agent` and as the auth header's
/// `sentry_client`: `sentry-core/<version>`.
pub const DEFAULT_CLIENT: &str = crate::USER_AGENT;

/// How much of an error answer's body is read to explain it; the rest is dropped.
const BODY_READ_LIMIT: u64 = 64 * 1024;

/// How many characters of an error answer's body go into the delivery's reason.
const BODY_EXCERPT_CHARS: usize = 200;

/// ureq's read and write buffers: room for any answer's head (a few hundred bytes from
/// Sentry) and the request's head; bodies go through in pieces of this size.
const IO_BUFFER_BYTES: usize = 16 * 1024;

/// Resolves IP-literal hosts (a DSN or proxy such as `http://key@10.0.0.5:9000/1`) in place
/// and leaves names to ureq's resolver. That resolver starts a thread for every request
/// when a timeout is set (to bound `getaddrinfo`), even for an IP address and on a kept-alive
/// connection: tens of microseconds per envelope, more on a loaded machine.
#[derive(Debug, Default)]
struct LiteralFirstResolver {
    names: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for LiteralFirstResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let literal = uri.authority().and_then(|authority| {
            let host = authority.host();
            let ip: std::net::IpAddr = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host)
                .parse()
                .ok()?;
            let port = authority.port_u16().or(match uri.scheme_str() {
                Some("https") => Some(443),
                Some("http") => Some(80),
                _ => None,
            })?;
            Some(std::net::SocketAddr::new(ip, port))
        });
        match literal {
            Some(addr) => {
                let mut addrs = self.empty();
                addrs.push(addr);
                Ok(addrs)
            }
            None => self.names.resolve(uri, config, timeout),
        }
    }
}

/// Settings of an [`HttpTransport`].
///
/// Start from [`Default`] and change what you need:
///
/// ```
/// use std::time::Duration;
/// use sentry_core::transport::HttpOptions;
///
/// let mut options = HttpOptions::default();
/// options.proxy = Some("http://proxy.internal:3128".into());
/// options.request_timeout = Duration::from_secs(10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpOptions {
    /// The `User-Agent` header. Default: [`DEFAULT_CLIENT`].
    pub user_agent: String,
    /// The client named in the `X-Sentry-Auth` header's `sentry_client`, such as
    /// `my-sdk/1.2.3`. Default: [`DEFAULT_CLIENT`].
    pub sdk_client: String,
    /// The proxy to send through, such as `http://proxy:3128` (`http://` and `https://`
    /// proxies are supported). When `None`, the environment decides: `HTTPS_PROXY` or
    /// `https_proxy` for an `https` DSN, `HTTP_PROXY` or `http_proxy` for an `http` one,
    /// then `ALL_PROXY` or `all_proxy`; a DSN host listed in `NO_PROXY` or `no_proxy`
    /// is reached directly. An explicit proxy ignores `NO_PROXY`. Default: `None`.
    pub proxy: Option<String>,
    /// How long to wait for the connection (DNS, TCP, proxy, TLS) before giving up.
    /// Default: 5 seconds, long enough for a slow TLS handshake, short enough that an
    /// unreachable server does not hold up the queue.
    pub connect_timeout: Duration,
    /// How long one whole request may take, connection included, before it counts as
    /// failed and is retried later. Default: 30 seconds, enough to upload a large
    /// envelope (a minidump) on a slow link.
    pub request_timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            user_agent: DEFAULT_CLIENT.to_string(),
            sdk_client: DEFAULT_CLIENT.to_string(),
            proxy: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Why an [`HttpTransport`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The proxy is not a URL ureq can use.
    InvalidProxy {
        /// The proxy as given, with any password replaced by `***`.
        proxy: String,
        /// Where it came from: the `proxy` option or an environment variable.
        origin: String,
    },
    /// The proxy uses a protocol this build cannot speak (SOCKS).
    UnsupportedProxyProtocol {
        /// The proxy as given, with any password replaced by `***`.
        proxy: String,
        /// Where it came from: the `proxy` option or an environment variable.
        origin: String,
    },
    /// The DSN or the proxy is `https`, but this build of sentry-core has no TLS backend
    /// (neither its `native-tls` nor its `rustls` feature is enabled).
    TlsUnavailable {
        /// The `https` URL that cannot be reached, with any password replaced by `***`.
        url: String,
    },
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::InvalidProxy { proxy, origin } => write!(
                f,
                "the proxy `{proxy}` from {origin} is not a valid proxy URL; it should look like http://host:port"
            ),
            HttpError::UnsupportedProxyProtocol { proxy, origin } => write!(
                f,
                "the proxy `{proxy}` from {origin} uses a protocol that is not supported; use an http:// or https:// proxy"
            ),
            HttpError::TlsUnavailable { url } => write!(
                f,
                "cannot reach {url}: this build of sentry-core has no TLS; enable its `native-tls` or `rustls` feature"
            ),
        }
    }
}

impl std::error::Error for HttpError {}

/// Posts envelopes to the envelope endpoint of a DSN.
///
/// One connection pool serves every request, so consecutive envelopes reuse the
/// connection (keep-alive). Each request carries the `X-Sentry-Auth`, `User-Agent` and
/// `Content-Type: application/x-sentry-envelope` headers. The answer is classified
/// without treating errors as failures of the transport:
///
/// | Answer | Delivery |
/// |---|---|
/// | 2xx | [`Delivery::Accepted`] |
/// | 408, 429, 5xx, network errors, timeouts | [`Delivery::Retry`] |
/// | other 4xx, 3xx (redirects are not followed) | [`Delivery::Rejected`] |
///
/// The reason of a retry or rejection names the status and quotes the start of the
/// server's answer. [`Response::rate_limits`] and [`Response::retry_after`] carry the
/// `X-Sentry-Rate-Limits` and `Retry-After` headers for the worker to honour.
///
/// ```no_run
/// use sentry_core::envelope::Envelope;
/// use sentry_core::protocol::Event;
/// use sentry_core::transport::{HttpOptions, HttpTransport, Transport};
///
/// let dsn = "https://key@sentry.example.com/42".parse()?;
/// let mut transport = HttpTransport::new(&dsn, HttpOptions::default())?;
/// let response = transport.send(&Envelope::from_event(&Event::new()));
/// println!("{:?}", response.delivery);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct HttpTransport {
    agent: Agent,
    url: String,
    auth_header: String,
    options: HttpOptions,
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The auth header may hold the DSN's secret key.
        f.debug_struct("HttpTransport")
            .field("url", &self.url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport posting to `dsn`'s envelope endpoint.
    ///
    /// Fails only when the proxy (from `options` or the environment) is unusable;
    /// nothing is sent until [`send`](Transport::send).
    pub fn new(dsn: &Dsn, options: HttpOptions) -> Result<Self, HttpError> {
        Self::with_environment(dsn, options, |name| std::env::var(name).ok())
    }

    /// [`new`](Self::new) with `env` reading the proxy variables, so tests do not depend
    /// on the machine's environment (which `std::env::set_var` could only change unsafely).
    fn with_environment(
        dsn: &Dsn,
        options: HttpOptions,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, HttpError> {
        Self::with_roots(dsn, options, env, None)
    }

    /// [`with_environment`](Self::with_environment) trusting `roots` (DER certificates)
    /// instead of the TLS backend's default roots when given, so tests can trust a
    /// certificate of their own.
    fn with_roots(
        dsn: &Dsn,
        options: HttpOptions,
        env: impl Fn(&str) -> Option<String>,
        roots: Option<Vec<Vec<u8>>>,
    ) -> Result<Self, HttpError> {
        let proxy = proxy::resolve(dsn, options.proxy.as_deref(), env)?;
        tls::check_available(dsn, proxy.as_ref())?;
        let config = Agent::config_builder()
            // Error statuses are answers to classify, not failures.
            .http_status_as_error(false)
            // Following a redirect would turn the POST into a GET or drop the body.
            .max_redirects(0)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.request_timeout))
            .user_agent(options.user_agent.as_str())
            // ureq's buffers are 128 KiB each by default and zero-filled on the first
            // request: 64 page faults, a tenth of a millisecond of a short program's one send.
            // Sentry's answers are a few hundred bytes, and bodies stream through in chunks.
            .input_buffer_size(IO_BUFFER_BYTES)
            .output_buffer_size(IO_BUFFER_BYTES)
            .proxy(proxy);
        let config = tls::configure(config, roots.as_deref()).build();
        Ok(HttpTransport {
            agent: Agent::with_parts(
                config,
                tls::connector(roots),
                LiteralFirstResolver::default(),
            ),
            url: dsn.envelope_url(),
            auth_header: dsn.auth_header(&options.sdk_client),
            options,
        })
    }

    /// The URL envelopes are posted to.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn describe_failure(&self, error: &ureq::Error) -> String {
        match error {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => format!(
                "could not connect to {} within {:?}",
                self.url, self.options.connect_timeout
            ),
            ureq::Error::Timeout(_) => format!(
                "no complete answer from {} within {:?}",
                self.url, self.options.request_timeout
            ),
            ureq::Error::HostNotFound => {
                format!(
                    "could not resolve the host of {}; check the DSN and the network",
                    self.url
                )
            }
            other => format!("could not send to {}: {other}", self.url),
        }
    }
}

impl Transport for HttpTransport {
    fn send(&mut self, envelope: &Envelope) -> Response {
        let body = envelope.to_bytes();
        let result = self
            .agent
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth_header)
            .header("Content-Type", "application/x-sentry-envelope")
            .send(&body[..]);
        match result {
            Ok(answer) => read_answer(answer, &self.url),
            Err(error) => Response::new(Delivery::Retry(self.describe_failure(&error))),
        }
    }
}

fn read_answer(mut answer: HttpResponse<ureq::Body>, url: &str) -> Response {
    let status = answer.status().as_u16();
    let header = |name: &str| {
        let value = answer.headers().get(name)?.to_str().ok()?;
        Some(value.to_string())
    };
    let rate_limits = header("x-sentry-rate-limits");
    let retry_after = header("retry-after");
    let location = header("location");
    // Reading the body to its end also hands the connection back for reuse.
    let mut body = Vec::new();
    let _ = answer
        .body_mut()
        .as_reader()
        .take(BODY_READ_LIMIT)
        .read_to_end(&mut body);
    let answer = Answer {
        status,
        body: &body,
        retry_after: retry_after.as_deref(),
        location: location.as_deref(),
    };
    Response {
        delivery: classify(&answer, url),
        status: Some(status),
        rate_limits,
        retry_after,
    }
}

/// What [`classify`] looks at in a server's answer.
struct Answer<'a> {
    status: u16,
    body: &'a [u8],
    retry_after: Option<&'a str>,
    location: Option<&'a str>,
}

/// Decides what a status means for the envelope and explains it in words a user can act
/// on.
fn classify(answer: &Answer<'_>, url: &str) -> Delivery {
    let status = answer.status;
    let explanation = match status {
        200..=299 => return Delivery::Accepted,
        408 => "the server timed out waiting for the envelope".to_string(),
        429 => match answer.retry_after {
            Some(after) => format!("the server is rate limiting this project (retry after {after})"),
            None => "the server is rate limiting this project".to_string(),
        },
        500..=599 => "the server failed".to_string(),
        300..=399 => match answer.location {
            Some(location) => format!(
                "the server redirects to {location}; put the address it redirects to in the DSN"
            ),
            None => "the server answered with a redirect; check the DSN's scheme and host".to_string(),
        },
        400 => "the server rejected the envelope as malformed".to_string(),
        401 | 403 => "the server refused the DSN's key; check that the DSN is current and its project still exists".to_string(),
        404 => format!("the server has no envelope endpoint at {url}; check the DSN's host, path and project id"),
        413 => "the envelope is too large for the server".to_string(),
        _ if (400..500).contains(&status) => "the server rejected the envelope".to_string(),
        _ => "the server answered with an unexpected status".to_string(),
    };
    let mut reason = format!("{explanation} (HTTP {status})");
    let excerpt = body_excerpt(answer.body);
    if !excerpt.is_empty() {
        reason.push_str(": ");
        reason.push_str(&excerpt);
    }
    match status {
        400..=499 if status != 408 && status != 429 => Delivery::Rejected(reason),
        300..=399 => Delivery::Rejected(reason),
        _ => Delivery::Retry(reason),
    }
}

/// The start of a body as one line of text: whitespace collapsed, cut at
/// [`BODY_EXCERPT_CHARS`] characters.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut excerpt = String::new();
    for (count, word) in text.split_whitespace().enumerate() {
        if count > 0 {
            excerpt.push(' ');
        }
        excerpt.push_str(word);
        if excerpt.chars().count() > BODY_EXCERPT_CHARS {
            let cut: String = excerpt.chars().take(BODY_EXCERPT_CHARS).collect();
            return cut + "…";
        }
    }
    excerpt
}

#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;
// The test server is OpenSSL's, a dev-dependency on Linux only.
#[cfg(all(
    test,
    target_os = "linux",
    any(feature = "native-tls", feature = "rustls")
))]
mod tls_tests;
