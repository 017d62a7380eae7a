use serde::{Deserialize, Serialize};

use super::{Map, Stacktrace};

/// The exceptions of an event: a chain of causes, the root cause first and the error the
/// program saw last.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exceptions {
    /// The chain, innermost cause first, outermost error last.
    pub values: Vec<Exception>,
}

/// One error of a chain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    /// The error's type, such as `std::io::Error` or `SIGSEGV`.
    #[serde(rename = "type")]
    pub ty: String,
    /// The error's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The module the type lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// Where the error was raised.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<Stacktrace>,
    /// How the SDK caught it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    /// The thread the error happened on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u64>,
}

/// How an error was caught: by user code (`handled`), a panic hook, a signal handler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mechanism {
    /// The kind, such as `generic`, `panic` or `signalhandler`.
    #[serde(rename = "type")]
    pub ty: String,
    /// A human description of the mechanism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether the program handled the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handled: Option<bool>,
    /// True when the exception was made up by the SDK (e.g. from a signal) and its type
    /// should not be used for grouping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synthetic: Option<bool>,
    /// Platform detail such as the signal number and name.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub meta: Map,
    /// Anything else.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub data: Map,
}
