//! Secret shapes in free text: bearer tokens, credentials in URLs, PEM private keys,
//! payment card numbers and `key=value` pairs under a sensitive key.
//!
//! Written by hand rather than as regular expressions: they run over every message,
//! exception value and breadcrumb of every event, and each is a single pass that
//! allocates only when it finds something. Card numbers must pass the Luhn check, so
//! ordinary long numbers (ids, timestamps) are left alone.

use std::borrow::Cow;

use super::scrub::{FILTERED, is_sensitive_key};

/// Masks every secret shape `text` holds; borrows when there is none.
pub(crate) fn mask_secrets<'a>(text: &'a str, extra_keys: &[String]) -> Cow<'a, str> {
    let mut text = Cow::Borrowed(text);
    for mask in [
        mask_pem_keys,
        mask_bearer_tokens,
        mask_url_credentials,
        mask_card_numbers,
    ] {
        if let Cow::Owned(masked) = mask(&text) {
            text = Cow::Owned(masked);
        }
    }
    if let Cow::Owned(masked) = mask_key_values(&text, extra_keys) {
        text = Cow::Owned(masked);
    }
    text
}

/// Replaces `ranges` (sorted, disjoint byte ranges) of `text` with `[Filtered]`.
fn replace_ranges<'a>(text: &'a str, ranges: &[(usize, usize)]) -> Cow<'a, str> {
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for &(start, end) in ranges {
        out.push_str(&text[at..start]);
        out.push_str(FILTERED);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// `-----BEGIN ... PRIVATE KEY-----` through its `-----END ...-----` line (or the end of
/// the text when it was cut) becomes `[Filtered]`.
fn mask_pem_keys(text: &str) -> Cow<'_, str> {
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("-----BEGIN ") {
        let start = from + found;
        let Some(header_len) = text[start + 11..].find("-----") else {
            break;
        };
        let label = &text[start + 11..start + 11 + header_len];
        let after_header = start + 11 + header_len + 5;
        if !label.ends_with("PRIVATE KEY") {
            from = after_header;
            continue;
        }
        let end = text[after_header..]
            .find("-----END ")
            .and_then(|end| {
                let end = after_header + end + 9;
                text[end..].find("-----").map(|close| end + close + 5)
            })
            .unwrap_or(text.len());
        ranges.push((start, end));
        from = end;
    }
    replace_ranges(text, &ranges)
}

