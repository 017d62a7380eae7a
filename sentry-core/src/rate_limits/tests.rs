use super::*;
use proptest::prelude::*;

#[test]
fn header_forms() {
    let parsed = parse_rate_limits("60:error;transaction:key, 2.5::organization, 10:unknown:key");
    assert_eq!(
        parsed.len(),
        2,
        "the unknown-only quota is skipped: {parsed:?}"
    );
    assert_eq!(
        parsed[0],
        (Duration::from_secs(60), vec!["error", "transaction"])
    );
    assert_eq!(parsed[1], (Duration::from_millis(2500), vec![]));
    assert!(parse_rate_limits("").is_empty());
    assert!(parse_rate_limits("abc:error").is_empty());
    assert!(parse_rate_limits("-5:error").is_empty());
    // Bugsink sends this on every response: only transactions and spans, which we never send.
    let bugsink = parse_rate_limits("86400:transaction;span:organization");
    assert_eq!(
        bugsink,
        vec![(Duration::from_secs(86400), vec!["transaction"])]
    );
}

#[test]
fn limits_by_category_and_the_longest_wins() {
    let mut limits = RateLimits::default();
    limits.update(
        Some(200),
        Some("30:error:key, 5:error:key, 1:attachment:key"),
        None,
    );
    let error = limits.limited_for("error").unwrap();
    assert!(
        error > Duration::from_secs(25) && error <= Duration::from_secs(30),
        "{error:?}"
    );
    assert!(limits.limited_for("attachment").is_some());
    assert!(limits.limited_for("session").is_none());
    limits.update(Some(429), Some("2::key"), None);
    assert!(
        limits.limited_for("session").is_some(),
        "empty list limits every category"
    );
    assert!(limits.limited_for("error").unwrap() > Duration::from_secs(25));
}

#[test]
fn retry_after_and_bare_429() {
    let mut limits = RateLimits::default();
    limits.update(Some(429), None, Some("7"));
    let left = limits.limited_for("error").unwrap();
    assert!(
        left > Duration::from_secs(6) && left <= Duration::from_secs(7),
        "{left:?}"
    );

    let mut limits = RateLimits::default();
    limits.update(Some(429), None, None);
    assert!(limits.limited_for("default").unwrap() > Duration::from_secs(59));

    let mut limits = RateLimits::default();
    limits.update(Some(500), None, Some("7"));
    assert!(
        limits.limited_for("error").is_none(),
        "Retry-After counts on a 429 only"
    );
}

#[test]
fn retry_after_as_http_date() {
    let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
        Some(Duration::ZERO)
    );
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
        Some(Duration::from_secs(30))
    );
    assert!(parse_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", now).is_some());
    assert_eq!(parse_retry_after("tomorrow", now), None);
    assert_eq!(
        parse_retry_after("Sun, 06 Nov 1994 08:49:37 CET", now),
        None
    );
}

#[test]
fn categories_of_item_types() {
    assert_eq!(category_of("event"), "error");
    assert_eq!(category_of("client_report"), "internal");
    assert_eq!(category_of("something_new"), "default");
}

proptest! {
    #[test]
    fn parsers_never_panic(header in ".{0,200}", date in ".{0,60}") {
        let _ = parse_rate_limits(&header);
        let _ = parse_retry_after(&date, SystemTime::now());
        let mut limits = RateLimits::default();
        limits.update(Some(429), Some(&header), Some(&date));
        limits.update(Some(429), None, Some(&date));
    }

    #[test]
    fn generated_headers_parse(seconds in 0u32..=86_400, cats in proptest::collection::vec(0usize..6, 0..4)) {
        let names: Vec<_> = cats.iter().map(|i| KNOWN_CATEGORIES[*i]).collect();
        let header = format!("{seconds}:{}:key", names.join(";"));
        let parsed = parse_rate_limits(&header);
        prop_assert_eq!(parsed.len(), 1);
        prop_assert_eq!(parsed[0].0, Duration::from_secs(u64::from(seconds)));
        prop_assert_eq!(&parsed[0].1, &names);
    }
}
