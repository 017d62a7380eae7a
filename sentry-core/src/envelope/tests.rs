use std::time::{Duration, UNIX_EPOCH};

use proptest::prelude::*;
use serde_json::json;

use super::*;

const EVENT_ID: &str = "9ec79c33ec9942ab8353589fcb2e04dc";

fn event_id() -> Uuid {
    Uuid::parse_str(EVENT_ID).unwrap()
}

#[test]
fn writes_exact_bytes() {
    let mut envelope = Envelope::new();
    envelope.set_event_id(event_id());
    envelope.set_dsn(&"https://abc@example.com/42".parse().unwrap());
    envelope.set_sdk("sentry.rust", "0.1.0");
    envelope.set_sent_at(UNIX_EPOCH + Duration::from_millis(1_795_272_534_123));
    envelope.add_item("event", br#"{"message":"hi"}"#.to_vec());
    envelope
        .add_item("attachment", b"two\nlines".to_vec())
        .set_filename("notes.txt")
        .set_content_type("text/plain");
    envelope.add_item("empty", Vec::new());

    let expected = concat!(
        r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","dsn":"https://abc@example.com/42","#,
        r#""sdk":{"name":"sentry.rust","version":"0.1.0"},"sent_at":"2026-11-21T14:48:54.123Z"}"#,
        "\n",
        r#"{"type":"event","length":16}"#,
        "\n",
        r#"{"message":"hi"}"#,
        "\n",
        r#"{"type":"attachment","length":9,"content_type":"text/plain","filename":"notes.txt"}"#,
        "\n",
        "two\nlines\n",
        r#"{"type":"empty","length":0}"#,
        "\n\n",
    );
    assert_eq!(String::from_utf8(envelope.to_bytes()).unwrap(), expected);
}

#[test]
fn dsn_header_leaves_out_the_secret_key() {
    let mut envelope = Envelope::new();
    envelope.set_dsn(&"https://public:secret@example.com/42".parse().unwrap());
    assert_eq!(envelope.dsn(), Some("https://public@example.com/42"));
}

#[test]
fn empty_envelope_is_an_empty_header() {
    assert_eq!(Envelope::new().to_bytes(), b"{}\n");
    assert_eq!(Envelope::parse(b"{}\n").unwrap(), Envelope::new());
    assert_eq!(Envelope::parse(b"{}").unwrap(), Envelope::new());
}

#[test]
fn from_event_round_trips_the_event() {
    let mut event = Event::new();
    event.message = Some("disk almost full".into());
    event.tags.insert("disk".into(), "/var".into());
    // serde_json's default float parsing may be one ULP off; a binary-exact timestamp keeps
    // the equality below about the envelope, not about float formatting.
    event.timestamp = 1_795_272_534.5;
    let envelope = Envelope::from_event(&event);

    assert_eq!(envelope.event_id(), Some(event.event_id));
    assert_eq!(envelope.items().len(), 1);
    assert_eq!(envelope.items()[0].item_type(), "event");
    assert_eq!(envelope.event().unwrap(), event);
    let json = envelope.event_json().unwrap();
    assert_eq!(json["message"], "disk almost full");
    assert_eq!(json["event_id"], event.event_id.simple().to_string());

    let parsed = Envelope::parse(&envelope.to_bytes()).unwrap();
    assert_eq!(parsed, envelope);
    assert_eq!(parsed.event().unwrap(), event);
}

#[test]
fn event_id_is_written_without_dashes_and_read_with_or_without() {
    let mut envelope = Envelope::new();
    envelope.set_event_id(event_id());
    let bytes = envelope.to_bytes();
    assert!(bytes.starts_with(format!(r#"{{"event_id":"{EVENT_ID}"}}"#).as_bytes()));
    let dashed = br#"{"event_id":"9ec79c33-ec99-42ab-8353-589fcb2e04dc"}"#;
    assert_eq!(
        Envelope::parse(dashed).unwrap().event_id(),
        Some(event_id())
    );
}

#[test]
fn parses_items_with_and_without_length() {
    let input = concat!(
        r#"{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","custom":[1,2]}"#,
        "\n",
        r#"{"type":"attachment","length":10,"filename":"a.bin"}"#,
        "\n",
        "\u{0}\u{1}\n3456789\n",
        r#"{"type":"event"}"#,
        "\n",
        r#"{"message":"no length"}"#,
        "\n",
        r#"{"type":"session"}"#,
        "\n",
        r#"{"last":"no newline"}"#,
    );
    let envelope = Envelope::parse(input.as_bytes()).unwrap();
    assert_eq!(envelope.event_id(), Some(event_id()));
    assert_eq!(envelope.headers().get("custom"), Some(&json!([1, 2])));
    let items = envelope.items();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0].item_type(), "attachment");
    assert_eq!(items[0].payload(), b"\x00\x01\n3456789");
    assert_eq!(items[0].header("filename"), Some(&json!("a.bin")));
    assert_eq!(
        items[0].header("length"),
        None,
        "length is not kept as a header"
    );
    assert_eq!(items[1].payload(), br#"{"message":"no length"}"#);
    assert_eq!(envelope.event_json().unwrap()["message"], "no length");
    assert_eq!(items[2].payload(), br#"{"last":"no newline"}"#);
}

#[test]
fn parses_empty_payload_without_length_and_blank_lines() {
    let envelope =
        Envelope::parse(b"{}\n{\"type\":\"a\"}\n\n\n\n{\"type\":\"b\",\"length\":0}\n").unwrap();
    let types: Vec<_> = envelope
        .items()
        .iter()
        .map(EnvelopeItem::item_type)
        .collect();
    assert_eq!(types, ["a", "b"]);
    assert!(
        envelope
            .items()
            .iter()
            .all(|item| item.payload().is_empty())
    );
}

#[test]
fn keeps_unknown_header_keys() {
    let input = br#"{"trace":{"trace_id":"x"},"sent_at":"2020-01-01T00:00:00Z"}"#;
    let envelope = Envelope::parse(input).unwrap();
    assert_eq!(envelope.sent_at(), Some("2020-01-01T00:00:00Z"));
    assert_eq!(envelope.headers()["trace"], json!({"trace_id": "x"}));
    assert_eq!(Envelope::parse(&envelope.to_bytes()).unwrap(), envelope);
}

#[test]
fn reserved_headers_are_refused() {
    let mut envelope = Envelope::new();
    assert_eq!(
        envelope.set_header("event_id", json!("x")),
        Err(EnvelopeError::ReservedHeader("event_id".into()))
    );
    envelope.set_header("trace", json!({})).unwrap();
    let item = envelope.add_item("event", Vec::new());
    assert!(item.set_header("length", json!(3)).is_err());
    assert!(item.set_header("type", json!("x")).is_err());
    item.set_header("attachment_type", json!("event.minidump"))
        .unwrap();
}

#[test]
fn parse_errors_name_the_problem() {
    let cases: &[(&[u8], EnvelopeError)] = &[
        (b"", EnvelopeError::Empty),
        (
            b"{}\n{\"length\":0}\n\n",
            EnvelopeError::MissingItemType { index: 0 },
        ),
        (
            b"{}\n{\"type\":3}\n\n",
            EnvelopeError::MissingItemType { index: 0 },
        ),
        (
            b"{}\n{\"type\":\"a\",\"length\":-1}\n",
            EnvelopeError::InvalidItemLength { index: 0 },
        ),
        (
            b"{}\n{\"type\":\"a\",\"length\":\"2\"}\n",
            EnvelopeError::InvalidItemLength { index: 0 },
        ),
        (
            b"{}\n{\"type\":\"a\",\"length\":10}\nabc",
            EnvelopeError::TruncatedItem {
                index: 0,
                expected: 10,
                available: 3,
            },
        ),
        (
            b"{}\n{\"type\":\"a\",\"length\":99999999999999999999}\nabc",
            EnvelopeError::InvalidItemLength { index: 0 },
        ),
        (
            b"{}\n{\"type\":\"a\",\"length\":1}\nabc\n",
            EnvelopeError::MissingNewlineAfterItem { index: 0 },
        ),
    ];
    for (input, expected) in cases {
        let got = Envelope::parse(input);
        assert_eq!(
            got.as_ref(),
            Err(expected),
            "{}",
            String::from_utf8_lossy(input)
        );
    }
    assert!(matches!(
        Envelope::parse(b"not json\n"),
        Err(EnvelopeError::InvalidHeader(_))
    ));
    assert!(
        matches!(Envelope::parse(b"[1]\n"), Err(EnvelopeError::InvalidHeader(m)) if m.contains("an array"))
    );
    assert!(matches!(
        Envelope::parse(b"{}\n{\"type\":\"a\",\"length\":0}\n\nnope\n"),
        Err(EnvelopeError::InvalidItemHeader { index: 1, .. })
    ));
    assert!(matches!(
        Envelope::parse(br#"{"event_id":"nope"}"#),
        Err(EnvelopeError::InvalidHeaderField {
            field: "event_id",
            ..
        })
    ));
    assert!(matches!(
        Envelope::parse(br#"{"dsn":5}"#),
        Err(EnvelopeError::InvalidHeaderField { field: "dsn", .. })
    ));
    assert!(matches!(
        Envelope::parse(br#"{"sdk":{"name":"x"}}"#),
        Err(EnvelopeError::InvalidHeaderField { field: "sdk", .. })
    ));
    let message = EnvelopeError::TruncatedItem {
        index: 2,
        expected: 10,
        available: 3,
    }
    .to_string();
    assert!(
        message.contains("item 2") && message.contains("10") && message.contains('3'),
        "{message}"
    );
}

#[test]
fn event_helpers_report_missing_or_broken_events() {
    let mut envelope = Envelope::new();
    assert_eq!(envelope.event().unwrap_err(), EnvelopeError::NoEventItem);
    assert_eq!(
        envelope.event_json().unwrap_err(),
        EnvelopeError::NoEventItem
    );
    envelope.add_item("event", b"{".to_vec());
    assert!(matches!(
        envelope.event(),
        Err(EnvelopeError::InvalidEvent(_))
    ));
    assert!(matches!(
        envelope.event_json(),
        Err(EnvelopeError::InvalidEvent(_))
    ));
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        proptest::collection::vec(any::<u32>(), 0..3).prop_map(Value::from),
    ]
}

fn header_map(reserved: &'static [&'static str]) -> impl Strategy<Value = Map> {
    proptest::collection::btree_map(any::<String>(), json_value(), 0..3).prop_map(move |map| {
        map.into_iter()
            .filter(|(key, _)| !reserved.contains(&key.as_str()))
            .collect()
    })
}

fn envelope_item() -> impl Strategy<Value = EnvelopeItem> {
    let payload = proptest::collection::vec(any::<u8>(), 0..64);
    (any::<String>(), header_map(&RESERVED_ITEM_HEADERS), payload).prop_map(
        |(item_type, headers, payload)| EnvelopeItem {
            item_type,
            headers,
            payload,
        },
    )
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let sdk = proptest::option::of((any::<String>(), any::<String>()))
        .prop_map(|sdk| sdk.map(|(name, version)| SdkHeader { name, version }));
    (
        proptest::option::of(any::<u128>().prop_map(Uuid::from_u128)),
        proptest::option::of(any::<String>()),
        sdk,
        proptest::option::of(any::<String>()),
        header_map(&RESERVED_ENVELOPE_HEADERS),
        proptest::collection::vec(envelope_item(), 0..4),
    )
        .prop_map(
            |(event_id, dsn, sdk, sent_at, other_headers, items)| Envelope {
                event_id,
                dsn,
                sdk,
                sent_at,
                other_headers,
                items,
            },
        )
}

proptest! {
    #[test]
    fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = Envelope::parse(&bytes);
    }

    #[test]
    fn parse_never_panics_on_envelope_like_input(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("{}".to_string()),
                "\\{\"type\":\"[a-z]{0,3}\"(,\"length\":[0-9]{1,3})?\\}",
                "[ -~]{0,12}",
            ],
            0..6,
        )
    ) {
        let _ = Envelope::parse(lines.join("\n").as_bytes());
    }

    #[test]
    fn parse_inverts_to_bytes(envelope in envelope()) {
        let bytes = envelope.to_bytes();
        prop_assert_eq!(Envelope::parse(&bytes), Ok(envelope));
    }
}
