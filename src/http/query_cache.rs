//! GraphQL documents (query texts, not the news articles the graph cites)
//! kept between requests: parsed, validated, and automatic persisted
//! queries.
//!
//! Clients send the same few documents over and over; parsing one costs
//! more than resolving a small query, so a parsed document is kept by its
//! text and reused. Persisted queries (Apollo's protocol: an
//! `extensions.persistedQuery` of version 1 with the SHA-256 of the
//! document) let a client send the hash alone once the server has seen the
//! text. async-graphql's own persisted-query extension resolves the hash
//! only inside execution, after this layer has checked the operation type
//! (mutations are refused over GET), so the hash is resolved here first.
//!
//! Validating a document against the schema costs about as much as
//! parsing it, and its outcome depends only on the document, the operation
//! chosen and the variables (argument values are checked against their
//! types): once a request has passed, the same request again need not run
//! the rules, and its key is kept here to say so.

use crate::api::cost::AnswerBound;
use async_graphql::parser::types::ExecutableDocument;
use async_graphql::Variables;
use lru::LruCache;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};

/// Longest document text kept, in bytes: one huge document must not
/// push out every small one, nor hold much memory.
const MAX_CACHED_TEXT: usize = 16 * 1024;

/// What identifies a request's outcome: the SHA-256 of the document text,
/// the operation name and the variables.
pub type Key = [u8; 32];

