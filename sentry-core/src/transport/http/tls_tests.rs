//! HTTPS end to end, on whichever TLS backend the build enabled: a local TLS server with a
//! certificate made for the test is refused as untrusted by default, and accepted once the
//! transport trusts it.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslAcceptor, SslMethod};
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};
use parking_lot::Mutex;

use super::test_server::read_request;
use super::*;
use crate::protocol::Event;

/// A self-signed certificate for `127.0.0.1`, valid for a day, and its key.
fn certificate() -> (X509, PKey<Private>) {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "sentry-core test server")
        .unwrap();
    let name = name.build();
    let mut builder = X509::builder().unwrap();
    builder.set_version(2).unwrap();
    let serial = BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap();
    builder.set_serial_number(&serial).unwrap();
    builder.set_subject_name(&name).unwrap();
    builder.set_issuer_name(&name).unwrap();
    builder.set_pubkey(&key).unwrap();
    builder
        .set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    builder
        .set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip("127.0.0.1")
        .build(&builder.x509v3_context(None, None))
        .unwrap();
    builder.append_extension(san).unwrap();
    builder.sign(&key, MessageDigest::sha256()).unwrap();
    (builder.build(), key)
}

/// An HTTPS server on a free local port that answers 200 to every request and records
/// the request lines of the requests it got through a completed handshake.
fn start_server(certificate: &X509, key: &PKey<Private>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_private_key(key).unwrap();
    acceptor.set_certificate(certificate).unwrap();
    acceptor.check_private_key().unwrap();
    let acceptor = acceptor.build();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let recorded = requests.clone();
    // Lives until the test process ends; it only holds a port.
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            // A client refusing the certificate ends the handshake: not a request.
            let Ok(tls) = acceptor.accept(stream) else {
                continue;
            };
            let mut reader = BufReader::new(tls);
            while let Some(request) = read_request(&mut reader) {
                recorded.lock().push(request.request_line);
                let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
                if reader.get_mut().write_all(answer.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    (address, requests)
}

fn options() -> HttpOptions {
    HttpOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_secs(10),
        ..HttpOptions::default()
    }
}

fn envelope() -> Envelope {
    Envelope::from_event(&Event::new())
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let (certificate, key) = certificate();
    let (address, requests) = start_server(&certificate, &key);
    let dsn: Dsn = format!("https://key@{address}/7").parse().unwrap();
    let mut transport = HttpTransport::with_environment(&dsn, options(), |_| None).unwrap();

    let response = transport.send(&envelope());

    let Delivery::Retry(reason) = &response.delivery else {
        panic!("expected a retry, got {response:?}");
    };
    assert!(
        reason.contains(&format!("could not send to {}", dsn.envelope_url())),
        "{reason}"
    );
    // OpenSSL: "certificate verify failed"; rustls: "invalid peer certificate".
    assert!(reason.contains("certificate"), "{reason}");
    assert_eq!(response.status, None);
    assert!(requests.lock().is_empty(), "{:?}", requests.lock());
}

#[test]
fn posts_over_https_to_a_trusted_certificate() {
    let (certificate, key) = certificate();
    let (address, requests) = start_server(&certificate, &key);
    let dsn: Dsn = format!("https://key@{address}/7").parse().unwrap();
    let root = certificate.to_der().unwrap();
    let mut transport =
        HttpTransport::with_roots(&dsn, options(), |_| None, Some(vec![root])).unwrap();

    let response = transport.send(&envelope());

    assert_eq!(response.delivery, Delivery::Accepted, "{response:?}");
    assert_eq!(response.status, Some(200));
    assert_eq!(
        *requests.lock(),
        vec!["POST /api/7/envelope/ HTTP/1.1".to_string()]
    );
}

#[test]
fn a_handshake_that_never_completes_is_a_timeout() {
    // Accepts the connection and never speaks TLS.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(1).collect();
        thread::sleep(Duration::from_secs(10));
        drop(held);
    });
    let dsn: Dsn = format!("https://key@{address}/7").parse().unwrap();
    let mut options = options();
    options.connect_timeout = Duration::from_millis(500);
    options.request_timeout = Duration::from_millis(500);
    let mut transport = HttpTransport::with_environment(&dsn, options, |_| None).unwrap();

    let started = std::time::Instant::now();
    let response = transport.send(&envelope());

    let Delivery::Retry(reason) = &response.delivery else {
        panic!("expected a retry, got {response:?}");
    };
    // Reported as the timeout it is, not as a TLS failure.
    assert!(reason.contains("within 500ms"), "{reason}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn posts_over_https_through_a_connect_proxy() {
    let (certificate, key) = certificate();
    let (address, requests) = start_server(&certificate, &key);
    // A CONNECT proxy: reads the CONNECT line, opens the tunnel, then copies both ways.
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy_address = proxy.local_addr().unwrap();
    let tunnels = Arc::new(Mutex::new(Vec::new()));
    let seen = tunnels.clone();
    thread::spawn(move || {
        for client in proxy.incoming() {
            let Ok(client) = client else { return };
            let mut reader = BufReader::new(client.try_clone().unwrap());
            let Some(request) = read_request(&mut reader) else {
                continue;
            };
            seen.lock().push(request.request_line.clone());
            let target = request.request_line.split(' ').nth(1).unwrap().to_owned();
            let upstream = std::net::TcpStream::connect(target).unwrap();
            let mut answer = client.try_clone().unwrap();
            answer
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .unwrap();
            let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
            thread::spawn(move || {
                let _ = std::io::copy(&mut reader, &mut up_write);
            });
            thread::spawn(move || {
                let _ = std::io::copy(&mut up_read, &mut answer);
            });
        }
    });
    let dsn: Dsn = format!("https://key@{address}/7").parse().unwrap();
    let mut options = options();
    options.proxy = Some(format!("http://{proxy_address}"));
    let mut transport = HttpTransport::with_roots(
        &dsn,
        options,
        |_| None,
        Some(vec![certificate.to_der().unwrap()]),
    )
    .unwrap();

    let response = transport.send(&envelope());

    assert_eq!(response.delivery, Delivery::Accepted, "{response:?}");
    assert_eq!(*tunnels.lock(), vec![format!("CONNECT {address} HTTP/1.1")]);
    assert_eq!(
        *requests.lock(),
        vec!["POST /api/7/envelope/ HTTP/1.1".to_string()]
    );
}
