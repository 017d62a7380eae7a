//! Size limits: what the server would cut or refuse is cut here first.
//!
//! The numbers are Relay's (the server side of sentry.io, also what self-hosted Sentry
//! runs): messages, exception values and breadcrumb messages are trimmed to 8192
//! characters, exception types to 256, tag values to 200, breadcrumb types and categories
//! to 128; a stack trace keeps its 250 newest frames; an event item over 1 MiB is refused
//! whole. In the request, the URL is cut to 256 characters once it is over 296, the query
//! string keeps 1 KiB and the cookies 2 KiB of whole parameters, headers and environment
//! 8 KiB, and the body is trimmed as a data bag of 8 KiB and 7 levels (deeper containers
//! become their JSON text); a method the server would reject is left out. Trimming ends a text with `...` within the limit, as Relay does. An event that is
//! still too large loses breadcrumbs (oldest first), then extra data (largest first), so
//! that the error itself arrives.
//!
//! Runs on the worker, last before serialization.

use std::borrow::Cow;

use crate::debug::sdk_debug;
use crate::protocol::{Event, Request, Value};

/// Relay's limit for `message` / `logentry.formatted`.
pub const MAX_MESSAGE_CHARS: usize = 8192;
/// Relay's limit for an exception's `value`.
pub const MAX_EXCEPTION_VALUE_CHARS: usize = 8192;
/// Relay's limit for an exception's `type` and `module`.
pub const MAX_EXCEPTION_TYPE_CHARS: usize = 256;
/// Relay's limit for a breadcrumb's `message`.
pub const MAX_BREADCRUMB_MESSAGE_CHARS: usize = 8192;
/// Relay's limit for a breadcrumb's `type` and `category`.
pub const MAX_BREADCRUMB_CATEGORY_CHARS: usize = 128;
/// Relay's limit for a tag value.
pub const MAX_TAG_VALUE_CHARS: usize = 200;
/// Relay keeps this many frames of a stack trace, the newest.
pub const MAX_FRAMES: usize = 250;
/// Relay's limit for the request's `url`, applied once it is
/// [`MAX_URL_ALLOWANCE`] characters longer.
pub const MAX_URL_CHARS: usize = 256;
/// How far over [`MAX_URL_CHARS`] Relay lets a URL go before cutting it.
pub const MAX_URL_ALLOWANCE: usize = 40;
/// Relay's size for the request's `query_string` (a small data bag).
pub const MAX_QUERY_BYTES: usize = 1024;
/// Relay's size for the request's `cookies` (a medium data bag).
pub const MAX_COOKIES_BYTES: usize = 2048;
/// Relay's size for the request's `headers`, `env` and `data` (large data bags).
pub const MAX_REQUEST_BAG_BYTES: usize = 8192;
/// Relay's depth for a large data bag such as the request's `data`.
pub const MAX_REQUEST_DATA_DEPTH: usize = 7;
/// Relay's default `max_event_size`: a larger event item is refused.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Trims `text` to `max` characters, the last three being `...`.
fn truncate(text: &mut String, max: usize) {
    let Some((cut, _)) = text.char_indices().nth(max) else {
        return;
    };
    let keep = text[..cut]
        .char_indices()
        .nth(max.saturating_sub(3))
        .map_or(cut, |(at, _)| at);
    text.truncate(keep);
    text.push_str("...");
}

fn truncate_opt(text: &mut Option<String>, max: usize) {
    if let Some(text) = text {
        truncate(text, max);
    }
}

/// [`truncate`] for a text that may be borrowed: copied only when it is too long.
fn truncate_cow(text: &mut Cow<'static, str>, max: usize) {
    if text.chars().nth(max).is_some() {
        truncate(text.to_mut(), max);
    }
}

/// Applies every limit to `event`.
pub(crate) fn apply(event: &mut Event) {
    truncate_opt(&mut event.message, MAX_MESSAGE_CHARS);
    for exception in event.exception.iter_mut().flat_map(|e| e.values.iter_mut()) {
        truncate(&mut exception.ty, MAX_EXCEPTION_TYPE_CHARS);
        truncate_opt(&mut exception.module, MAX_EXCEPTION_TYPE_CHARS);
        truncate_opt(&mut exception.value, MAX_EXCEPTION_VALUE_CHARS);
    }
    for value in event.tags.values_mut() {
        truncate(value, MAX_TAG_VALUE_CHARS);
    }
    for crumb in event
        .breadcrumbs
        .iter_mut()
        .flat_map(|b| b.values.iter_mut())
    {
        if let Some(message) = &mut crumb.message {
            truncate_cow(message, MAX_BREADCRUMB_MESSAGE_CHARS);
        }
        if let Some(category) = &mut crumb.category {
            truncate_cow(category, MAX_BREADCRUMB_CATEGORY_CHARS);
        }
        truncate_cow(&mut crumb.ty, MAX_BREADCRUMB_CATEGORY_CHARS);
    }
    if let Some(request) = &mut event.request {
        limit_request(request);
    }
    for trace in event.stacktraces_mut() {
        let len = trace.frames.len();
        if len > MAX_FRAMES {
            // Frames are oldest first: the newest, where the error happened, are at the end.
            trace.frames.drain(..len - MAX_FRAMES);
        }
    }
    shrink(event, MAX_EVENT_BYTES);
}

