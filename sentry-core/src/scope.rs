//! The scope: what the SDK knows about the program's state, attached to every event.
//!
//! A scope is cheap to snapshot: its parts sit behind `Arc`s and are copied only when
//! changed while a snapshot still holds them (copy on write). The process scope's
//! breadcrumbs are not among them: they live in the [`breadcrumb_log`], and an event gets a
//! copy of the log (one allocation, reused by later captures while nothing was added; see
//! `hub::View`). Capturing an event therefore costs one reference count, or that copy, and
//! the costly merge into the event (decoding the breadcrumbs included) happens on the
//! background worker, off the calling thread.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::breadcrumb_log::{self, Records};
use crate::protocol::{
    Breadcrumb, Breadcrumbs, Context, Contexts, Event, Level, Map, Request, User, Value,
};

/// Tags, extra data, user, request, contexts, level, fingerprint and breadcrumbs that apply
/// to the events captured under it.
///
/// Change the process scope with [`configure_scope`](crate::configure_scope), or a
/// temporary one with [`with_scope`](crate::with_scope):
///
/// ```
/// sentry_core::configure_scope(|scope| {
///     scope.set_tag("region", "eu-west-1");
///     scope.set_user(Some(sentry_core::protocol::User {
///         id: Some("42".into()),
///         ..Default::default()
///     }));
/// });
/// ```
#[derive(Debug, Clone, Default)]
pub struct Scope {
    level: Option<Level>,
    fingerprint: Option<Arc<[String]>>,
    transaction: Option<Arc<str>>,
    user: Option<Arc<User>>,
    request: Option<Arc<Request>>,
    tags: Arc<BTreeMap<String, String>>,
    extra: Arc<Map>,
    contexts: Arc<Contexts>,
    /// The breadcrumbs before the scope's own: see [`LogLink`].
    log: LogLink,
    /// The scope's own breadcrumbs, after those of `log`.
    breadcrumbs: Arc<VecDeque<Breadcrumb>>,
    /// When each part last changed, by [`Part`]: a process-wide number from
    /// [`next_stamp`], 0 for a part never set. Lets the crash handler's copy serialize again
    /// only the parts that changed, even across different scopes.
    stamps: [u64; Part::COUNT],
}

/// Where a scope's breadcrumbs begin (see [`breadcrumb_log`]).
#[derive(Debug, Clone, Default)]
enum LogLink {
    /// Nowhere else: all are the scope's own.
    #[default]
    Own,
    /// The process scope: its breadcrumbs are the process's log, as it is now.
    Live,
    /// A copy of the log, then the scope's own.
    Frozen(Records),
}

/// The parts of a scope other than breadcrumbs, as indexes of [`Scope`]'s stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Level,
    Fingerprint,
    Transaction,
    User,
    Request,
    Tags,
    Extra,
    Contexts,
}

impl Part {
    pub(crate) const COUNT: usize = 8;
    #[cfg_attr(not(native_crash), allow(dead_code))]
    pub(crate) const ALL: [Part; Part::COUNT] = [
        Part::Level,
        Part::Fingerprint,
        Part::Transaction,
        Part::User,
        Part::Request,
        Part::Tags,
        Part::Extra,
        Part::Contexts,
    ];
}

