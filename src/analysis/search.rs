//! Name and alias search, case- and accent-insensitive.

use crate::graph::Graph;
use crate::model::{fold, EntityKind};
use crate::search_index::Match;
use petgraph::stable_graph::NodeIndex;
use std::collections::BinaryHeap;

/// Entities (of `kind`, if given) whose name or an alias contains `query`,
/// ranked exact > prefix > substring, then by name, then by id. A blank
/// query matches every entity, ordered by id.
///
/// Candidates come from the graph's [`SearchIndex`](crate::search_index::SearchIndex),
/// so the cost follows the number of matches, not the size of the graph.
pub fn search(g: &Graph, query: &str, kind: Option<EntityKind>) -> Vec<NodeIndex> {
    search_first(g, query, kind, usize::MAX)
}

/// Every hit of [`search`], but only the first `need` in their order; the
/// rest follow in no particular order. A page of a search that matches
/// half a million entities needs only its first few ranked.
///
/// The head is kept in a heap of at most `need` hits as the hits go by, so
/// that most hits cost one comparison of how they match: once the head is
/// full of prefix matches, a substring match is out without reading its
/// entity's name, whose place in memory is a likely cache miss.
pub fn search_first(
    g: &Graph,
    query: &str,
    kind: Option<EntityKind>,
    need: usize,
) -> Vec<NodeIndex> {
    let q = fold(query);
    let kind_ok = |n: &NodeIndex| kind.is_none_or(|k| g.entity_at(*n).kind == k);
    if q.is_empty() {
        return g.entities().filter(kind_ok).collect();
    }
    let pg = g.petgraph();
    let found = g.search_index().find(&q);
    // Ranked by how it matches, then by name, then by id; every hit has
    // its own index, so no two compare equal.
    let rank = |(n, best): (NodeIndex, Match)| {
        // The index only holds entities of this graph; a miss would be a
        // bug, and dropping the hit beats failing the query.
        let e = pg.node_weight(n)?;
        kind.is_none_or(|k| e.kind == k)
            .then_some((best, e.name.as_str(), e.id.as_str(), n))
    };
    if need >= found.len() {
        let mut hits: Vec<_> = found.into_iter().filter_map(rank).collect();
        hits.sort_unstable();
        return hits.into_iter().map(|(_, _, _, n)| n).collect();
    }
    let mut head = BinaryHeap::with_capacity(need.saturating_add(1));
    let mut rest = Vec::with_capacity(found.len() - need);
    for (n, best) in found {
        // Without a kind to check, a hit that matches worse than the worst
        // of a full head is out before its entity is read.
        let out = kind.is_none()
            && head.len() == need
            && head
                .peek()
                .is_some_and(|worst: &(Match, &str, &str, NodeIndex)| best > worst.0);
        if out {
            rest.push(n);
            continue;
        }
        let Some(hit) = rank((n, best)) else {
            continue;
        };
        if head.len() < need {
            head.push(hit);
            continue;
        }
        match head.peek_mut() {
            Some(mut worst) if hit < *worst => {
                let (_, _, _, dropped) = std::mem::replace(&mut *worst, hit);
                rest.push(dropped);
            }
            _ => rest.push(n),
        }
    }
    let mut hits: Vec<NodeIndex> = head
        .into_sorted_vec()
        .into_iter()
        .map(|(_, _, _, n)| n)
        .collect();
    hits.append(&mut rest);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{Entity, EntityKind as K};
    use proptest::prelude::*;

    #[test]
    fn ranks_exact_then_prefix_then_substring() {
        let mut g = graph(&[("zeta", K::ArmedForce)]);
        let mut fund = Entity::new("ctef", K::Fund, "Counter Fund", source());
        fund.aliases = vec!["CTEF".into()].into();
        let _ = g.add_entity(fund);
        let _ = g.add_entity(Entity::new(
            "ctef-office",
            K::Ministry,
            "CTEF Office",
            source(),
        ));
        let _ = g.add_entity(Entity::new(
            "x",
            K::Ministry,
            "Office of the CTÉF",
            source(),
        ));
        let names = |q: &str, k: Option<K>| -> Vec<String> {
            search(&g, q, k)
                .iter()
                .map(|n| g.entity_at(*n).id.to_string())
                .collect()
        };
        assert_eq!(names("ctef", None), ["ctef", "ctef-office", "x"]);
        assert_eq!(names("CTÈF", Some(K::Ministry)), ["ctef-office", "x"]);
        assert_eq!(names("nothing", None), Vec::<String>::new());
        assert_eq!(names(" ", None).len(), 4);
    }

    /// What search returned before it had an index: every entity scanned.
    fn scan(g: &Graph, query: &str, kind: Option<K>) -> Vec<NodeIndex> {
        let q = fold(query);
        let kind_ok = |n: &NodeIndex| kind.is_none_or(|k| g.entity_at(*n).kind == k);
        if q.is_empty() {
            return g.entities().filter(kind_ok).collect();
        }
        let mut hits: Vec<(Match, &str, &str, NodeIndex)> = g
            .entities()
            .filter(kind_ok)
            .filter_map(|n| {
                let best = g
                    .search_keys(n)
                    .iter()
                    .filter_map(|key| {
                        if *key == q {
                            Some(Match::Exact)
                        } else if key.starts_with(&q) {
                            Some(Match::Prefix)
                        } else if key.contains(&q) {
                            Some(Match::Substring)
                        } else {
                            None
                        }
                    })
                    .min()?;
                let e = g.entity_at(n);
                Some((best, e.name.as_str(), e.id.as_str(), n))
            })
            .collect();
        hits.sort();
        hits.into_iter().map(|(_, _, _, n)| n).collect()
    }

    #[test]
    fn short_queries_rank_like_long_ones() {
        let mut g = graph(&[]);
        for (id, name) in [("a1", "Ab"), ("a2", "Bab"), ("a3", "Cab"), ("a4", "ab")] {
            let _ = g.add_entity(Entity::new(id, K::City, name, source()));
        }
        let ids = |q: &str| -> Vec<String> {
            search(&g, q, None)
                .iter()
                .map(|n| g.entity_at(*n).id.to_string())
                .collect()
        };
        // Exact (by name: "Ab" < "ab"), then substring by name.
        assert_eq!(ids("AB"), ["a1", "a4", "a2", "a3"]);
        // Prefix first, then substring by name.
        assert_eq!(ids("b"), ["a2", "a1", "a3", "a4"]);
        assert_eq!(ids("c"), ["a3"]);
    }

    /// Letters that fold to themselves, to others, to two letters, or to
    /// nothing alike, so that random names share many trigrams.
    const LETTERS: &[&str] = &["a", "b", "A", "é", "ß", "Œ", " ", "-", "ñ", "N"];

    fn word(max: usize) -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(LETTERS), 1..max).prop_map(|v| v.concat())
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Adds or renames entity `n` (names and aliases).
        Put(usize, String, Vec<String>),
        /// Removes entity `n` if it is there.
        Remove(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0usize..12, word(9), prop::collection::vec(word(6), 0..3))
                .prop_map(|(n, name, aliases)| Op::Put(n, name, aliases)),
            1 => (0usize..12).prop_map(Op::Remove),
        ]
    }

    proptest! {
        #[test]
        fn indexed_search_is_a_full_scan(
            ops in prop::collection::vec(op(), 1..40),
            queries in prop::collection::vec(word(5), 1..8),
            kind in prop::option::of(prop::sample::select(&[K::City, K::Fund][..])),
        ) {
            let mut g = graph(&[]);
            for op in ops {
                match op {
                    Op::Put(n, name, aliases) => {
                        let id = format!("e{n}");
                        let kind = if n % 2 == 0 { K::City } else { K::Fund };
                        let valid = !name.trim().is_empty()
                            && aliases.iter().all(|a| !a.trim().is_empty());
                        let mut e = Entity::new(&id, kind, &name, source());
                        e.aliases = aliases.into();
                        let done = if g.entity(&id).is_some() {
                            g.replace_entity(e).map(|_| ())
                        } else {
                            g.add_entity(e).map(|_| ())
                        };
                        // Blank names are refused, and leave the index alone.
                        prop_assert_eq!(done.is_ok(), valid);
                    }
                    Op::Remove(n) => {
                        let _ = g.remove_entity(&format!("e{n}"), true);
                    }
                }
            }
            g.search_index().check();
            // Every name's pieces as queries too, so most queries hit.
            let mut all = queries;
            for n in g.entities() {
                let name = &g.entity_at(n).name;
                let chars: Vec<char> = name.chars().collect();
                for len in 1..=chars.len().min(4) {
                    all.push(chars[chars.len() - len..].iter().collect());
                }
            }
            for q in &all {
                let full = search(&g, q, kind);
                prop_assert_eq!(&full, &scan(&g, q, kind), "query {:?}", q);
                // Ranking only a head keeps that head and every hit.
                for need in [0, 1, 2, full.len() / 2, full.len().saturating_sub(1)] {
                    let mut first = search_first(&g, q, kind, need);
                    prop_assert_eq!(&first[..need.min(full.len())], &full[..need.min(full.len())]);
                    first.sort_unstable();
                    let mut every = full.clone();
                    every.sort_unstable();
                    prop_assert_eq!(first, every);
                }
            }
        }
    }
}
