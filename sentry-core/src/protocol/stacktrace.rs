use serde::{Serialize, Serializer};

use super::json::{self, FromJson, Object};

use super::Map;

/// A stack trace, oldest frame first as the protocol requires.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stacktrace {
    /// The frames, oldest (outermost call) first, the crashing frame last.
    pub frames: Vec<Frame>,
    /// CPU registers at the moment of a crash, as `0x` hex strings.
    pub registers: Map,
}

/// One stack frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    /// The demangled function name, without the hash suffix Rust adds.
    pub function: Option<String>,
    /// The file name as the debug info records it.
    pub filename: Option<String>,
    /// The absolute path of the source file, when known.
    pub abs_path: Option<String>,
    /// The line number.
    pub lineno: Option<u32>,
    /// The column number.
    pub colno: Option<u32>,
    /// The Rust module path of the function, when known.
    pub module: Option<String>,
    /// The package (module file) the frame belongs to.
    pub package: Option<String>,
    /// The instruction address as a `0x` hex string.
    pub instruction_addr: Option<String>,
    /// The start address of the function as a `0x` hex string.
    pub symbol_addr: Option<String>,
    /// Whether the frame is the application's own code.
    pub in_app: Option<bool>,
}

impl Serialize for Stacktrace {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("frames", &self.frames)?;
        fields.unless_empty("registers", &self.registers)?;
        fields.end()
    }
}

impl FromJson for Stacktrace {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Stacktrace")?;
        Ok(Stacktrace {
            frames: object.required("frames")?,
            registers: object.optional("registers")?,
        })
    }
}

impl Serialize for Frame {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.unless_empty("function", &self.function)?;
        fields.unless_empty("filename", &self.filename)?;
        fields.unless_empty("abs_path", &self.abs_path)?;
        fields.unless_empty("lineno", &self.lineno)?;
        fields.unless_empty("colno", &self.colno)?;
        fields.unless_empty("module", &self.module)?;
        fields.unless_empty("package", &self.package)?;
        fields.unless_empty("instruction_addr", &self.instruction_addr)?;
        fields.unless_empty("symbol_addr", &self.symbol_addr)?;
        fields.unless_empty("in_app", &self.in_app)?;
        fields.end()
    }
}

impl FromJson for Frame {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Frame")?;
        Ok(Frame {
            function: object.optional("function")?,
            filename: object.optional("filename")?,
            abs_path: object.optional("abs_path")?,
            lineno: object.optional("lineno")?,
            colno: object.optional("colno")?,
            module: object.optional("module")?,
            package: object.optional("package")?,
            instruction_addr: object.optional("instruction_addr")?,
            symbol_addr: object.optional("symbol_addr")?,
            in_app: object.optional("in_app")?,
        })
    }
}

json::deserialize_from_json!(Stacktrace, Frame);