/// The shortest text after `Bearer ` that is taken for a token.
const MIN_TOKEN_LEN: usize = 8;

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// `Bearer <token>` keeps the word and masks the token.
fn mask_bearer_tokens(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i + 7 < bytes.len() {
        let word = &bytes[i..i + 6];
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if starts_word && word.eq_ignore_ascii_case(b"bearer") && bytes[i + 6] == b' ' {
            let mut start = i + 6;
            while start < bytes.len() && bytes[start] == b' ' {
                start += 1;
            }
            let mut end = start;
            while end < bytes.len() && is_token_char(bytes[end]) {
                end += 1;
            }
            // Real tokens are long; "a bearer of news" is prose.
            if end - start >= MIN_TOKEN_LEN && &text[start..end] != FILTERED {
                ranges.push((start, end));
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    replace_ranges(text, &ranges)
}

/// `scheme://user:pass@host` becomes `scheme://[Filtered]@host`: the user part of a URL
/// is as often a token as a name.
fn mask_url_credentials(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut ranges = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let start = from + found + 3;
        let authority_end = bytes[start..]
            .iter()
            .position(|&c| {
                matches!(c, b'/' | b'?' | b'#' | b'"' | b'\'' | b'<' | b'>' | b'`')
                    || c.is_ascii_whitespace()
            })
            .map_or(bytes.len(), |p| start + p);
        if let Some(at) = text[start..authority_end].rfind('@') {
            let userinfo = &text[start..start + at];
            if !userinfo.is_empty() && userinfo != FILTERED {
                ranges.push((start, start + at));
            }
        }
        from = authority_end.max(start);
    }
    replace_ranges(text, &ranges)
}

/// Luhn-valid runs of 13 to 19 digits, optionally grouped by single spaces or dashes.
fn mask_card_numbers(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    if bytes.iter().filter(|c| c.is_ascii_digit()).count() < 13 {
        return Cow::Borrowed(text);
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let boundary = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if !(bytes[i].is_ascii_digit() && boundary) {
            i += 1;
            continue;
        }
        let start = i;
        let mut digits = Vec::with_capacity(19);
        let mut end = i;
        while end < bytes.len() {
            let c = bytes[end];
            if c.is_ascii_digit() {
                digits.push(c - b'0');
                end += 1;
            } else if matches!(c, b' ' | b'-') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
            {
                end += 1;
            } else {
                break;
            }
        }
        let bounded_after = bytes.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
        if (13..=19).contains(&digits.len()) && bounded_after && luhn_valid(&digits) {
            ranges.push((start, end));
        }
        i = end;
    }
    replace_ranges(text, &ranges)
}

/// The Luhn checksum of payment card numbers.
fn luhn_valid(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(n, &d)| {
            let d = u32::from(d);
            if n % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn is_key_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')
}

/// `password=hunter2`, `api_key=...&` and `"token":"..."`: the value after `=` (or after
/// `:` when the key is quoted, as in JSON) under a sensitive key. A bare `key: value` is
/// left alone: in prose ("auth: connection refused") it is rarely a secret.
fn mask_key_values<'a>(text: &'a str, extra_keys: &[String]) -> Cow<'a, str> {
    let bytes = text.as_bytes();
    if !bytes.iter().any(|&c| c == b'=' || c == b':') {
        return Cow::Borrowed(text);
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_key_char(bytes[i]) {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < bytes.len() && is_key_char(bytes[i]) {
            i += 1;
        }
        let key = &text[key_start..i];
        let quoted = key_start > 0 && matches!(bytes[key_start - 1], b'"' | b'\'');
        let mut j = i;
        if quoted && bytes.get(j).is_some_and(|&c| c == b'"' || c == b'\'') {
            j += 1;
        }
        let separator = match bytes.get(j) {
            Some(b'=') => true,
            Some(b':') => quoted,
            _ => false,
        };
        if !separator || !is_sensitive_key(key, extra_keys) {
            continue;
        }
        j += 1;
        while bytes.get(j) == Some(&b' ') {
            j += 1;
        }
        if bytes.get(j).is_some_and(|&c| c == b'"' || c == b'\'') {
            j += 1;
        }
        let (mut value_start, mut value_end) = value_at(bytes, j);
        // "Authorization=Bearer x": the credential is the word after the scheme.
        let value = &text[value_start..value_end];
        if value.eq_ignore_ascii_case("bearer") || value.eq_ignore_ascii_case("basic") {
            let mut k = value_end;
            while bytes.get(k) == Some(&b' ') {
                k += 1;
            }
            (value_start, value_end) = value_at(bytes, k);
        }
        let value = &text[value_start..value_end];
        if !value.is_empty() && value != FILTERED {
            ranges.push((value_start, value_end));
        }
        i = value_end.max(i);
    }
    replace_ranges(text, &ranges)
}

/// The value starting at `start`: up to a delimiter or white space.
fn value_at(bytes: &[u8], start: usize) -> (usize, usize) {
    let mut end = start;
    while end < bytes.len()
        && !matches!(bytes[end], b'&' | b';' | b',' | b'"' | b'\'' | b')' | b'}')
        && !bytes[end].is_ascii_whitespace()
    {
        end += 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        mask_secrets(text, &[]).into_owned()
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(
            masked("auth failed with Bearer eyJhbGciOi.J9.abc-_ for /api"),
            "auth failed with Bearer [Filtered] for /api"
        );
        assert_eq!(
            masked("header bearer  xyz12345"),
            "header bearer  [Filtered]"
        );
        assert_eq!(masked("a bearer of bad news"), "a bearer of bad news");
        assert_eq!(masked("unbearable"), "unbearable");
    }

    #[test]
    fn url_credentials() {
        assert_eq!(
            masked("GET https://alice:s3cr3t@db.example.com:5432/x failed"),
            "GET https://[Filtered]@db.example.com:5432/x failed"
        );
        assert_eq!(
            masked("postgres://ghp_tokenvalue@host/db"),
            "postgres://[Filtered]@host/db"
        );
        assert_eq!(
            masked("see https://example.com/a@b"),
            "see https://example.com/a@b"
        );
    }

    #[test]
    fn pem_private_keys() {
        let text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAbC=\n-----END RSA PRIVATE KEY-----\nend";
        assert_eq!(masked(text), "key:\n[Filtered]\nend");
        let cut = "-----BEGIN PRIVATE KEY-----\nMIIE";
        assert_eq!(masked(cut), "[Filtered]");
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        assert_eq!(masked(cert), cert);
    }

    #[test]
    fn card_numbers_are_luhn_checked() {
        assert_eq!(
            masked("card 4111 1111 1111 1111 declined"),
            "card [Filtered] declined"
        );
        assert_eq!(masked("card 4111-1111-1111-1111"), "card [Filtered]");
        assert_eq!(masked("card 4111111111111111."), "card [Filtered].");
        // Not Luhn-valid, too short, too long or part of a word: kept.
        assert_eq!(masked("order 4111111111111112"), "order 4111111111111112");
        assert_eq!(masked("id 123456789012"), "id 123456789012");
        assert_eq!(
            masked("ts 41111111111111111111111"),
            "ts 41111111111111111111111"
        );
        assert_eq!(masked("x4111111111111111"), "x4111111111111111");
    }

    #[test]
    fn key_values_under_sensitive_keys() {
        assert_eq!(
            masked("GET /cb?code=1&api_key=abc123&page=2"),
            "GET /cb?code=1&api_key=[Filtered]&page=2"
        );
        assert_eq!(
            masked(r#"body {"user":"bob","password":"hunter2"}"#),
            r#"body {"user":"bob","password":"[Filtered]"}"#
        );
        assert_eq!(
            masked("auth: connection refused"),
            "auth: connection refused"
        );
        assert_eq!(
            masked("Authorization=Bearer abc"),
            "Authorization=Bearer [Filtered]"
        );
        assert_eq!(masked("count=3 ratio=0.5"), "count=3 ratio=0.5");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            mask_secrets("nothing to see: 42 = 42", &[]),
            Cow::Borrowed(_)
        ));
    }
}
