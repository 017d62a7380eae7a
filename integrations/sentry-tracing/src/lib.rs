//! `tracing` events as Sentry breadcrumbs and events, with the fields of the spans they
//! happened in.
//!
//! [`SentryLayer`] is a [`tracing_subscriber::Layer`]: add it to the subscriber next to the
//! layers you already have (`fmt`, a file writer); they keep working as before.
//!
//! * By default `ERROR` events become Sentry **events**, `WARN` and `INFO` events become
//!   **breadcrumbs**, and `DEBUG` and `TRACE` are left out; [`SentryLayer::filter`] changes
//!   that ([`EventFilter`]).
//! * The message is the event's `message` field (what `tracing::error!("...")` formats);
//!   the other fields become breadcrumb `data` or event `extra`. A field recorded as an error
//!   (`error = &err as &dyn std::error::Error`) also becomes the event's exception, with its
//!   whole `source()` chain.
//! * The spans the event happened in, root first, and their fields become the event's
//!   `tracing` context: `{"spans": ["request", "db"], "request.id": 7, "db.table": "users"}`.
//!   Span names prefix field names so that equal field names of different spans stay apart.
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! let _guard = sentry_core::init(sentry_core::ClientOptions::new()); // SENTRY_DSN, etc.
//! let subscriber = tracing_subscriber::registry().with(sentry_tracing::layer());
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("request", id = 7, path = "/checkout");
//!     let _entered = span.enter();
//!     tracing::info!(items = 3, "cart loaded");                   // a breadcrumb
//!     tracing::error!(order = 42, "payment provider timed out"); // an event
//! });
//! ```
//!
//! The layer only translates; whether and where anything is sent is up to
//! [`sentry_core::init`]. Before `init` the layer costs a few field visits per event.
#![deny(missing_docs)]

use std::fmt;

use sentry_core::protocol::{self, Breadcrumb, Event, Exceptions, Map, Value};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// What to do with a `tracing` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventFilter {
    /// Send nothing to Sentry.
    Ignore,
    /// Record a breadcrumb.
    Breadcrumb,
    /// Capture an event.
    Event,
    /// Capture an event and also keep it as a breadcrumb for later events.
    EventAndBreadcrumb,
}

/// The default filter: `ERROR` is an event, `WARN` and `INFO` are breadcrumbs, the rest is
/// ignored.
pub fn default_filter(metadata: &Metadata<'_>) -> EventFilter {
    match *metadata.level() {
        Level::ERROR => EventFilter::Event,
        Level::WARN | Level::INFO => EventFilter::Breadcrumb,
        _ => EventFilter::Ignore,
    }
}

/// The protocol level of a `tracing` level.
pub fn convert_level(level: &Level) -> protocol::Level {
    match *level {
        Level::ERROR => protocol::Level::Error,
        Level::WARN => protocol::Level::Warning,
        Level::INFO => protocol::Level::Info,
        _ => protocol::Level::Debug,
    }
}

type FilterFn = Box<dyn Fn(&Metadata<'_>) -> EventFilter + Send + Sync>;

/// The layer that reports `tracing` events to Sentry. Make one with [`layer`].
pub struct SentryLayer {
    filter: FilterFn,
}

/// A layer with [`default_filter`].
pub fn layer() -> SentryLayer {
    SentryLayer {
        filter: Box::new(default_filter),
    }
}

impl Default for SentryLayer {
    fn default() -> Self {
        layer()
    }
}

impl fmt::Debug for SentryLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLayer").finish_non_exhaustive()
    }
}

impl SentryLayer {
    /// Replaces the filter that decides what each event becomes.
    ///
    /// ```
    /// use sentry_tracing::EventFilter;
    /// use tracing::Level;
    ///
    /// let layer = sentry_tracing::layer().filter(|meta| match *meta.level() {
    ///     Level::ERROR | Level::WARN => EventFilter::Event,
    ///     _ => EventFilter::Breadcrumb,
    /// });
    /// # drop(layer);
    /// ```
    pub fn filter(
        mut self,
        filter: impl Fn(&Metadata<'_>) -> EventFilter + Send + Sync + 'static,
    ) -> Self {
        self.filter = Box::new(filter);
        self
    }
}

/// The fields of one span, kept in the span's extensions so events inside it can read them.
struct SpanFields(Map);

impl<S> Layer<S> for SentryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = FieldVisitor::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.into_map()));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(map)) = extensions.get_mut::<SpanFields>() {
            let mut fields = FieldVisitor::default();
            values.record(&mut fields);
            map.extend(fields.into_map());
        }
    }

    fn on_event(&self, event: &tracing_core::Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        let action = (self.filter)(metadata);
        if action == EventFilter::Ignore {
            return;
        }
        let mut fields = FieldVisitor::default();
        event.record(&mut fields);
        let message = fields
            .message
            .take()
            .unwrap_or_else(|| metadata.name().to_owned());
        let level = convert_level(metadata.level());
        if matches!(action, EventFilter::Event | EventFilter::EventAndBreadcrumb) {
            let mut sentry_event = Event {
                message: Some(message.clone()),
                level,
                logger: Some(metadata.target().to_owned()),
                exception: fields.exception.take(),
                extra: fields.map.clone(),
                ..Event::default()
            };
            let spans = span_context(event, &ctx);
            if !spans.is_empty() {
                sentry_event.contexts.insert("tracing".into(), spans);
            }
            sentry_core::capture_event(sentry_event);
        }
        if matches!(
            action,
            EventFilter::Breadcrumb | EventFilter::EventAndBreadcrumb
        ) {
            let mut crumb = Breadcrumb::new(message)
                .category(metadata.target())
                .level(level);
            if level >= protocol::Level::Error {
                crumb = crumb.ty("error");
            }
            crumb.data = fields.into_map();
            sentry_core::add_breadcrumb(crumb);
        }
    }
}

/// The `tracing` context of an event: the names of the spans it is in, root first, and
/// their fields as `<span>.<field>`. Empty outside any span.
fn span_context<S>(event: &tracing_core::Event<'_>, ctx: &Context<'_, S>) -> Map
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut context = Map::new();
    let Some(leaf) = ctx.event_span(event) else {
        return context;
    };
    let mut names = Vec::new();
    for span in leaf.scope().from_root() {
        names.push(Value::from(span.name()));
        if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
            for (key, value) in fields {
                context.insert(format!("{}.{key}", span.name()), value.clone());
            }
        }
    }
    context.insert("spans".into(), Value::Array(names));
    context.insert("type".into(), Value::from("tracing"));
    context
}

/// Collects fields as JSON, the `message` field apart, and the first error field as an
/// exception chain.
#[derive(Default)]
struct FieldVisitor {
    map: Map,
    message: Option<String>,
    exception: Option<Exceptions>,
}

impl FieldVisitor {
    fn into_map(self) -> Map {
        self.map
    }

    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.map.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for FieldVisitor {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.exception.is_none() {
            self.exception = sentry_core::event_from_error(value).exception;
        }
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `message` arrives as format arguments, whose Debug is the formatted text.
        self.put(field, Value::from(format!("{value:?}")));
    }
}
