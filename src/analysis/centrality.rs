//! Centrality: DEGREE, PAGERANK and BETWEENNESS, ranked.

use super::time_budget::{Budget, OverBudget};
use crate::graph::Graph;
use crate::model::EntityKind;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::{EdgeRef, NodeIndexable};
use std::collections::HashMap;

/// Which centrality to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// Raw count of relations, in + out.
    Degree,
    /// Damped PageRank (alpha 0.85) on the directed multigraph.
    PageRank,
    /// Normalised shortest-path betweenness on the undirected simple graph.
    Betweenness,
}

/// One entity's place in a ranking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranked {
    /// 1-based position in the whole graph's ranking.
    pub rank: usize,
    /// The score.
    pub score: f64,
    /// The entity.
    pub entity: NodeIndex,
}

/// A ranking and how it was computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    /// The entities kept, best first.
    pub entries: Vec<Ranked>,
    /// Betweenness only: the number of sampled sources when the scores are
    /// estimates; `None` when exact.
    pub sampled: Option<usize>,
}

/// The PageRank damping factor the contract fixes.
pub const ALPHA: f64 = 0.85;

/// Betweenness is exact on graphs of up to this many entities; beyond it,
/// unless fewer samples are asked for, it is estimated from
/// [`DEFAULT_SAMPLES`] sampled sources.
pub const EXACT_BETWEENNESS_LIMIT: usize = 5_000;

/// Sources sampled for a betweenness estimate when none are asked for.
pub const DEFAULT_SAMPLES: usize = 64;

/// Most sources a betweenness estimate may sample.
pub const MAX_SAMPLES: usize = 4096;

/// Ranks the whole graph by `measure` (score descending, then id), then
/// keeps entities of `kind` if given, and the first `first` of them.
/// `samples` asks for sampled betweenness; without it betweenness is exact
/// up to [`EXACT_BETWEENNESS_LIMIT`] entities. Rankings are cached per graph
/// version.
pub fn centrality(
    g: &Graph,
    measure: Measure,
    kind: Option<EntityKind>,
    first: usize,
    samples: Option<usize>,
) -> Ranking {
    match centrality_within(g, measure, kind, first, samples, &Budget::unlimited()) {
        Ok(ranking) => ranking,
        // An unlimited budget is never exceeded.
        Err(_) => Ranking {
            entries: Vec::new(),
            sampled: None,
        },
    }
}

/// [`centrality`] within a time budget: sampled betweenness checks it
/// before each source, and refuses once it has run out. Exact betweenness
/// and PageRank are bounded by size instead (exact betweenness only up to
/// [`EXACT_BETWEENNESS_LIMIT`] entities, PageRank by its iteration cap).
pub fn centrality_within(
    g: &Graph,
    measure: Measure,
    kind: Option<EntityKind>,
    first: usize,
    samples: Option<usize>,
    budget: &Budget,
) -> Result<Ranking, OverBudget> {
    let n = g.entity_count();
    let sampled = match measure {
        Measure::Betweenness => match samples {
            Some(k) if k < n => Some(k),
            Some(_) => None,
            None if n > EXACT_BETWEENNESS_LIMIT => Some(DEFAULT_SAMPLES.min(n)),
            None => None,
        },
        _ => None,
    };
    let key = match (measure, sampled) {
        (Measure::Betweenness, Some(k)) => format!("betweenness/{k}"),
        _ => format!("{measure:?}"),
    };
    let ranking = g.cached_scores(&key, || {
        scores_within(g, measure, sampled, budget).map(|s| ranked(g, s))
    })?;
    let entries = ranking
        .iter()
        .enumerate()
        .filter(|(_, (entity, _))| kind.is_none_or(|k| g.entity_at(*entity).kind == k))
        .take(first)
        .map(|(i, (entity, score))| Ranked {
            rank: i + 1,
            score: *score,
            entity: *entity,
        })
        .collect();
    Ok(Ranking { entries, sampled })
}

/// Scores sorted best first, ties broken by id.
fn ranked(g: &Graph, scores: HashMap<NodeIndex, f64>) -> Vec<(NodeIndex, f64)> {
    let mut ranked: Vec<(NodeIndex, f64)> = scores.into_iter().collect();
    ranked.sort_by(|(a, sa), (b, sb)| {
        sb.total_cmp(sa)
            .then_with(|| g.entity_at(*a).id.cmp(&g.entity_at(*b).id))
    });
    ranked
}