/// The request interface's limits.
fn limit_request(request: &mut Request) {
    if let Some(url) = &mut request.url
        && url.chars().count() > MAX_URL_CHARS + MAX_URL_ALLOWANCE
    {
        truncate(url, MAX_URL_CHARS);
    }
    if let Some(method) = &mut request.method {
        method.make_ascii_uppercase();
        // Relay drops any other method with an error on the event; leaving it out is quieter.
        let valid = (3..=32).contains(&method.len())
            && method
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c == b'-' || c == b'_');
        if !valid {
            request.method = None;
        }
    }
    if let Some(query) = &mut request.query_string {
        keep_pairs(query, '&', MAX_QUERY_BYTES);
    }
    if let Some(cookies) = &mut request.cookies {
        keep_pairs(cookies, ';', MAX_COOKIES_BYTES);
    }
    for map in [&mut request.headers, &mut request.env] {
        let mut budget = MAX_REQUEST_BAG_BYTES;
        map.retain(|name, value| {
            if budget == 0 {
                return false;
            }
            truncate(value, budget);
            // Each entry costs about its JSON: quotes, colon and comma included.
            budget = budget.saturating_sub(name.len() + value.len() + 6);
            true
        });
    }
    if let Some(data) = &mut request.data {
        let mut budget = MAX_REQUEST_BAG_BYTES;
        trim_bag(data, MAX_REQUEST_DATA_DEPTH, &mut budget);
    }
}

/// Keeps the leading `separator`-split parameters of `text` that fit in `max` bytes, so
/// that no parameter is cut in the middle; a first parameter over `max` is trimmed.
fn keep_pairs(text: &mut String, separator: char, max: usize) {
    if text.len() <= max {
        return;
    }
    // A separator at byte `max` still leaves `max` bytes before it.
    let mut window = max + 1;
    while !text.is_char_boundary(window) {
        window -= 1;
    }
    match text[..window].rfind(separator) {
        Some(end) if end > 0 => text.truncate(end),
        _ => {
            // The limit is in bytes; `truncate` counts characters.
            let mut fits = max;
            while !text.is_char_boundary(fits) {
                fits -= 1;
            }
            let chars = text[..fits].chars().count();
            truncate(text, chars);
        }
    }
}

/// Trims a data bag as Relay does: containers at the last level of `depth` become their
/// JSON text, strings are cut to what is left of `budget` (estimated JSON bytes), and once
/// the budget is spent the remaining entries are left out.
fn trim_bag(value: &mut Value, depth: usize, budget: &mut usize) {
    if depth <= 1 && (value.is_object() || value.is_array()) {
        *value = Value::String(value.to_string());
    }
    match value {
        Value::String(text) => truncate(text, *budget),
        Value::Object(map) => map.retain(|key, item| {
            if *budget == 0 {
                return false;
            }
            *budget = budget.saturating_sub(key.len() + 3);
            trim_bag(item, depth - 1, budget);
            true
        }),
        Value::Array(items) => {
            let mut kept = 0;
            for item in items.iter_mut() {
                if *budget == 0 {
                    break;
                }
                trim_bag(item, depth - 1, budget);
                kept += 1;
            }
            items.truncate(kept);
        }
        _ => {}
    }
    // The value's own cost: its text, or the brackets of a container, and a separator.
    let own = match value {
        Value::String(text) => text.len() + 2,
        Value::Object(_) | Value::Array(_) => 2,
        other => other.to_string().len(),
    };
    *budget = budget.saturating_sub(own + 1);
}

/// The size of `value` serialized as JSON.
///
/// Written into a buffer rather than a byte-counting writer: the buffer is the writer the
/// envelope uses, so every `Serialize` impl is compiled once for both (a counting writer
/// made a second copy of all of them, ~0.4 s of each clean build). This runs after capture:
/// on the worker, or on a panicking thread that writes its own event.
fn json_size(value: &impl serde::Serialize) -> usize {
    let mut buffer = Vec::new();
    let _ = serde_json::to_writer(&mut buffer, value);
    buffer.len()
}

