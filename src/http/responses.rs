//! Whole query responses, kept until a write changes what they read.
//!
//! A graph version never changes once committed, and a query reads exactly
//! one version, so the same document with the same operation name and
//! variables on the same version always answers the same bytes. Clients
//! (dashboards, GraphiQL sessions, notebooks re-run top to bottom) send the
//! same queries again and again; answering those from here skips
//! validation and resolving altogether.
//!
//! Each kept response carries what its resolvers read
//! ([`Dependencies`](crate::api::reads::Dependencies)). The cache follows
//! the service's committed writes and drops only the responses a write may
//! have changed: a new entity elsewhere leaves an entity's page and its
//! neighbourhood kept, while a ranking or a count goes with every write.
//! The writes are announced to the cache before their version can be read,
//! and applied lazily, by the first request that reads a newer version; a
//! response is served for a request's version only when every write up to
//! that version has been applied, so nothing stale is ever served. A kept answer is re-stamped with the version it is served for
//! (`extensions.graphVersion`). If the cache falls more than the event
//! buffer behind, it empties itself.
//!
//! Only queries that answered without any error are kept: an error may
//! come from a time budget, which another run might not hit.
//!
//! A hit still costs the parse of the request's JSON and the SHA-256 of
//! its key, together more than what the server adds to a request
//! otherwise. The same body bytes always parse into the same request, so
//! the bodies of requests answered from here (small ones, without
//! extensions) are remembered with their key, and the same bytes again go
//! straight to their response ([`ResponseCache::get_by_body`]).

use super::query_cache::Tally;
use crate::api::reads::Dependencies;
use crate::graph::Graph;
use crate::live::Committed;
use actix_web::web::Bytes;
use lru::LruCache;
use parking_lot::Mutex;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::broadcast::{self, error::TryRecvError};

/// Largest response kept, in bytes: a few big answers must not push out
/// many small ones, nor hold much memory (at most this times the capacity).
pub const MAX_CACHED_RESPONSE: usize = 64 * 1024;

pub use super::query_cache::Key;

/// A bounded least-recently-used cache of response bodies, each kept while
/// no write changes what it read.
pub struct ResponseCache {
    inner: Option<Mutex<Inner>>,
    tally: Tally,
    /// Hits found by their body (counted in `tally` too).
    body_hits: AtomicU64,
}

struct Inner {
    /// Every write up to this version has been applied to the entries.
    version: u64,
    /// The service's committed writes, in version order.
    events: broadcast::Receiver<Arc<Committed>>,
    /// Keyed by SHA-256 digests, which no client can aim at one bucket:
    /// a fast hash is enough.
    entries: LruCache<Key, Entry, foldhash::fast::RandomState>,
    /// What the entries are estimated to hold, in bytes.
    bytes: usize,
    /// The most bytes kept.
    budget: usize,
    /// Request bodies answered from here, with their key. Clients choose
    /// these bytes, so the standard hash, seeded per process.
    bodies: LruCache<Box<[u8]>, Known>,
}

/// What a remembered request body asks for.
#[derive(Clone)]
struct Known {
    key: Key,
    /// Its operation's name, which `/metrics` counts requests by.
    operation: Option<Arc<str>>,
}

/// Longest request body remembered: with as many bodies as responses, at
/// most 4 MiB for the default capacity of 1,000.
pub const MAX_REMEMBERED_BODY: usize = 4 * 1024;

struct Entry {
    /// The body as last served; it ends with `"graphVersion":N}}`.
    body: Bytes,
    /// Where `N` starts in `body`.
    version_at: usize,
    /// The version `body` names.
    stamped: u64,
    /// The version it was computed on; it holds from there to the cache's.
    computed: u64,
    depends: Dependencies,
    /// Its estimated memory, counted against the budget.
    weight: usize,
}

/// How many bytes kept responses may hold unless configured.
pub const DEFAULT_RESPONSE_CACHE_BYTES: usize = 64 << 20;

/// The estimated memory of a kept response: its body, what it read, and
/// the entry's own bookkeeping (the key, the list's links, a re-stamped
/// version's few more digits).
fn weight(body: &Bytes, depends: &Dependencies) -> usize {
    let ids: usize = depends.ids.iter().map(|id| id.len().max(24) + 16).sum();
    body.len() + ids + depends.searches.len() * 64 + 256
}