/// Every entity's score under `measure`; betweenness from `sampled`
/// sources when given.
pub fn scores(g: &Graph, measure: Measure, sampled: Option<usize>) -> HashMap<NodeIndex, f64> {
    scores_within(g, measure, sampled, &Budget::unlimited()).unwrap_or_default()
}

/// [`scores`] within a time budget (checked by sampled betweenness).
fn scores_within(
    g: &Graph,
    measure: Measure,
    sampled: Option<usize>,
    budget: &Budget,
) -> Result<HashMap<NodeIndex, f64>, OverBudget> {
    Ok(match measure {
        Measure::Degree => g.entities().map(|n| (n, g.degree(n) as f64)).collect(),
        Measure::PageRank => pagerank(g, ALPHA),
        Measure::Betweenness => match sampled {
            Some(k) => sampled_betweenness_within(g, k, budget)?,
            None => betweenness(g),
        },
    })
}

/// PageRank by power iteration, with networkx's semantics: parallel
/// relations add weight, a dangling entity's rank is spread evenly, the
/// teleport is uniform. Iterates to an L1 change below 1e-12 (the textbook
/// fixed point, not networkx's looser 1e-6 stop), at most 1000 times.
///
/// Written by hand because petgraph's `page_rank` is O(V²·E) per iteration
/// and counts a parallel relation once in the numerator but twice in the
/// out-degree; rustworkx-core has no PageRank. Incoming relations are laid
/// out once as compressed rows so that each iteration is one pass over them.
pub fn pagerank(g: &Graph, alpha: f64) -> HashMap<NodeIndex, f64> {
    let nodes: Vec<NodeIndex> = g.entities().collect();
    let n = nodes.len();
    if n == 0 {
        return HashMap::new();
    }
    let pg = g.petgraph();
    let mut pos = vec![u32::MAX; pg.node_bound()];
    for (i, v) in nodes.iter().enumerate() {
        pos[v.index()] = i as u32;
    }
    let mut out_deg = vec![0u32; n];
    let mut offsets = Vec::with_capacity(n + 1);
    let mut sources: Vec<u32> = Vec::with_capacity(g.relation_count());
    offsets.push(0usize);
    for v in &nodes {
        for e in pg.edges_directed(*v, petgraph::Direction::Incoming) {
            let s = pos[e.source().index()];
            sources.push(s);
            out_deg[s as usize] += 1;
        }
        offsets.push(sources.len());
    }
    let inv_out: Vec<f64> = out_deg
        .iter()
        .map(|d| if *d == 0 { 0.0 } else { 1.0 / f64::from(*d) })
        .collect();
    let nf = n as f64;
    let mut x = vec![1.0 / nf; n];
    let mut next = vec![0.0; n];
    let mut share = vec![0.0; n];
    for _ in 0..1000 {
        let dangling: f64 = (0..n).filter(|i| out_deg[*i] == 0).map(|i| x[i]).sum();
        let base = (1.0 - alpha) / nf + alpha * dangling / nf;
        for i in 0..n {
            share[i] = x[i] * inv_out[i];
        }
        let mut change = 0.0;
        for i in 0..n {
            let incoming: f64 = sources[offsets[i]..offsets[i + 1]]
                .iter()
                .map(|s| share[*s as usize])
                .sum();
            next[i] = base + alpha * incoming;
            change += (next[i] - x[i]).abs();
        }
        std::mem::swap(&mut x, &mut next);
        if change < 1e-12 {
            break;
        }
    }
    nodes.into_iter().zip(x).collect()
}

/// The undirected simple graph under the relations (parallel and opposite
/// relations count as one edge, no self-loops), as adjacency lists over
/// positions in id order.
fn simple_adjacency(g: &Graph) -> (Vec<NodeIndex>, Vec<Vec<u32>>) {
    let nodes: Vec<NodeIndex> = g.entities().collect();
    let mut pos = vec![u32::MAX; g.petgraph().node_bound()];
    for (i, v) in nodes.iter().enumerate() {
        pos[v.index()] = i as u32;
    }
    let mut adj: Vec<Vec<u32>> = vec![Vec::new(); nodes.len()];
    for e in g.relations() {
        let (a, b) = g.ends(e);
        let (a, b) = (pos[a.index()], pos[b.index()]);
        if a != b && a != u32::MAX && b != u32::MAX {
            adj[a as usize].push(b);
            adj[b as usize].push(a);
        }
    }
    for list in &mut adj {
        list.sort_unstable();
        list.dedup();
    }
    (nodes, adj)
}

