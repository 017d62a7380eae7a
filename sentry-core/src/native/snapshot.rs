//! The scope snapshot the crash handler writes into a report, kept current cheaply.
//!
//! The handler cannot serialize anything, so the scope is serialized ahead of time, on every
//! change. Serializing a whole scope with 100 breadcrumbs takes tens of microseconds, too much
//! for [`add_breadcrumb`](crate::add_breadcrumb), so the writer keeps the pieces:
//!
//! * the head: release, environment, level, fingerprint, transaction, user, tags, extra and
//!   contexts, serialized again only by [`configure_scope`](crate::configure_scope);
//! * one serialized JSON string per breadcrumb, in a ring that follows the scope's own ring:
//!   a breadcrumb is serialized once, when it is added, and recognised afterwards by its
//!   shared pointer.
//!
//! Each change then costs serializing what changed plus concatenating the pieces into a reused
//! buffer (a memory copy). When the result is larger than the handler's capacity, the oldest
//! breadcrumbs are left out until it fits.
//!
//! The JSON is one object: `{"release":…,"environment":…,"tags":…,…,"breadcrumbs":[…]}`,
//! read back by [`ScopeSnapshot`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::protocol::{Breadcrumb, Contexts, Level, Map, User};
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

/// Builds the snapshot from a scope, reusing what did not change since the last call.
pub(crate) struct SnapshotWriter {
    release: Option<String>,
    environment: Option<String>,
    /// The head object without its closing brace: `{"release":"a"` or `{`.
    head: Vec<u8>,
    /// Serialized breadcrumbs, oldest first, with the pointer that identifies each. Holding
    /// the `Arc` keeps the pointer from being reused by a later breadcrumb.
    crumbs: VecDeque<(Arc<Breadcrumb>, Box<[u8]>)>,
    /// The assembled snapshot, reused.
    buf: Vec<u8>,
    /// The handler's capacity.
    max_bytes: usize,
}

impl SnapshotWriter {
    pub(crate) fn new(
        release: Option<String>,
        environment: Option<String>,
        max_bytes: usize,
    ) -> Self {
        let mut writer = SnapshotWriter {
            release,
            environment,
            head: Vec::new(),
            crumbs: VecDeque::new(),
            buf: Vec::new(),
            max_bytes,
        };
        writer.update_head(&Scope::default());
        writer
    }

    /// Serializes everything but the breadcrumbs again.
    pub(crate) fn update_head(&mut self, scope: &Scope) {
        let head = Head {
            release: self.release.as_deref(),
            environment: self.environment.as_deref(),
            parts: scope.parts(),
        };
        self.head.clear();
        if serde_json::to_writer(&mut self.head, &head).is_err() {
            // A value that cannot be JSON (a map with non-string keys in `extra`): keep the
            // crash reportable without that part of the scope.
            self.head.clear();
            self.head.extend_from_slice(b"{}");
        }
        self.head.pop(); // the closing brace: breadcrumbs follow
    }

    /// Brings the serialized breadcrumbs in line with the scope's: serializes only those not
    /// seen before.
    pub(crate) fn update_breadcrumbs(&mut self, scope: &Scope) {
        let current = scope.breadcrumb_arcs();
        // The ring dropped its oldest: drop ours up to the scope's first.
        match current.front() {
            None => self.crumbs.clear(),
            Some(first) => match self.crumbs.iter().position(|(b, _)| Arc::ptr_eq(b, first)) {
                Some(skip) => {
                    self.crumbs.drain(..skip);
                }
                None => self.crumbs.clear(),
            },
        }
        let same = self
            .crumbs
            .iter()
            .zip(current.iter())
            .take_while(|((ours, _), theirs)| Arc::ptr_eq(ours, theirs))
            .count();
        self.crumbs.truncate(same);
        for crumb in current.iter().skip(same) {
            let json = serde_json::to_vec(&**crumb).unwrap_or_else(|_| b"{}".to_vec());
            self.crumbs
                .push_back((Arc::clone(crumb), json.into_boxed_slice()));
        }
    }

    /// Assembles the snapshot, leaving out the oldest breadcrumbs if it would exceed the
    /// capacity. `None` when even the head alone is too large.
    pub(crate) fn assemble(&mut self) -> Option<&[u8]> {
        const KEY: &[u8] = b"\"breadcrumbs\":[";
        const TAIL: &[u8] = b"]}";
        let comma = usize::from(self.head.len() > 1);
        let fixed = self.head.len() + comma + KEY.len() + TAIL.len();
        if fixed > self.max_bytes {
            return None;
        }
        // Newest breadcrumbs first, as many as fit.
        let mut size = fixed;
        let mut keep = 0;
        for (_, json) in self.crumbs.iter().rev() {
            let more = json.len() + usize::from(keep > 0);
            if size + more > self.max_bytes {
                break;
            }
            size += more;
            keep += 1;
        }
        self.buf.clear();
        self.buf.reserve(size);
        self.buf.extend_from_slice(&self.head);
        if comma == 1 {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(KEY);
        let skip = self.crumbs.len() - keep;
        for (i, (_, json)) in self.crumbs.iter().skip(skip).enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.extend_from_slice(json);
        }
        self.buf.extend_from_slice(TAIL);
        Some(&self.buf)
    }

