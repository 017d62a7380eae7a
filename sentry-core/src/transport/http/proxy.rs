//! Choosing the proxy for a DSN: the configured one, else the environment's.

use ureq::{Proxy, ProxyProtocol};

use super::HttpError;
use crate::dsn::{Dsn, Scheme};

/// The proxy to reach `dsn` through: `configured` if given, else the one the environment
/// names for the DSN's scheme unless `NO_PROXY` exempts its host. `env` reads an
/// environment variable; tests pass their own.
pub(super) fn resolve(
    dsn: &Dsn,
    configured: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<Proxy>, HttpError> {
    if let Some(proxy) = configured {
        return parse(proxy, "the `proxy` option".to_string()).map(Some);
    }
    let names: [&str; 4] = match dsn.scheme() {
        Scheme::Https => ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"],
        Scheme::Http => ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"],
    };
    let Some((name, proxy)) = names.iter().find_map(|name| {
        env(name)
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    }) else {
        return Ok(None);
    };
    let no_proxy = env("NO_PROXY")
        .or_else(|| env("no_proxy"))
        .unwrap_or_default();
    if no_proxy_matches(&no_proxy, dsn.host()) {
        return Ok(None);
    }
    parse(proxy.trim(), format!("the {name} environment variable")).map(Some)
}

fn parse(proxy: &str, origin: String) -> Result<Proxy, HttpError> {
    let parsed = Proxy::new(proxy).map_err(|_| HttpError::InvalidProxy {
        proxy: redact_password(proxy),
        origin: origin.clone(),
    })?;
    match parsed.protocol() {
        ProxyProtocol::Http | ProxyProtocol::Https => Ok(parsed),
        // SOCKS needs ureq's `socks-proxy` feature, which this crate does not enable;
        // without it the proxy would only fail on every send.
        _ => Err(HttpError::UnsupportedProxyProtocol {
            proxy: redact_password(proxy),
            origin,
        }),
    }
}

/// Whether a `NO_PROXY` list exempts `host`. Entries are separated by commas; `*`
/// matches every host; `example.com`, `.example.com` and `*.example.com` match
/// `example.com`'s subdomains, and the first also `example.com` itself (as curl does).
/// A `:port` on an entry is ignored: the transport only ever talks to one host.
pub(super) fn no_proxy_matches(no_proxy: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = entry.to_ascii_lowercase();
            let entry = strip_port(&entry);
            if let Some(domain) = entry.strip_prefix("*.").or_else(|| entry.strip_prefix('.')) {
                return host.ends_with(&format!(".{domain}"));
            }
            host == entry || host.ends_with(&format!(".{entry}"))
        })
}

/// `host:port` → `host`, `[::1]:80` → `::1`, `::1` → `::1`.
fn strip_port(entry: &str) -> &str {
    if let Some(bracketed) = entry.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or(bracketed);
    }
    match entry.split_once(':') {
        // More than one colon: a bare IPv6 address, not a port.
        Some((host, port)) if !port.contains(':') => host,
        _ => entry,
    }
}

