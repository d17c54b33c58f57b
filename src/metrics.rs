//! The process's metrics, in the Prometheus text format: GraphQL requests
//! and their latency by operation, graph size and version, ranking- and
//! response-cache hits, connections, and store commit latency. The layers
//! record into it (the store through [`crate::store::TimedStore`], HTTP
//! per request); `http` serves [`render`] at `/metrics`.

use crate::live::GraphService;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// Every metric the service exports.
struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    entities: IntGauge,
    relations: IntGauge,
    version: IntGauge,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    graph_copies: IntCounter,
    /// Response-cache hits and misses, resolved once: a hit costs little
    /// more than looking its label up would.
    responses: [IntCounter; 2],
    /// Validated-request cache hits and misses, resolved once.
    validations: [IntCounter; 2],
    commits: HistogramVec,
    connections_open: IntGauge,
    connections_refused: IntCounter,
}

/// Latency buckets from 100 µs to 10 s.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

impl Metrics {
    fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new_custom(Some("partnergraph".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "graphql_requests_total",
                "GraphQL requests by operation and outcome",
            ),
            &["operation", "type", "outcome"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "graphql_request_duration_seconds",
                "Time to answer a GraphQL request, by operation",
            )
            .buckets(BUCKETS.to_vec()),
            &["operation", "type"],
        )?;
        let entities = IntGauge::new("graph_entities", "Entities in the current graph")?;
        let relations = IntGauge::new("graph_relations", "Relations in the current graph")?;
        let version = IntGauge::new("graph_version", "Writes committed to the current graph")?;
        let cache_hits = IntCounter::new(
            "ranking_cache_hits_total",
            "Centrality rankings answered from the per-version cache",
        )?;
        let cache_misses =
            IntCounter::new("ranking_cache_misses_total", "Centrality rankings computed")?;
        let graph_copies = IntCounter::new(
            "write_graph_copies_total",
            "Writes that copied the whole graph because reads held the spare copy past the wait",
        )?;
        let responses = IntCounterVec::new(
            Opts::new(
                "response_cache_total",
                "Query responses answered from the per-version response cache (hit) or computed (miss)",
            ),
            &["outcome"],
        )?;
        let validations = IntCounterVec::new(
            Opts::new(
                "validation_cache_total",
                "GraphQL requests that passed validation before, with the same document, operation and variables (hit), or were validated (miss)",
            ),
            &["outcome"],
        )?;
        let commits = HistogramVec::new(
            HistogramOpts::new(
                "store_commit_duration_seconds",
                "Time to commit a write durably to the store",
            )
            .buckets(BUCKETS.to_vec()),
            &["outcome"],
        )?;
        let connections_open = IntGauge::new(
            "http_connections_open",
            "Client connections open now (counted against --max-connections)",
        )?;
        let connections_refused = IntCounter::new(
            "http_connections_refused_total",
            "Connections answered 503 and closed at once, past --max-connections or --max-connections-per-address",
        )?;
        registry.register(Box::new(connections_open.clone()))?;
        registry.register(Box::new(connections_refused.clone()))?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(entities.clone()))?;
        registry.register(Box::new(relations.clone()))?;
        registry.register(Box::new(version.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(cache_misses.clone()))?;
        registry.register(Box::new(graph_copies.clone()))?;
        registry.register(Box::new(responses.clone()))?;
        registry.register(Box::new(validations.clone()))?;
        registry.register(Box::new(commits.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            entities,
            relations,
            version,
            cache_hits,
            cache_misses,
            graph_copies,
            responses: [
                responses.with_label_values(&["miss"]),
                responses.with_label_values(&["hit"]),
            ],
            validations: [
                validations.with_label_values(&["miss"]),
                validations.with_label_values(&["hit"]),
            ],
            commits,
            connections_open,
            connections_refused,
        })
    }
}

static METRICS: LazyLock<Option<Metrics>> = LazyLock::new(|| match Metrics::new() {
    Ok(m) => Some(m),
    Err(e) => {
        tracing::error!(error = %e, "metrics are unavailable");
        None
    }
});

/// How many distinct operation names get a label of their own; later names
/// share [`OTHER`], so that clients cannot grow `/metrics` (and the
/// registry's memory) without bound by naming every request differently.
pub const OPERATION_LABELS: usize = 100;

/// The label of operation names past the first [`OPERATION_LABELS`].
const OTHER: &str = "other";

/// The operation names that have a label of their own.
static NAMED: LazyLock<parking_lot::RwLock<std::collections::HashSet<String>>> =
    LazyLock::new(Default::default);

