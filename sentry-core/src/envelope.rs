//! Envelopes: the container the SDK sends to the server.
//!
//! An envelope is a JSON header line followed by items, each an item-header JSON line and
//! a payload of raw bytes (<https://develop.sentry.dev/sdk/data-model/envelopes/>):
//!
//! ```text
//! {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2026-11-21T14:48:54.123Z"}
//! {"type":"event","length":41}
//! {"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}
//! {"type":"attachment","length":5,"filename":"hello.txt"}
//! hello
//! ```
//!
//! ```
//! use sentry_core::envelope::Envelope;
//! use sentry_core::protocol::Event;
//!
//! let event = Event::new();
//! let mut envelope = Envelope::from_event(&event);
//! envelope.add_item("attachment", b"hello".to_vec()).set_filename("hello.txt");
//! let bytes = envelope.to_bytes();
//! assert_eq!(Envelope::parse(&bytes)?, envelope);
//! assert_eq!(envelope.event()?.event_id, event.event_id);
//! # Ok::<(), sentry_core::envelope::EnvelopeError>(())
//! ```

mod error;
mod parse;

use std::io::{self, Write};
use std::time::SystemTime;

use serde::{Serialize, Serializer};
use uuid::Uuid;

pub use self::error::EnvelopeError;
use crate::dsn::Dsn;
use crate::protocol::json::{self, FromJson, Object};
use crate::protocol::{Event, Map, Value};

/// The envelope header keys with typed fields; [`Envelope::set_header`] refuses them.
const RESERVED_ENVELOPE_HEADERS: [&str; 4] = ["event_id", "dsn", "sdk", "sent_at"];

/// The item header keys the envelope format itself writes; [`EnvelopeItem::set_header`]
/// refuses them.
const RESERVED_ITEM_HEADERS: [&str; 2] = ["type", "length"];

/// The SDK that wrote an envelope, the header's `sdk` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkHeader {
    /// The SDK's name, such as `sentry.rust`.
    pub name: String,
    /// The SDK's version, such as `0.1.0`.
    pub version: String,
}

/// An envelope: a header and a list of items.
///
/// Build one with [`Envelope::from_event`] or [`Envelope::new`] and
/// [`add_item`](Envelope::add_item); write it with [`to_bytes`](Envelope::to_bytes); read
/// one back with [`Envelope::parse`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Envelope {
    event_id: Option<Uuid>,
    dsn: Option<String>,
    sdk: Option<SdkHeader>,
    sent_at: Option<String>,
    /// Header keys without a typed field, kept so parsing and writing loses nothing.
    other_headers: Map,
    items: Vec<EnvelopeItem>,
}

impl Envelope {
    /// An envelope with an empty header and no items.
    pub fn new() -> Self {
        Self::default()
    }

    /// An envelope carrying `event`: the header's `event_id` is the event's, and the one
    /// item is of type `event` with the event as JSON.
    pub fn from_event(event: &Event) -> Self {
        // Serializing an Event cannot fail: its maps have string keys and its types use
        // derived or infallible Serialize impls. Should that ever change, an empty object
        // still lets the server report a broken event rather than losing it silently.
        let payload = serde_json::to_vec(event).unwrap_or_else(|_| b"{}".to_vec());
        let mut envelope = Envelope::new();
        envelope.event_id = Some(event.event_id);
        envelope.items.push(EnvelopeItem::new("event", payload));
        envelope
    }

    /// The header's `event_id`: the id of the event the envelope carries, if any.
    pub fn event_id(&self) -> Option<Uuid> {
        self.event_id
    }

    /// Sets the header's `event_id`.
    pub fn set_event_id(&mut self, event_id: Uuid) {
        self.event_id = Some(event_id);
    }

    /// The header's `dsn`, if set.
    pub fn dsn(&self) -> Option<&str> {
        self.dsn.as_deref()
    }

    /// Sets the header's `dsn`, which lets a relay forward the envelope to the right
    /// project. A secret key is left out: the envelope may be logged or written to disk,
    /// and the public key identifies the project.
    pub fn set_dsn(&mut self, dsn: &Dsn) {
        self.dsn = Some(dsn.without_secret_key().to_string());
    }

