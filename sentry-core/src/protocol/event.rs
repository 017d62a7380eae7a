use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::json::{self, FromJson, Object};
use super::{Breadcrumbs, DebugMeta, Exceptions, Level, Request, Stacktrace, User, timestamp_now};

/// A JSON value, for extra data, tags of structured types and context fields.
pub use serde_json::Value;

/// A JSON object.
pub type Map = serde_json::Map<String, Value>;

/// One context (`os`, `device`, `rust`, `app`, ...): a JSON object with a `type` key.
pub type Context = Map;

/// The contexts of an event, by key.
pub type Contexts = BTreeMap<String, Context>;

/// An error report as the server receives it.
///
/// Most programs never build one by hand: [`capture_message`](crate::capture_message) and
/// [`capture_error`](crate::capture_error) do. [`capture_event`](crate::capture_event) takes
/// one for full control:
///
/// ```
/// use sentry_core::protocol::{Event, Level};
///
/// let mut event = Event::new();
/// event.level = Level::Warning;
/// event.message = Some("disk almost full".into());
/// event.tags.insert("disk".into(), "/var".into());
/// sentry_core::capture_event(event);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The unique id of the event; the server drops a second event with the same id.
    pub event_id: Uuid,
    /// When the event happened.
    pub timestamp: f64,
    /// How severe it is.
    pub level: Level,
    /// The platform that produced the event: `native` for Rust programs.
    pub platform: Cow<'static, str>,
    /// The message, for events captured from a message.
    pub message: Option<String>,
    /// The name of the logger that produced the event.
    pub logger: Option<String>,
    /// The errors, innermost cause first.
    pub exception: Option<Exceptions>,
    /// Threads with their stack traces (messages with attach_stacktrace, native crashes).
    pub threads: Option<Threads>,
    /// The trail of what happened before.
    pub breadcrumbs: Option<Breadcrumbs>,
    /// Short indexed key/value pairs to search and group by.
    pub tags: BTreeMap<String, String>,
    /// Arbitrary extra data.
    pub extra: Map,
    /// The affected user.
    pub user: Option<User>,
    /// The HTTP request the event happened while handling.
    pub request: Option<Request>,
    /// Structured context: os, device, runtime, app and your own.
    pub contexts: Contexts,
    /// Overrides the server's grouping; `{{ default }}` stands for the default grouping.
    pub fingerprint: Vec<String>,
    /// The release, such as `my-app@1.2.3`.
    pub release: Option<String>,
    /// The environment, such as `production`.
    pub environment: Option<String>,
    /// The host name of the machine.
    pub server_name: Option<String>,
    /// The transaction (route, job, command) the event belongs to.
    pub transaction: Option<String>,
    /// The SDK that sent the event.
    pub sdk: Option<ClientSdkInfo>,
    /// Loaded modules, for symbolication of native frames.
    pub debug_meta: Option<DebugMeta>,
}

impl Default for Event {
    fn default() -> Self {
        Event {
            event_id: crate::random::uuid_v4(),
            timestamp: timestamp_now(),
            level: Level::Error,
            platform: Cow::Borrowed("native"),
            message: None,
            logger: None,
            exception: None,
            threads: None,
            breadcrumbs: None,
            tags: BTreeMap::new(),
            extra: Map::new(),
            user: None,
            request: None,
            contexts: Contexts::new(),
            fingerprint: Vec::new(),
            release: None,
            environment: None,
            server_name: None,
            transaction: None,
            sdk: None,
            debug_meta: None,
        }
    }
}

impl Event {
    /// A new event with a fresh id, timestamped now, at level error.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stack trace of the event: those of its exceptions and of its threads.
    pub fn stacktraces(&self) -> impl Iterator<Item = &Stacktrace> {
        let exceptions = self.exception.iter().flat_map(|e| e.values.iter());
        let threads = self.threads.iter().flat_map(|t| t.values.iter());
        exceptions
            .filter_map(|e| e.stacktrace.as_ref())
            .chain(threads.filter_map(|t| t.stacktrace.as_ref()))
    }

    /// Every stack trace of the event, mutably.
    pub fn stacktraces_mut(&mut self) -> impl Iterator<Item = &mut Stacktrace> {
        let exceptions = self.exception.iter_mut().flat_map(|e| e.values.iter_mut());
        let threads = self.threads.iter_mut().flat_map(|t| t.values.iter_mut());
        exceptions
            .filter_map(|e| e.stacktrace.as_mut())
            .chain(threads.filter_map(|t| t.stacktrace.as_mut()))
    }
}

/// A message with its template, the protocol's `logentry`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogEntry {
    /// The formatted message.
    pub formatted: String,
}

/// The threads of an event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threads {
    /// One entry per thread.
    pub values: Vec<Thread>,
}

/// One thread of the process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thread {
    /// The operating system's thread id.
    pub id: Option<u64>,
    /// The thread's name.
    pub name: Option<String>,
    /// The thread's stack.
    pub stacktrace: Option<Stacktrace>,
    /// Whether this thread crashed or raised the event.
    pub crashed: Option<bool>,
    /// Whether this thread raised the event.
    pub current: Option<bool>,
    /// Whether this is the process's main thread.
    pub main: Option<bool>,
}

