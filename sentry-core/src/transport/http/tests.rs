use std::net::TcpListener;
use std::time::{Duration, Instant};

use super::test_server::{Script, TestServer};
use super::*;
use crate::protocol::Event;

fn options() -> HttpOptions {
    HttpOptions {
        user_agent: "test-agent/1.0".into(),
        sdk_client: "test-sdk/2.0".into(),
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..HttpOptions::default()
    }
}

/// A transport for `dsn` that ignores any proxy of the machine running the tests.
fn transport(dsn: &Dsn, options: HttpOptions) -> Result<HttpTransport, HttpError> {
    HttpTransport::with_environment(dsn, options, |_| None)
}

fn transport_for(server: &TestServer, user_info: &str) -> HttpTransport {
    transport(&server.dsn(user_info), options()).unwrap()
}

fn envelope() -> Envelope {
    let mut event = Event::new();
    event.message = Some("hello".into());
    Envelope::from_event(&event)
}

fn send_with(scripts: Vec<Script>) -> Response {
    let server = TestServer::start(scripts);
    transport_for(&server, "key").send(&envelope())
}

#[test]
fn posts_the_envelope_with_all_headers() {
    let server = TestServer::start(vec![]);
    let mut transport = transport_for(&server, "public:secret");
    let envelope = envelope();

    let response = transport.send(&envelope);

    assert_eq!(
        response,
        Response {
            status: Some(200),
            ..Response::new(Delivery::Accepted)
        }
    );
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.request_line, "POST /api/7/envelope/ HTTP/1.1");
    assert_eq!(
        request.header("x-sentry-auth"),
        Some(
            "Sentry sentry_version=7, sentry_client=test-sdk/2.0, sentry_key=public, sentry_secret=secret"
        )
    );
    assert_eq!(request.header("user-agent"), Some("test-agent/1.0"));
    assert_eq!(
        request.header("content-type"),
        Some("application/x-sentry-envelope")
    );
    assert_eq!(request.body, envelope.to_bytes());
    for name in ["x-sentry-auth", "user-agent", "content-type"] {
        let count = request.headers.iter().filter(|(n, _)| n == name).count();
        assert_eq!(count, 1, "{name} sent once: {:?}", request.headers);
    }
    assert_eq!(
        transport.url(),
        format!("http://{}/api/7/envelope/", server.address)
    );
}

#[test]
fn classifies_statuses() {
    type Expectation = fn(&Delivery) -> bool;
    let cases: [(u16, Expectation); 10] = [
        (200, |d| *d == Delivery::Accepted),
        (202, |d| *d == Delivery::Accepted),
        (
            400,
            |d| matches!(d, Delivery::Rejected(r) if r.contains("malformed")),
        ),
        (
            403,
            |d| matches!(d, Delivery::Rejected(r) if r.contains("refused the DSN's key")),
        ),
        (
            404,
            |d| matches!(d, Delivery::Rejected(r) if r.contains("no envelope endpoint")),
        ),
        (408, |d| matches!(d, Delivery::Retry(_))),
        (
            413,
            |d| matches!(d, Delivery::Rejected(r) if r.contains("too large")),
        ),
        (
            429,
            |d| matches!(d, Delivery::Retry(r) if r.contains("rate limiting")),
        ),
        (
            500,
            |d| matches!(d, Delivery::Retry(r) if r.contains("server failed")),
        ),
        (503, |d| matches!(d, Delivery::Retry(_))),
    ];
    let server = TestServer::start(
        cases
            .iter()
            .map(|(status, _)| Script::status(*status))
            .collect(),
    );
    let mut transport = transport_for(&server, "key");
    for (status, expected) in cases {
        let response = transport.send(&envelope());
        assert_eq!(response.status, Some(status));
        assert!(
            expected(&response.delivery),
            "HTTP {status}: {:?}",
            response.delivery
        );
        if let Delivery::Retry(reason) | Delivery::Rejected(reason) = &response.delivery {
            assert!(reason.contains(&format!("(HTTP {status})")), "{reason}");
        }
    }
}

