//! The DSN: where to send events and with which key.
//!
//! A DSN (data source name) is the URL a Sentry-compatible server hands out per project:
//!
//! ```text
//! {http|https}://{public_key}[:{secret_key}]@{host}[:{port}]/[{path}/]{project_id}
//! ```
//!
//! ```
//! use sentry_core::dsn::{Dsn, Scheme};
//!
//! let dsn: Dsn = "https://abc123@o1.ingest.example.com/42".parse()?;
//! assert_eq!(dsn.scheme(), Scheme::Https);
//! assert_eq!(dsn.project_id(), "42");
//! assert_eq!(dsn.envelope_url(), "https://o1.ingest.example.com/api/42/envelope/");
//! # Ok::<(), sentry_core::dsn::DsnError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// The protocol a DSN's server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP, default port 80.
    Http,
    /// HTTP over TLS, default port 443.
    Https,
}

impl Scheme {
    /// The scheme as it is written in a URL: `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// The port a URL of this scheme uses when it names none: 80 or 443.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed DSN.
///
/// Parse one with [`str::parse`]; [`Display`](fmt::Display) writes it back in the same
/// form, secret key included. [`Debug`](fmt::Debug) hides the secret key so a DSN can
/// be logged safely.
///
/// ```
/// use sentry_core::dsn::Dsn;
///
/// let dsn: Dsn = "https://public:secret@sentry.example.com:9000/sub/path/7".parse()?;
/// assert_eq!(dsn.public_key(), "public");
/// assert_eq!(dsn.secret_key(), Some("secret"));
/// assert_eq!(dsn.port(), 9000);
/// assert_eq!(dsn.path(), "sub/path");
/// assert_eq!(dsn.to_string(), "https://public:secret@sentry.example.com:9000/sub/path/7");
/// assert!(!format!("{dsn:?}").contains("secret\""));
/// # Ok::<(), sentry_core::dsn::DsnError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Dsn {
    scheme: Scheme,
    public_key: String,
    secret_key: Option<String>,
    /// As written in a URL: IPv6 addresses keep their brackets.
    host: String,
    /// Only the port written in the DSN; `None` means the scheme's default.
    explicit_port: Option<u16>,
    /// Segments joined by `/`, without leading or trailing slashes; empty for none.
    path: String,
    project_id: String,
}

impl Dsn {
    /// The scheme, `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The public key, which identifies the project to the server.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The secret key, which only old DSNs carry; servers no longer require it.
    pub fn secret_key(&self) -> Option<&str> {
        self.secret_key.as_deref()
    }

    /// The host name or IP address. IPv6 addresses keep their brackets (`[::1]`), as in a
    /// URL.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port: the one written in the DSN, else the scheme's default (80 or 443).
    pub fn port(&self) -> u16 {
        self.explicit_port.unwrap_or(self.scheme.default_port())
    }

    /// The path before the project id, without leading or trailing slashes; empty when
    /// the server lives at the root. `sub/path` for `https://key@host/sub/path/7`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The project id, a string of digits.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// The same DSN without its secret key: what may be written into envelopes, files and
    /// logs. Servers identify the project by the public key alone.
    ///
    /// ```
    /// let dsn: sentry_core::dsn::Dsn = "https://public:secret@example.com/1".parse()?;
    /// assert_eq!(dsn.without_secret_key().to_string(), "https://public@example.com/1");
    /// # Ok::<(), sentry_core::dsn::DsnError>(())
    /// ```
    pub fn without_secret_key(&self) -> Dsn {
        Dsn {
            secret_key: None,
            ..self.clone()
        }
    }

    /// The URL envelopes are posted to:
    /// `{scheme}://{host}[:{port}]/[{path}/]api/{project_id}/envelope/`.
    ///
    /// The port appears only when the DSN names one.
    ///
    /// ```
    /// let dsn: sentry_core::dsn::Dsn = "http://key@[::1]:8000/bugsink/3".parse()?;
    /// assert_eq!(dsn.envelope_url(), "http://[::1]:8000/bugsink/api/3/envelope/");
    /// # Ok::<(), sentry_core::dsn::DsnError>(())
    /// ```
    pub fn envelope_url(&self) -> String {
        let mut url = format!("{}://{}", self.scheme, self.host);
        if let Some(port) = self.explicit_port {
            url.push_str(&format!(":{port}"));
        }
        url.push('/');
        if !self.path.is_empty() {
            url.push_str(&self.path);
            url.push('/');
        }
        url.push_str(&format!("api/{}/envelope/", self.project_id));
        url
    }

