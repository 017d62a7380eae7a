use serde::{Serialize, Serializer};

use super::Value;
use super::json::{self, FromJson};

/// How severe an event or breadcrumb is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Level {
    /// Diagnostic detail.
    Debug,
    /// Something worth knowing that is not a problem.
    #[default]
    Info,
    /// Something unexpected that the program handled.
    Warning,
    /// An error: the default for captured errors.
    Error,
    /// The program cannot go on: panics and native crashes.
    Fatal,
}

impl Level {
    /// The protocol name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

/// Written as its protocol name, as a string.
impl Serialize for Level {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FromJson for Level {
    fn from_json(value: Value) -> Result<Self, String> {
        let Value::String(name) = value else {
            return Err(json::invalid_type(&value, "a level name"));
        };
        Ok(match name.as_str() {
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warning" => Level::Warning,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            _ => {
                return Err(format!(
                    "unknown variant `{name}`, expected one of `debug`, `info`, `warning`, `error`, `fatal`"
                ));
            }
        })
    }
}

json::deserialize_from_json!(Level);

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