/// Who sent an event: the SDK's name, version and what it has turned on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientSdkInfo {
    /// The SDK's name.
    pub name: String,
    /// The SDK's version.
    pub version: String,
    /// The integrations the SDK installed.
    pub integrations: Vec<String>,
}

/// Event ids as 32 hex digits without dashes, the form every server accepts.
mod simple_uuid {
    use serde::{Serialize, Serializer};
    use uuid::Uuid;

    /// Writes the id without dashes.
    pub(super) struct Simple<'a>(pub(super) &'a Uuid);

    impl Serialize for Simple<'_> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_str(self.0.simple().encode_lower(&mut Uuid::encode_buffer()))
        }
    }

    /// Reads an id in any form `Uuid` parses (with or without dashes).
    pub(super) fn from_json(text: String) -> Result<Uuid, String> {
        Uuid::parse_str(&text).map_err(|error| error.to_string())
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("event_id", &simple_uuid::Simple(&self.event_id))?;
        fields.field("timestamp", &self.timestamp)?;
        fields.field("level", &self.level)?;
        fields.field("platform", &self.platform)?;
        fields.unless_empty("message", &self.message)?;
        fields.unless_empty("logger", &self.logger)?;
        fields.unless_empty("exception", &self.exception)?;
        fields.unless_empty("threads", &self.threads)?;
        fields.unless_empty("breadcrumbs", &self.breadcrumbs)?;
        fields.unless_empty("tags", &self.tags)?;
        fields.unless_empty("extra", &self.extra)?;
        fields.unless_empty("user", &self.user)?;
        fields.unless_empty("request", &self.request)?;
        fields.unless_empty("contexts", &self.contexts)?;
        fields.unless_empty("fingerprint", &self.fingerprint)?;
        fields.unless_empty("release", &self.release)?;
        fields.unless_empty("environment", &self.environment)?;
        fields.unless_empty("server_name", &self.server_name)?;
        fields.unless_empty("transaction", &self.transaction)?;
        fields.unless_empty("sdk", &self.sdk)?;
        fields.unless_empty("debug_meta", &self.debug_meta)?;
        fields.end()
    }
}

impl FromJson for Event {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Event")?;
        Ok(Event {
            event_id: simple_uuid::from_json(object.required("event_id")?)?,
            timestamp: object.required("timestamp")?,
            level: object.required("level")?,
            platform: object.required("platform")?,
            message: object.optional("message")?,
            logger: object.optional("logger")?,
            exception: object.optional("exception")?,
            threads: object.optional("threads")?,
            breadcrumbs: object.optional("breadcrumbs")?,
            tags: object.optional("tags")?,
            extra: object.optional("extra")?,
            user: object.optional("user")?,
            request: object.optional("request")?,
            contexts: object.optional("contexts")?,
            fingerprint: object.optional("fingerprint")?,
            release: object.optional("release")?,
            environment: object.optional("environment")?,
            server_name: object.optional("server_name")?,
            transaction: object.optional("transaction")?,
            sdk: object.optional("sdk")?,
            debug_meta: object.optional("debug_meta")?,
        })
    }
}

impl Serialize for LogEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("formatted", &self.formatted)?;
        fields.end()
    }
}

impl FromJson for LogEntry {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct LogEntry")?;
        Ok(LogEntry {
            formatted: object.required("formatted")?,
        })
    }
}

impl Serialize for Threads {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("values", &self.values)?;
        fields.end()
    }
}

impl FromJson for Threads {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Threads")?;
        Ok(Threads {
            values: object.required("values")?,
        })
    }
}

impl Serialize for Thread {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.unless_empty("id", &self.id)?;
        fields.unless_empty("name", &self.name)?;
        fields.unless_empty("stacktrace", &self.stacktrace)?;
        fields.unless_empty("crashed", &self.crashed)?;
        fields.unless_empty("current", &self.current)?;
        fields.unless_empty("main", &self.main)?;
        fields.end()
    }
}

impl FromJson for Thread {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct Thread")?;
        Ok(Thread {
            id: object.optional("id")?,
            name: object.optional("name")?,
            stacktrace: object.optional("stacktrace")?,
            crashed: object.optional("crashed")?,
            current: object.optional("current")?,
            main: object.optional("main")?,
        })
    }
}

impl Serialize for ClientSdkInfo {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = json::object(serializer)?;
        fields.field("name", &self.name)?;
        fields.field("version", &self.version)?;
        fields.unless_empty("integrations", &self.integrations)?;
        fields.end()
    }
}

impl FromJson for ClientSdkInfo {
    fn from_json(value: super::Value) -> Result<Self, String> {
        let mut object = Object::new(value, "struct ClientSdkInfo")?;
        Ok(ClientSdkInfo {
            name: object.required("name")?,
            version: object.required("version")?,
            integrations: object.optional("integrations")?,
        })
    }
}

json::deserialize_from_json!(Event, LogEntry, Threads, Thread, ClientSdkInfo);
