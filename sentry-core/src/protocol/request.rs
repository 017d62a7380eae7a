use std::collections::BTreeMap;

use serde::{Serialize, Serializer};

use super::json::{self, FromJson, Object};

use super::Value;

/// The HTTP request an event happened while handling: the protocol's `request` interface
/// (<https://develop.sentry.dev/sdk/data-model/event-payloads/request/>).
///
/// Set it on the scope for the time a request is handled, so every event captured meanwhile
/// carries it:
///
/// ```
/// use sentry_core::protocol::Request;
///
/// let request = Request::new("POST", "https://api.example.com/orders?page=2")
///     .header("Content-Type", "application/json")
///     .header("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2ln")
///     .data(serde_json::json!({"sku": "A-1", "password": "hunter2"}));
/// sentry_core::configure_scope(|scope| scope.set_request(Some(request)));
/// // ... handle it; events captured now carry the request ...
/// sentry_core::configure_scope(|scope| scope.set_request(None));
/// ```
///
/// Before it is sent, sensitive headers, query parameters and `data` keys are scrubbed and,
/// unless `send_default_pii` is on, cookie values and the client's IP address are removed
/// (see [`ClientOptions::scrub_data`](crate::ClientOptions::scrub_data) and
/// [`ClientOptions::send_default_pii`](crate::ClientOptions::send_default_pii)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The URL, without the query string (which goes in [`query_string`](Self::query_string);
    /// a query left in the URL is moved there by the server).
    pub url: Option<String>,
    /// The HTTP method, such as `GET`.
    pub method: Option<String>,
    /// The body: a JSON value, or the raw text. Large and binary bodies are better left out.
    pub data: Option<Value>,
    /// The query string, without the leading `?`, such as `page=2&sort=asc`.
    pub query_string: Option<String>,
    /// The cookies as the `Cookie` header sends them: `name=value; other=value`.
    pub cookies: Option<String>,
    /// The headers, by name. A header sent several times is one entry, its values joined
    /// with `, ` as HTTP merges them.
    pub headers: BTreeMap<String, String>,
    /// Server environment that is not a header (CGI-style), such as `REMOTE_ADDR`.
    pub env: BTreeMap<String, String>,
}

impl Request {
    /// A request with its method and URL. A query string in `url` is moved to
    /// [`query_string`](Self::query_string) (a fragment is dropped: browsers never send it).
    ///
    /// ```
    /// let request = sentry_core::protocol::Request::new("get", "/search?q=rust#top");
    /// assert_eq!(request.method.as_deref(), Some("GET"));
    /// assert_eq!(request.url.as_deref(), Some("/search"));
    /// assert_eq!(request.query_string.as_deref(), Some("q=rust"));
    /// ```
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        let mut method = method.into();
        // The server keeps only upper-case method names.
        method.make_ascii_uppercase();
        let mut url = url.into();
        if let Some(hash) = url.find('#') {
            url.truncate(hash);
        }
        let query_string = url.find('?').map(|q| {
            let query = url[q + 1..].to_owned();
            url.truncate(q);
            query
        });
        Request {
            url: Some(url),
            method: Some(method),
            query_string: query_string.filter(|q| !q.is_empty()),
            ..Default::default()
        }
    }

    /// Adds a header; a second value for the same name is joined to the first with `, `.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let value = value.into();
        self.headers
            .entry(name.into())
            .and_modify(|before| {
                before.push_str(", ");
                before.push_str(&value);
            })
            .or_insert(value);
        self
    }

    /// Sets the query string (without the leading `?`).
    pub fn query_string(mut self, query: impl Into<String>) -> Self {
        self.query_string = Some(query.into());
        self
    }

    /// Sets the cookies, as the `Cookie` header sends them.
    pub fn cookies(mut self, cookies: impl Into<String>) -> Self {
        self.cookies = Some(cookies.into());
        self
    }

    /// Sets the body.
    pub fn data(mut self, data: impl Into<Value>) -> Self {
        self.data = Some(data.into());
        self
    }

    /// Adds one environment entry, such as `REMOTE_ADDR`.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }
}

impl Serialize for Request {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.unless_empty("url", &self.url)?;
        fields.unless_empty("method", &self.method)?;
        fields.unless_empty("data", &self.data)?;
        fields.unless_empty("query_string", &self.query_string)?;
        fields.unless_empty("cookies", &self.cookies)?;
        fields.unless_empty("headers", &self.headers)?;
        fields.unless_empty("env", &self.env)?;
        fields.end()
    }
}

impl FromJson for Request {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Request")?;
        Ok(Request {
            url: object.optional("url")?,
            method: object.optional("method")?,
            data: object.optional("data")?,
            query_string: object.optional("query_string")?,
            cookies: object.optional("cookies")?,
            headers: object.optional("headers")?,
            env: object.optional("env")?,
        })
    }
}

json::deserialize_from_json!(Request);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn serializes_with_protocol_names_and_skips_empty_fields() {
        let request = Request::new("post", "https://example.com/a?b=1#frag")
            .header("Accept", "text/html")
            .header("Accept", "application/json")
            .cookies("theme=dark")
            .data(json!({"k": "v"}))
            .env("SERVER_NAME", "web-1");
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            json!({
                "url": "https://example.com/a",
                "method": "POST",
                "query_string": "b=1",
                "cookies": "theme=dark",
                "headers": {"Accept": "text/html, application/json"},
                "data": {"k": "v"},
                "env": {"SERVER_NAME": "web-1"},
            })
        );
        assert_eq!(serde_json::to_value(Request::default()).unwrap(), json!({}));
        let url_only = Request::new("GET", "/x?");
        assert_eq!(url_only.query_string, None);
    }
}