/// A label value from a client-chosen operation name: letters, digits and
/// `_`, at most 64, and one of the first [`OPERATION_LABELS`] names seen,
/// else `other`.
fn label(name: Option<&str>) -> String {
    let cleaned: String = name
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    if cleaned.is_empty() {
        return "anonymous".into();
    }
    if NAMED.read().contains(&cleaned) {
        return cleaned;
    }
    let mut named = NAMED.write();
    if named.contains(&cleaned) || named.len() < OPERATION_LABELS {
        named.insert(cleaned.clone());
        cleaned
    } else {
        OTHER.into()
    }
}

/// Records one answered GraphQL request.
pub fn observe_request(operation: Option<&str>, kind: &'static str, ok: bool, took: Duration) {
    let Some(m) = METRICS.as_ref() else { return };
    /// Past this many names a thread forgets its handles and starts over:
    /// operation names are the client's to choose.
    const KEPT: usize = 4 * OPERATION_LABELS;
    thread_local! {
        /// Each operation name's counter and histogram handles, by type and
        /// outcome, looked up once per thread: cleaning the name, a lock
        /// and two label hashes cost more than the counting on a
        /// response-cache hit.
        static HANDLES: std::cell::RefCell<HashMap<Box<str>, Vec<Handles>>> =
            Default::default();
    }
    let name = operation.unwrap_or("");
    HANDLES.with_borrow_mut(|kept| {
        // A name seen before is found without allocating its key.
        let handles = match kept.get_mut(name) {
            Some(handles) => handles,
            None => {
                if kept.len() >= KEPT {
                    kept.clear();
                }
                kept.entry(name.into()).or_default()
            }
        };
        let at = match handles.iter().position(|h| h.kind == kind && h.ok == ok) {
            Some(at) => at,
            None => {
                let op = label(operation);
                let outcome = if ok { "ok" } else { "error" };
                handles.push(Handles {
                    kind,
                    ok,
                    requests: m.requests.with_label_values(&[&op, kind, outcome]),
                    latency: m.latency.with_label_values(&[&op, kind]),
                });
                handles.len() - 1
            }
        };
        if let Some(h) = handles.get(at) {
            h.requests.inc();
            h.latency.observe(took.as_secs_f64());
        }
    });
}

/// The metrics one kind of request updates.
struct Handles {
    kind: &'static str,
    ok: bool,
    requests: IntCounter,
    latency: prometheus::Histogram,
}

/// Records one look-up in the response cache.
pub fn observe_response_cache(hit: bool) {
    if let Some(m) = METRICS.as_ref() {
        m.responses[usize::from(hit)].inc();
    }
}

/// Records a connection admitted (`1`) or closed (`-1`).
pub fn connections_opened(by: i64) {
    if let Some(m) = METRICS.as_ref() {
        m.connections_open.add(by);
    }
}

/// Records a connection refused past a connection cap.
pub fn connection_refused() {
    if let Some(m) = METRICS.as_ref() {
        m.connections_refused.inc();
    }
}

/// Records one look-up in the cache of validated requests.
pub fn observe_validation_cache(hit: bool) {
    if let Some(m) = METRICS.as_ref() {
        m.validations[usize::from(hit)].inc();
    }
}

/// The text of `/metrics` for the live service and its current graph.
pub fn render(service: &GraphService) -> Result<Vec<u8>, String> {
    let Some(m) = METRICS.as_ref() else {
        return Err("metrics are unavailable".into());
    };
    let graph = service.snapshot();
    m.entities.set(graph.entity_count() as i64);
    m.relations.set(graph.relation_count() as i64);
    m.version.set(graph.version() as i64);
    // The domain keeps plain counters; bring the exported ones up to them.
    let sync = |counter: &IntCounter, total: u64| {
        let seen = counter.get();
        if total > seen {
            counter.inc_by(total - seen);
        }
    };
    let stats = service.stats();
    sync(&m.cache_hits, stats.scores().hits());
    sync(&m.cache_misses, stats.scores().misses());
    sync(&m.graph_copies, stats.graph_copies());
    let mut out = Vec::new();
    TextEncoder::new()
        .encode(&m.registry.gather(), &mut out)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Records a commit that took since `start`, by its outcome.
pub fn observe_commit(start: Instant, outcome: &str) {
    if let Some(m) = METRICS.as_ref() {
        m.commits
            .with_label_values(&[outcome])
            .observe(start.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_tame_and_few() {
        assert_eq!(label(None), "anonymous");
        assert_eq!(label(Some("Funding flows!")), "Fundingflows");
        assert_eq!(label(Some(&"x".repeat(100))).len(), 64);
        // Past the cap every new name is `other`; names seen keep theirs.
        for i in 0..OPERATION_LABELS * 2 {
            label(Some(&format!("Op{i}")));
        }
        assert_eq!(label(Some("NeverSeenBefore")), OTHER);
        assert_eq!(label(Some("Fundingflows")), "Fundingflows");
        assert!(NAMED.read().len() <= OPERATION_LABELS);
    }
}