/// The proxy URL with the password (or the whole user info) replaced by `***`, so error
/// messages can quote it.
pub(super) fn redact_password(proxy: &str) -> String {
    let authority_start = proxy.find("://").map_or(0, |i| i + 3);
    let authority_end = proxy[authority_start..]
        .find('/')
        .map_or(proxy.len(), |i| authority_start + i);
    match proxy[authority_start..authority_end].rfind('@') {
        Some(at) => format!(
            "{}***{}",
            &proxy[..authority_start],
            &proxy[authority_start + at..]
        ),
        None => proxy.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn dsn(text: &str) -> Dsn {
        text.parse().unwrap()
    }

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn proxy_host(proxy: Option<Proxy>) -> Option<(String, u16)> {
        proxy.map(|p| (p.host().to_string(), p.port()))
    }

    #[test]
    fn configured_proxy_wins_over_environment() {
        let env = env_of(&[("HTTPS_PROXY", "http://env:1")]);
        let proxy = resolve(&dsn("https://k@h/1"), Some("http://configured:3128"), env).unwrap();
        assert_eq!(proxy_host(proxy), Some(("configured".into(), 3128)));
    }

    #[test]
    fn environment_proxy_follows_the_dsn_scheme() {
        let env = env_of(&[
            ("HTTPS_PROXY", "http://secure:1"),
            ("http_proxy", "http://plain:2"),
        ]);
        let https = resolve(&dsn("https://k@h/1"), None, &env).unwrap();
        assert_eq!(proxy_host(https), Some(("secure".into(), 1)));
        let http = resolve(&dsn("http://k@h/1"), None, &env).unwrap();
        assert_eq!(proxy_host(http), Some(("plain".into(), 2)));
        let all = resolve(
            &dsn("http://k@h/1"),
            None,
            env_of(&[("ALL_PROXY", "http://all:3")]),
        )
        .unwrap();
        assert_eq!(proxy_host(all), Some(("all".into(), 3)));
    }

    #[test]
    fn no_environment_means_no_proxy() {
        assert!(
            resolve(&dsn("https://k@h/1"), None, env_of(&[]))
                .unwrap()
                .is_none()
        );
        let blank = env_of(&[("HTTPS_PROXY", " ")]);
        assert!(
            resolve(&dsn("https://k@h/1"), None, blank)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn no_proxy_exempts_the_dsn_host() {
        let env = env_of(&[
            ("HTTPS_PROXY", "http://p:1"),
            ("no_proxy", "localhost, .internal"),
        ]);
        assert!(
            resolve(&dsn("https://k@sentry.internal/1"), None, &env)
                .unwrap()
                .is_none()
        );
        assert!(
            resolve(&dsn("https://k@example.com/1"), None, &env)
                .unwrap()
                .is_some()
        );
        // NO_PROXY only filters the environment's proxy, never a configured one.
        assert!(
            resolve(&dsn("https://k@localhost/1"), Some("http://p:1"), &env)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn no_proxy_patterns() {
        assert!(no_proxy_matches("*", "anything"));
        assert!(no_proxy_matches("example.com", "example.com"));
        assert!(no_proxy_matches("example.com", "o1.EXAMPLE.com"));
        assert!(!no_proxy_matches("example.com", "badexample.com"));
        assert!(no_proxy_matches(".example.com", "o1.example.com"));
        assert!(!no_proxy_matches(".example.com", "example.com"));
        assert!(no_proxy_matches("*.example.com", "o1.example.com"));
        assert!(no_proxy_matches("localhost:8000", "localhost"));
        assert!(no_proxy_matches("::1", "[::1]"));
        assert!(no_proxy_matches("[::1]:80", "[::1]"));
        assert!(no_proxy_matches("a, ,b", "b"));
        assert!(!no_proxy_matches("", "example.com"));
    }

    #[test]
    fn invalid_proxies_are_errors_naming_their_origin() {
        let error = resolve(&dsn("https://k@h/1"), Some("http://[bad"), env_of(&[])).unwrap_err();
        assert_eq!(
            error,
            HttpError::InvalidProxy {
                proxy: "http://[bad".into(),
                origin: "the `proxy` option".into()
            }
        );
        assert!(error.to_string().contains("http://host:port"), "{error}");

        let env = env_of(&[("https_proxy", "http://[bad")]);
        let error = resolve(&dsn("https://k@h/1"), None, env).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("the https_proxy environment variable"),
            "{error}"
        );

        let error =
            resolve(&dsn("https://k@h/1"), Some("socks5://s:1080"), env_of(&[])).unwrap_err();
        assert!(
            matches!(error, HttpError::UnsupportedProxyProtocol { .. }),
            "{error}"
        );
        let error = resolve(&dsn("https://k@h/1"), Some("gopher://g:70"), env_of(&[])).unwrap_err();
        assert!(matches!(error, HttpError::InvalidProxy { .. }), "{error}");
    }

    #[test]
    fn error_messages_hide_proxy_passwords() {
        assert_eq!(
            redact_password("http://user:pw@proxy:1/x"),
            "http://***@proxy:1/x"
        );
        assert_eq!(redact_password("user:pw@proxy:1"), "***@proxy:1");
        assert_eq!(redact_password("http://proxy:1"), "http://proxy:1");
        let error = resolve(
            &dsn("https://k@h/1"),
            Some("socks5://u:hunter2@s:1080"),
            env_of(&[]),
        );
        assert!(!error.unwrap_err().to_string().contains("hunter2"));
    }
}
