use serde::{Deserialize, Serialize};

/// Debug information that lets a server symbolicate native frames.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DebugMeta {
    /// The modules loaded in the process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<DebugImage>,
}

/// One loaded module (the executable or a shared library) as Sentry describes it.
///
/// `debug_id` is how a server finds the module's debug file; `image_addr` is where it was
/// loaded, so `instruction_addr - image_addr` is the address inside the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebugImage {
    /// The image format: `elf` on Linux.
    #[serde(rename = "type")]
    pub ty: String,
    /// The path of the module as it was loaded.
    pub code_file: String,
    /// The GNU build id, as lowercase hex, when the module has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_id: Option<String>,
    /// The identifier of the module's debug file, a GUID as symbolic computes it.
    pub debug_id: String,
    /// The load address, as a `0x` hex string.
    pub image_addr: String,
    /// The size of the mapped module in bytes.
    pub image_size: u64,
    /// The CPU architecture, such as `x86_64` or `arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
}
