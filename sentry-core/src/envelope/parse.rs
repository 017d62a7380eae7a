//! Reading an envelope from its wire form.

use uuid::Uuid;

use super::{Envelope, EnvelopeError, EnvelopeItem, SdkHeader};
use crate::protocol::json::FromJson;
use crate::protocol::{Map, Value};

/// Parses a whole envelope. Every index into `bytes` is checked, so no input can panic.
pub(super) fn parse_envelope(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    if bytes.is_empty() {
        return Err(EnvelopeError::Empty);
    }
    let (header_line, mut rest) = split_line(bytes);
    let header = parse_object(header_line).map_err(EnvelopeError::InvalidHeader)?;
    let mut envelope = envelope_from_header(header)?;

    while !rest.is_empty() {
        let (line, after_line) = split_line(rest);
        rest = after_line;
        if line.is_empty() {
            // Blank lines between items carry nothing; a trailing newline is one.
            continue;
        }
        let index = envelope.items.len();
        let mut headers = parse_object(line)
            .map_err(|reason| EnvelopeError::InvalidItemHeader { index, reason })?;
        let item_type = match headers.remove("type") {
            Some(Value::String(item_type)) => item_type,
            _ => return Err(EnvelopeError::MissingItemType { index }),
        };
        let payload = match headers.remove("length") {
            None | Some(Value::Null) => {
                let (payload, after_payload) = split_line(rest);
                rest = after_payload;
                payload
            }
            Some(length) => {
                let length = length
                    .as_u64()
                    .ok_or(EnvelopeError::InvalidItemLength { index })?;
                let truncated = EnvelopeError::TruncatedItem {
                    index,
                    expected: length,
                    available: rest.len(),
                };
                let length = usize::try_from(length).map_err(|_| truncated.clone())?;
                let payload = rest.get(..length).ok_or(truncated)?;
                rest = &rest[length..];
                match rest.first() {
                    None => {}
                    Some(b'\n') => rest = &rest[1..],
                    Some(_) => return Err(EnvelopeError::MissingNewlineAfterItem { index }),
                }
                payload
            }
        };
        envelope.items.push(EnvelopeItem {
            item_type,
            headers,
            payload: payload.to_vec(),
        });
    }
    Ok(envelope)
}

/// Splits at the first newline, dropping it; without one the whole input is the line.
fn split_line(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b'\n') {
        Some(newline) => (&bytes[..newline], &bytes[newline + 1..]),
        None => (bytes, &[]),
    }
}

fn parse_object(line: &[u8]) -> Result<Map, String> {
    match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("found {} instead", json_kind(&other))),
        Err(error) => Err(error.to_string()),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Moves the typed keys out of the header map; the rest stays as other headers.
fn envelope_from_header(mut header: Map) -> Result<Envelope, EnvelopeError> {
    let event_id = match optional_string(&mut header, "event_id")? {
        None => None,
        Some(text) => {
            Some(
                Uuid::parse_str(&text).map_err(|error| EnvelopeError::InvalidHeaderField {
                    field: "event_id",
                    reason: error.to_string(),
                })?,
            )
        }
    };
    let dsn = optional_string(&mut header, "dsn")?;
    let sent_at = optional_string(&mut header, "sent_at")?;
    let sdk = match header.remove("sdk") {
        None | Some(Value::Null) => None,
        Some(value) => Some(SdkHeader::from_json(value).map_err(|reason| {
            EnvelopeError::InvalidHeaderField {
                field: "sdk",
                reason,
            }
        })?),
    };
    Ok(Envelope {
        event_id,
        dsn,
        sdk,
        sent_at,
        other_headers: header,
        items: Vec::new(),
    })
}

fn optional_string(header: &mut Map, field: &'static str) -> Result<Option<String>, EnvelopeError> {
    match header.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(other) => Err(EnvelopeError::InvalidHeaderField {
            field,
            reason: format!("expected a string, found {}", json_kind(&other)),
        }),
    }
}