    /// The value of the `X-Sentry-Auth` header for requests from `client` (such as
    /// `my-sdk/1.0`).
    ///
    /// ```
    /// let dsn: sentry_core::dsn::Dsn = "https://abc@example.com/1".parse()?;
    /// assert_eq!(
    ///     dsn.auth_header("my-sdk/1.0"),
    ///     "Sentry sentry_version=7, sentry_client=my-sdk/1.0, sentry_key=abc"
    /// );
    /// # Ok::<(), sentry_core::dsn::DsnError>(())
    /// ```
    pub fn auth_header(&self, client: &str) -> String {
        let mut header = format!(
            "Sentry sentry_version=7, sentry_client={client}, sentry_key={}",
            self.public_key
        );
        if let Some(secret) = &self.secret_key {
            header.push_str(&format!(", sentry_secret={secret}"));
        }
        header
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.public_key)?;
        if let Some(secret) = &self.secret_key {
            write!(f, ":{secret}")?;
        }
        write!(f, "@{}", self.host)?;
        if let Some(port) = self.explicit_port {
            write!(f, ":{port}")?;
        }
        f.write_str("/")?;
        if !self.path.is_empty() {
            write!(f, "{}/", self.path)?;
        }
        f.write_str(&self.project_id)
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret key grants write access on old servers: never let it reach a log.
        f.debug_struct("Dsn")
            .field("scheme", &self.scheme)
            .field("public_key", &self.public_key)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<hidden>"))
            .field("host", &self.host)
            .field("port", &self.explicit_port)
            .field("path", &self.path)
            .field("project_id", &self.project_id)
            .finish()
    }
}

/// The expected form, quoted by the error messages that need it.
const DSN_FORM: &str = "https://<public_key>@<host>[:<port>]/[<path>/]<project_id>";

/// Why a string is not a DSN.
///
/// Every message names the problem; those about the overall shape also show the form a
/// DSN takes. Messages never contain the secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DsnError {
    /// There is no `://`, so the string is not a URL at all.
    NotAUrl,
    /// The scheme is neither `http` nor `https`.
    UnknownScheme(String),
    /// There is no `public_key@` before the host.
    NoPublicKey,
    /// The text before `@` (or before `:` in it) is empty.
    EmptyPublicKey,
    /// A key contains a character that cannot appear in a URL's user info or would break
    /// the auth header.
    InvalidKeyCharacter {
        /// Whether it is the secret key (else the public key).
        secret: bool,
        /// The offending character.
        character: char,
    },
    /// Nothing between `@` and the path.
    NoHost,
    /// The host contains characters a host name or IP address cannot contain.
    InvalidHost(String),
    /// The text after the host's `:` is not a port number from 1 to 65535.
    InvalidPort(String),
    /// The path has an empty segment, as in `//`.
    EmptyPathSegment,
    /// The path contains a character a URL path cannot contain, such as a space.
    InvalidPathCharacter(char),
    /// There is no project id at the end of the path.
    NoProjectId,
    /// The last path segment is not made of digits.
    InvalidProjectId(String),
    /// The DSN has a `?query` or `#fragment`; no server reads one, so it is refused rather
    /// than silently ignored.
    QueryOrFragment,
}

impl fmt::Display for DsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DsnError::NotAUrl => write!(
                f,
                "the DSN is not a URL (no `://`); it should look like {DSN_FORM}"
            ),
            DsnError::UnknownScheme(scheme) => write!(
                f,
                "the DSN's scheme `{scheme}` is not supported; only `http` and `https` are"
            ),
            DsnError::NoPublicKey => write!(
                f,
                "the DSN has no public key (no `<key>@` before the host); it should look like {DSN_FORM}"
            ),
            DsnError::EmptyPublicKey => {
                write!(f, "the DSN's public key (the part before `@`) is empty")
            }
            DsnError::InvalidKeyCharacter { secret, character } => write!(
                f,
                "the DSN's {} key contains {character:?}, which a key cannot contain",
                if *secret { "secret" } else { "public" }
            ),
            DsnError::NoHost => write!(
                f,
                "the DSN has no host after `@`; it should look like {DSN_FORM}"
            ),
            DsnError::InvalidHost(host) => write!(
                f,
                "the DSN's host `{host}` is not a host name or IP address (IPv6 addresses go in brackets: `[::1]`)"
            ),
            DsnError::InvalidPort(port) => {
                write!(f, "the DSN's port `{port}` is not a number from 1 to 65535")
            }
            DsnError::EmptyPathSegment => write!(
                f,
                "the DSN's path has an empty segment (`//`); it should look like {DSN_FORM}"
            ),
            DsnError::InvalidPathCharacter(character) => write!(
                f,
                "the DSN's path contains {character:?}, which a URL path cannot contain"
            ),
            DsnError::NoProjectId => write!(
                f,
                "the DSN has no project id at the end of its path; it should look like {DSN_FORM}"
            ),
            DsnError::InvalidProjectId(id) => write!(
                f,
                "the DSN's project id `{id}` is not a number; the project id is the digits at the end of the DSN"
            ),
            DsnError::QueryOrFragment => write!(
                f,
                "the DSN has a `?query` or `#fragment`, which servers do not read; remove it"
            ),
        }
    }
}

