//! TEMPORARY STUB (replaced by the `wire` branch).
#![allow(missing_docs)]
use super::{Delivery, Response, Transport};
use crate::envelope::Envelope;
pub struct DryRunTransport;
impl DryRunTransport {
    pub fn stderr(_url: Option<String>) -> Self {
        DryRunTransport
    }
    pub fn directory(_dir: std::path::PathBuf, _url: Option<String>) -> Self {
        DryRunTransport
    }
}
impl Transport for DryRunTransport {
    fn send(&mut self, _envelope: &Envelope) -> Response {
        Response::new(Delivery::Accepted)
    }
}
