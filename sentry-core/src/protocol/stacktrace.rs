use serde::{Deserialize, Serialize};

use super::Map;

/// A stack trace, oldest frame first as the protocol requires.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stacktrace {
    /// The frames, oldest (outermost call) first, the crashing frame last.
    pub frames: Vec<Frame>,
    /// CPU registers at the moment of a crash, as `0x` hex strings.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub registers: Map,
}

/// One stack frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Frame {
    /// The demangled function name, without the hash suffix Rust adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The file name as the debug info records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The absolute path of the source file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    /// The line number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineno: Option<u32>,
    /// The column number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colno: Option<u32>,
    /// The Rust module path of the function, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The package (module file) the frame belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// The instruction address as a `0x` hex string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction_addr: Option<String>,
    /// The start address of the function as a `0x` hex string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_addr: Option<String>,
    /// Whether the frame is the application's own code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<bool>,
}
