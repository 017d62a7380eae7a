//! HTTPS through the system's TLS library (native-tls: OpenSSL on Linux), wired into ureq
//! here rather than through ureq's `native-tls` feature.
//!
//! That feature also builds five crates (`der`, `rustls-pki-types`, `pem-rfc7468`,
//! `base64ct`, `zeroize`) to convert certificates given as PEM or DER into what native-tls
//! takes, which the SDK never needs: it trusts the system's roots, or in tests roots given as
//! DER, which native-tls reads itself. Without them a clean build of a program using the SDK
//! took 5-13% less time (three rounds of builds alternated with the ureq feature, see
//! docs/benchmarks.md).
//!
//! The connector sits last in ureq's chain (after the CONNECT proxy and TCP connectors) and
//! wraps the connection in TLS when the URL is `https`, as ureq's own does: certificates and
//! host names are verified, SNI is sent.

use std::io::{self, Read, Write};
use std::sync::{Arc, OnceLock};

use native_tls::{Certificate, HandshakeError, TlsConnector, TlsStream};
use parking_lot::Mutex;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

/// The TLS connector: one native-tls connector, built at the first HTTPS connection.
pub(super) struct SystemTls {
    /// Certificates (DER) to trust instead of the system's roots; `None`: the system's.
    roots: Option<Vec<Vec<u8>>>,
    connector: OnceLock<Result<Arc<TlsConnector>, String>>,
}

impl std::fmt::Debug for SystemTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTls")
            .field("own_roots", &self.roots.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

impl SystemTls {
    pub(super) fn new(roots: Option<Vec<Vec<u8>>>) -> Self {
        SystemTls {
            roots,
            connector: OnceLock::new(),
        }
    }

    fn connector(&self) -> Result<Arc<TlsConnector>, ureq::Error> {
        self.connector
            .get_or_init(|| {
                let mut builder = TlsConnector::builder();
                if let Some(roots) = &self.roots {
                    builder.disable_built_in_roots(true);
                    for der in roots {
                        let root = Certificate::from_der(der).map_err(|e| e.to_string())?;
                        builder.add_root_certificate(root);
                    }
                }
                builder.build().map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|e| ureq::Error::Io(io::Error::other(format!("TLS setup failed: {e}"))))
    }
}

impl<In: Transport> Connector<In> for SystemTls {
    type Out = Either<In, SystemTlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            // No connection below to wrap: nothing this connector can do.
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let connector = self.connector()?;
        let host = details.uri.host().unwrap_or_default();
        // An IPv6 literal comes in brackets; the name to verify is the address.
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let mut adapter = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        adapter.set_timeout(details.timeout);
        let capture = Capture::new(adapter);
        let errors = Arc::clone(&capture.error);
        let stream = match connector.connect(host, capture) {
            Ok(stream) => stream,
            Err(failure) => {
                let failure = match failure {
                    HandshakeError::Failure(e) => io::Error::other(e),
                    HandshakeError::WouldBlock(_) => {
                        io::Error::new(io::ErrorKind::WouldBlock, "TLS handshake would block")
                    }
                };
                // What went wrong below TLS (a timeout, a reset) says more than the TLS
                // library's report of it.
                let below = errors.lock().take();
                return Err(below.unwrap_or(ureq::Error::Io(failure)));
            }
        };
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(SystemTlsTransport { buffers, stream })))
    }
}

/// A connection inside TLS, for ureq.
pub(super) struct SystemTlsTransport {
    buffers: LazyBuffers,
    stream: TlsStream<Capture>,
}

impl std::fmt::Debug for SystemTlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemTlsTransport").finish_non_exhaustive()
    }
}

impl SystemTlsTransport {
    /// The error below TLS, if any, else `result`'s.
    fn surface<T>(&mut self, result: io::Result<T>) -> Result<T, ureq::Error> {
        if let Some(below) = self.stream.get_mut().error.lock().take() {
            return Err(below);
        }
        result.map_err(ureq::Error::from)
    }
}

impl Transport for SystemTlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().inner.set_timeout(timeout);
        let written = self.stream.write_all(&self.buffers.output()[..amount]);
        self.surface(written)
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().inner.set_timeout(timeout);
        let read = self.stream.read(self.buffers.input_append_buf());
        let amount = self.surface(read)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().inner.get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// The connection below TLS, keeping the first ureq error of a read or write (a timeout,
/// say), which the TLS library would report only as a failed read or write.
struct Capture {
    inner: TransportAdapter,
    error: Arc<Mutex<Option<ureq::Error>>>,
}

impl Capture {
    fn new(inner: TransportAdapter) -> Self {
        Capture {
            inner,
            error: Arc::new(Mutex::new(None)),
        }
    }

    /// Keeps `error` and gives the TLS library a plain failure in its place (not, say, a
    /// `WouldBlock`, which it would take for "try again").
    fn keep(&self, error: io::Error) -> io::Error {
        self.error.lock().get_or_insert(ureq::Error::from(error));
        io::Error::other("the connection below TLS failed")
    }
}

impl Read for Capture {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| self.keep(e))
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.keep(e))
    }
}
