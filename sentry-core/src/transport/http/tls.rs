//! The TLS backend of the HTTP transport, chosen by the crate's features: `native-tls`
//! (the default: the system's TLS library and trusted roots, wired into ureq by
//! `system_tls.rs`) or `rustls` (ureq's own rustls with the bundled Mozilla roots), which
//! wins when both are enabled. Certificates are always verified.

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

/// `config` with the TLS settings of the enabled backend: for rustls, verification on and
/// `roots` (DER) trusted if given, else the bundled Mozilla roots. native-tls takes its
/// settings in its connector instead (see [`connector`]).
#[cfg_attr(not(feature = "rustls"), allow(unused_variables))]
pub(super) fn configure(
    config: ConfigBuilder<AgentScope>,
    roots: Option<&[Vec<u8>]>,
) -> ConfigBuilder<AgentScope> {
    #[cfg(feature = "rustls")]
    let config = {
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
        let roots = roots.map(|roots| {
            let certificates: Vec<Certificate<'static>> = roots
                .iter()
                .map(|der| Certificate::from_der(der).to_owned())
                .collect();
            RootCerts::from(certificates)
        });
        config.tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::Rustls)
                .root_certs(roots.unwrap_or(RootCerts::WebPki))
                .disable_verification(false)
                .build(),
        )
    };
    config
}

/// The chain of ureq connectors: ureq's own, or with native-tls (and not rustls) ureq's
/// CONNECT proxy and TCP connectors followed by [`SystemTls`](super::system_tls::SystemTls),
/// trusting `roots` (DER) if given, else the system's roots.
#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
pub(super) fn connector(
    roots: Option<Vec<Vec<u8>>>,
) -> impl ureq::unversioned::transport::Connector {
    use ureq::unversioned::transport::{ConnectProxyConnector, Connector, TcpConnector};
    ().chain(ConnectProxyConnector::default())
        .chain(TcpConnector::default())
        .chain(super::system_tls::SystemTls::new(roots))
}

/// The chain of ureq connectors: ureq's own, whose TLS (if any) is rustls.
#[cfg(not(all(feature = "native-tls", not(feature = "rustls"))))]
pub(super) fn connector(
    _roots: Option<Vec<Vec<u8>>>,
) -> impl ureq::unversioned::transport::Connector {
    ureq::unversioned::transport::DefaultConnector::default()
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
