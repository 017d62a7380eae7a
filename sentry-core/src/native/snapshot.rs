//! The scope the crash handler writes into a report, kept current cheaply.
//!
//! The handler cannot serialize anything, so the scope is serialized ahead of time, on every
//! change, in two parts:
//!
//! * the head: release, environment, level, fingerprint, transaction, user, request, tags,
//!   extra and contexts, one JSON object given to `set_scope`, serialized again only by
//!   [`configure_scope`](crate::configure_scope);
//! * the breadcrumbs, each serialized once when it is added and given to the handler's ring
//!   of breadcrumb slots (`push_breadcrumb`), which copies only that one.
//!
//! [`add_breadcrumb`](crate::add_breadcrumb) therefore costs serializing one breadcrumb and
//! copying it, however many are kept. The writer recognises breadcrumbs it already pushed by
//! their shared pointer, so a scope that merely dropped its oldest costs nothing more, and a
//! scope that was cleared or replaced (another thread's layer) is pushed again whole.
//!
//! In a report, the head is the scope blob and the breadcrumbs follow as their own blobs;
//! [`ScopeSnapshot`] reads the head (which may also carry `breadcrumbs` itself).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::protocol::{Breadcrumb, Contexts, Level, Map, Request, User};
use crate::scope::{Scope, ScopeParts};

/// The scope as read back from a report.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub(crate) struct ScopeSnapshot {
    pub(crate) release: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) level: Option<Level>,
    pub(crate) fingerprint: Option<Vec<String>>,
    pub(crate) transaction: Option<String>,
    pub(crate) user: Option<User>,
    pub(crate) request: Option<Request>,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) extra: Map,
    pub(crate) contexts: Contexts,
    pub(crate) breadcrumbs: Vec<Breadcrumb>,
}

/// Release and environment: from the options, not the scope, but the crashed process's
/// values are the ones its event must carry.
#[derive(Serialize)]
struct Head<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    release: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<&'a str>,
    #[serde(flatten)]
    parts: ScopeParts<'a>,
}

/// Where the snapshot goes: the crash handler, or a fake in tests.
pub(crate) trait Handler {
    /// Replaces the head; false when it is too large (the previous one stays).
    fn set_scope(&mut self, head: &[u8]) -> bool;
    /// Adds a breadcrumb after the others; false when it is too large.
    fn push_breadcrumb(&mut self, crumb: &[u8]) -> bool;
    /// Keeps only the newest `n` breadcrumbs.
    fn keep_newest_breadcrumbs(&mut self, n: usize);
}

/// Keeps the handler's copy of the scope in line with the scope, redoing only what changed.
pub(crate) struct SnapshotWriter {
    release: Option<String>,
    environment: Option<String>,
    /// The breadcrumbs the handler has, oldest first. Holding the `Arc`s keeps their
    /// addresses from being reused by later breadcrumbs, so pointer equality is identity.
    pushed: VecDeque<Arc<Breadcrumb>>,
    /// Reused serialization buffer.
    buf: Vec<u8>,
}

impl SnapshotWriter {
    pub(crate) fn new(release: Option<String>, environment: Option<String>) -> Self {
        SnapshotWriter {
            release,
            environment,
            pushed: VecDeque::new(),
            buf: Vec::with_capacity(1024),
        }
    }

    /// Serializes everything but the breadcrumbs and gives it to the handler; when it is too
    /// large, only release and environment.
    pub(crate) fn update_head(&mut self, scope: &Scope, handler: &mut impl Handler) {
        self.buf.clear();
        let head = Head {
            release: self.release.as_deref(),
            environment: self.environment.as_deref(),
            parts: scope.parts(),
        };
        if serde_json::to_writer(&mut self.buf, &head).is_err() || !handler.set_scope(&self.buf) {
            crate::debug::sdk_debug!(
                "the scope does not fit in crash reports; they keep release and environment only"
            );
            let empty = Scope::default();
            let minimal = Head {
                parts: empty.parts(),
                ..head
            };
            let bytes = serde_json::to_vec(&minimal).unwrap_or_else(|_| b"{}".to_vec());
            handler.set_scope(&bytes);
        }
    }