impl std::error::Error for DsnError {}

impl FromStr for Dsn {
    type Err = DsnError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (scheme, rest) = text.split_once("://").ok_or(DsnError::NotAUrl)?;
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(DsnError::UnknownScheme(scheme.to_owned())),
        };
        if rest.contains(['?', '#']) {
            return Err(DsnError::QueryOrFragment);
        }
        let (authority, path) = match rest.split_once('/') {
            Some(split) => split,
            None => (rest, ""),
        };
        // Keys never contain `@`, but a host cannot either; splitting at the last one
        // makes a stray `@` in the key fail on the key's character check.
        let (user_info, host_and_port) = authority.rsplit_once('@').ok_or(DsnError::NoPublicKey)?;
        let (public_key, secret_key) = parse_user_info(user_info)?;
        let (host, explicit_port) = parse_host_and_port(host_and_port)?;
        let (path, project_id) = parse_path(path)?;
        Ok(Dsn {
            scheme,
            public_key,
            secret_key,
            host,
            explicit_port,
            path,
            project_id,
        })
    }
}

fn parse_user_info(user_info: &str) -> Result<(String, Option<String>), DsnError> {
    let (public_key, secret_key) = match user_info.split_once(':') {
        Some((public, secret)) => (public, Some(secret)),
        None => (user_info, None),
    };
    if public_key.is_empty() {
        return Err(DsnError::EmptyPublicKey);
    }
    check_key(public_key, false)?;
    // `key:@host` names no secret; treat it as the common form without one.
    let secret_key = secret_key.filter(|s| !s.is_empty());
    if let Some(secret) = secret_key {
        check_key(secret, true)?;
    }
    Ok((public_key.to_owned(), secret_key.map(str::to_owned)))
}

/// Keys end up verbatim in the `X-Sentry-Auth` header, where `,`, `=`, spaces or control
/// characters would corrupt it; real keys are hex, so allow URL-safe characters only.
fn check_key(key: &str, secret: bool) -> Result<(), DsnError> {
    match key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%')))
    {
        Some(character) => Err(DsnError::InvalidKeyCharacter { secret, character }),
        None => Ok(()),
    }
}

fn parse_host_and_port(text: &str) -> Result<(String, Option<u16>), DsnError> {
    if text.is_empty() {
        return Err(DsnError::NoHost);
    }
    let (host, port) = if let Some(bracketed) = text.strip_prefix('[') {
        let (address, after) = bracketed
            .split_once(']')
            .ok_or_else(|| DsnError::InvalidHost(text.to_owned()))?;
        let is_ipv6 = !address.is_empty()
            && address.contains(':')
            && address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '.'));
        if !is_ipv6 {
            return Err(DsnError::InvalidHost(format!("[{address}]")));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| DsnError::InvalidHost(text.to_owned()))?,
            ),
        };
        (&text[..address.len() + 2], port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() {
        return Err(DsnError::NoHost);
    }
    let is_name = host.starts_with('[')
        || host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !is_name {
        return Err(DsnError::InvalidHost(host.to_owned()));
    }
    let port = match port {
        None => None,
        Some(port) => Some(parse_port(port)?),
    };
    Ok((host.to_owned(), port))
}

fn parse_port(text: &str) -> Result<u16, DsnError> {
    // `u16::from_str` accepts a leading `+`, which is not a port.
    let valid = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u16>() {
        Ok(port) if valid && port != 0 => Ok(port),
        _ => Err(DsnError::InvalidPort(text.to_owned())),
    }
}

/// The characters RFC 3986 allows in a path segment, `%` included for escapes.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%".contains(c)
}

/// Splits what follows the host's `/` into the path and the project id.
fn parse_path(text: &str) -> Result<(String, String), DsnError> {
    let text = text.strip_suffix('/').unwrap_or(text);
    if text.is_empty() {
        return Err(DsnError::NoProjectId);
    }
    let (path, project_id) = match text.rsplit_once('/') {
        Some((path, id)) => (path, id),
        None => ("", text),
    };
    let has_empty_segment = text.split('/').any(str::is_empty);
    if has_empty_segment {
        return Err(DsnError::EmptyPathSegment);
    }
    if let Some(character) = path.chars().find(|c| *c != '/' && !is_path_char(*c)) {
        return Err(DsnError::InvalidPathCharacter(character));
    }
    if !project_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DsnError::InvalidProjectId(project_id.to_owned()));
    }
    Ok((path.to_owned(), project_id.to_owned()))
}

#[cfg(test)]
mod tests;