/// Betweenness estimated from `k` sources, with networkx's semantics for
/// `betweenness_centrality(G, k=k, normalized=True)`: Brandes' accumulation
/// from each sampled source, scaled by n/k, normalised by 1/((n-1)(n-2)).
///
/// Written by hand because rustworkx-core's Brandes has no source sampling.
/// Sources are a deterministic pseudo-random sample (a fixed hash of each
/// entity's position), so the same graph gives the same estimate.
pub fn sampled_betweenness(g: &Graph, k: usize) -> HashMap<NodeIndex, f64> {
    sampled_betweenness_within(g, k, &Budget::unlimited()).unwrap_or_default()
}

/// [`sampled_betweenness`] within a time budget, checked before each
/// source: one source costs a breadth-first search of the whole graph.
pub fn sampled_betweenness_within(
    g: &Graph,
    k: usize,
    budget: &Budget,
) -> Result<HashMap<NodeIndex, f64>, OverBudget> {
    let (nodes, adj) = simple_adjacency(g);
    let n = nodes.len();
    let mut bc = vec![0.0f64; n];
    if n > 2 && k > 0 {
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|i| splitmix64(u64::from(*i)));
        let mut sigma = vec![0.0f64; n];
        let mut dist = vec![u32::MAX; n];
        let mut delta = vec![0.0f64; n];
        let mut stack: Vec<u32> = Vec::with_capacity(n);
        let mut queue = std::collections::VecDeque::with_capacity(n);
        for &s in order.iter().take(k.min(n)) {
            budget.check()?;
            for v in &stack {
                let v = *v as usize;
                sigma[v] = 0.0;
                dist[v] = u32::MAX;
                delta[v] = 0.0;
            }
            stack.clear();
            sigma[s as usize] = 1.0;
            dist[s as usize] = 0;
            queue.push_back(s);
            while let Some(v) = queue.pop_front() {
                stack.push(v);
                let dv = dist[v as usize];
                for &w in &adj[v as usize] {
                    let w = w as usize;
                    if dist[w] == u32::MAX {
                        dist[w] = dv + 1;
                        queue.push_back(w as u32);
                    }
                    if dist[w] == dv + 1 {
                        sigma[w] += sigma[v as usize];
                    }
                }
            }
            for &w in stack.iter().rev() {
                let w = w as usize;
                for &v in &adj[w] {
                    let v = v as usize;
                    if dist[v] != u32::MAX && dist[v] + 1 == dist[w] {
                        delta[v] += sigma[v] / sigma[w] * (1.0 + delta[w]);
                    }
                }
                if w != s as usize {
                    bc[w] += delta[w];
                }
            }
        }
        let k = k.min(n) as f64;
        let nf = n as f64;
        let scale = nf / k / ((nf - 1.0) * (nf - 2.0));
        for b in &mut bc {
            *b *= scale;
        }
    }
    Ok(nodes.into_iter().zip(bc).collect())
}