impl Entry {
    /// The body named for `version`, kept that way when `keep` (it is the
    /// newest version, which later hits will ask for again).
    fn body_for(&mut self, version: u64, keep: bool) -> Bytes {
        if self.stamped == version {
            return self.body.clone();
        }
        let mut stamped = Vec::with_capacity(self.version_at + 24);
        stamped.extend_from_slice(&self.body[..self.version_at]);
        stamped.extend_from_slice(version.to_string().as_bytes());
        stamped.extend_from_slice(b"}}");
        let stamped = Bytes::from(stamped);
        if keep {
            self.body = stamped.clone();
            self.stamped = version;
        }
        stamped
    }
}

impl Inner {
    /// Drops the least recently used entries until the rest fit the budget.
    fn shrink(&mut self) {
        while self.bytes > self.budget {
            let Some((_, old)) = self.entries.pop_lru() else {
                self.bytes = 0;
                break;
            };
            self.bytes = self.bytes.saturating_sub(old.weight);
        }
    }

    /// Applies the committed writes up to `version`, which `g` includes;
    /// false when some are not announced yet.
    fn catch_up(&mut self, version: u64, g: &Graph) -> bool {
        while self.version < version {
            match self.events.try_recv() {
                Ok(c) if c.version <= self.version => {}
                Ok(c) if c.version > self.version + 1 => {
                    // A write between was never heard of (missed when the
                    // cache fell behind, or announced before it began
                    // following): nothing kept can be trusted.
                    self.entries.clear();
                    self.bytes = 0;
                    self.version = c.version;
                }
                Ok(c) => {
                    let changed: Vec<Key> = self
                        .entries
                        .iter()
                        .filter(|(_, e)| e.depends.changed_by(&c, g))
                        .map(|(k, _)| *k)
                        .collect();
                    for key in changed {
                        if let Some(e) = self.entries.pop(&key) {
                            self.bytes = self.bytes.saturating_sub(e.weight);
                        }
                    }
                    self.version = c.version;
                }
                // What was missed shows as a gap in the versions above.
                Err(TryRecvError::Lagged(_)) => {}
                Err(TryRecvError::Empty | TryRecvError::Closed) => return false,
            }
        }
        true
    }
}

impl ResponseCache {
    /// A cache of at most `capacity` responses (0 turns it off), following
    /// `events` from graph version `version` on.
    pub fn new(capacity: usize, events: broadcast::Receiver<Arc<Committed>>, version: u64) -> Self {
        ResponseCache {
            inner: NonZeroUsize::new(capacity).map(|c| {
                Mutex::new(Inner {
                    version,
                    events,
                    entries: LruCache::with_hasher(c, foldhash::fast::RandomState::default()),
                    bytes: 0,
                    budget: DEFAULT_RESPONSE_CACHE_BYTES,
                    bodies: LruCache::new(c),
                })
            }),
            tally: Tally::new(crate::metrics::observe_response_cache),
            body_hits: AtomicU64::new(0),
        }
    }

    /// Keeps responses of at most `bytes` (estimated) in all, the least
    /// recently used going first.
    pub fn with_bytes(self, bytes: usize) -> Self {
        if let Some(inner) = &self.inner {
            let mut inner = inner.lock();
            inner.budget = bytes;
            inner.shrink();
        }
        self
    }

    /// Whether responses are kept at all.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The response kept for `key` that holds on `g`'s version, if any.
    pub fn get(&self, g: &Graph, key: &Key) -> Option<Bytes> {
        let inner = self.inner.as_ref()?;
        let version = g.version();
        let mut inner = inner.lock();
        let found = if inner.catch_up(version, g) {
            let newest = inner.version;
            match inner.entries.get_mut(key) {
                Some(e) if e.computed <= version => Some(e.body_for(version, version == newest)),
                _ => None,
            }
        } else {
            None
        };
        self.tally.record(found.is_some());
        found
    }

    /// The response kept for the request sent as `body` that holds on
    /// `g`'s version, and the request's operation name, if the same bytes
    /// were answered from here before ([`ResponseCache::remember_body`]).
    /// A body not remembered, or whose response is gone, is not counted as
    /// a miss: it goes on to [`ResponseCache::get`], which counts it.
    pub fn get_by_body(&self, g: &Graph, body: &[u8]) -> Option<(Bytes, Option<Arc<str>>)> {
        let inner = self.inner.as_ref()?;
        let version = g.version();
        let mut inner = inner.lock();
        let known = inner.bodies.get(body)?.clone();
        if !inner.catch_up(version, g) {
            return None;
        }
        let newest = inner.version;
        let found = match inner.entries.get_mut(&known.key) {
            Some(e) if e.computed <= version => e.body_for(version, version == newest),
            _ => return None,
        };
        drop(inner);
        self.tally.record(true);
        self.body_hits.fetch_add(1, Ordering::Relaxed);
        Some((found, known.operation))
    }

