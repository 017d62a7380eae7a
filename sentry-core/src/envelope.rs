//! TEMPORARY STUB (replaced by the `wire` branch).
#![allow(missing_docs)]
use crate::protocol::Event;
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub bytes: Vec<u8>,
}
impl Envelope {
    pub fn from_event(event: &Event) -> Self {
        Envelope {
            bytes: serde_json::to_vec(event).unwrap_or_default(),
        }
    }
    pub fn set_dsn(&mut self, _dsn: &str) {}
    pub fn set_sdk(&mut self, _name: &str, _version: &str) {}
    pub fn set_sent_at(&mut self, _t: std::time::SystemTime) {}
}
impl Envelope {
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
    pub fn parse(bytes: &[u8]) -> Result<Envelope, String> {
        Ok(Envelope {
            bytes: bytes.to_vec(),
        })
    }
}
