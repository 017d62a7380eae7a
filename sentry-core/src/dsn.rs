//! TEMPORARY STUB (replaced by the `wire` branch).
#![allow(missing_docs)]
use std::str::FromStr;
#[derive(Debug, Clone, PartialEq)]
pub struct Dsn(String);
#[derive(Debug, Clone, PartialEq)]
pub struct DsnError(String);
impl std::fmt::Display for DsnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DsnError {}
impl FromStr for Dsn {
    type Err = DsnError;
    fn from_str(s: &str) -> Result<Self, DsnError> {
        if s.contains('@') {
            Ok(Dsn(s.into()))
        } else {
            Err(DsnError("no public key".into()))
        }
    }
}
impl std::fmt::Display for Dsn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl Dsn {
    pub fn envelope_url(&self) -> String {
        self.0.clone()
    }
}