    /// Gives the handler the breadcrumbs it does not have yet.
    pub(crate) fn update_breadcrumbs(&mut self, scope: &Scope, handler: &mut impl Handler) {
        let current = scope.breadcrumb_arcs();
        // The usual case: the scope's breadcrumbs are ours minus some of the oldest, plus
        // new ones at the end. Breadcrumbs only ever enter a scope at the end and leave at
        // the front, and each is a new allocation, so matching both ends is enough: the
        // newest we pushed is found in the scope (a few steps from its end), and the scope's
        // oldest is where it must then be among ours.
        let appended = self.pushed.back().and_then(|newest| {
            let at = current.iter().rposition(|b| Arc::ptr_eq(b, newest))?;
            let skip = self.pushed.len().checked_sub(at + 1)?;
            Arc::ptr_eq(&self.pushed[skip], &current[0]).then_some(skip)
        });
        let new_from = match appended {
            Some(skip) => {
                self.pushed.drain(..skip);
                self.pushed.len()
            }
            None => {
                // Cleared, or another scope altogether: start over.
                self.pushed.clear();
                handler.keep_newest_breadcrumbs(0);
                0
            }
        };
        for crumb in current.iter().skip(new_from) {
            self.push(crumb, handler);
        }
        if appended.is_some() {
            handler.keep_newest_breadcrumbs(current.len());
        }
    }

    fn push(&mut self, crumb: &Arc<Breadcrumb>, handler: &mut impl Handler) {
        self.buf.clear();
        let pushed = serde_json::to_writer(&mut self.buf, &**crumb).is_ok()
            && handler.push_breadcrumb(&self.buf);
        if !pushed {
            // Too large for a slot: the gist of it, without data and with short texts.
            let cut = |text: &Option<String>, max: usize| {
                text.as_ref()
                    .map(|t| t.chars().take(max).collect::<String>())
            };
            let gist = Breadcrumb {
                timestamp: crumb.timestamp,
                ty: crumb.ty.chars().take(32).collect(),
                category: cut(&crumb.category, 64),
                level: crumb.level,
                message: cut(&crumb.message, 256),
                data: Map::new(),
            };
            self.buf.clear();
            if serde_json::to_writer(&mut self.buf, &gist).is_ok() {
                handler.push_breadcrumb(&self.buf);
            }
        }
        self.pushed.push_back(Arc::clone(crumb));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Behaves like the crash handler's slots.
    struct Fake {
        head: Vec<u8>,
        max_head: usize,
        ring: VecDeque<Vec<u8>>,
        slots: usize,
        max_crumb: usize,
        visible: usize,
        pushes: usize,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                head: Vec::new(),
                max_head: 64 * 1024,
                ring: VecDeque::new(),
                slots: 100,
                max_crumb: 1024,
                visible: 0,
                pushes: 0,
            }
        }

