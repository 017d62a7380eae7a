//! The request interface: scrubbing of headers, query string, body, cookies and server
//! environment, and what `send_default_pii` keeps out of it.
//!
//! Two separate steps, because they answer to separate options:
//!
//! * [`strip_pii`] (unless `send_default_pii`): cookie values, the `Cookie` and `Set-Cookie`
//!   headers, headers that carry the client's IP address and `env.REMOTE_ADDR` (from which
//!   the server would fill in the user's IP address). It runs even with `scrub_data` off:
//!   turning off secret scrubbing is no consent to send personal data.
//! * [`Scrubber::scrub_request`] (with `scrub_data`): the sensitive-key rules of
//!   [`scrub`](super::scrub) applied to header names, query parameters, cookie names, body
//!   keys at any depth and environment keys; the secret detectors to every text left.

use std::borrow::Cow;

use crate::protocol::{Event, Request};

use super::scrub::{FILTERED, Scrubber};

/// Headers that carry the client's IP address, filtered unless `send_default_pii` (matched
/// case-insensitively).
const IP_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "true-client-ip",
    "cf-connecting-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "fastly-client-ip",
];

/// Headers that carry cookies, filtered unless `send_default_pii`.
const COOKIE_HEADERS: &[&str] = &["cookie", "set-cookie"];

/// The `env` key the server reads the user's IP address from.
const REMOTE_ADDR: &str = "REMOTE_ADDR";

/// Removes the personal data the request carries: what `send_default_pii` off promises.
pub(crate) fn strip_pii(event: &mut Event) {
    let Some(request) = &mut event.request else {
        return;
    };
    if let Some(cookies) = &mut request.cookies {
        filter_pairs(cookies, ';', |_| true);
        // The names stay (they tell which cookies were sent); a segment without `=` is not
        // a name, and could be a value: it goes.
        if cookies.split(';').any(|pair| !pair.contains('=')) {
            let pairs: Vec<&str> = cookies.split(';').filter(|p| p.contains('=')).collect();
            *cookies = pairs.join(";");
        }
        if cookies.trim().is_empty() {
            request.cookies = None;
        }
    }
    for (name, value) in request.headers.iter_mut() {
        let pii = IP_HEADERS
            .iter()
            .chain(COOKIE_HEADERS)
            .any(|h| name.eq_ignore_ascii_case(h));
        if pii && !value.is_empty() {
            FILTERED.clone_into(value);
        }
    }
    request
        .env
        .retain(|key, _| !key.eq_ignore_ascii_case(REMOTE_ADDR));
}

impl Scrubber {
    /// Applies the sensitive-key rules and the secret detectors to the request.
    pub(crate) fn scrub_request(&self, request: &mut Request) {
        if let Some(url) = &mut request.url {
            // A query left in the URL is scrubbed as the query string is.
            if let Some(q) = url.find('?') {
                let mut query = url[q + 1..].to_owned();
                self.query(&mut query);
                url.truncate(q + 1);
                url.push_str(&query);
            }
            self.text(url);
        }
        if let Some(query) = &mut request.query_string {
            self.query(query);
        }
        if let Some(cookies) = &mut request.cookies {
            filter_pairs(cookies, ';', |name| self.is_sensitive(name));
        }
        for (name, value) in request.headers.iter_mut() {
            self.keyed_text(name, value);
        }
        for (key, value) in request.env.iter_mut() {
            self.keyed_text(key, value);
        }
        if let Some(data) = &mut request.data {
            // A raw body is text: a JSON or form body's `"password": ...` and
            // `password=...` are found by the key-value detector.
            self.value(data);
        }
    }

    /// `value` under `key`: filtered when the key is sensitive, else scrubbed as text.
    fn keyed_text(&self, key: &str, value: &mut String) {
        if self.is_sensitive(key) {
            if !value.is_empty() {
                FILTERED.clone_into(value);
            }
        } else {
            self.text(value);
        }
    }

    /// Filters the values of sensitive parameters of a query string (`token=abc` →
    /// `token=[Filtered]`), then masks secret shapes in what is left.
    fn query(&self, query: &mut String) {
        filter_pairs(query, '&', |key| self.is_sensitive(&percent_decode(key)));
        self.text(query);
    }
}

/// Replaces with `[Filtered]` the value of every `name=value` pair of `text` (pairs split
/// by `separator`) whose name `filter` picks. A pair without `=` is left as it is.
fn filter_pairs(text: &mut String, separator: char, filter: impl Fn(&str) -> bool) {
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    for (n, pair) in text.split(separator).enumerate() {
        if n > 0 {
            out.push(separator);
        }
        match pair.split_once('=') {
            Some((name, value))
                if !value.trim().is_empty() && value.trim() != FILTERED && filter(name.trim()) =>
            {
                out.push_str(name);
                out.push('=');
                out.push_str(FILTERED);
                changed = true;
            }
            _ => out.push_str(pair),
        }
    }
    if changed {
        *text = out;
    }
}

