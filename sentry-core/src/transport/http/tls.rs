//! The TLS backend of the HTTP transport, chosen by the crate's features: `native-tls`
//! (the default: the system's TLS library and trusted roots) or `rustls` (rustls with the
//! bundled Mozilla roots), which wins when both are enabled. Certificates are always
//! verified.

use ureq::Proxy;
use ureq::config::ConfigBuilder;
use ureq::typestate::AgentScope;

use super::HttpError;
use super::proxy::redact_password;
use crate::dsn::{Dsn, Scheme};

/// Whether this build can speak TLS at all.
pub(super) const AVAILABLE: bool = cfg!(any(feature = "native-tls", feature = "rustls"));

/// Fails when `dsn` or `proxy` needs TLS and this build has none, which ureq would only
/// report (or panic on) at the first send.
pub(super) fn check_available(dsn: &Dsn, proxy: Option<&Proxy>) -> Result<(), HttpError> {
    if AVAILABLE {
        return Ok(());
    }
    if dsn.scheme() == Scheme::Https {
        return Err(HttpError::TlsUnavailable {
            url: dsn.envelope_url(),
        });
    }
    match proxy {
        Some(proxy) if proxy.protocol() == ureq::ProxyProtocol::Https => {
            Err(HttpError::TlsUnavailable {
                url: redact_password(&proxy.uri().to_string()),
            })
        }
        _ => Ok(()),
    }
}

/// `config` with the TLS settings of the enabled backend.
pub(super) fn configure(config: ConfigBuilder<AgentScope>) -> ConfigBuilder<AgentScope> {
    #[cfg(any(feature = "native-tls", feature = "rustls"))]
    let config = config.tls_config(config_with_roots(None));
    config
}

/// The TLS settings of the enabled backend: verification on, trusting `roots` if given,
/// else the backend's default roots (the system's for native-tls, webpki-roots for rustls).
#[cfg(any(feature = "native-tls", feature = "rustls"))]
pub(super) fn config_with_roots(
    roots: Option<Vec<ureq::tls::Certificate<'static>>>,
) -> ureq::tls::TlsConfig {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};

    #[cfg(feature = "rustls")]
    let (provider, default_roots) = (TlsProvider::Rustls, RootCerts::WebPki);
    #[cfg(not(feature = "rustls"))]
    let (provider, default_roots) = (TlsProvider::NativeTls, RootCerts::PlatformVerifier);
    TlsConfig::builder()
        .provider(provider)
        .root_certs(roots.map_or(default_roots, RootCerts::from))
        .disable_verification(false)
        .build()
}

#[cfg(all(test, not(any(feature = "native-tls", feature = "rustls"))))]
mod tests {
    use super::*;

    #[test]
    fn without_a_backend_https_fails_at_once_and_http_works() {
        let https: Dsn = "https://key@example.com/7".parse().unwrap();
        assert_eq!(
            check_available(&https, None),
            Err(HttpError::TlsUnavailable {
                url: "https://example.com/api/7/envelope/".into()
            })
        );
        let http: Dsn = "http://key@example.com/7".parse().unwrap();
        assert_eq!(check_available(&http, None), Ok(()));
        let proxy = Proxy::new("https://user:pw@proxy:3128").unwrap();
        assert!(matches!(
            check_available(&http, Some(&proxy)),
            Err(HttpError::TlsUnavailable { url }) if !url.contains("pw")
        ));
    }
}
