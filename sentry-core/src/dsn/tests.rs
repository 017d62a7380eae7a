use proptest::prelude::*;

use super::*;

fn parse(text: &str) -> Dsn {
    match text.parse() {
        Ok(dsn) => dsn,
        Err(error) => panic!("`{text}` should parse, got: {error}"),
    }
}

fn reject(text: &str) -> DsnError {
    match text.parse::<Dsn>() {
        Ok(dsn) => panic!("`{text}` should be rejected, parsed as {dsn:?}"),
        Err(error) => error,
    }
}

#[test]
fn minimal_https_dsn() {
    let dsn = parse("https://abc@example.com/42");
    assert_eq!(dsn.scheme(), Scheme::Https);
    assert_eq!(dsn.public_key(), "abc");
    assert_eq!(dsn.secret_key(), None);
    assert_eq!(dsn.host(), "example.com");
    assert_eq!(dsn.port(), 443);
    assert_eq!(dsn.path(), "");
    assert_eq!(dsn.project_id(), "42");
    assert_eq!(dsn.envelope_url(), "https://example.com/api/42/envelope/");
    assert_eq!(dsn.to_string(), "https://abc@example.com/42");
}

#[test]
fn http_dsn_defaults_to_port_80() {
    let dsn = parse("http://abc@localhost/1");
    assert_eq!(dsn.scheme(), Scheme::Http);
    assert_eq!(dsn.port(), 80);
    assert_eq!(dsn.envelope_url(), "http://localhost/api/1/envelope/");
}

#[test]
fn explicit_port_appears_in_envelope_url() {
    let dsn = parse("http://abc@localhost:8000/1");
    assert_eq!(dsn.port(), 8000);
    assert_eq!(dsn.envelope_url(), "http://localhost:8000/api/1/envelope/");
    // Written explicitly, even the default port is kept.
    let dsn = parse("https://abc@example.com:443/1");
    assert_eq!(
        dsn.envelope_url(),
        "https://example.com:443/api/1/envelope/"
    );
    assert_eq!(dsn.to_string(), "https://abc@example.com:443/1");
}

