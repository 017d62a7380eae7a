use serde::{Serialize, Serializer};

use super::json::{self, FromJson, Object};

use super::{Map, Stacktrace};

/// The exceptions of an event: a chain of causes, the root cause first and the error the
/// program saw last.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exceptions {
    /// The chain, innermost cause first, outermost error last.
    pub values: Vec<Exception>,
}

/// One error of a chain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exception {
    /// The error's type, such as `std::io::Error` or `SIGSEGV`.
    pub ty: String,
    /// The error's message.
    pub value: Option<String>,
    /// The module the type lives in.
    pub module: Option<String>,
    /// Where the error was raised.
    pub stacktrace: Option<Stacktrace>,
    /// How the SDK caught it.
    pub mechanism: Option<Mechanism>,
    /// The thread the error happened on.
    pub thread_id: Option<u64>,
}

/// How an error was caught: by user code (`handled`), a panic hook, a signal handler.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mechanism {
    /// The kind, such as `generic`, `panic` or `signalhandler`.
    pub ty: String,
    /// A human description of the mechanism.
    pub description: Option<String>,
    /// Whether the program handled the error.
    pub handled: Option<bool>,
    /// True when the exception was made up by the SDK (e.g. from a signal) and its type
    /// should not be used for grouping.
    pub synthetic: Option<bool>,
    /// Platform detail such as the signal number and name.
    pub meta: Map,
    /// Anything else.
    pub data: Map,
}

impl Serialize for Exceptions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("values", &self.values)?;
        fields.end()
    }
}

impl FromJson for Exceptions {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Exceptions")?;
        Ok(Exceptions {
            values: object.required("values")?,
        })
    }
}

impl Serialize for Exception {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("type", &self.ty)?;
        fields.unless_empty("value", &self.value)?;
        fields.unless_empty("module", &self.module)?;
        fields.unless_empty("stacktrace", &self.stacktrace)?;
        fields.unless_empty("mechanism", &self.mechanism)?;
        fields.unless_empty("thread_id", &self.thread_id)?;
        fields.end()
    }
}

impl FromJson for Exception {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Exception")?;
        Ok(Exception {
            ty: object.required("type")?,
            value: object.optional("value")?,
            module: object.optional("module")?,
            stacktrace: object.optional("stacktrace")?,
            mechanism: object.optional("mechanism")?,
            thread_id: object.optional("thread_id")?,
        })
    }
}

impl Serialize for Mechanism {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("type", &self.ty)?;
        fields.unless_empty("description", &self.description)?;
        fields.unless_empty("handled", &self.handled)?;
        fields.unless_empty("synthetic", &self.synthetic)?;
        fields.unless_empty("meta", &self.meta)?;
        fields.unless_empty("data", &self.data)?;
        fields.end()
    }
}

impl FromJson for Mechanism {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Mechanism")?;
        Ok(Mechanism {
            ty: object.required("type")?,
            description: object.optional("description")?,
            handled: object.optional("handled")?,
            synthetic: object.optional("synthetic")?,
            meta: object.optional("meta")?,
            data: object.optional("data")?,
        })
    }
}

json::deserialize_from_json!(Exceptions, Exception, Mechanism);