/// A fixed, well-mixing hash (SplitMix64's finaliser) for sampling.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Normalised betweenness on the undirected simple graph underlying the
/// relations (parallel and opposite relations count as one edge), computed
/// by rustworkx-core's Brandes implementation.
pub fn betweenness(g: &Graph) -> HashMap<NodeIndex, f64> {
    let (nodes, adj) = simple_adjacency(g);
    let edges = adj.iter().enumerate().flat_map(|(a, list)| {
        list.iter()
            .filter(move |b| (a as u32) < **b)
            .map(move |b| (a as u32, *b))
    });
    let mut simple = petgraph::graph::UnGraph::<(), ()>::from_edges(edges);
    // Isolated entities at the end of the id order have no edge to create them.
    while simple.node_count() < nodes.len() {
        simple.add_node(());
    }
    let scores = rustworkx_core::centrality::betweenness_centrality(&simple, false, true, 200);
    nodes
        .into_iter()
        .zip(scores)
        .map(|(v, s)| (v, s.unwrap_or(0.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{EntityKind as K, RelationKind as R};

    fn by_id(g: &Graph, m: &HashMap<NodeIndex, f64>) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = m
            .iter()
            .map(|(n, s)| (g.entity_at(*n).id.to_string(), *s))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn pagerank_two_nodes_one_dangling() {
        // a → b; b dangles. Worked by hand: x_a = 0.425·x_b + 0.075 and
        // x_a + x_b = 1 give x_a = 0.5 / 1.425.
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce)]);
        rel(&mut g, "ab", R::Supports, "a", "b");
        let s = by_id(&g, &pagerank(&g, ALPHA));
        assert!(close(s[0].1, 0.5 / 1.425), "{s:?}");
        assert!(close(s[1].1, 1.0 - 0.5 / 1.425), "{s:?}");
    }

    #[test]
    fn pagerank_counts_parallel_relations() {
        // a ⇉ b (twice), a → c, b → a, c → a. Row of a: b gets 2/3, c 1/3.
        // Solving by hand: x_b = 0.05 + 0.85·(2/3)x_a, x_c = 0.05 + 0.85·(1/3)x_a,
        // x_a = 0.05 + 0.85·(x_b + x_c) → x_a = 0.05 + 0.85·(0.1 + 0.85 x_a).
        let f = K::ArmedForce;
        let mut g = graph(&[("a", f), ("b", f), ("c", f)]);
        rel(&mut g, "ab1", R::Supports, "a", "b");
        rel(&mut g, "ab2", R::CooperatesWith, "a", "b");
        rel(&mut g, "ac", R::Supports, "a", "c");
        rel(&mut g, "ba", R::Supports, "b", "a");
        rel(&mut g, "ca", R::Supports, "c", "a");
        let xa = (0.05 + 0.085) / (1.0 - 0.85 * 0.85);
        let xb = 0.05 + 0.85 * 2.0 / 3.0 * xa;
        let xc = 0.05 + 0.85 / 3.0 * xa;
        let s = by_id(&g, &pagerank(&g, ALPHA));
        assert!(
            close(s[0].1, xa) && close(s[1].1, xb) && close(s[2].1, xc),
            "{s:?}"
        );
        let total: f64 = s.iter().map(|x| x.1).sum();
        assert!(close(total, 1.0));
    }

    #[test]
    fn betweenness_on_a_path_and_a_star() {
        // a - b - c (with a parallel and an opposite relation): b lies on the
        // only a–c path: normalised 1.0; ends 0.
        let f = K::ArmedForce;
        let mut g = graph(&[("a", f), ("b", f), ("c", f), ("d", f)]);
        rel(&mut g, "ab", R::Supports, "a", "b");
        rel(&mut g, "ab2", R::CooperatesWith, "a", "b");
        rel(&mut g, "ba", R::Supports, "b", "a");
        rel(&mut g, "bc", R::Supports, "b", "c");
        let s = by_id(&g, &betweenness(&g));
        // d is isolated: 3 of the 4 entities are connected; n = 4, so the
        // normaliser is (n-1)(n-2)/2 = 3 pairs; b is on 1 of them: 1/3.
        assert!(close(s[1].1, 1.0 / 3.0), "{s:?}");
        assert!(close(s[0].1, 0.0) && close(s[2].1, 0.0) && close(s[3].1, 0.0));
    }

    #[test]
    fn ranking_is_global_then_filtered() {
        let mut g = graph(&[
            ("hub", K::ArmedForce),
            ("p", K::Person),
            ("x", K::Ministry),
            ("y", K::Ministry),
        ]);
        rel(&mut g, "r1", R::Supports, "hub", "x");
        rel(&mut g, "r2", R::Supports, "hub", "y");
        rel(&mut g, "r3", R::HoldsPosition, "p", "x");
        let all = centrality(&g, Measure::Degree, None, 10, None).entries;
        let order: Vec<(usize, &str, f64)> = all
            .iter()
            .map(|r| (r.rank, g.entity_at(r.entity).id.as_str(), r.score))
            .collect();
        assert_eq!(
            order,
            [(1, "hub", 2.0), (2, "x", 2.0), (3, "p", 1.0), (4, "y", 1.0)]
        );
        let people = centrality(&g, Measure::Degree, Some(K::Person), 10, None).entries;
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].rank, 3);
        assert_eq!(
            centrality(&g, Measure::Degree, None, 2, None).entries.len(),
            2
        );
    }

    #[test]
    fn sampled_betweenness_keeps_to_its_budget_and_failures_are_not_cached() {
        let g = crate::dataset::load_builtin().unwrap_or_default();
        let spent = Budget::of(std::time::Duration::ZERO);
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(sampled_betweenness_within(&g, 5, &spent).is_err());
        assert_eq!(
            sampled_betweenness_within(&g, 5, &Budget::unlimited()).ok(),
            Some(sampled_betweenness(&g, 5))
        );
        let rank =
            |budget: &Budget| centrality_within(&g, Measure::Betweenness, None, 3, Some(5), budget);
        assert!(rank(&spent).is_err());
        // The refusal left nothing in the cache: with time, it is computed.
        let ranked = rank(&Budget::unlimited());
        assert!(ranked.is_ok_and(|r| r.entries.len() == 3 && r.sampled == Some(5)));
        // Cached now, the spent budget is not even consulted.
        assert!(rank(&spent).is_ok());
    }

    #[test]
    fn article_scores_agree_with_networkx() {
        // Reference values from networkx 3 on the built-in article:
        // nx.pagerank(MultiDiGraph, alpha=0.85, tol=1e-14) and
        // nx.betweenness_centrality(Graph(undirected), normalized=True).
        let g = crate::dataset::load_builtin().unwrap_or_default();
        let pr = pagerank(&g, ALPHA);
        let bt = betweenness(&g);
        let expected = [
            ("us-iraq-talks", 0.18392015634157574, 0.1548126664727455),
            ("iraq", 0.11813199830567528, 0.22789883590278845),
            ("peshmerga", 0.032739201216590214, 0.15648124383302245),
            ("ctef", 0.02555376828637637, 0.052857770249074586),
        ];
        for (id, want_pr, want_bt) in expected {
            let ix = g.entity_ix(id).unwrap_or_else(NodeIndex::end);
            let (got_pr, got_bt) = (pr.get(&ix).copied(), bt.get(&ix).copied());
            assert!(
                got_pr.is_some_and(|p| (p - want_pr).abs() < 1e-10),
                "{id} pagerank {got_pr:?}"
            );
            assert!(
                got_bt.is_some_and(|b| (b - want_bt).abs() < 1e-12),
                "{id} betweenness {got_bt:?}"
            );
        }
    }

    #[test]
    fn sampling_every_source_is_exact_and_fewer_is_labelled() {
        let g = crate::dataset::load_builtin().unwrap_or_default();
        let exact = betweenness(&g);
        let all = sampled_betweenness(&g, g.entity_count());
        for (n, b) in &exact {
            let s = all.get(n).copied().unwrap_or(f64::NAN);
            assert!((s - b).abs() < 1e-12, "{}: {s} vs {b}", g.entity_at(*n).id);
        }
        let estimate = centrality(&g, Measure::Betweenness, None, 5, Some(8));
        assert_eq!(estimate.sampled, Some(8));
        assert_eq!(estimate.entries.len(), 5);
        // Deterministic: the same sample gives the same estimate.
        assert_eq!(sampled_betweenness(&g, 8), sampled_betweenness(&g, 8));
        let whole = centrality(&g, Measure::Betweenness, None, 5, Some(1000));
        assert_eq!(whole.sampled, None);
    }

    #[test]
    fn rankings_are_cached_per_version() {
        let g = crate::dataset::load_builtin().unwrap_or_default();
        let stats = g.score_stats().clone();
        let first = centrality(&g, Measure::PageRank, None, 3, None);
        let again = centrality(&g, Measure::PageRank, None, 3, None);
        assert_eq!(first, again);
        assert_eq!((stats.hits(), stats.misses()), (1, 1));
        // A copy (the next version) starts without cached rankings, and
        // counts into the same statistics.
        let copy = g.clone();
        let _ = centrality(&copy, Measure::PageRank, None, 3, None);
        assert_eq!((stats.hits(), stats.misses()), (1, 2));
    }
}