        /// What a report would hold: the head with the visible breadcrumbs.
        fn report(&self) -> ScopeSnapshot {
            let mut scope: ScopeSnapshot = serde_json::from_slice(&self.head).unwrap();
            let skip = self.ring.len() - self.visible;
            scope.breadcrumbs = self
                .ring
                .iter()
                .skip(skip)
                .map(|c| serde_json::from_slice(c).unwrap())
                .collect();
            scope
        }
    }

    impl Handler for Fake {
        fn set_scope(&mut self, head: &[u8]) -> bool {
            if head.len() > self.max_head {
                return false;
            }
            self.head = head.to_vec();
            true
        }
        fn push_breadcrumb(&mut self, crumb: &[u8]) -> bool {
            if crumb.len() > self.max_crumb {
                return false;
            }
            self.pushes += 1;
            if self.ring.len() == self.slots {
                self.ring.pop_front();
            }
            self.ring.push_back(crumb.to_vec());
            self.visible = (self.visible + 1).min(self.slots);
            true
        }
        fn keep_newest_breadcrumbs(&mut self, n: usize) {
            self.visible = self.visible.min(n);
        }
    }

    fn messages(snapshot: &ScopeSnapshot) -> Vec<&str> {
        snapshot
            .breadcrumbs
            .iter()
            .map(|b| b.message.as_deref().unwrap_or(""))
            .collect()
    }

    fn sync(w: &mut SnapshotWriter, scope: &Scope, fake: &mut Fake) {
        w.update_head(scope, fake);
        w.update_breadcrumbs(scope, fake);
    }

    #[test]
    fn empty_scope_and_release() {
        let mut fake = Fake::new();
        let mut w = SnapshotWriter::new(None, None);
        sync(&mut w, &Scope::default(), &mut fake);
        assert_eq!(fake.head, b"{}");
        let mut w = SnapshotWriter::new(Some("app@1".into()), Some("prod".into()));
        sync(&mut w, &Scope::default(), &mut fake);
        let s = fake.report();
        assert_eq!(s.release.as_deref(), Some("app@1"));
        assert_eq!(s.environment.as_deref(), Some("prod"));
    }

    #[test]
    fn round_trips_the_scope() {
        let mut scope = Scope::default();
        scope.set_tag("kind", "segfault");
        scope.set_extra("n", 3);
        scope.set_user(Some(User {
            id: Some("42".into()),
            ..Default::default()
        }));
        scope.set_level(Some(Level::Warning));
        scope.set_fingerprint(Some(&["a", "b"]));
        scope.set_transaction(Some("job"));
        scope.set_context("gpu", Map::new());
        scope.add_breadcrumb(Breadcrumb::new("one").category("c"), 10);
        let mut fake = Fake::new();
        let mut w = SnapshotWriter::new(Some("r".into()), None);
        sync(&mut w, &scope, &mut fake);
        let s = fake.report();
        assert_eq!(s.tags["kind"], "segfault");
        assert_eq!(s.extra["n"], 3);
        assert_eq!(s.user.unwrap().id.as_deref(), Some("42"));
        assert_eq!(s.level, Some(Level::Warning));
        assert_eq!(s.fingerprint.unwrap(), ["a", "b"]);
        assert_eq!(s.transaction.as_deref(), Some("job"));
        assert_eq!(s.contexts["gpu"]["type"], "gpu");
        assert_eq!(s.breadcrumbs[0].category.as_deref(), Some("c"));
        assert_eq!(s.release.as_deref(), Some("r"));
    }

    #[test]
    fn each_breadcrumb_is_pushed_once_and_the_ring_follows_the_scope() {
        let mut scope = Scope::default();
        let mut fake = Fake::new();
        let mut w = SnapshotWriter::new(None, None);
        w.update_head(&scope, &mut fake);
        for i in 0..25 {
            scope.add_breadcrumb(Breadcrumb::new(format!("crumb {i}")), 10);
            w.update_breadcrumbs(&scope, &mut fake);
        }
        assert_eq!(fake.pushes, 25, "one push per breadcrumb");
        let want: Vec<String> = (15..25).map(|i| format!("crumb {i}")).collect();
        assert_eq!(messages(&fake.report()), want, "only the scope's 10");
        // Nothing new: nothing pushed.
        w.update_breadcrumbs(&scope, &mut fake);
        assert_eq!(fake.pushes, 25);

        scope.clear_breadcrumbs();
        w.update_breadcrumbs(&scope, &mut fake);
        assert!(fake.report().breadcrumbs.is_empty());
        scope.add_breadcrumb(Breadcrumb::new("after clear"), 10);
        w.update_breadcrumbs(&scope, &mut fake);
        assert_eq!(messages(&fake.report()), ["after clear"]);

        // Another scope altogether (a layer of another thread): pushed whole.
        let mut other = Scope::default();
        other.add_breadcrumb(Breadcrumb::new("x"), 10);
        other.add_breadcrumb(Breadcrumb::new("y"), 10);
        w.update_breadcrumbs(&other, &mut fake);
        assert_eq!(messages(&fake.report()), ["x", "y"]);
        // And back: a copy of `scope` with one more shares the earlier pointers.
        let mut copy = scope.clone();
        copy.add_breadcrumb(Breadcrumb::new("more"), 10);
        w.update_breadcrumbs(&copy, &mut fake);
        assert_eq!(messages(&fake.report()), ["after clear", "more"]);
    }

    #[test]
    fn oversized_parts_shrink_instead_of_disappearing() {
        let mut fake = Fake {
            max_head: 200,
            max_crumb: 400,
            ..Fake::new()
        };
        let mut scope = Scope::default();
        scope.set_tag("small", "yes");
        scope.add_breadcrumb(
            Breadcrumb::new("m".repeat(1000)).data("big", "d".repeat(1000)),
            10,
        );
        let mut w = SnapshotWriter::new(Some("r".into()), None);
        sync(&mut w, &scope, &mut fake);
        let s = fake.report();
        assert_eq!(s.tags["small"], "yes");
        assert_eq!(s.breadcrumbs[0].message.as_ref().unwrap().len(), 256);
        assert!(s.breadcrumbs[0].data.is_empty());
        // A head over the capacity: release and environment only.
        scope.set_extra("big", "y".repeat(5000));
        w.update_head(&scope, &mut fake);
        let s = fake.report();
        assert_eq!(s.release.as_deref(), Some("r"));
        assert!(s.tags.is_empty() && s.extra.is_empty());
    }
}