    /// The header's `sdk`, if set.
    pub fn sdk(&self) -> Option<&SdkHeader> {
        self.sdk.as_ref()
    }

    /// Sets the header's `sdk` to the SDK's name and version.
    pub fn set_sdk(&mut self, name: impl Into<String>, version: impl Into<String>) {
        self.sdk = Some(SdkHeader {
            name: name.into(),
            version: version.into(),
        });
    }

    /// The header's `sent_at`, an RFC 3339 timestamp, if set.
    pub fn sent_at(&self) -> Option<&str> {
        self.sent_at.as_deref()
    }

    /// Sets the header's `sent_at` to `time` in UTC with milliseconds, such as
    /// `2026-11-21T14:48:54.123Z`. The server uses it to correct the client's clock.
    pub fn set_sent_at(&mut self, time: SystemTime) {
        self.sent_at = Some(crate::time::format_utc_millis(time));
    }

    /// The header keys other than `event_id`, `dsn`, `sdk` and `sent_at`.
    pub fn headers(&self) -> &Map {
        &self.other_headers
    }

    /// Sets a header key other than `event_id`, `dsn`, `sdk` and `sent_at`; those have
    /// typed setters and are refused here with [`EnvelopeError::ReservedHeader`].
    pub fn set_header(
        &mut self,
        key: impl Into<String>,
        value: Value,
    ) -> Result<(), EnvelopeError> {
        let key = key.into();
        if RESERVED_ENVELOPE_HEADERS.contains(&key.as_str()) {
            return Err(EnvelopeError::ReservedHeader(key));
        }
        self.other_headers.insert(key, value);
        Ok(())
    }

    /// The items, in order.
    pub fn items(&self) -> &[EnvelopeItem] {
        &self.items
    }

    /// Appends an item of type `item_type` and returns it so headers can be added.
    pub fn add_item(
        &mut self,
        item_type: impl Into<String>,
        payload: impl Into<Vec<u8>>,
    ) -> &mut EnvelopeItem {
        self.push_item(EnvelopeItem::new(item_type, payload))
    }

    /// Keeps only the items for which `keep` returns true, in order; returns how many were
    /// removed. Used to leave out what the server's rate limits forbid.
    pub fn retain_items(&mut self, mut keep: impl FnMut(&EnvelopeItem) -> bool) -> usize {
        let before = self.items.len();
        self.items.retain(|item| keep(item));
        before - self.items.len()
    }

    /// Appends `item` and returns it.
    pub fn push_item(&mut self, item: EnvelopeItem) -> &mut EnvelopeItem {
        self.items.push(item);
        let last = self.items.len() - 1;
        &mut self.items[last]
    }

    /// The first item of type `event`, parsed.
    ///
    /// Fails with [`EnvelopeError::NoEventItem`] or [`EnvelopeError::InvalidEvent`].
    pub fn event(&self) -> Result<Event, EnvelopeError> {
        serde_json::from_slice(self.event_payload()?)
            .map_err(|error| EnvelopeError::InvalidEvent(error.to_string()))
    }

    /// The first item of type `event` as a JSON value, for asserting on fields the
    /// [`Event`] type does not model.
    pub fn event_json(&self) -> Result<Value, EnvelopeError> {
        serde_json::from_slice(self.event_payload()?)
            .map_err(|error| EnvelopeError::InvalidEvent(error.to_string()))
    }

    fn event_payload(&self) -> Result<&[u8], EnvelopeError> {
        self.items
            .iter()
            .find(|item| item.item_type == "event")
            .map(|item| item.payload.as_slice())
            .ok_or(EnvelopeError::NoEventItem)
    }