    /// A last-resort snapshot when the head is too large: release and environment only.
    pub(crate) fn minimal(&self) -> Vec<u8> {
        let empty = Scope::default();
        let head = Head {
            release: self.release.as_deref(),
            environment: self.environment.as_deref(),
            parts: empty.parts(),
        };
        serde_json::to_vec(&head).unwrap_or_else(|_| b"{}".to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> ScopeSnapshot {
        serde_json::from_slice(bytes).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(bytes));
        })
    }

    fn messages(snapshot: &ScopeSnapshot) -> Vec<&str> {
        snapshot
            .breadcrumbs
            .iter()
            .map(|b| b.message.as_deref().unwrap_or(""))
            .collect()
    }

    #[test]
    fn empty_scope_and_release() {
        let mut w = SnapshotWriter::new(None, None, 1024);
        assert_eq!(w.assemble().unwrap(), b"{\"breadcrumbs\":[]}");
        let mut w = SnapshotWriter::new(Some("app@1".into()), Some("prod".into()), 1024);
        let s = parse(w.assemble().unwrap());
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
        let mut w = SnapshotWriter::new(Some("r".into()), None, 64 * 1024);
        w.update_head(&scope);
        w.update_breadcrumbs(&scope);
        let s = parse(w.assemble().unwrap());
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
    fn breadcrumbs_follow_the_ring_and_are_serialized_once() {
        let mut scope = Scope::default();
        let mut w = SnapshotWriter::new(None, None, 64 * 1024);
        for i in 0..25 {
            scope.add_breadcrumb(Breadcrumb::new(format!("crumb {i}")), 10);
            w.update_breadcrumbs(&scope);
        }
        let s = parse(w.assemble().unwrap());
        let want: Vec<String> = (15..25).map(|i| format!("crumb {i}")).collect();
        assert_eq!(messages(&s), want);
        // Each cached piece is the scope's own breadcrumb.
        for ((ours, _), theirs) in w.crumbs.iter().zip(scope.breadcrumb_arcs()) {
            assert!(Arc::ptr_eq(ours, theirs));
        }
        // Cleared, then a different scope entirely.
        scope.clear_breadcrumbs();
        w.update_breadcrumbs(&scope);
        assert!(parse(w.assemble().unwrap()).breadcrumbs.is_empty());
        let mut other = Scope::default();
        other.add_breadcrumb(Breadcrumb::new("other"), 10);
        w.update_breadcrumbs(&other);
        assert_eq!(messages(&parse(w.assemble().unwrap())), ["other"]);
    }

    #[test]
    fn too_large_drops_the_oldest_breadcrumbs() {
        let mut scope = Scope::default();
        for i in 0..100 {
            scope.add_breadcrumb(Breadcrumb::new(format!("{i:03}{}", "x".repeat(200))), 100);
        }
        let mut w = SnapshotWriter::new(Some("r".into()), None, 4096);
        w.update_head(&scope);
        w.update_breadcrumbs(&scope);
        let bytes = w.assemble().unwrap().to_vec();
        assert!(bytes.len() <= 4096);
        let s = parse(&bytes);
        assert!(s.breadcrumbs.len() > 5 && s.breadcrumbs.len() < 100);
        assert!(messages(&s).last().unwrap().starts_with("099"));
        // A head alone over the capacity: nothing assembles, the minimal one is small.
        scope.set_extra("big", "y".repeat(5000));
        w.update_head(&scope);
        assert!(w.assemble().is_none());
        assert_eq!(parse(&w.minimal()).release.as_deref(), Some("r"));
    }

    /// Not an assertion on time: prints what keeping the snapshot current costs.
    #[test]
    fn cost_of_keeping_the_snapshot_current() {
        let mut scope = Scope::default();
        let mut w = SnapshotWriter::new(
            Some("app@1.0.0".into()),
            Some("production".into()),
            64 * 1024,
        );
        scope.set_tag("component", "importer");
        w.update_head(&scope);
        let crumb = || {
            Breadcrumb::new("GET /api/items returned 200 in 12 ms")
                .category("http")
                .data("status", 200)
        };
        for _ in 0..100 {
            scope.add_breadcrumb(crumb(), 100);
        }
        w.update_breadcrumbs(&scope);
        let rounds = 20_000u32;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            scope.add_breadcrumb(crumb(), 100);
            w.update_breadcrumbs(&scope);
            std::hint::black_box(w.assemble());
        }
        let per = start.elapsed() / rounds;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(w.assemble());
        }
        let assemble = start.elapsed() / rounds;
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            std::hint::black_box(serde_json::to_vec(&crumb()).unwrap());
        }
        let one = start.elapsed() / rounds;
        eprintln!("snapshot: assemble alone {assemble:?}, one breadcrumb made and serialized {one:?}");
        let start = std::time::Instant::now();
        for _ in 0..rounds {
            scope.add_breadcrumb(crumb(), 100);
        }
        let base = start.elapsed() / rounds;
        eprintln!(
            "snapshot: add_breadcrumb + incremental snapshot of {} bytes: {per:?} per breadcrumb (the scope alone: {base:?})",
            w.assemble().unwrap().len()
        );
    }
}
