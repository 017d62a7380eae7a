//! TEMPORARY STUB (replaced by the `images` branch).
#![allow(missing_docs)]
use crate::protocol::Stacktrace;
#[derive(Debug, Clone, Default)]
pub struct InAppRules {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}
#[derive(Debug, Clone)]
pub struct CapturedBacktrace(Vec<u64>);
impl CapturedBacktrace {
    pub fn capture() -> Self {
        CapturedBacktrace(Vec::new())
    }
    pub fn resolve(&self, _rules: &InAppRules) -> Stacktrace {
        let _ = &self.0;
        Stacktrace::default()
    }
}
