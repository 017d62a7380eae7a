//! TEMPORARY STUB (replaced by the `wire` branch).
#![allow(missing_docs)]
use super::{Delivery, Response, Transport};
use crate::dsn::Dsn;
use crate::envelope::Envelope;
use std::time::Duration;
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    pub user_agent: String,
    pub sdk_client: String,
    pub proxy: Option<String>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
}
#[derive(Debug)]
pub struct HttpError(pub String);
impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for HttpError {}
pub struct HttpTransport;
impl HttpTransport {
    pub fn new(_dsn: &Dsn, _options: HttpOptions) -> Result<Self, HttpError> {
        Ok(HttpTransport)
    }
}
impl Transport for HttpTransport {
    fn send(&mut self, _envelope: &Envelope) -> Response {
        Response::new(Delivery::Accepted)
    }
}