/// Removes breadcrumbs, then extra data, until `event` serializes to at most `limit` bytes.
pub(crate) fn shrink(event: &mut Event, limit: usize) {
    let mut size = json_size(event);
    if size <= limit {
        return;
    }
    let original = size;
    while size > limit {
        let Some(crumbs) = event.breadcrumbs.as_mut().filter(|b| !b.values.is_empty()) else {
            break;
        };
        // Halving keeps the number of re-measurements logarithmic.
        let drop = crumbs.values.len().div_ceil(2);
        crumbs.values.drain(..drop);
        if crumbs.values.is_empty() {
            event.breadcrumbs = None;
        }
        size = json_size(event);
    }
    while size > limit {
        let largest = event
            .extra
            .iter()
            .max_by_key(|(_, value)| json_size(value))
            .map(|(key, _)| key.clone());
        let Some(key) = largest else { break };
        event.extra.remove(&key);
        size = json_size(event);
    }
    sdk_debug!(
        "event {} was {original} bytes, over the server's limit of {limit}: shrunk to {size} bytes{}",
        event.event_id.simple(),
        if size > limit {
            "; the server may still refuse it"
        } else {
            ""
        }
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::protocol::{Breadcrumb, Breadcrumbs, Exception, Exceptions, Frame, Stacktrace};

    fn limited(request: Request) -> Request {
        let mut event = Event {
            request: Some(request),
            ..Event::default()
        };
        apply(&mut event);
        event.request.unwrap()
    }

    #[test]
    fn the_url_is_cut_past_its_allowance() {
        let within = format!("https://example.com/{}", "a".repeat(270));
        assert_eq!(limited(Request::new("GET", &within)).url, Some(within));
        let over = format!("https://example.com/{}", "a".repeat(300));
        let url = limited(Request::new("GET", over)).url.unwrap();
        assert_eq!(url.len(), MAX_URL_CHARS);
        assert!(url.ends_with("..."));
    }

    #[test]
    fn an_invalid_method_is_left_out() {
        assert_eq!(
            limited(Request::new("patch", "/")).method.as_deref(),
            Some("PATCH")
        );
        let mut request = Request::new("GET", "/");
        request.method = Some("G!".into());
        assert_eq!(limited(request).method, None);
    }

    #[test]
    fn query_and_cookies_keep_whole_parameters() {
        let query = (0..200).map(|n| format!("p{n}=v")).collect::<Vec<_>>();
        let request = limited(
            Request::new("GET", "/")
                .query_string(query.join("&"))
                .cookies(query.join("; ")),
        );
        let kept = request.query_string.unwrap();
        assert!(
            kept.len() <= MAX_QUERY_BYTES && kept.ends_with("=v"),
            "{kept}"
        );
        let cookies = request.cookies.unwrap();
        assert!(cookies.len() <= MAX_COOKIES_BYTES && cookies.ends_with("=v"));
        let one =
            limited(Request::new("GET", "/").query_string("q=".to_owned() + &"x".repeat(2000)));
        assert_eq!(one.query_string.unwrap().chars().count(), MAX_QUERY_BYTES);
        let wide =
            limited(Request::new("GET", "/").query_string("q=".to_owned() + &"é".repeat(800)));
        let wide = wide.query_string.unwrap();
        assert!(
            wide.len() <= MAX_QUERY_BYTES && wide.ends_with("é..."),
            "{wide}"
        );
    }

    #[test]
    fn headers_and_env_keep_8_kib() {
        let mut request = Request::new("GET", "/");
        for n in 0..100 {
            request = request.header(format!("X-H{n:03}"), "v".repeat(200));
        }
        request = request.env("BIG", "e".repeat(10_000));
        let request = limited(request);
        let size: usize = request.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(size <= MAX_REQUEST_BAG_BYTES, "{size}");
        assert!(request.headers.contains_key("X-H000") && !request.headers.contains_key("X-H099"));
        assert_eq!(request.env["BIG"].len(), MAX_REQUEST_BAG_BYTES);
    }

    #[test]
    fn the_body_is_trimmed_as_a_large_data_bag() {
        let mut deep = json!("bottom");
        for n in 0..9 {
            deep = json!({ format!("k{n}"): deep });
        }
        let request = limited(Request::new("POST", "/").data(deep));
        let mut at = &request.data.unwrap();
        for _ in 0..6 {
            at = at.as_object().unwrap().values().next().unwrap();
        }
        // Six levels of objects, then the rest as its JSON text.
        assert!(at.as_str().unwrap().contains("bottom"), "{at}");

        let items: Vec<_> = (0..1000).map(|n| format!("item {n}")).collect();
        let request = limited(
            Request::new("POST", "/").data(json!({"items": items, "s": "x".repeat(10_000)})),
        );
        let data = request.data.unwrap();
        assert!(
            json_size(&data) <= MAX_REQUEST_BAG_BYTES + 64,
            "{}",
            json_size(&data)
        );
        let kept = data["items"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < 1000);
        assert_eq!(kept[0], "item 0");
    }

    #[test]
    fn texts_are_trimmed_to_relay_limits() {
        let mut event = Event {
            message: Some("é".repeat(10_000)),
            exception: Some(Exceptions {
                values: vec![Exception {
                    ty: "T".repeat(300),
                    value: Some("v".repeat(9000)),
                    ..Default::default()
                }],
            }),
            breadcrumbs: Some(Breadcrumbs {
                values: vec![Breadcrumb::new("b".repeat(9000)).category("c".repeat(200))],
            }),
            ..Event::default()
        };
        event.tags.insert("t".into(), "x".repeat(201));
        apply(&mut event);
        let message = event.message.as_deref().unwrap();
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS);
        assert!(message.ends_with("é..."));
        let exception = &event.exception.as_ref().unwrap().values[0];
        assert_eq!(exception.ty.len(), MAX_EXCEPTION_TYPE_CHARS);
        assert_eq!(
            exception.value.as_ref().unwrap().len(),
            MAX_EXCEPTION_VALUE_CHARS
        );
        let crumb = &event.breadcrumbs.as_ref().unwrap().values[0];
        assert_eq!(
            crumb.message.as_ref().unwrap().len(),
            MAX_BREADCRUMB_MESSAGE_CHARS
        );
        assert_eq!(
            crumb.category.as_ref().unwrap().len(),
            MAX_BREADCRUMB_CATEGORY_CHARS
        );
        assert_eq!(event.tags["t"].len(), MAX_TAG_VALUE_CHARS);
        let mut short = "short".to_owned();
        truncate(&mut short, 5);
        assert_eq!(short, "short");
    }

    #[test]
    fn the_newest_frames_are_kept() {
        let frames = (0..300)
            .map(|n| Frame {
                lineno: Some(n),
                ..Default::default()
            })
            .collect();
        let mut event = Event {
            exception: Some(Exceptions {
                values: vec![Exception {
                    ty: "E".into(),
                    stacktrace: Some(Stacktrace {
                        frames,
                        ..Default::default()
                    }),
                    ..Default::default()
                }],
            }),
            ..Event::default()
        };
        apply(&mut event);
        let frames = &event.exception.unwrap().values[0]
            .stacktrace
            .take()
            .unwrap()
            .frames;
        assert_eq!(frames.len(), MAX_FRAMES);
        assert_eq!(frames.first().unwrap().lineno, Some(50));
        assert_eq!(frames.last().unwrap().lineno, Some(299));
    }

    #[test]
    fn a_large_event_loses_breadcrumbs_then_extra() {
        let mut event = Event {
            message: Some("keep me".into()),
            breadcrumbs: Some(Breadcrumbs {
                values: (0..100)
                    .map(|n| Breadcrumb::new(format!("{n}: {}", "b".repeat(8000))))
                    .collect(),
            }),
            ..Event::default()
        };
        event.extra.insert("small".into(), json!("s"));
        event
            .extra
            .insert("blob".into(), json!("x".repeat(600_000)));
        shrink(&mut event, 700_000);
        assert!(json_size(&event) <= 700_000);
        assert_eq!(event.extra["blob"].as_str().unwrap().len(), 600_000);
        let crumbs = &event.breadcrumbs.as_ref().unwrap().values;
        assert!(!crumbs.is_empty() && crumbs.len() < 100);
        // The newest breadcrumbs are the ones kept.
        assert!(
            crumbs
                .last()
                .unwrap()
                .message
                .as_ref()
                .unwrap()
                .starts_with("99:")
        );

        event
            .extra
            .insert("blob2".into(), json!("y".repeat(600_000)));
        shrink(&mut event, 700_000);
        assert!(event.breadcrumbs.is_none());
        assert_eq!(event.extra.len(), 2);
        assert!(event.extra.contains_key("small"));
        assert_eq!(event.message.as_deref(), Some("keep me"));
    }
}
