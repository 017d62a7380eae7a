//! TEMPORARY STUB (replaced by the `wire` branch).
#![allow(missing_docs)]
use super::{Delivery, Response, Transport};
use crate::envelope::Envelope;
use parking_lot::Mutex;
use std::sync::Arc;
#[derive(Clone, Default)]
pub struct CollectedEnvelopes(Arc<Mutex<Vec<Envelope>>>);
impl CollectedEnvelopes {
    pub fn event_json(&self) -> Vec<serde_json::Value> {
        self.0
            .lock()
            .iter()
            .map(|e| serde_json::from_slice(&e.bytes).unwrap())
            .collect()
    }
}
pub struct MemoryTransport(CollectedEnvelopes);
impl MemoryTransport {
    pub fn new() -> (Self, CollectedEnvelopes) {
        let c = CollectedEnvelopes::default();
        (MemoryTransport(c.clone()), c)
    }
}
impl Transport for MemoryTransport {
    fn send(&mut self, envelope: &Envelope) -> Response {
        self.0.0.lock().push(envelope.clone());
        Response::new(Delivery::Accepted)
    }
}