#[test]
fn secret_key_is_parsed_displayed_and_sent_but_not_debugged() {
    let dsn = parse("https://public:s3cr3t@example.com/9");
    assert_eq!(dsn.public_key(), "public");
    assert_eq!(dsn.secret_key(), Some("s3cr3t"));
    assert_eq!(dsn.to_string(), "https://public:s3cr3t@example.com/9");
    assert_eq!(
        dsn.auth_header("test/1"),
        "Sentry sentry_version=7, sentry_client=test/1, sentry_key=public, sentry_secret=s3cr3t"
    );
    let debug = format!("{dsn:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("public"), "{debug}");
}

#[test]
fn empty_secret_key_counts_as_none() {
    let dsn = parse("https://public:@example.com/9");
    assert_eq!(dsn.secret_key(), None);
    assert_eq!(dsn.to_string(), "https://public@example.com/9");
}

#[test]
fn auth_header_without_secret() {
    let dsn = parse("https://abc@example.com/1");
    assert_eq!(
        dsn.auth_header("sdk/0.1"),
        "Sentry sentry_version=7, sentry_client=sdk/0.1, sentry_key=abc"
    );
}

#[test]
fn ipv6_host_keeps_brackets() {
    let dsn = parse("http://abc@[::1]:8000/5");
    assert_eq!(dsn.host(), "[::1]");
    assert_eq!(dsn.port(), 8000);
    assert_eq!(dsn.envelope_url(), "http://[::1]:8000/api/5/envelope/");
    let dsn = parse("https://abc@[2001:db8::7]/5");
    assert_eq!(dsn.host(), "[2001:db8::7]");
    assert_eq!(dsn.port(), 443);
    assert_eq!(dsn.to_string(), "https://abc@[2001:db8::7]/5");
}

#[test]
fn multi_segment_path() {
    let dsn = parse("https://abc@example.com/a/b/c/77");
    assert_eq!(dsn.path(), "a/b/c");
    assert_eq!(dsn.project_id(), "77");
    assert_eq!(
        dsn.envelope_url(),
        "https://example.com/a/b/c/api/77/envelope/"
    );
    assert_eq!(dsn.to_string(), "https://abc@example.com/a/b/c/77");
}

#[test]
fn trailing_slash_and_whitespace_are_tolerated() {
    let dsn = parse("  https://abc@example.com/sentry/3/\n");
    assert_eq!(dsn.path(), "sentry");
    assert_eq!(dsn.project_id(), "3");
    assert_eq!(dsn.to_string(), "https://abc@example.com/sentry/3");
}

#[test]
fn scheme_is_case_insensitive_and_normalized() {
    let dsn = parse("HTTPS://abc@example.com/3");
    assert_eq!(dsn.scheme(), Scheme::Https);
    assert_eq!(dsn.to_string(), "https://abc@example.com/3");
}

#[test]
fn typical_sentry_and_bugsink_dsns() {
    let sentry = parse("https://0123456789abcdef0123456789abcdef@o123.ingest.us.sentry.io/4504");
    assert_eq!(
        sentry.envelope_url(),
        "https://o123.ingest.us.sentry.io/api/4504/envelope/"
    );
    let bugsink = parse("http://0123456789abcdef0123456789abcdef@bugsink.local:8000/1");
    assert_eq!(
        bugsink.envelope_url(),
        "http://bugsink.local:8000/api/1/envelope/"
    );
}

#[test]
fn rejects_text_without_scheme_separator() {
    assert_eq!(reject("abc@example.com/1"), DsnError::NotAUrl);
    assert_eq!(reject(""), DsnError::NotAUrl);
    assert!(
        DsnError::NotAUrl
            .to_string()
            .contains("https://<public_key>@")
    );
}

#[test]
fn rejects_unknown_scheme_and_names_it() {
    let error = reject("ftp://abc@example.com/1");
    assert_eq!(error, DsnError::UnknownScheme("ftp".into()));
    let message = error.to_string();
    assert!(message.contains("`ftp`") && message.contains("http") && message.contains("https"));
    assert_eq!(
        reject("://abc@example.com/1"),
        DsnError::UnknownScheme("".into())
    );
}

#[test]
fn rejects_missing_or_empty_public_key() {
    assert_eq!(reject("https://example.com/1"), DsnError::NoPublicKey);
    assert_eq!(reject("https://@example.com/1"), DsnError::EmptyPublicKey);
    assert_eq!(
        reject("https://:secret@example.com/1"),
        DsnError::EmptyPublicKey
    );
}

#[test]
fn rejects_keys_that_would_corrupt_the_auth_header() {
    assert_eq!(
        reject("https://a,b@example.com/1"),
        DsnError::InvalidKeyCharacter {
            secret: false,
            character: ','
        }
    );
    let error = reject("https://abc:se cret@example.com/1");
    assert_eq!(
        error,
        DsnError::InvalidKeyCharacter {
            secret: true,
            character: ' '
        }
    );
    assert!(
        !error.to_string().contains("se cret"),
        "never echo the secret"
    );
    assert_eq!(
        reject("https://a@b@example.com/1"),
        DsnError::InvalidKeyCharacter {
            secret: false,
            character: '@'
        }
    );
}

#[test]
fn rejects_missing_host() {
    assert_eq!(reject("https://abc@/1"), DsnError::NoHost);
    assert_eq!(reject("https://abc@:8000/1"), DsnError::NoHost);
}

#[test]
fn rejects_invalid_hosts() {
    assert_eq!(
        reject("https://abc@exa mple.com/1"),
        DsnError::InvalidHost("exa mple.com".into())
    );
    assert_eq!(
        reject("https://abc@[::1/1"),
        DsnError::InvalidHost("[::1".into())
    );
    assert_eq!(
        reject("https://abc@[]/1"),
        DsnError::InvalidHost("[]".into())
    );
    assert_eq!(
        reject("https://abc@[zz]/1"),
        DsnError::InvalidHost("[zz]".into())
    );
    assert_eq!(
        reject("https://abc@[::1]x/1"),
        DsnError::InvalidHost("[::1]x".into())
    );
}

#[test]
fn rejects_invalid_ports() {
    for (dsn, port) in [
        ("https://abc@example.com:/1", ""),
        ("https://abc@example.com:http/1", "http"),
        ("https://abc@example.com:65536/1", "65536"),
        ("https://abc@example.com:0/1", "0"),
        ("https://abc@example.com:+80/1", "+80"),
        ("https://abc@example.com:80:81/1", "80:81"),
        ("https://abc@[::1]:x/1", "x"),
    ] {
        assert_eq!(reject(dsn), DsnError::InvalidPort(port.into()), "{dsn}");
    }
    assert!(
        DsnError::InvalidPort("x".into())
            .to_string()
            .contains("1 to 65535")
    );
}

#[test]
fn rejects_missing_project_id() {
    assert_eq!(reject("https://abc@example.com"), DsnError::NoProjectId);
    assert_eq!(reject("https://abc@example.com/"), DsnError::NoProjectId);
}

#[test]
fn rejects_non_numeric_project_id() {
    assert_eq!(
        reject("https://abc@example.com/my-project"),
        DsnError::InvalidProjectId("my-project".into())
    );
    assert_eq!(
        reject("https://abc@example.com/1/x"),
        DsnError::InvalidProjectId("x".into())
    );
}

#[test]
fn rejects_empty_path_segments_and_bad_path_characters() {
    assert_eq!(
        reject("https://abc@example.com//1"),
        DsnError::EmptyPathSegment
    );
    assert_eq!(
        reject("https://abc@example.com/a//1"),
        DsnError::EmptyPathSegment
    );
    assert_eq!(
        reject("https://abc@example.com/1//"),
        DsnError::EmptyPathSegment
    );
    assert_eq!(
        reject("https://abc@example.com/a b/1"),
        DsnError::InvalidPathCharacter(' ')
    );
}

#[test]
fn rejects_query_and_fragment() {
    assert_eq!(
        reject("https://abc@example.com/1?timeout=3"),
        DsnError::QueryOrFragment
    );
    assert_eq!(
        reject("https://abc@example.com/1#x"),
        DsnError::QueryOrFragment
    );
}

#[test]
fn errors_are_std_errors() {
    let error: Box<dyn std::error::Error> = Box::new(DsnError::NoHost);
    assert!(error.to_string().contains("no host"));
}

fn valid_dsn() -> impl Strategy<Value = String> {
    let scheme = prop_oneof!["http", "https", "HTTPS"];
    let key = "[a-zA-Z0-9._~-]{1,12}";
    let secret = proptest::option::of("[a-f0-9]{1,12}");
    let host = prop_oneof![
        "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z]{2,5}){0,3}",
        "\\[[0-9a-f]{1,4}(:[0-9a-f]{1,4}){0,3}::[0-9a-f]{0,4}\\]",
    ];
    let port = proptest::option::of(1u16..);
    let path = proptest::collection::vec("[a-zA-Z0-9_.~-]{1,6}", 0..4);
    let project_id = "[0-9]{1,10}";
    let trailing = prop_oneof!["", "/"];
    (scheme, key, secret, host, port, path, project_id, trailing).prop_map(
        |(scheme, key, secret, host, port, path, id, trailing)| {
            let secret = secret.map(|s| format!(":{s}")).unwrap_or_default();
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let path: String = path.iter().map(|segment| format!("{segment}/")).collect();
            format!("{scheme}://{key}{secret}@{host}{port}/{path}{id}{trailing}")
        },
    )
}

proptest! {
    #[test]
    fn parse_never_panics(text in any::<String>()) {
        let _ = text.parse::<Dsn>();
    }

    #[test]
    fn parse_never_panics_on_dsn_like_text(text in "[a-z]{0,5}://[a-z:@\\[\\]/0-9.?#]{0,30}") {
        let _ = text.parse::<Dsn>();
    }

    #[test]
    fn display_round_trips(text in valid_dsn()) {
        let dsn = parse(&text);
        let shown = dsn.to_string();
        prop_assert_eq!(parse(&shown), dsn.clone());
        // Display is canonical: showing the reparsed DSN gives the same text.
        prop_assert_eq!(parse(&shown).to_string(), shown);
        let suffix = format!("api/{}/envelope/", dsn.project_id());
        prop_assert!(dsn.envelope_url().ends_with(&suffix));
    }
}
