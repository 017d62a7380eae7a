//! Getting envelopes to the server.
//!
//! A [`Transport`] delivers one envelope at a time and says how it went. It is only ever
//! called from the SDK's background worker, so it may block; the worker, not the
//! transport, owns the queue, the timeouts of flush and close, and what happens to an
//! envelope that could not be delivered.

use crate::envelope::Envelope;

/// How the delivery of one envelope ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The server accepted the envelope (a 2xx answer).
    Accepted,
    /// The envelope could not be delivered now but may be later: a network error, a
    /// timeout, a 5xx, 408 or 429 answer. The text says what happened.
    Retry(String),
    /// The server refused the envelope for good (a 4xx other than 408 and 429); sending it
    /// again would not help. The text says what happened.
    Rejected(String),
}

/// What a transport learned from one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// How the delivery ended.
    pub delivery: Delivery,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The `X-Sentry-Rate-Limits` header, when present.
    pub rate_limits: Option<String>,
    /// The `Retry-After` header, when present.
    pub retry_after: Option<String>,
}

impl Response {
    /// A response with only a delivery outcome and no headers.
    pub fn new(delivery: Delivery) -> Self {
        Response {
            delivery,
            status: None,
            rate_limits: None,
            retry_after: None,
        }
    }
}

/// Delivers envelopes somewhere: a server, a directory, memory.
///
/// Implement it to send through your own HTTP stack or to collect envelopes in tests;
/// [`ClientOptions::transport`](crate::ClientOptions) takes a factory for it.
pub trait Transport: Send + 'static {
    /// Delivers one envelope and reports how it went. May block; it runs on the SDK's
    /// worker thread, never on the thread that captured the event.
    fn send(&mut self, envelope: &Envelope) -> Response;
}
