//! Scores of whole-graph analyses (PageRank, betweenness), computed at most
//! once per shape of the graph: the cache lives in the graph, and adding or
//! removing an entity or relation empties it, while changing the fields of
//! one (a name, an amount) keeps it, since no score reads them. A copy of
//! the graph begins with an empty one.
//!
//! How often the cache was used is counted in [`ScoreStats`], shared by a
//! graph and its copies: a copy is the graph's next version, so the counts
//! of a service cover every version it served, while a graph made anew
//! counts on its own.

use super::Graph;
use parking_lot::Mutex;
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The graph's cached scores, by analysis key.
#[derive(Default)]
pub(super) struct ScoreCache {
    /// One slot per key, locked while its scores are computed so that
    /// concurrent callers wait for one computation; a failed computation
    /// leaves it empty.
    entries: Mutex<HashMap<String, ScoreSlot>>,
    /// Where every look-up is counted.
    stats: Arc<ScoreStats>,
}

/// Every entity with its score, best first (ties by id).
pub type Scores = Vec<(NodeIndex, f64)>;

/// The cached scores of one key, empty until computed.
type ScoreSlot = Arc<Mutex<Option<Arc<Scores>>>>;

/// How often cached scores were reused and how often they had to be
/// computed, over a graph and all its copies.
#[derive(Debug, Default)]
pub struct ScoreStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ScoreStats {
    /// How many look-ups found their scores cached.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// How many look-ups had to compute their scores.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Counts one look-up.
    fn record(&self, hit: bool) {
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

impl Clone for ScoreCache {
    fn clone(&self) -> Self {
        // Rankings hold entity indices, which are this graph's own; the
        // copy is the graph's next version, so its look-ups count with ours.
        ScoreCache {
            entries: Mutex::default(),
            stats: self.stats.clone(),
        }
    }
}

impl ScoreCache {
    /// Forgets every score: the graph's shape changed.
    pub(super) fn forget(&mut self) {
        self.entries.get_mut().clear();
    }
}

impl std::fmt::Debug for ScoreCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScoreCache")
    }
}

impl Graph {
    /// The ranking cached under `key` for this version, computing them with
    /// `compute` the first time; concurrent callers wait for one computation.
    /// A computation that fails (runs out of budget) is not kept: the next
    /// caller tries again.
    pub fn cached_scores<E>(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<Scores, E>,
    ) -> Result<Arc<Scores>, E> {
        let cell = {
            let mut entries = self.cache.entries.lock();
            entries.entry(key.to_owned()).or_default().clone()
        };
        let mut slot = cell.lock();
        self.cache.stats.record(slot.is_some());
        if let Some(scores) = slot.as_ref() {
            return Ok(scores.clone());
        }
        let scores = Arc::new(compute()?);
        *slot = Some(scores.clone());
        Ok(scores)
    }

    /// How often this graph and its copies found their scores cached or
    /// computed them.
    pub fn score_stats(&self) -> &Arc<ScoreStats> {
        &self.cache.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{EntityKind as K, RelationKind as R};

    #[test]
    fn rankings_survive_changes_of_fields_but_not_of_shape() {
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce)]);
        let computed = std::cell::Cell::new(0);
        let rank = |g: &Graph| {
            let scores = g.cached_scores("test", || {
                computed.set(computed.get() + 1);
                Ok::<Scores, ()>(Vec::new())
            });
            assert!(scores.is_ok());
        };
        rank(&g);
        let mut renamed = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        renamed.name = "Alpha".into();
        assert_eq!(g.replace_entity(renamed), Ok(()));
        rank(&g);
        assert_eq!(computed.get(), 1, "a rename keeps the ranking");
        rel(&mut g, "ab", R::PartOf, "a", "b");
        rank(&g);
        assert_eq!(computed.get(), 2, "a new relation drops it");
        assert!(g.remove_relation("ab").is_ok());
        rank(&g);
        assert_eq!(computed.get(), 3, "so does a removed one");
    }

    #[test]
    fn copies_count_into_the_same_statistics() {
        let rank = |g: &Graph| {
            let scores = g.cached_scores("test", || Ok::<Scores, ()>(Vec::new()));
            assert!(scores.is_ok());
        };
        let g = graph(&[("a", K::ArmedForce)]);
        rank(&g);
        rank(&g);
        let copy = g.clone();
        rank(&copy);
        let other = graph(&[("a", K::ArmedForce)]);
        rank(&other);
        let stats = g.score_stats();
        assert!(Arc::ptr_eq(stats, copy.score_stats()));
        assert_eq!((stats.hits(), stats.misses()), (1, 2));
        let apart = other.score_stats();
        assert_eq!((apart.hits(), apart.misses()), (0, 1));
    }
}