/// A number no change of any scope had before: equal stamps mean equal contents.
fn next_stamp() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Scope {
    /// Overrides the level of every event captured under this scope; `None` keeps each
    /// event's own level.
    pub fn set_level(&mut self, level: Option<Level>) {
        self.touch(Part::Level);
        self.level = level;
    }

    /// Sets the grouping fingerprint of events; `None` leaves grouping to the server.
    pub fn set_fingerprint(&mut self, fingerprint: Option<&[&str]>) {
        self.touch(Part::Fingerprint);
        self.fingerprint = fingerprint.map(|parts| parts.iter().map(|p| (*p).to_owned()).collect());
    }

    /// Sets the transaction name (route, job or command) of events.
    pub fn set_transaction(&mut self, transaction: Option<&str>) {
        self.touch(Part::Transaction);
        self.transaction = transaction.map(Arc::from);
    }

    /// Sets the user of events.
    pub fn set_user(&mut self, user: Option<User>) {
        self.touch(Part::User);
        self.user = user.map(Arc::new);
    }

    /// Sets the HTTP request that events are captured while handling; `None` when it is
    /// done. Events that carry a request of their own keep theirs. Sensitive headers, query
    /// parameters and body keys are scrubbed before sending, as extra data is.
    ///
    /// ```
    /// use sentry_core::protocol::{Level, Request};
    ///
    /// sentry_core::with_scope(
    ///     |scope| scope.set_request(Some(Request::new("GET", "/health"))),
    ///     || sentry_core::capture_message("slow health check", Level::Warning),
    /// );
    /// ```
    pub fn set_request(&mut self, request: Option<Request>) {
        self.touch(Part::Request);
        self.request = request.map(Arc::new);
    }

    /// The request, if set.
    pub fn request(&self) -> Option<&Request> {
        self.request.as_deref()
    }

    /// Sets a tag: a short, indexed key/value pair.
    ///
    /// Setting a tag to the value it already has changes nothing: no copy of the tags for
    /// events captured since, and nothing for the crash handler to serialize again. A
    /// service that sets the same tags on every request pays only the comparison.
    pub fn set_tag(&mut self, key: impl Into<String>, value: impl ToString) {
        let (key, value) = (key.into(), value.to_string());
        if self.tags.get(&key) == Some(&value) {
            return;
        }
        self.touch(Part::Tags);
        Arc::make_mut(&mut self.tags).insert(key, value);
    }

    /// Removes a tag.
    pub fn remove_tag(&mut self, key: &str) {
        if self.tags.contains_key(key) {
            self.touch(Part::Tags);
            Arc::make_mut(&mut self.tags).remove(key);
        }
    }

    /// Sets extra data: any JSON value.
    pub fn set_extra(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        self.touch(Part::Extra);
        Arc::make_mut(&mut self.extra).insert(key.into(), value.into());
    }

    /// Removes extra data.
    pub fn remove_extra(&mut self, key: &str) {
        if self.extra.contains_key(key) {
            self.touch(Part::Extra);
            Arc::make_mut(&mut self.extra).remove(key);
        }
    }

    /// Sets a context, such as `{"type": "gpu", "name": "..."}` under `gpu`. A missing
    /// `type` key is filled in with the context's key.
    pub fn set_context(&mut self, key: impl Into<String>, mut context: Context) {
        self.touch(Part::Contexts);
        let key = key.into();
        if !context.contains_key("type") {
            context.insert("type".into(), Value::String(key.clone()));
        }
        Arc::make_mut(&mut self.contexts).insert(key, context);
    }

    /// Removes a context.
    pub fn remove_context(&mut self, key: &str) {
        if self.contexts.contains_key(key) {
            self.touch(Part::Contexts);
            Arc::make_mut(&mut self.contexts).remove(key);
        }
    }

    /// Adds a breadcrumb, dropping the oldest when `max` are already kept. The
    /// `before_breadcrumb` callback is applied by [`add_breadcrumb`](crate::add_breadcrumb),
    /// not here.
    pub fn add_breadcrumb(&mut self, breadcrumb: Breadcrumb, max: usize) {
        if max == 0 {
            return;
        }
        if let LogLink::Live = self.log {
            breadcrumb_log::push(&breadcrumb, max);
            return;
        }
        let ring = Arc::make_mut(&mut self.breadcrumbs);
        while ring.len() >= max {
            ring.pop_front();
        }
        ring.push_back(breadcrumb);
        if let LogLink::Frozen(records) = &mut self.log {
            let over = (records.len() + ring.len()).saturating_sub(max);
            records.drop_oldest(over);
        }
    }

    /// Removes every breadcrumb (of the process scope: the process's).
    pub fn clear_breadcrumbs(&mut self) {
        self.breadcrumbs = Arc::default();
        match self.log {
            LogLink::Live => breadcrumb_log::clear(),
            LogLink::Frozen(_) => self.log = LogLink::Own,
            LogLink::Own => {}
        }
    }

    /// Forgets everything set on this scope.
    pub fn clear(&mut self) {
        self.clear_breadcrumbs();
        let log = std::mem::take(&mut self.log);
        *self = Scope::default();
        if let LogLink::Live = log {
            self.log = LogLink::Live;
        }
    }

    /// The process scope: its breadcrumbs are the process's [`breadcrumb_log`].
    pub(crate) fn process() -> Scope {
        Scope {
            log: LogLink::Live,
            ..Scope::default()
        }
    }

    /// This scope as it is now, for an event or a layer: the process scope's breadcrumbs
    /// become a copy of the log, which later additions do not change.
    pub(crate) fn frozen(&self, records: Records) -> Scope {
        let mut copy = self.clone();
        if let LogLink::Live = copy.log {
            copy.log = LogLink::Frozen(records);
        }
        copy
    }

    /// The breadcrumbs, oldest first (decoded copies: the process scope keeps its own in the
    /// process's breadcrumb log, encoded).
    pub fn breadcrumbs(&self) -> Vec<Breadcrumb> {
        let mut all = Vec::new();
        self.linked_breadcrumbs(&mut all);
        all.extend(self.breadcrumbs.iter().cloned());
        all
    }

    /// Appends the breadcrumbs of the log this scope links to.
    fn linked_breadcrumbs(&self, out: &mut Vec<Breadcrumb>) {
        match &self.log {
            LogLink::Own => {}
            LogLink::Live => out.extend(breadcrumb_log::snapshot().1.decode()),
            LogLink::Frozen(records) => out.extend(records.decode()),
        }
    }

    /// The tags.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// The user, if set.
    pub fn user(&self) -> Option<&User> {
        self.user.as_deref()
    }

    /// The fingerprint events get when they set none themselves.
    pub(crate) fn fingerprint(&self) -> Option<&[String]> {
        self.fingerprint.as_deref()
    }

    #[cfg_attr(not(native_crash), allow(dead_code))]
    /// The parts of the scope other than breadcrumbs, borrowed (for the crash handler's
    /// snapshot, which serializes them without cloning).
    pub(crate) fn parts(&self) -> ScopeParts<'_> {
        ScopeParts {
            level: self.level,
            fingerprint: self.fingerprint.as_deref(),
            transaction: self.transaction.as_deref(),
            user: self.user.as_deref(),
            request: self.request.as_deref(),
            tags: &self.tags,
            extra: &self.extra,
            contexts: &self.contexts,
        }
    }

    fn touch(&mut self, part: Part) {
        self.stamps[part as usize] = next_stamp();
    }

    /// When `part` last changed: equal stamps (of any two scopes) mean equal contents.
    #[cfg_attr(not(native_crash), allow(dead_code))]
    pub(crate) fn stamp(&self, part: Part) -> u64 {
        self.stamps[part as usize]
    }

    /// Merges the scope into an event. What the event set itself wins over the scope,
    /// except the level, which the scope overrides when set (as in every Sentry SDK).
    pub fn apply_to_event(&self, event: &mut Event) {
        if let Some(level) = self.level {
            event.level = level;
        }
        if event.user.is_none() {
            event.user = self.user.as_deref().cloned();
        }
        if event.request.is_none() {
            event.request = self.request.as_deref().cloned();
        }
        if event.transaction.is_none() {
            event.transaction = self.transaction.as_deref().map(str::to_owned);
        }
        if event.fingerprint.is_empty()
            && let Some(fingerprint) = &self.fingerprint
        {
            event.fingerprint = fingerprint.to_vec();
        }
        for (key, value) in self.tags.iter() {
            event
                .tags
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        for (key, value) in self.extra.iter() {
            event
                .extra
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        for (key, value) in self.contexts.iter() {
            event
                .contexts
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
        let mut scope_crumbs = Vec::new();
        self.linked_breadcrumbs(&mut scope_crumbs);
        if !scope_crumbs.is_empty() || !self.breadcrumbs.is_empty() {
            let crumbs = event.breadcrumbs.get_or_insert_with(Breadcrumbs::default);
            // The scope's breadcrumbs happened before any the event carried itself.
            let own = std::mem::take(&mut crumbs.values);
            scope_crumbs.reserve(self.breadcrumbs.len() + own.len());
            scope_crumbs.extend(self.breadcrumbs.iter().cloned());
            scope_crumbs.extend(own);
            crumbs.values = scope_crumbs;
        }
    }
}

#[cfg_attr(not(native_crash), allow(dead_code))]
/// The parts of a [`Scope`] other than breadcrumbs, borrowed: the crash handler's copy
/// serializes each on its own, by [`Part`].
pub(crate) struct ScopeParts<'a> {
    pub(crate) level: Option<Level>,
    pub(crate) fingerprint: Option<&'a [String]>,
    pub(crate) transaction: Option<&'a str>,
    pub(crate) user: Option<&'a User>,
    pub(crate) request: Option<&'a Request>,
    pub(crate) tags: &'a BTreeMap<String, String>,
    pub(crate) extra: &'a Map,
    pub(crate) contexts: &'a Contexts,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_buffer_keeps_the_newest() {
        let mut scope = Scope::default();
        for i in 0..150 {
            scope.add_breadcrumb(Breadcrumb::new(format!("crumb {i}")), 100);
        }
        let messages: Vec<_> = scope
            .breadcrumbs()
            .into_iter()
            .map(|b| b.message.clone().unwrap())
            .collect();
        assert_eq!(messages.len(), 100);
        assert_eq!(messages[0], "crumb 50");
        assert_eq!(messages[99], "crumb 149");
    }

    #[test]
    fn snapshots_do_not_see_later_changes() {
        let mut scope = Scope::default();
        scope.set_tag("a", 1);
        scope.add_breadcrumb(Breadcrumb::new("first"), 10);
        let snapshot = scope.clone();
        scope.set_tag("a", 2);
        scope.add_breadcrumb(Breadcrumb::new("second"), 10);
        assert_eq!(snapshot.tags()["a"], "1");
        assert_eq!(snapshot.breadcrumbs().len(), 1);
        assert_eq!(scope.breadcrumbs().len(), 2);
    }

    #[test]
    fn setting_a_tag_to_its_value_changes_nothing() {
        let mut scope = Scope::default();
        scope.set_tag("kind", "upload");
        let stamp = scope.stamp(Part::Tags);
        let copy = scope.clone();
        scope.set_tag("kind", "upload");
        assert_eq!(scope.stamp(Part::Tags), stamp, "nothing to serialize again");
        assert!(
            Arc::ptr_eq(&scope.tags, &copy.tags),
            "the copy still shares them"
        );
        scope.set_tag("kind", "download");
        assert_ne!(scope.stamp(Part::Tags), stamp);
        assert_eq!(scope.tags()["kind"], "download");
        assert_eq!(copy.tags()["kind"], "upload");
    }

    #[test]
    fn event_values_win_over_scope_values() {
        let mut scope = Scope::default();
        scope.set_tag("shared", "scope");
        scope.set_tag("only_scope", "yes");
        scope.set_level(Some(Level::Warning));
        scope.set_fingerprint(Some(&["{{ default }}", "db"]));
        scope.set_context("gpu", Map::new());
        let mut event = Event::new();
        event.tags.insert("shared".into(), "event".into());
        scope.apply_to_event(&mut event);
        assert_eq!(event.tags["shared"], "event");
        assert_eq!(event.tags["only_scope"], "yes");
        assert_eq!(event.level, Level::Warning);
        assert_eq!(event.fingerprint, ["{{ default }}", "db"]);
        assert_eq!(event.contexts["gpu"]["type"], "gpu");
    }

    #[test]
    fn the_scope_request_applies_to_events_without_one() {
        let mut scope = Scope::default();
        scope.set_request(Some(Request::new("GET", "/scope")));
        let mut event = Event::new();
        scope.apply_to_event(&mut event);
        assert_eq!(event.request.unwrap().url.as_deref(), Some("/scope"));
        let mut own = Event {
            request: Some(Request::new("POST", "/own")),
            ..Event::new()
        };
        scope.apply_to_event(&mut own);
        assert_eq!(own.request.unwrap().url.as_deref(), Some("/own"));
        scope.set_request(None);
        let mut event = Event::new();
        scope.apply_to_event(&mut event);
        assert!(event.request.is_none());
    }
}
