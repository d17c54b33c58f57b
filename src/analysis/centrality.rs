//! Centrality: DEGREE, PAGERANK and BETWEENNESS, ranked.

use crate::graph::Graph;
use crate::model::EntityKind;
use petgraph::stable_graph::NodeIndex;
use petgraph::visit::EdgeRef;
use std::collections::{HashMap, HashSet};

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

/// The PageRank damping factor the contract fixes.
pub const ALPHA: f64 = 0.85;

/// Scores every entity, ranks the whole graph (score descending, then id),
/// then keeps entities of `kind` if given, and the first `first` of them.
pub fn centrality(
    g: &Graph,
    measure: Measure,
    kind: Option<EntityKind>,
    first: usize,
) -> Vec<Ranked> {
    let scores = scores(g, measure);
    let mut ranked: Vec<(NodeIndex, f64)> = scores.into_iter().collect();
    ranked.sort_by(|(a, sa), (b, sb)| {
        sb.total_cmp(sa)
            .then_with(|| g.entity_at(*a).id.cmp(&g.entity_at(*b).id))
    });
    ranked
        .into_iter()
        .enumerate()
        .map(|(i, (entity, score))| Ranked {
            rank: i + 1,
            score,
            entity,
        })
        .filter(|r| kind.is_none_or(|k| g.entity_at(r.entity).kind == k))
        .take(first)
        .collect()
}

/// Every entity's score under `measure`.
pub fn scores(g: &Graph, measure: Measure) -> HashMap<NodeIndex, f64> {
    match measure {
        Measure::Degree => g.entities().map(|n| (n, g.degree(n) as f64)).collect(),
        Measure::PageRank => pagerank(g, ALPHA),
        Measure::Betweenness => betweenness(g),
    }
}

/// PageRank by power iteration, with networkx's semantics: parallel
/// relations add weight, a dangling entity's rank is spread evenly, the
/// teleport is uniform. Iterates to an L1 change below 1e-12 (the textbook
/// fixed point, not networkx's looser 1e-6 stop).
///
/// Written by hand because petgraph's `page_rank` is O(V²·E) per iteration
/// and counts a parallel relation once in the numerator but twice in the
/// out-degree; rustworkx-core has no PageRank.
pub fn pagerank(g: &Graph, alpha: f64) -> HashMap<NodeIndex, f64> {
    let nodes: Vec<NodeIndex> = g.entities().collect();
    let n = nodes.len();
    if n == 0 {
        return HashMap::new();
    }
    let pos: HashMap<NodeIndex, usize> = nodes.iter().enumerate().map(|(i, v)| (*v, i)).collect();
    let pg = g.petgraph();
    let out_deg: Vec<usize> = nodes
        .iter()
        .map(|v| pg.edges_directed(*v, petgraph::Direction::Outgoing).count())
        .collect();
    // Incoming (source position) lists, one entry per relation.
    let incoming: Vec<Vec<usize>> = nodes
        .iter()
        .map(|v| {
            pg.edges_directed(*v, petgraph::Direction::Incoming)
                .filter_map(|e| pos.get(&e.source()).copied())
                .collect()
        })
        .collect();
    let nf = n as f64;
    let mut x = vec![1.0 / nf; n];
    for _ in 0..10_000 {
        let dangling: f64 = (0..n).filter(|i| out_deg[*i] == 0).map(|i| x[i]).sum();
        let base = (1.0 - alpha) / nf + alpha * dangling / nf;
        let next: Vec<f64> = incoming
            .iter()
            .map(|ins| base + alpha * ins.iter().map(|j| x[*j] / out_deg[*j] as f64).sum::<f64>())
            .collect();
        let change: f64 = next.iter().zip(&x).map(|(a, b)| (a - b).abs()).sum();
        x = next;
        if change < 1e-12 {
            break;
        }
    }
    nodes.into_iter().zip(x).collect()
}

/// Normalised betweenness on the undirected simple graph underlying the
/// relations (parallel and opposite relations count as one edge), computed
/// by rustworkx-core's Brandes implementation.
pub fn betweenness(g: &Graph) -> HashMap<NodeIndex, f64> {
    let nodes: Vec<NodeIndex> = g.entities().collect();
    let pos: HashMap<NodeIndex, usize> = nodes.iter().enumerate().map(|(i, v)| (*v, i)).collect();
    let mut simple =
        petgraph::graph::UnGraph::<(), ()>::with_capacity(nodes.len(), g.relation_count());
    for _ in &nodes {
        simple.add_node(());
    }
    let mut seen: HashSet<(usize, usize)> = HashSet::new();
    for e in g.relations() {
        let (a, b) = g.ends(e);
        if let (Some(&a), Some(&b)) = (pos.get(&a), pos.get(&b)) {
            let key = (a.min(b), a.max(b));
            if a != b && seen.insert(key) {
                simple.add_edge(
                    petgraph::graph::NodeIndex::new(key.0),
                    petgraph::graph::NodeIndex::new(key.1),
                    (),
                );
            }
        }
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
            .map(|(n, s)| (g.entity_at(*n).id.clone(), *s))
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
        let all = centrality(&g, Measure::Degree, None, 10);
        let order: Vec<(usize, &str, f64)> = all
            .iter()
            .map(|r| (r.rank, g.entity_at(r.entity).id.as_str(), r.score))
            .collect();
        assert_eq!(
            order,
            [(1, "hub", 2.0), (2, "x", 2.0), (3, "p", 1.0), (4, "y", 1.0)]
        );
        let people = centrality(&g, Measure::Degree, Some(K::Person), 10);
        assert_eq!(people.len(), 1);
        assert_eq!(people[0].rank, 3);
        assert_eq!(centrality(&g, Measure::Degree, None, 2).len(), 2);
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
}
