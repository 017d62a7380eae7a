//! A transport that keeps envelopes in memory, for tests.

use std::sync::Arc;

use parking_lot::Mutex;

use super::{Delivery, Response, Transport};
use crate::envelope::Envelope;
use crate::protocol::{Event, Value};

/// A transport that stores every envelope instead of sending it, so tests can assert on
/// what the SDK would have sent. Always answers [`Delivery::Accepted`].
///
/// ```
/// use sentry_core::envelope::Envelope;
/// use sentry_core::protocol::Event;
/// use sentry_core::transport::{MemoryTransport, Transport};
///
/// let (mut transport, collected) = MemoryTransport::new();
/// let mut event = Event::new();
/// event.message = Some("hello".into());
/// transport.send(&Envelope::from_event(&event));
///
/// assert_eq!(collected.events()[0].message.as_deref(), Some("hello"));
/// assert_eq!(collected.event_json()[0]["message"], "hello");
/// ```
#[derive(Debug)]
pub struct MemoryTransport {
    collected: CollectedEnvelopes,
}

impl MemoryTransport {
    /// A transport and the handle through which to read what it collects.
    pub fn new() -> (Self, CollectedEnvelopes) {
        let collected = CollectedEnvelopes::default();
        (
            MemoryTransport {
                collected: collected.clone(),
            },
            collected,
        )
    }
}

impl Transport for MemoryTransport {
    fn send(&mut self, envelope: &Envelope) -> Response {
        self.collected.envelopes.lock().push(envelope.clone());
        Response::new(Delivery::Accepted)
    }
}

/// The envelopes a [`MemoryTransport`] has collected. Clones share the same store, so a
/// test keeps one while the transport moves into the SDK.
#[derive(Debug, Clone, Default)]
pub struct CollectedEnvelopes {
    envelopes: Arc<Mutex<Vec<Envelope>>>,
}

impl CollectedEnvelopes {
    /// Every envelope collected so far, in the order they were sent.
    pub fn envelopes(&self) -> Vec<Envelope> {
        self.envelopes.lock().clone()
    }

    /// The event of each envelope that carries one, in order. Envelopes without an event
    /// item (sessions, for example) are skipped; so are events that do not parse, which
    /// [`Envelope::event`] on [`envelopes`](Self::envelopes) would explain.
    pub fn events(&self) -> Vec<Event> {
        self.envelopes
            .lock()
            .iter()
            .filter_map(|e| e.event().ok())
            .collect()
    }

    /// Like [`events`](Self::events), as JSON values, to assert on the exact wire form.
    pub fn event_json(&self) -> Vec<Value> {
        self.envelopes
            .lock()
            .iter()
            .filter_map(|e| e.event_json().ok())
            .collect()
    }

    /// How many envelopes were collected.
    pub fn len(&self) -> usize {
        self.envelopes.lock().len()
    }

    /// Whether no envelope was collected.
    pub fn is_empty(&self) -> bool {
        self.envelopes.lock().is_empty()
    }

    /// Forgets every envelope collected so far.
    pub fn clear(&self) {
        self.envelopes.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_with_message(message: &str) -> Event {
        let mut event = Event::new();
        event.message = Some(message.into());
        event
    }

    #[test]
    fn collects_envelopes_in_order_and_accepts_them() {
        let (mut transport, collected) = MemoryTransport::new();
        assert!(collected.is_empty());
        let first = Envelope::from_event(&event_with_message("one"));
        let second = Envelope::from_event(&event_with_message("two"));
        assert_eq!(transport.send(&first), Response::new(Delivery::Accepted));
        transport.send(&second);
        assert_eq!(collected.len(), 2);
        assert_eq!(collected.envelopes(), vec![first, second]);
    }

    #[test]
    fn events_skip_envelopes_without_an_event() {
        let (mut transport, collected) = MemoryTransport::new();
        let mut session = Envelope::new();
        session.add_item("session", b"{}".to_vec());
        transport.send(&session);
        transport.send(&Envelope::from_event(&event_with_message("boom")));

        let messages: Vec<_> = collected.events().into_iter().map(|e| e.message).collect();
        assert_eq!(messages, [Some("boom".to_string())]);
        let json = collected.event_json();
        assert_eq!(json.len(), 1);
        assert_eq!(json[0]["message"], "boom");
    }

    #[test]
    fn clones_share_the_store_and_clear_empties_it() {
        let (mut transport, collected) = MemoryTransport::new();
        let other_handle = collected.clone();
        transport.send(&Envelope::new());
        assert_eq!(other_handle.len(), 1);
        other_handle.clear();
        assert!(collected.is_empty());
    }

    #[test]
    fn works_from_another_thread() {
        let (mut transport, collected) = MemoryTransport::new();
        std::thread::spawn(move || transport.send(&Envelope::new()))
            .join()
            .unwrap();
        assert_eq!(collected.len(), 1);
    }
}