    /// Remembers that the request sent as `body` (a request without
    /// extensions, whose key is `key` and operation `operation`) was
    /// answered from here, unless it is longer than
    /// [`MAX_REMEMBERED_BODY`].
    pub fn remember_body(&self, body: &[u8], key: Key, operation: Option<&str>) {
        let Some(inner) = &self.inner else { return };
        if body.len() > MAX_REMEMBERED_BODY {
            return;
        }
        let mut inner = inner.lock();
        if inner.bodies.peek(body).is_none() {
            let known = Known {
                key,
                operation: operation.map(Arc::from),
            };
            inner.bodies.put(body.into(), known);
        }
    }

    /// Responses answered by their body alone, since the cache was made.
    pub fn body_hits(&self) -> u64 {
        self.body_hits.load(Ordering::Relaxed)
    }

    /// Keeps `body`, computed on `g`'s version with `depends`, as the
    /// response for `key`. A response computed on a version older than the
    /// cache's is not kept: a write since may have changed it.
    pub fn put(&self, g: &Graph, key: Key, body: Bytes, depends: Dependencies) {
        let Some(inner) = &self.inner else { return };
        if body.len() > MAX_CACHED_RESPONSE {
            return;
        }
        let version = g.version();
        let tail = format!("\"graphVersion\":{version}}}}}");
        if !body.ends_with(tail.as_bytes()) {
            return;
        }
        let version_at = body.len() - tail.len() + "\"graphVersion\":".len();
        let weight = weight(&body, &depends);
        let mut inner = inner.lock();
        if weight > inner.budget {
            return;
        }
        if inner.catch_up(version, g) && inner.version == version {
            let entry = Entry {
                body,
                version_at,
                stamped: version,
                computed: version,
                depends,
                weight,
            };
            if let Some((_, old)) = inner.entries.push(key, entry) {
                inner.bytes = inner.bytes.saturating_sub(old.weight);
            }
            inner.bytes += weight;
            inner.shrink();
        }
    }