/// Decodes `%XX` escapes and `+` in a query parameter name, so that `api%5Fkey` is matched
/// as `api_key`. Invalid escapes and non-UTF-8 results are kept as written.
fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_or(Cow::Borrowed(text), Cow::Owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn scrubbed(request: Request) -> Request {
        let mut event = Event {
            request: Some(request),
            ..Event::default()
        };
        Scrubber::new(&[], &[]).scrub_event(&mut event);
        event.request.unwrap()
    }

    #[test]
    fn sensitive_headers_are_filtered_and_others_masked() {
        let request = scrubbed(
            Request::new("GET", "/")
                .header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
                .header("Proxy-Authorization", "Basic dXNlcjpwYXNz")
                .header("Cookie", "sid=1")
                .header("Set-Cookie", "sid=2; HttpOnly")
                .header("X-Api-Key", "ak_1")
                .header("X-CSRF-Token", "c")
                .header("X-Forwarded-Host", "example.com")
                .header("X-Debug", "upstream said Bearer abcdefgh12345678")
                .header("Accept", "*/*"),
        );
        let headers = &request.headers;
        for name in [
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
            "Set-Cookie",
            "X-Api-Key",
            "X-CSRF-Token",
        ] {
            assert_eq!(headers[name], FILTERED, "{name}");
        }
        assert_eq!(headers["X-Forwarded-Host"], "example.com");
        assert_eq!(headers["X-Debug"], "upstream said Bearer [Filtered]");
        assert_eq!(headers["Accept"], "*/*");
    }

    #[test]
    fn user_sensitive_keys_apply_to_headers() {
        let mut event = Event {
            request: Some(Request::new("GET", "/").header("X-Tenant-Iban", "DE89")),
            ..Event::default()
        };
        Scrubber::new(&["iban".into()], &[]).scrub_event(&mut event);
        assert_eq!(event.request.unwrap().headers["X-Tenant-Iban"], FILTERED);
    }

    #[test]
    fn query_parameters_under_sensitive_keys_are_filtered() {
        let request = scrubbed(
            Request::new("GET", "https://api.example.com/cb")
                .query_string("token=abc&page=2&api%5Fkey=k1&user[password]=p&flag&secret="),
        );
        assert_eq!(
            request.query_string.as_deref(),
            Some(
                "token=[Filtered]&page=2&api%5Fkey=[Filtered]&user[password]=[Filtered]&flag&secret="
            )
        );
    }

    #[test]
    fn credentials_and_a_query_left_in_the_url_are_masked() {
        let request = scrubbed(Request {
            url: Some("https://deploy:pa55@ci.example.com/hook?access_token=t&x=1".into()),
            ..Request::default()
        });
        assert_eq!(
            request.url.as_deref(),
            Some("https://[Filtered]@ci.example.com/hook?access_token=[Filtered]&x=1")
        );
    }

    #[test]
    fn the_body_is_scrubbed_like_extra_at_any_depth() {
        let request = scrubbed(Request::new("POST", "/login").data(json!({
            "user": "ada",
            "password": "hunter2",
            "card": {"number": "4111 1111 1111 1111", "meta": [{"cvv_secret": "123"}]},
        })));
        let data = request.data.unwrap();
        assert_eq!(data["user"], "ada");
        assert_eq!(data["password"], FILTERED);
        assert_eq!(data["card"]["number"], FILTERED);
        assert_eq!(data["card"]["meta"][0]["cvv_secret"], FILTERED);

        let form = scrubbed(Request::new("POST", "/login").data("user=ada&password=hunter2"));
        assert_eq!(form.data.unwrap(), "user=ada&password=[Filtered]");
        let raw = scrubbed(Request::new("POST", "/").data(r#"{"token": "abc", "n": 1}"#));
        assert_eq!(raw.data.unwrap(), r#"{"token": "[Filtered]", "n": 1}"#);
    }

    #[test]
    fn env_keys_are_scrubbed() {
        let request = scrubbed(
            Request::new("GET", "/")
                .env("DB_PASSWORD", "hunter2")
                .env("SERVER_NAME", "web-1"),
        );
        assert_eq!(request.env["DB_PASSWORD"], FILTERED);
        assert_eq!(request.env["SERVER_NAME"], "web-1");
    }

    #[test]
    fn kept_cookies_lose_only_sensitive_values() {
        let request =
            scrubbed(Request::new("GET", "/").cookies("sessionid=abc; theme=dark; csrftoken=x"));
        assert_eq!(
            request.cookies.as_deref(),
            Some("sessionid=[Filtered]; theme=dark; csrftoken=[Filtered]")
        );
    }

    #[test]
    fn without_send_default_pii_cookies_and_ip_addresses_go() {
        let mut event = Event {
            request: Some(
                Request::new("GET", "/")
                    .cookies("theme=dark; lang=en")
                    .header("cookie", "theme=dark")
                    .header("X-Forwarded-For", "203.0.113.7, 10.0.0.1")
                    .header("X-Real-IP", "203.0.113.7")
                    .header("Accept", "*/*")
                    .env("REMOTE_ADDR", "203.0.113.7")
                    .env("SERVER_PORT", "443"),
            ),
            ..Event::default()
        };
        strip_pii(&mut event);
        let request = event.request.unwrap();
        assert_eq!(
            request.cookies.as_deref(),
            Some("theme=[Filtered]; lang=[Filtered]")
        );
        assert_eq!(request.headers["cookie"], FILTERED);
        assert_eq!(request.headers["X-Forwarded-For"], FILTERED);
        assert_eq!(request.headers["X-Real-IP"], FILTERED);
        assert_eq!(request.headers["Accept"], "*/*");
        assert!(!request.env.contains_key("REMOTE_ADDR"));
        assert_eq!(request.env["SERVER_PORT"], "443");
        let mut odd = Event {
            request: Some(Request::new("GET", "/").cookies("s3cret; a=1")),
            ..Event::default()
        };
        strip_pii(&mut odd);
        assert_eq!(
            odd.request.unwrap().cookies.as_deref(),
            Some(" a=[Filtered]")
        );
        let mut bare = Event {
            request: Some(Request::new("GET", "/").cookies("s3cret")),
            ..Event::default()
        };
        strip_pii(&mut bare);
        assert_eq!(bare.request.unwrap().cookies, None);
        // An event without a request is left alone.
        strip_pii(&mut Event::default());
    }

    #[test]
    fn percent_decoding_of_names() {
        assert_eq!(percent_decode("api%5Fkey"), "api_key");
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%ff"), "%ff");
    }
}