#[test]
fn reasons_quote_the_start_of_the_body() {
    let body = format!(
        "{{\"detail\": \"project\n  disabled\"}} {}",
        "x".repeat(500)
    );
    let response = send_with(vec![Script::with_body(403, &body)]);
    let Delivery::Rejected(reason) = response.delivery else {
        panic!("{response:?}")
    };
    assert!(
        reason.starts_with("the server refused the DSN's key"),
        "{reason}"
    );
    assert!(
        reason.contains(r#"(HTTP 403): {"detail": "project disabled"}"#),
        "{reason}"
    );
    assert!(reason.ends_with('…') && reason.len() < 500, "{reason}");
}

#[test]
fn bodies_larger_than_the_io_buffers_go_through_whole() {
    // Both ways past IO_BUFFER_BYTES: a request body and an error answer's body.
    let mut event = Event::new();
    event.message = Some("m".repeat(3 * IO_BUFFER_BYTES));
    let envelope = Envelope::from_event(&event);
    let answer = format!(
        "{{\"detail\": \"too big\"}} {}",
        "y".repeat(2 * IO_BUFFER_BYTES)
    );
    let server = TestServer::start(vec![Script::with_body(413, &answer)]);
    let mut transport = transport_for(&server, "key");

    let response = transport.send(&envelope);

    assert_eq!(response.status, Some(413), "{response:?}");
    let requests = server.requests();
    assert_eq!(requests[0].body, envelope.to_bytes());
}

#[test]
fn captures_rate_limit_and_retry_after_headers() {
    let response = send_with(vec![Script::Answer {
        status: 429,
        headers: vec![
            ("X-Sentry-Rate-Limits", "60:error:organization".into()),
            ("Retry-After", "60".into()),
        ],
        body: String::new(),
    }]);
    assert_eq!(
        response.rate_limits.as_deref(),
        Some("60:error:organization")
    );
    assert_eq!(response.retry_after.as_deref(), Some("60"));
    assert_eq!(
        response.delivery,
        Delivery::Retry(
            "the server is rate limiting this project (retry after 60) (HTTP 429)".into()
        )
    );
    // Rate limits also come with accepted envelopes.
    let response = send_with(vec![Script::Answer {
        status: 200,
        headers: vec![("X-Sentry-Rate-Limits", "10:transaction".into())],
        body: "{}".into(),
    }]);
    assert_eq!(response.delivery, Delivery::Accepted);
    assert_eq!(response.rate_limits.as_deref(), Some("10:transaction"));
    assert_eq!(response.retry_after, None);
}

#[test]
fn redirects_are_rejected_not_followed() {
    let server = TestServer::start(vec![Script::Answer {
        status: 301,
        headers: vec![(
            "Location",
            "https://elsewhere.example/api/7/envelope/".into(),
        )],
        body: String::new(),
    }]);
    let response = transport_for(&server, "key").send(&envelope());
    let Delivery::Rejected(reason) = response.delivery else {
        panic!("{response:?}")
    };
    assert!(
        reason.contains("redirects to https://elsewhere.example/"),
        "{reason}"
    );
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn connection_refused_is_retried() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dsn: Dsn = format!("http://key@127.0.0.1:{port}/7").parse().unwrap();
    let mut transport = transport(&dsn, options()).unwrap();
    let response = transport.send(&envelope());
    assert_eq!(response.status, None);
    let Delivery::Retry(reason) = response.delivery else {
        panic!("{response:?}")
    };
    assert!(reason.contains(&format!("127.0.0.1:{port}")), "{reason}");
}

#[test]
fn a_server_that_never_answers_is_retried_within_the_request_timeout() {
    let server = TestServer::start(vec![Script::Hang]);
    let dsn = server.dsn("key");
    let mut options = options();
    options.request_timeout = Duration::from_millis(500);
    let mut transport = transport(&dsn, options).unwrap();

    let started = Instant::now();
    let response = transport.send(&envelope());
    let elapsed = started.elapsed();

    let Delivery::Retry(reason) = response.delivery else {
        panic!("{response:?}")
    };
    assert!(reason.contains("within 500ms"), "{reason}");
    assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
}

#[test]
fn reuses_one_connection_for_consecutive_sends() {
    let server = TestServer::start(vec![
        Script::with_body(200, "{}"),
        Script::with_body(429, "slow down"),
    ]);
    let mut transport = transport_for(&server, "key");
    assert_eq!(transport.send(&envelope()).delivery, Delivery::Accepted);
    assert!(matches!(
        transport.send(&envelope()).delivery,
        Delivery::Retry(_)
    ));
    assert_eq!(transport.send(&envelope()).delivery, Delivery::Accepted);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(server.connections(), 1);
}

#[test]
fn sends_through_a_configured_proxy() {
    // The test server plays the proxy: it grants the CONNECT, then receives the
    // tunnelled request on the same connection.
    let proxy = TestServer::start(vec![Script::status(200)]);
    let dsn: Dsn = "http://key@sentry.invalid:9000/7".parse().unwrap();
    let mut options = options();
    options.proxy = Some(format!("http://{}", proxy.address));
    let mut transport = transport(&dsn, options).unwrap();

    let response = transport.send(&envelope());

    assert_eq!(response.delivery, Delivery::Accepted);
    let requests = proxy.requests();
    assert_eq!(
        requests[0].request_line,
        "CONNECT sentry.invalid:9000 HTTP/1.1"
    );
    assert_eq!(requests[1].request_line, "POST /api/7/envelope/ HTTP/1.1");
}

#[test]
fn an_invalid_proxy_fails_construction() {
    let dsn: Dsn = "https://key@example.com/7".parse().unwrap();
    let mut options = options();
    options.proxy = Some("http://[nope".into());
    let error = HttpTransport::new(&dsn, options).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`http://[nope` from the `proxy` option"),
        "{error}"
    );
}

#[test]
fn debug_does_not_show_the_secret_key() {
    // http: the transport is built with or without a TLS backend.
    let dsn: Dsn = "http://key:topsecret@example.com/7".parse().unwrap();
    let mut options = options();
    options.proxy = Some("http://proxy.invalid:1".into());
    let transport = HttpTransport::new(&dsn, options).unwrap();
    assert!(!format!("{transport:?}").contains("topsecret"));
}

#[test]
fn default_options_are_documented_values() {
    let options = HttpOptions::default();
    assert_eq!(options.connect_timeout, Duration::from_secs(5));
    assert_eq!(options.request_timeout, Duration::from_secs(30));
    assert_eq!(options.proxy, None);
    assert_eq!(options.user_agent, crate::USER_AGENT);
    assert_eq!(options.sdk_client, options.user_agent);
}

#[test]
fn body_excerpt_collapses_whitespace_and_cuts_long_bodies() {
    assert_eq!(body_excerpt(b""), "");
    assert_eq!(body_excerpt(b"  a \n\t b "), "a b");
    let long = "é".repeat(300);
    let excerpt = body_excerpt(long.as_bytes());
    assert_eq!(excerpt.chars().count(), BODY_EXCERPT_CHARS + 1);
    assert!(excerpt.ends_with('…'));
    assert_eq!(body_excerpt(&[0xff, b'o', b'k']), "\u{fffd}ok");
}
