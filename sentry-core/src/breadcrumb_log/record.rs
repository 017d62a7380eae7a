//! One breadcrumb as the breadcrumb log and the crash handler keep it: a small binary
//! record, not JSON.
//!
//! Every [`add_breadcrumb`](crate::add_breadcrumb) writes one of these, so encoding must
//! cost little more than copying the texts: JSON would cost escaping and formatting the
//! timestamp every time. The worker decodes the records an event carries, and the next run
//! those of a crash report ([`decode`]); reports of older versions of the SDK hold one JSON
//! object per breadcrumb instead, which [`decode`] still reads. A text is cut at 65,534
//! bytes (Relay cuts breadcrumb messages at 8,192 characters anyway).
//!
//! Layout (little-endian): the tag byte [`TAG`], the timestamp as an `f64`, the level as one
//! byte, then `type`, `category` and `message`, each as a `u16` length (`u16::MAX`: none)
//! and the UTF-8 bytes, then the `data` map as JSON to the end (nothing when empty).

use std::borrow::Cow;

use crate::protocol::{Breadcrumb, Level, Map};

/// First byte of a record; a JSON breadcrumb starts with `{`.
const TAG: u8 = 1;
/// Length of a text that is absent.
const NONE: u16 = u16::MAX;
/// When a record does not fit, texts are cut to these many bytes and the data is left out.
const SHORT_TYPE: usize = 32;
const SHORT_CATEGORY: usize = 64;
const SHORT_MESSAGE: usize = 256;
/// The largest a shortened record gets: what `max` of [`encode`] must allow at least.
#[cfg_attr(not(native_crash), allow(dead_code))]
pub(crate) const GIST_MAX: usize = 1 + 8 + 1 + 3 * 2 + SHORT_TYPE + SHORT_CATEGORY + SHORT_MESSAGE;

/// Writes `crumb` into `out` (cleared first) in at most `max` bytes: whole when it fits,
/// else its gist (shortened texts, no data), which takes at most [`GIST_MAX`] bytes.
pub(crate) fn encode(crumb: &Breadcrumb, max: usize, out: &mut Vec<u8>) {
    out.clear();
    write_head(crumb, usize::MAX, out);
    if !crumb.data.is_empty() {
        // Serializing a map of JSON values into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &crumb.data);
    }
    if out.len() > max {
        out.clear();
        write_head(crumb, SHORT_MESSAGE, out);
    }
}

fn write_head(crumb: &Breadcrumb, message_max: usize, out: &mut Vec<u8>) {
    let short = message_max != usize::MAX;
    out.push(TAG);
    out.extend_from_slice(&crumb.timestamp.to_le_bytes());
    out.push(crumb.level as u8);
    let (ty_max, category_max) = if short {
        (SHORT_TYPE, SHORT_CATEGORY)
    } else {
        (usize::MAX, usize::MAX)
    };
    write_text(Some(&crumb.ty), ty_max, out);
    write_text(crumb.category.as_deref(), category_max, out);
    write_text(crumb.message.as_deref(), message_max, out);
}

fn write_text(text: Option<&str>, max: usize, out: &mut Vec<u8>) {
    let Some(text) = text else {
        out.extend_from_slice(&NONE.to_le_bytes());
        return;
    };
    let text = cut(text, max.min(NONE as usize - 1));
    out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The breadcrumb in `bytes`: a record of [`encode`], or the JSON object older versions
/// wrote. `None` when it is neither (a damaged report).
pub(crate) fn decode(bytes: &[u8]) -> Option<Breadcrumb> {
    match bytes.first() {
        Some(&TAG) => decode_record(&bytes[1..]),
        Some(b'{') => serde_json::from_slice(bytes).ok(),
        _ => None,
    }
}

fn decode_record(bytes: &[u8]) -> Option<Breadcrumb> {
    let mut rest = bytes;
    let timestamp = f64::from_le_bytes(take(&mut rest, 8)?.try_into().ok()?);
    let level = match take(&mut rest, 1)?[0] {
        0 => Level::Debug,
        1 => Level::Info,
        2 => Level::Warning,
        3 => Level::Error,
        4 => Level::Fatal,
        _ => return None,
    };
    let ty = read_text(&mut rest)?.unwrap_or(Cow::Borrowed("default"));
    let category = read_text(&mut rest)?;
    let message = read_text(&mut rest)?;
    let data: Map = if rest.is_empty() {
        Map::new()
    } else {
        serde_json::from_slice(rest).ok()?
    };
    Some(Breadcrumb {
        timestamp,
        ty,
        category,
        level,
        message,
        data,
    })
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

/// A text of the record: `Some(None)` when absent, `None` when the record is damaged.
fn read_text(rest: &mut &[u8]) -> Option<Option<Cow<'static, str>>> {
    let len = u16::from_le_bytes(take(rest, 2)?.try_into().ok()?);
    if len == NONE {
        return Some(None);
    }
    let text = std::str::from_utf8(take(rest, len as usize)?).ok()?;
    Some(Some(Cow::Owned(text.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(crumb: &Breadcrumb, max: usize) -> Breadcrumb {
        let mut out = Vec::new();
        encode(crumb, max, &mut out);
        assert!(out.len() <= max, "{} > {max}", out.len());
        decode(&out).expect("decodes")
    }

    #[test]
    fn every_field_round_trips() {
        let crumb = Breadcrumb::new("GET /items → 200")
            .category("http")
            .ty("http")
            .level(Level::Warning)
            .data("status", 200)
            .data("url", "/items");
        assert_eq!(round_trip(&crumb, 1024), crumb);
        let bare = Breadcrumb {
            message: None,
            ..Breadcrumb::default()
        };
        assert_eq!(round_trip(&bare, 1024), bare);
        for level in [Level::Debug, Level::Info, Level::Error, Level::Fatal] {
            assert_eq!(round_trip(&bare.clone().level(level), 1024).level, level);
        }
    }

    #[test]
    fn a_breadcrumb_too_large_keeps_its_gist() {
        let crumb = Breadcrumb::new("é".repeat(1000))
            .category("c".repeat(100))
            .ty("t".repeat(100))
            .data("big", "d".repeat(2000));
        let gist = round_trip(&crumb, 1024);
        assert_eq!(gist.message.as_deref(), Some("é".repeat(128).as_str()));
        assert_eq!(gist.category.unwrap().len(), SHORT_CATEGORY);
        assert_eq!(gist.ty.len(), SHORT_TYPE);
        assert!(gist.data.is_empty());
        assert_eq!(gist.timestamp, crumb.timestamp);
    }

    #[test]
    fn json_of_older_versions_is_read() {
        let json = br#"{"timestamp":1.5,"type":"default","message":"old","level":"error"}"#;
        let crumb = decode(json).unwrap();
        assert_eq!(crumb.message.as_deref(), Some("old"));
        assert_eq!(crumb.level, Level::Error);
    }

    #[test]
    fn damaged_records_are_none_never_a_panic() {
        let mut out = Vec::new();
        encode(&Breadcrumb::new("message").data("k", 1), 1024, &mut out);
        for len in 0..out.len() {
            let _ = decode(&out[..len]);
        }
        let mut bad = out.clone();
        bad[9] = 9;
        assert!(decode(&bad).is_none(), "unknown level");
        assert!(decode(b"").is_none());
        assert!(decode(b"\x02abc").is_none());
    }
}