    /// The envelope in its wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = self.write_to(&mut bytes);
        bytes
    }

    /// Writes the envelope in its wire form: the header line, then for each item its
    /// header line (with `type` and the payload's exact `length`) and its payload, each
    /// followed by `\n`.
    pub fn write_to(&self, writer: &mut impl Write) -> io::Result<()> {
        let header = EnvelopeHeaderOut {
            event_id: self.event_id.map(|id| id.simple().to_string()),
            dsn: self.dsn.as_deref(),
            sdk: self.sdk.as_ref(),
            sent_at: self.sent_at.as_deref(),
            other: &self.other_headers,
        };
        serde_json::to_writer(&mut *writer, &header)?;
        writer.write_all(b"\n")?;
        for item in &self.items {
            let item_header = ItemHeaderOut {
                item_type: &item.item_type,
                length: item.payload.len(),
                other: &item.headers,
            };
            serde_json::to_writer(&mut *writer, &item_header)?;
            writer.write_all(b"\n")?;
            writer.write_all(&item.payload)?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Reads an envelope from its wire form.
    ///
    /// Items may give their payload's `length` or not; without it the payload runs to the
    /// next newline. Blank lines where an item header is expected are skipped, so a
    /// trailing newline is fine. Never panics, whatever the input.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
        parse::parse_envelope(bytes)
    }
}

/// One item of an envelope: its type, extra headers and payload.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeItem {
    item_type: String,
    /// Header keys other than `type` and `length`, which are written from the fields.
    headers: Map,
    payload: Vec<u8>,
}

impl EnvelopeItem {
    /// An item of type `item_type` (`event`, `attachment`, `session`, ...) without extra
    /// headers.
    pub fn new(item_type: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        EnvelopeItem {
            item_type: item_type.into(),
            headers: Map::new(),
            payload: payload.into(),
        }
    }

    /// The item's type, its header's `type`.
    pub fn item_type(&self) -> &str {
        &self.item_type
    }

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The header keys other than `type` and `length`, such as `content_type` and
    /// `filename`.
    pub fn headers(&self) -> &Map {
        &self.headers
    }

    /// One header value, by key.
    pub fn header(&self, key: &str) -> Option<&Value> {
        self.headers.get(key)
    }

    /// Sets a header key. `type` and `length` are written from the item itself and are
    /// refused with [`EnvelopeError::ReservedHeader`].
    pub fn set_header(
        &mut self,
        key: impl Into<String>,
        value: Value,
    ) -> Result<&mut Self, EnvelopeError> {
        let key = key.into();
        if RESERVED_ITEM_HEADERS.contains(&key.as_str()) {
            return Err(EnvelopeError::ReservedHeader(key));
        }
        self.headers.insert(key, value);
        Ok(self)
    }

    /// Sets the `content_type` header, such as `text/plain`.
    pub fn set_content_type(&mut self, content_type: &str) -> &mut Self {
        self.headers
            .insert("content_type".into(), content_type.into());
        self
    }

    /// Sets the `filename` header, which attachments need.
    pub fn set_filename(&mut self, filename: &str) -> &mut Self {
        self.headers.insert("filename".into(), filename.into());
        self
    }
}

/// The header line as written, typed keys first in a fixed order.
struct EnvelopeHeaderOut<'a> {
    event_id: Option<String>,
    dsn: Option<&'a str>,
    sdk: Option<&'a SdkHeader>,
    sent_at: Option<&'a str>,
    other: &'a Map,
}

impl Serialize for EnvelopeHeaderOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.unless_empty("event_id", &self.event_id)?;
        fields.unless_empty("dsn", &self.dsn)?;
        fields.unless_empty("sdk", &self.sdk)?;
        fields.unless_empty("sent_at", &self.sent_at)?;
        fields.flatten(self.other)?;
        fields.end()
    }
}

/// An item header line as written: `type`, `length`, then the rest.
struct ItemHeaderOut<'a> {
    item_type: &'a str,
    length: usize,
    other: &'a Map,
}

impl Serialize for ItemHeaderOut<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("type", self.item_type)?;
        fields.field("length", &self.length)?;
        fields.flatten(self.other)?;
        fields.end()
    }
}

impl Serialize for SdkHeader {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("name", &self.name)?;
        fields.field("version", &self.version)?;
        fields.end()
    }
}

impl FromJson for SdkHeader {
    fn from_json(value: Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct SdkHeader")?;
        Ok(SdkHeader {
            name: object.required("name")?,
            version: object.required("version")?,
        })
    }
}

json::deserialize_from_json!(SdkHeader);

#[cfg(test)]
mod tests;