/// The key of a request: its text, operation name and variables; `None`
/// (not to be kept) should the variables not serialise.
pub fn request_key(query: &str, operation: Option<&str>, variables: &Variables) -> Option<Key> {
    let variables = serde_json::to_vec(variables).ok()?;
    let mut h = Sha256::new();
    // Lengths first, so that no two different triples hash alike by
    // shifting bytes from one part to the next.
    h.update((query.len() as u64).to_le_bytes());
    h.update(query.as_bytes());
    match operation {
        Some(name) => {
            h.update([1]);
            h.update((name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
        }
        None => h.update([0]),
    }
    h.update(variables);
    Some(h.finalize().into())
}

/// What is kept of a request that passed validation: the bound of its
/// answer, if it has one (a query of pages only, see
/// [`crate::api::cost::Model::bound`]), worked out when it passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Passed {
    /// At most this many fields, keyed no longer than this.
    pub bound: Option<AnswerBound>,
}

/// Bounded least-recently-used caches of parsed documents (by text), of
/// persisted-query texts (by SHA-256) and of requests that passed
/// validation (by `Key`).
pub struct QueryCache {
    parsed: Option<Mutex<Parsed>>,
    persisted: Option<Mutex<LruCache<String, String>>>,
    /// Keyed by SHA-256 digests, which no client can aim at one bucket.
    validated: Option<Mutex<LruCache<Key, Passed, foldhash::fast::RandomState>>>,
    validated_tally: Tally,
}

/// Parsed documents, bounded in entries and in estimated bytes.
struct Parsed {
    documents: LruCache<String, ExecutableDocument>,
    /// What the kept documents are estimated to hold, in bytes.
    bytes: usize,
    /// The most bytes kept.
    budget: usize,
}

/// Bytes a parsed document holds per byte of its text, as measured: a
/// 16 KB document of many small fields parses into about 1.8 MB of nodes
/// and positions. An estimate, on the high side, so that the budget holds.
const PARSED_PER_TEXT_BYTE: usize = 120;

/// How many bytes parsed documents may hold unless configured.
pub const DEFAULT_DOCUMENT_CACHE_BYTES: usize = 64 << 20;

/// The estimated memory of the parsed document of `text`.
fn weight(text: &str) -> usize {
    text.len().saturating_mul(PARSED_PER_TEXT_BYTE + 1)
}

impl Parsed {
    fn keep(&mut self, text: &str, doc: &ExecutableDocument) {
        let w = weight(text);
        if w > self.budget {
            return;
        }
        if let Some((old, _)) = self.documents.push(text.to_owned(), doc.clone()) {
            self.bytes = self.bytes.saturating_sub(weight(&old));
        }
        self.bytes += w;
        while self.bytes > self.budget {
            let Some((old, _)) = self.documents.pop_lru() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(weight(&old));
        }
    }
}

/// Look-ups in a cache that found what they looked for, and those that did
/// not, counted here and in `/metrics`.
pub(super) struct Tally {
    hits: AtomicU64,
    misses: AtomicU64,
    /// Records one look-up in `/metrics`.
    observe: fn(bool),
}

impl Tally {
    /// A tally at zero that also reports to `observe`.
    pub(super) fn new(observe: fn(bool)) -> Self {
        Tally {
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            observe,
        }
    }

    /// Counts one look-up.
    pub(super) fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        (self.observe)(hit);
    }

    /// Hits and misses so far.
    pub(super) fn stats(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}

/// Why a persisted-query request cannot run.
#[derive(Debug, PartialEq, Eq)]
pub enum PersistedError {
    /// The hash is not known (the client should send the text with it).
    NotFound,
    /// The extension is malformed, of another version, or its hash does
    /// not match the text sent with it.
    Invalid(String),
}

impl QueryCache {
    /// Caches of at most `capacity` entries each; 0 turns them all off.
    pub fn new(capacity: usize) -> Self {
        let size = NonZeroUsize::new(capacity);
        QueryCache {
            parsed: size.map(|c| {
                Mutex::new(Parsed {
                    documents: LruCache::new(c),
                    bytes: 0,
                    budget: DEFAULT_DOCUMENT_CACHE_BYTES,
                })
            }),
            persisted: size.map(|c| Mutex::new(LruCache::new(c))),
            validated: size.map(|c| {
                Mutex::new(LruCache::with_hasher(
                    c,
                    foldhash::fast::RandomState::default(),
                ))
            }),
            validated_tally: Tally::new(crate::metrics::observe_validation_cache),
        }
    }

    /// Whether a request with this key passed validation before, and if so
    /// the bound of its answer worked out then, if it has one.
    pub fn validated(&self, key: &Key) -> Option<Passed> {
        let validated = self.validated.as_ref()?;
        let passed = validated.lock().get(key).copied();
        self.validated_tally.record(passed.is_some());
        passed
    }

    /// Requests found validated before, and those validated, since this
    /// cache was made.
    pub fn validated_stats(&self) -> (u64, u64) {
        self.validated_tally.stats()
    }

    /// Remembers that the request with this key passed validation.
    pub fn keep_validated(&self, key: Key, passed: Passed) {
        if let Some(validated) = &self.validated {
            validated.lock().put(key, passed);
        }
    }

    /// The parsed document for `text`, if kept.
    pub fn parsed(&self, text: &str) -> Option<ExecutableDocument> {
        let mut parsed = self.parsed.as_ref()?.lock();
        parsed.documents.get(text).cloned()
    }

    /// Keeps parsed documents of at most `bytes` (estimated) in all.
    pub fn with_parsed_bytes(self, bytes: usize) -> Self {
        if let Some(parsed) = &self.parsed {
            parsed.lock().budget = bytes;
        }
        self
    }

    /// Keeps the parsed document of `text`.
    pub fn keep_parsed(&self, text: &str, doc: &ExecutableDocument) {
        if let Some(parsed) = &self.parsed {
            if text.len() <= MAX_CACHED_TEXT {
                parsed.lock().keep(text, doc);
            }
        }
    }

    /// Resolves a request's `persistedQuery` extension: with no text, the
    /// text registered under the hash; with text, checks the hash and
    /// registers the text. Returns the text to run.
    pub fn resolve_persisted(
        &self,
        extension: &serde_json::Value,
        text: &str,
    ) -> Result<String, PersistedError> {
        let version = extension.get("version").and_then(serde_json::Value::as_i64);
        let hash = extension
            .get("sha256Hash")
            .and_then(serde_json::Value::as_str);
        let (Some(version), Some(hash)) = (version, hash) else {
            return Err(PersistedError::Invalid(
                "`extensions.persistedQuery` needs `version` (1) and `sha256Hash`".into(),
            ));
        };
        if version != 1 {
            return Err(PersistedError::Invalid(format!(
                "persisted queries of version {version} are not supported; use version 1"
            )));
        }
        let hash = hash.to_ascii_lowercase();
        if text.is_empty() {
            let persisted = self.persisted.as_ref().ok_or(PersistedError::NotFound)?;
            return persisted
                .lock()
                .get(&hash)
                .cloned()
                .ok_or(PersistedError::NotFound);
        }
        if sha256_hex(text) != hash {
            return Err(PersistedError::Invalid(
                "provided sha does not match query".into(),
            ));
        }
        if let Some(persisted) = &self.persisted {
            if text.len() <= MAX_CACHED_TEXT {
                persisted.lock().put(hash, text.to_owned());
            }
        }
        Ok(text.to_owned())
    }
}

/// The lowercase hex SHA-256 of `text`, as persisted-query clients send it.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn persisted_queries_register_then_resolve_by_hash() {
        let cache = QueryCache::new(4);
        let text = "{ stats { entityCount } }";
        let hash = sha256_hex(text);
        let ext = json!({ "version": 1, "sha256Hash": hash });
        assert_eq!(
            cache.resolve_persisted(&ext, ""),
            Err(PersistedError::NotFound)
        );
        assert_eq!(cache.resolve_persisted(&ext, text), Ok(text.to_owned()));
        assert_eq!(cache.resolve_persisted(&ext, ""), Ok(text.to_owned()));
        let wrong = json!({ "version": 1, "sha256Hash": sha256_hex("{ x }") });
        assert!(matches!(
            cache.resolve_persisted(&wrong, text),
            Err(PersistedError::Invalid(_))
        ));
        let v2 = json!({ "version": 2, "sha256Hash": hash });
        assert!(matches!(
            cache.resolve_persisted(&v2, ""),
            Err(PersistedError::Invalid(_))
        ));
    }

    #[test]
    fn keys_tell_text_operation_and_variables_apart() {
        let none = Variables::from_json(json!({}));
        let keys = [
            request_key("{ a }", None, &none),
            request_key("{ a } ", None, &none),
            request_key("{ a }", Some("A"), &none),
            request_key("{ a }", Some(""), &none),
            request_key("{ a }", None, &Variables::from_json(json!({ "x": 1 }))),
            request_key("{ a }", None, &Variables::from_json(json!({ "x": 2 }))),
        ];
        let keys: Vec<Key> = keys.into_iter().flatten().collect();
        assert_eq!(keys.len(), 6);
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn validated_requests_are_remembered_by_key() {
        let cache = QueryCache::new(1);
        let none = Variables::from_json(json!({}));
        let (Some(a), Some(b)) = (
            request_key("{ a }", None, &none),
            request_key("{ b }", None, &none),
        ) else {
            panic!("keys");
        };
        let bounded = Passed {
            bound: Some(AnswerBound {
                fields: 3,
                longest_key: 1,
            }),
        };
        assert_eq!(cache.validated(&a), None);
        cache.keep_validated(a, bounded);
        assert_eq!(cache.validated(&a), Some(bounded));
        assert_eq!(cache.validated(&b), None);
        cache.keep_validated(b, Passed { bound: None });
        assert_eq!(cache.validated(&a), None, "bounded: the older key went");
        assert_eq!(cache.validated(&b), Some(Passed { bound: None }));
        assert_eq!(cache.validated_stats(), (2, 3));
        let off = QueryCache::new(0);
        off.keep_validated(a, bounded);
        assert_eq!(off.validated(&a), None);
    }

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parsed_documents_are_bounded() {
        let cache = QueryCache::new(1);
        let parse = |q: &str| async_graphql::parser::parse_query(q).ok();
        let (Some(a), Some(b)) = (parse("{ a }"), parse("{ b }")) else {
            panic!("documents parse");
        };
        cache.keep_parsed("{ a }", &a);
        assert!(cache.parsed("{ a }").is_some());
        cache.keep_parsed("{ b }", &b);
        assert!(cache.parsed("{ a }").is_none() && cache.parsed("{ b }").is_some());
        let off = QueryCache::new(0);
        off.keep_parsed("{ a }", &a);
        assert!(off.parsed("{ a }").is_none());
        // And bounded in bytes: room for two of these, not three.
        let bytes = QueryCache::new(10).with_parsed_bytes(weight("{ a }") * 2);
        let c = parse("{ c }").unwrap_or_else(|| panic!("parses"));
        bytes.keep_parsed("{ a }", &a);
        bytes.keep_parsed("{ b }", &b);
        bytes.keep_parsed("{ c }", &c);
        assert!(bytes.parsed("{ a }").is_none(), "the least recent went");
        assert!(bytes.parsed("{ b }").is_some() && bytes.parsed("{ c }").is_some());
    }
}