    /// Responses answered from the cache and not, since it was made.
    pub fn stats(&self) -> (u64, u64) {
        self.tally.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::reads::{Dependencies, Reads};
    use crate::edit::Edit;
    use crate::graph::testing::{graph, source};
    use crate::http::query_cache::request_key;
    use crate::model::{Entity, EntityKind as K};
    use async_graphql::Variables;
    use compact_str::CompactString;

    fn key(query: &str) -> Key {
        let none = Variables::from_json(serde_json::json!({}));
        match request_key(query, None, &none) {
            Some(k) => k,
            None => panic!("no key for {query}"),
        }
    }

    fn body(version: u64) -> Bytes {
        Bytes::from(format!(
            r#"{{"data":{{"a":1}},"extensions":{{"graphVersion":{version}}}}}"#
        ))
    }

    fn on(ids: &[&str]) -> Dependencies {
        Dependencies {
            ids: ids.iter().map(|id| CompactString::from(*id)).collect(),
            ..Dependencies::default()
        }
    }

    /// A graph of `a` and `b`, a cache following it, and the sender of its
    /// committed writes.
    fn setup(capacity: usize) -> (Graph, ResponseCache, broadcast::Sender<Arc<Committed>>) {
        let mut g = graph(&[("a", K::Ministry), ("b", K::ArmedGroup)]);
        g.set_version(1);
        let (tx, rx) = broadcast::channel(4);
        (g, ResponseCache::new(capacity, rx, 1), tx)
    }

    /// Applies `edit` to a copy of `g` as the next version and announces it.
    fn write(
        g: &Graph,
        tx: &broadcast::Sender<Arc<Committed>>,
        edit: Edit,
        touched: [&str; 2],
    ) -> Graph {
        let mut next = g.clone();
        if let Edit::EntityCreated(id) = &edit {
            let e = Entity::new(id, K::Ministry, &id.to_uppercase(), source());
            assert!(next.add_entity(e).is_ok());
        }
        next.set_version(g.version() + 1);
        let _ = tx.send(Arc::new(Committed {
            version: next.version(),
            edits: vec![edit],
            touched: vec![touched.map(CompactString::from)],
        }));
        next
    }

    #[test]
    fn bodies_are_remembered_small_and_bounded_and_lead_to_what_holds() {
        let (g1, cache, tx) = setup(2);
        let (ka, kb) = (key("{ a }"), key("{ b }"));
        cache.put(&g1, ka, body(1), on(&["a"]));
        cache.put(&g1, kb, body(1), on(&["b"]));
        assert_eq!(cache.get_by_body(&g1, b"A"), None, "not remembered yet");
        cache.remember_body(b"A", ka, Some("A"));
        let found = cache.get_by_body(&g1, b"A");
        assert_eq!(found, Some((body(1), Some(Arc::from("A")))));
        // Longer bodies are not remembered.
        let long = vec![b' '; MAX_REMEMBERED_BODY + 1];
        cache.remember_body(&long, kb, None);
        assert_eq!(cache.get_by_body(&g1, &long), None);
        // As many bodies as responses: a third pushes out the oldest.
        cache.remember_body(b"B", kb, None);
        cache.remember_body(b"B2", kb, None);
        assert_eq!(cache.get_by_body(&g1, b"A"), None);
        assert_eq!(cache.get_by_body(&g1, b"B2"), Some((body(1), None)));
        // A body whose response a write dropped finds nothing, and is not
        // counted: the request goes on to `get`, which counts it.
        let before = cache.stats();
        let g2 = write(&g1, &tx, Edit::RelationDeleted("b-c".into()), ["b", "c"]);
        assert_eq!(cache.get_by_body(&g2, b"B2"), None);
        assert_eq!(cache.stats(), before);
        assert_eq!(cache.body_hits(), 2);
    }

    #[test]
    fn kept_across_writes_that_do_not_touch_it_and_named_for_each_version() {
        let (g1, cache, tx) = setup(4);
        let k = key("{ a }");
        assert_eq!(cache.get(&g1, &k), None);
        cache.put(&g1, k, body(1), on(&["a"]));
        assert_eq!(cache.get(&g1, &k), Some(body(1)));
        let g2 = write(&g1, &tx, Edit::EntityCreated("c".into()), ["c", "c"]);
        assert_eq!(cache.get(&g2, &k), Some(body(2)), "re-stamped");
        assert_eq!(cache.get(&g1, &k), Some(body(1)), "still holds on 1");
        let g3 = write(&g2, &tx, Edit::RelationCreated("b-c".into()), ["b", "c"]);
        assert_eq!(cache.get(&g3, &k), Some(body(3)));
        let g4 = write(&g3, &tx, Edit::RelationDeleted("a-c".into()), ["a", "c"]);
        assert_eq!(cache.get(&g4, &k), None, "a relation of `a` went");
        assert_eq!(cache.get(&g3, &k), None);
    }

    #[test]
    fn an_id_looked_up_is_changed_by_its_creation() {
        let (g1, cache, tx) = setup(4);
        let k = key("{ missing }");
        cache.put(&g1, k, body(1), on(&["c"]));
        let g2 = write(&g1, &tx, Edit::EntityCreated("c".into()), ["c", "c"]);
        assert_eq!(cache.get(&g2, &k), None);
    }

    #[tokio::test]
    async fn a_search_is_changed_only_by_entities_it_would_find() {
        let (g1, cache, tx) = setup(4);
        let reads = Reads::default();
        let search = async_graphql::Schema::build(
            Probe,
            async_graphql::EmptyMutation,
            async_graphql::EmptySubscription,
        )
        .data(Arc::new(g1.clone()))
        .finish();
        let reads = Arc::new(reads);
        let response = search
            .execute(async_graphql::Request::new("{ s }").data(reads.clone()))
            .await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        let depends = reads.dependencies(&g1);
        assert_eq!(depends.searches.len(), 1);
        let k = key("{ s }");
        cache.put(&g1, k, body(1), depends);
        let g2 = write(
            &g1,
            &tx,
            Edit::EntityCreated("delta".into()),
            ["delta", "delta"],
        );
        assert_eq!(cache.get(&g2, &k), Some(body(2)), "DELTA is no hit");
        let g3 = write(
            &g2,
            &tx,
            Edit::EntityCreated("zulu".into()),
            ["zulu", "zulu"],
        );
        assert_eq!(cache.get(&g3, &k), None, "ZULU is one");
        cache.put(&g3, k, body(3), reads.dependencies(&g3));
        let g4 = write(&g3, &tx, Edit::EntityUpdated("a".into()), ["a", "a"]);
        assert_eq!(cache.get(&g4, &k), None, "an update may rename into a hit");
    }

    /// A query root whose one field searches for "ZU".
    struct Probe;

    #[async_graphql::Object]
    impl Probe {
        async fn s(&self, ctx: &async_graphql::Context<'_>) -> bool {
            Reads::search(ctx, "zU", None);
            true
        }
    }

    #[test]
    fn whole_graph_answers_go_with_any_write() {
        let (g1, cache, tx) = setup(4);
        let k = key("{ stats }");
        let depends = Dependencies {
            whole_graph: true,
            ..Dependencies::default()
        };
        cache.put(&g1, k, body(1), depends);
        let g2 = write(&g1, &tx, Edit::DocumentCreated("d".into()), ["d", "d"]);
        assert_eq!(cache.get(&g2, &k), None);
    }

    #[test]
    fn never_kept_or_served_past_what_it_knows() {
        let (g1, cache, tx) = setup(4);
        let k = key("{ a }");
        // Version 2 is published but its write not yet announced.
        let mut g2 = g1.clone();
        g2.set_version(2);
        cache.put(&g2, k, body(2), on(&["a"]));
        assert_eq!(cache.get(&g2, &k), None);
        let g2 = write(&g1, &tx, Edit::EntityCreated("c".into()), ["c", "c"]);
        cache.put(&g2, k, body(2), on(&["a"]));
        assert_eq!(cache.get(&g1, &k), None, "computed after version 1");
        // An answer computed on an older version than the cache's may be
        // stale.
        let other = key("{ b }");
        cache.put(&g1, other, body(1), on(&["b"]));
        assert_eq!(cache.get(&g2, &other), None);
        assert_eq!(cache.get(&g2, &k), Some(body(2)));
    }

    #[test]
    fn empties_itself_when_it_missed_writes() {
        let (g1, cache, tx) = setup(4);
        let k = key("{ a }");
        cache.put(&g1, k, body(1), on(&["a"]));
        let mut g = g1.clone();
        for i in 0..6 {
            g = write(&g, &tx, Edit::EntityCreated(format!("n{i}")), ["x", "x"]);
        }
        assert_eq!(cache.get(&g, &k), None);
        cache.put(&g, k, body(g.version()), on(&["a"]));
        assert_eq!(cache.get(&g, &k), Some(body(g.version())));
    }

    #[test]
    fn empties_itself_when_a_version_was_never_heard_of() {
        let (g1, cache, tx) = setup(4);
        let k = key("{ a }");
        cache.put(&g1, k, body(1), on(&["a"]));
        // Version 2 touched `a` but was announced before the cache followed.
        let mut g2 = g1.clone();
        g2.set_version(2);
        let g3 = write(&g2, &tx, Edit::EntityCreated("c".into()), ["c", "c"]);
        assert_eq!(cache.get(&g3, &k), None);
    }

    #[test]
    fn bounded_in_bytes_least_recent_first() {
        let (g, cache, _tx) = setup(100);
        let one = weight(&body(1), &on(&["a"]));
        let cache = cache.with_bytes(one * 2);
        let keys = [key("{ a }"), key("{ b }"), key("{ c }")];
        cache.put(&g, keys[0], body(1), on(&["a"]));
        cache.put(&g, keys[1], body(1), on(&["a"]));
        assert!(cache.get(&g, &keys[0]).is_some(), "now the most recent");
        cache.put(&g, keys[2], body(1), on(&["a"]));
        assert_eq!(cache.get(&g, &keys[1]), None, "room for two, not three");
        assert!(cache.get(&g, &keys[0]).is_some() && cache.get(&g, &keys[2]).is_some());
        // Replacing an entry gives its bytes back.
        cache.put(&g, keys[2], body(1), on(&["a"]));
        assert!(cache.get(&g, &keys[0]).is_some());
        // One that alone passes the budget is not kept, and pushes nothing out.
        let many: Vec<String> = (0..64)
            .map(|i| format!("an-id-of-some-length-{i}"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        cache.put(&g, keys[1], body(1), on(&many));
        assert_eq!(cache.get(&g, &keys[1]), None);
        assert!(cache.get(&g, &keys[0]).is_some());
    }

    #[test]
    fn bounded_in_count_and_size_and_off_at_zero() {
        let (g, cache, _tx) = setup(1);
        let (a, b) = (key("{ a }"), key("{ b }"));
        cache.put(&g, a, body(1), on(&[]));
        cache.put(&g, b, body(1), on(&[]));
        assert_eq!(cache.get(&g, &a), None, "least recently used goes first");
        let mut big = vec![b' '; MAX_CACHED_RESPONSE];
        big.extend_from_slice(&body(1));
        cache.put(&g, a, Bytes::from(big), on(&[]));
        assert_eq!(cache.get(&g, &a), None, "too big to keep");
        cache.put(&g, a, Bytes::from_static(b"{}"), on(&[]));
        assert_eq!(cache.get(&g, &a), None, "no version to re-stamp");
        assert_eq!(cache.stats(), (0, 3));
        let (g, off, _tx) = setup(0);
        off.put(&g, a, body(1), on(&[]));
        assert!(!off.enabled() && off.get(&g, &a).is_none());
    }
}
