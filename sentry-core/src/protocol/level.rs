use serde::{Deserialize, Serialize};

/// How severe an event or breadcrumb is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
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

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
