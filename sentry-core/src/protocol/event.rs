use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The unique id of the event; the server drops a second event with the same id.
    #[serde(with = "simple_uuid")]
    pub event_id: Uuid,
    /// When the event happened.
    pub timestamp: f64,
    /// How severe it is.
    pub level: Level,
    /// The platform that produced the event: `native` for Rust programs.
    pub platform: Cow<'static, str>,
    /// The message, for events captured from a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The name of the logger that produced the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The errors, innermost cause first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<Exceptions>,
    /// Threads with their stack traces (messages with attach_stacktrace, native crashes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<Threads>,
    /// The trail of what happened before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breadcrumbs: Option<Breadcrumbs>,
    /// Short indexed key/value pairs to search and group by.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Arbitrary extra data.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub extra: Map,
    /// The affected user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// The HTTP request the event happened while handling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<Request>,
    /// Structured context: os, device, runtime, app and your own.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub contexts: Contexts,
    /// Overrides the server's grouping; `{{ default }}` stands for the default grouping.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint: Vec<String>,
    /// The release, such as `my-app@1.2.3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The environment, such as `production`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The host name of the machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// The transaction (route, job, command) the event belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<String>,
    /// The SDK that sent the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<ClientSdkInfo>,
    /// Loaded modules, for symbolication of native frames.
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The formatted message.
    pub formatted: String,
}

/// The threads of an event.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Threads {
    /// One entry per thread.
    pub values: Vec<Thread>,
}

/// One thread of the process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    /// The operating system's thread id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// The thread's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The thread's stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<Stacktrace>,
    /// Whether this thread crashed or raised the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashed: Option<bool>,
    /// Whether this thread raised the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<bool>,
    /// Whether this is the process's main thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main: Option<bool>,
}

/// Who sent an event: the SDK's name, version and what it has turned on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientSdkInfo {
    /// The SDK's name.
    pub name: String,
    /// The SDK's version.
    pub version: String,
    /// The integrations the SDK installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<String>,
}

/// Serializes event ids as 32 hex digits without dashes, the form every server accepts.
pub(crate) mod simple_uuid {
    use serde::{Deserialize, Deserializer, Serializer};
    use uuid::Uuid;

    pub fn serialize<S: Serializer>(id: &Uuid, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(id.simple().encode_lower(&mut Uuid::encode_buffer()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Uuid::parse_str(&text).map_err(serde::de::Error::custom)
    }
}
