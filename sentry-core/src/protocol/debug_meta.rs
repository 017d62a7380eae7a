use serde::{Serialize, Serializer};

use super::json::{self, FromJson, Object};

/// Debug information that lets a server symbolicate native frames.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DebugMeta {
    /// The modules loaded in the process.
    pub images: Vec<DebugImage>,
}

/// One loaded module (the executable or a shared library) as Sentry describes it.
///
/// `debug_id` is how a server finds the module's debug file; `image_addr` is where it was
/// loaded, so `instruction_addr - image_addr` is the address inside the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebugImage {
    /// The image format: `elf` on Linux.
    pub ty: String,
    /// The path of the module as it was loaded.
    pub code_file: String,
    /// The GNU build id, as lowercase hex, when the module has one.
    pub code_id: Option<String>,
    /// The identifier of the module's debug file, a GUID as symbolic computes it.
    pub debug_id: String,
    /// The load address, as a `0x` hex string.
    pub image_addr: String,
    /// The size of the mapped module in bytes.
    pub image_size: u64,
    /// The CPU architecture, such as `x86_64` or `arm64`.
    pub arch: Option<String>,
}

impl Serialize for DebugMeta {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.unless_empty("images", &self.images)?;
        fields.end()
    }
}

impl FromJson for DebugMeta {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct DebugMeta")?;
        Ok(DebugMeta {
            images: object.optional("images")?,
        })
    }
}

impl Serialize for DebugImage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("type", &self.ty)?;
        fields.field("code_file", &self.code_file)?;
        fields.unless_empty("code_id", &self.code_id)?;
        fields.field("debug_id", &self.debug_id)?;
        fields.field("image_addr", &self.image_addr)?;
        fields.field("image_size", &self.image_size)?;
        fields.unless_empty("arch", &self.arch)?;
        fields.end()
    }
}

impl FromJson for DebugImage {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct DebugImage")?;
        Ok(DebugImage {
            ty: object.required("type")?,
            code_file: object.required("code_file")?,
            code_id: object.optional("code_id")?,
            debug_id: object.required("debug_id")?,
            image_addr: object.required("image_addr")?,
            image_size: object.required("image_size")?,
            arch: object.optional("arch")?,
        })
    }
}

json::deserialize_from_json!(DebugMeta, DebugImage);
