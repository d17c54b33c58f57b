//! Whole query responses kept for the graph version they were computed on.
//!
//! A graph version never changes once committed, and a query reads exactly
//! one version, so the same document with the same operation name and
//! variables on the same version always answers the same bytes. Clients
//! (dashboards, GraphiQL sessions, notebooks re-run top to bottom) send the
//! same queries again and again between writes; answering those from here
//! skips validation and resolving altogether. Every write starts a new
//! version, and the first request to see it empties the cache, so nothing
//! stale is ever served.
//!
//! Only queries that answered without any error are kept: an error may
//! come from a time budget, which another run might not hit.

use super::documents::{lock, Tally};
use actix_web::web::Bytes;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;

/// Largest response kept, in bytes: a few big answers must not push out
/// many small ones, nor hold much memory (at most this times the capacity).
pub const MAX_CACHED_RESPONSE: usize = 64 * 1024;

pub use super::documents::Key;

/// A bounded least-recently-used cache of response bodies, for one graph
/// version at a time.
pub struct ResponseCache {
    inner: Option<Mutex<Inner>>,
    tally: Tally,
}

struct Inner {
    /// The graph version every entry was computed on.
    version: u64,
    entries: LruCache<Key, Bytes>,
}

impl ResponseCache {
    /// A cache of at most `capacity` responses; 0 turns it off.
    pub fn new(capacity: usize) -> Self {
        ResponseCache {
            inner: NonZeroUsize::new(capacity).map(|c| {
                Mutex::new(Inner {
                    version: 0,
                    entries: LruCache::new(c),
                })
            }),
            tally: Tally::new(super::metrics::observe_response_cache),
        }
    }

    /// Whether responses are kept at all.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The response kept for `key` on graph `version`, if any.
    pub fn get(&self, version: u64, key: &Key) -> Option<Bytes> {
        let inner = self.inner.as_ref()?;
        let mut inner = lock(inner);
        let found = if inner.version == version {
            inner.entries.get(key).cloned()
        } else {
            None
        };
        self.tally.record(found.is_some());
        found
    }

    /// Keeps `body` as the response for `key` on graph `version`. Entries
    /// of older versions are dropped first; a response computed on a
    /// version older than the kept ones is not kept.
    pub fn put(&self, version: u64, key: Key, body: Bytes) {
        let Some(inner) = &self.inner else { return };
        if body.len() > MAX_CACHED_RESPONSE {
            return;
        }
        let mut inner = lock(inner);
        if version > inner.version {
            inner.entries.clear();
            inner.version = version;
        }
        if version == inner.version {
            inner.entries.put(key, body);
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
    use crate::http::documents::request_key;
    use async_graphql::Variables;

    fn vars(json: serde_json::Value) -> Variables {
        Variables::from_json(json)
    }

    #[test]
    fn keeps_one_version_at_a_time() {
        let cache = ResponseCache::new(2);
        let k = request_key("{ a }", None, &vars(serde_json::json!({}))).unwrap();
        assert_eq!(cache.get(1, &k), None);
        cache.put(1, k, Bytes::from_static(b"one"));
        assert_eq!(cache.get(1, &k).as_deref(), Some(&b"one"[..]));
        assert_eq!(cache.get(2, &k), None, "another version misses");
        cache.put(2, k, Bytes::from_static(b"two"));
        assert_eq!(cache.get(1, &k), None, "older versions are dropped");
        cache.put(1, k, Bytes::from_static(b"late"));
        assert_eq!(cache.get(2, &k).as_deref(), Some(&b"two"[..]));
        assert_eq!(cache.stats(), (2, 3));
    }

    #[test]
    fn bounded_in_count_and_size_and_off_at_zero() {
        let cache = ResponseCache::new(1);
        let none = vars(serde_json::json!({}));
        let (a, b) = (
            request_key("{ a }", None, &none).unwrap(),
            request_key("{ b }", None, &none).unwrap(),
        );
        cache.put(1, a, Bytes::from_static(b"a"));
        cache.put(1, b, Bytes::from_static(b"b"));
        assert_eq!(cache.get(1, &a), None, "least recently used goes first");
        cache.put(1, a, Bytes::from(vec![b' '; MAX_CACHED_RESPONSE + 1]));
        assert_eq!(cache.get(1, &a), None, "too big to keep");
        let off = ResponseCache::new(0);
        off.put(1, a, Bytes::from_static(b"a"));
        assert!(!off.enabled() && off.get(1, &a).is_none());
    }
}
