//! Shortest and bounded simple paths between two entities.

use super::time_budget::{Budget, OverBudget};
use crate::graph::{Direction, Graph, Walk};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use std::collections::HashMap;

/// A walk through the graph: `entities[i]` and `entities[i + 1]` are joined
/// by `relations[i]` (in either direction, as the walk allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// The entities in order, from the start to the end.
    pub entities: Vec<NodeIndex>,
    /// The relations between them.
    pub relations: Vec<EdgeIndex>,
}

impl Path {
    /// Hops: the number of relations.
    pub fn len(&self) -> usize {
        self.relations.len()
    }

    /// Whether the path has no relation (start is end).
    pub fn is_empty(&self) -> bool {
        self.relations.is_empty()
    }
}

/// The path with the fewest hops from `from` to `to`, or `None`.
///
/// Breadth-first search by hand rather than petgraph's `astar`/`dijkstra`:
/// those neither follow relations against their direction (BOTH) with a
/// kind filter in one pass, nor break ties by relation id, and ties must be
/// deterministic whatever order relations were inserted in. The path is
/// the one a breadth-first search from `from` finds when it expands
/// relations in id order and keeps the first path found to each entity.
///
/// Found in two passes, so that a far pair in a large graph costs a small
/// part of the graph rather than all of it: a search from both ends at
/// once (the smaller frontier first) finds the number of hops and how far
/// each entity near `to` is from it; then the search from `from` runs
/// again, in id order, keeping only entities that lie on some shortest
/// path once it is close enough to `to` to tell. Every entity a path of
/// fewest hops passes through is reached from entities that lie on such
/// paths too, in the same order as in the full search, so the path found
/// is the full search's (a test checks this against the plain search).
pub fn shortest_path(g: &Graph, from: NodeIndex, to: NodeIndex, walk: &Walk) -> Option<Path> {
    shortest_path_within(g, from, to, walk, &Budget::unlimited()).unwrap_or_default()
}

/// [`shortest_path`], giving up when `budget` runs out.
pub fn shortest_path_within(
    g: &Graph,
    from: NodeIndex,
    to: NodeIndex,
    walk: &Walk,
    budget: &Budget,
) -> Result<Option<Path>, OverBudget> {
    if from == to {
        return Ok(Some(Path {
            entities: vec![from],
            relations: vec![],
        }));
    }
    let Some(meeting) = meet(g, from, to, walk, budget)? else {
        return Ok(None);
    };
    let hops = meeting.hops;
    // From this level on, an entity's distance to `to` is known exactly
    // when it is at most `back_depth`, and more than that otherwise.
    let told_from = hops.saturating_sub(meeting.back_depth);
    let on_a_shortest_path = |n: NodeIndex, level: usize| {
        level < told_from
            || hops
                .checked_sub(level)
                .is_some_and(|rest| meeting.to_to.get(&n) == Some(&rest))
    };
    first_found(g, from, to, walk, budget, on_a_shortest_path)
}

/// The path to `to` a breadth-first search from `from` finds when it
/// expands relations in id order and keeps the first path to each entity,
/// reaching only the entities `keep(entity, level)` admits.
fn first_found(
    g: &Graph,
    from: NodeIndex,
    to: NodeIndex,
    walk: &Walk,
    budget: &Budget,
    keep: impl Fn(NodeIndex, usize) -> bool,
) -> Result<Option<Path>, OverBudget> {
    let mut came_from: HashMap<NodeIndex, (NodeIndex, EdgeIndex)> = HashMap::new();
    let mut frontier = vec![from];
    let mut level = 0;
    'search: while !frontier.is_empty() {
        level += 1;
        let mut next = Vec::new();
        for n in frontier {
            budget.check()?;
            for step in g.steps(n, walk) {
                if step.other == from
                    || came_from.contains_key(&step.other)
                    || !keep(step.other, level)
                {
                    continue;
                }
                came_from.insert(step.other, (n, step.edge));
                if step.other == to {
                    break 'search;
                }
                next.push(step.other);
            }
        }
        frontier = next;
    }
    let mut entities = vec![to];
    let mut relations = Vec::new();
    let mut at = to;
    while at != from {
        let Some(&(prev, edge)) = came_from.get(&at) else {
            return Ok(None);
        };
        entities.push(prev);
        relations.push(edge);
        at = prev;
    }
    entities.reverse();
    relations.reverse();
    Ok(Some(Path {
        entities,
        relations,
    }))
}

/// What a search from both ends learnt.
struct Meeting {
    /// The fewest hops from `from` to `to`.
    hops: usize,
    /// Hops to `to`, of every entity at most `back_depth` hops from it.
    to_to: HashMap<NodeIndex, usize>,
    back_depth: usize,
}

/// One side of a search from both ends: how far each entity it reached is
/// from where it started, and the entities it reached last.
struct Side {
    reached: HashMap<NodeIndex, usize>,
    frontier: Vec<NodeIndex>,
    depth: usize,
}

impl Side {
    fn new(start: NodeIndex) -> Self {
        Side {
            reached: HashMap::from([(start, 0)]),
            frontier: vec![start],
            depth: 0,
        }
    }

    /// Reaches one level further along `walk`; the fewest hops of a path
    /// through an entity the other side has reached, if this level met it.
    fn expand(
        &mut self,
        g: &Graph,
        walk: &Walk,
        other: Option<&Side>,
        budget: &Budget,
    ) -> Result<Option<usize>, OverBudget> {
        let depth = self.depth + 1;
        let mut next = Vec::new();
        let mut met: Option<usize> = None;
        for &n in &self.frontier {
            budget.check()?;
            for m in g.step_ends(n, walk) {
                if self.reached.contains_key(&m) {
                    continue;
                }
                self.reached.insert(m, depth);
                if let Some(&rest) = other.and_then(|o| o.reached.get(&m)) {
                    met = Some(met.map_or(depth + rest, |h| h.min(depth + rest)));
                }
                next.push(m);
            }
        }
        self.frontier = next;
        self.depth = depth;
        Ok(met)
    }
}

/// The same walk taken backwards.
fn reversed(walk: &Walk) -> Walk {
    Walk {
        direction: match walk.direction {
            Direction::Outgoing => Direction::Incoming,
            Direction::Incoming => Direction::Outgoing,
            Direction::Both => Direction::Both,
        },
        kinds: walk.kinds.clone(),
    }
}

/// The fewest hops from `from` to `to` (distinct), by breadth-first search
/// from both ends a whole level at a time, always on the smaller frontier.
/// The first level at which the two meet gives the fewest hops: until then
/// every path is longer than both depths together.
fn meet(
    g: &Graph,
    from: NodeIndex,
    to: NodeIndex,
    walk: &Walk,
    budget: &Budget,
) -> Result<Option<Meeting>, OverBudget> {
    let back = reversed(walk);
    let mut ahead = Side::new(from);
    let mut behind = Side::new(to);
    loop {
        if ahead.frontier.is_empty() || behind.frontier.is_empty() {
            return Ok(None);
        }
        let met = if ahead.frontier.len() <= behind.frontier.len() {
            ahead.expand(g, walk, Some(&behind), budget)?
        } else {
            behind.expand(g, &back, Some(&ahead), budget)?
        };
        if let Some(hops) = met {
            return Ok(Some(Meeting {
                hops,
                to_to: behind.reached,
                back_depth: behind.depth,
            }));
        }
    }
}

/// Simple paths (no entity twice) from `from` to `to` of at most
/// `max_len` hops, ordered by length and then by their relation ids;
/// at most `first` of them. Parallel relations give distinct paths.
///
/// Written by hand because petgraph's `all_simple_paths` yields node
/// sequences, which merge parallel relations, and in no defined order.
/// Depth-first search of each length in turn, relations tried in id order,
/// yields exactly the contract's order and can stop at `first`. A search
/// backwards from `to` first learns how far the entities around it are,
/// so that a branch which cannot reach `to` in the hops it has left is not
/// followed (which finds the same paths: a test checks it against the
/// search without).
pub fn paths(
    g: &Graph,
    from: NodeIndex,
    to: NodeIndex,
    max_len: usize,
    walk: &Walk,
    first: usize,
) -> Vec<Path> {
    paths_within(g, from, to, max_len, walk, first, &Budget::unlimited()).unwrap_or_default()
}

/// [`paths`], giving up when `budget` runs out.
pub fn paths_within(
    g: &Graph,
    from: NodeIndex,
    to: NodeIndex,
    max_len: usize,
    walk: &Walk,
    first: usize,
    budget: &Budget,
) -> Result<Vec<Path>, OverBudget> {
    paths_pruned(g, (from, to), max_len, walk, first, budget, NEAR_ENOUGH)
}

/// [`paths_within`], learning the distance to `to` of at most about
/// `near_enough` entities (0: none, so nothing is pruned).
fn paths_pruned(
    g: &Graph,
    (from, to): (NodeIndex, NodeIndex),
    max_len: usize,
    walk: &Walk,
    first: usize,
    budget: &Budget,
    near_enough: usize,
) -> Result<Vec<Path>, OverBudget> {
    let mut found = Vec::new();
    if first == 0 || from == to {
        return Ok(found);
    }
    // How far the entities near `to` are from it, level by level until a
    // path's last hops are covered or the levels grow large: a branch that
    // cannot reach `to` in the hops it has left is not searched.
    let mut near = Side::new(to);
    let back = reversed(walk);
    while near.depth + 1 < max_len && !near.frontier.is_empty() && near.reached.len() < near_enough
    {
        near.expand(g, &back, None, budget)?;
    }
    let search = Search {
        g,
        to,
        walk,
        first,
        budget,
        near: &near,
    };
    for len in 1..=max_len {
        let mut entities = vec![from];
        let mut relations = Vec::new();
        search.dfs(len, &mut entities, &mut relations, &mut found)?;
        if found.len() >= first {
            break;
        }
    }
    Ok(found)
}

/// How many entities around `to` the bounded-path search learns the
/// distance of, at most (and the level that passes it): enough to prune
/// the last hops of most searches, without a whole large graph's worth.
const NEAR_ENOUGH: usize = 100_000;

/// One depth-first search for paths of an exact length.
struct Search<'a> {
    g: &'a Graph,
    to: NodeIndex,
    walk: &'a Walk,
    first: usize,
    budget: &'a Budget,
    /// Hops to `to` of every entity up to `near.depth` from it.
    near: &'a Side,
}

impl Search<'_> {
    /// Whether `to` may be `left` hops from `n`: always when that is
    /// beyond what `near` knows (it knows everything once its search ran
    /// out of entities), else only if `n` is that close.
    fn may_reach(&self, n: NodeIndex, left: usize) -> bool {
        let known = left <= self.near.depth || self.near.frontier.is_empty();
        !known || self.near.reached.get(&n).is_some_and(|&d| d <= left)
    }

    fn dfs(
        &self,
        len: usize,
        entities: &mut Vec<NodeIndex>,
        relations: &mut Vec<EdgeIndex>,
        found: &mut Vec<Path>,
    ) -> Result<(), OverBudget> {
        self.budget.check()?;
        let Some(&at) = entities.last() else {
            return Ok(());
        };
        let remaining = len - relations.len();
        for step in self.g.steps(at, self.walk) {
            if found.len() >= self.first {
                return Ok(());
            }
            if entities.contains(&step.other) {
                continue;
            }
            if step.other == self.to {
                if remaining == 1 {
                    let mut path_entities = entities.clone();
                    path_entities.push(self.to);
                    let mut path_relations = relations.clone();
                    path_relations.push(step.edge);
                    found.push(Path {
                        entities: path_entities,
                        relations: path_relations,
                    });
                }
                // A simple path ends the first time it reaches `to`.
                continue;
            }
            if remaining > 1 && self.may_reach(step.other, remaining - 1) {
                entities.push(step.other);
                relations.push(step.edge);
                self.dfs(len, entities, relations, found)?;
                entities.pop();
                relations.pop();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::graph::Direction;
    use crate::model::{EntityKind as K, RelationKind as R};
    use proptest::prelude::*;

    fn ids(g: &Graph, p: &Path) -> Vec<String> {
        p.relations
            .iter()
            .map(|e| g.relation_at(*e).id.to_string())
            .collect()
    }

    fn ix(g: &Graph, id: &str) -> NodeIndex {
        g.entity_ix(id).unwrap_or_else(NodeIndex::end)
    }

    /// a → b → d, a → c → d, a ⇉ b (two parallel relations), d → e.
    fn diamond() -> Graph {
        let f = K::ArmedForce;
        let mut g = graph(&[("a", f), ("b", f), ("c", f), ("d", f), ("e", f)]);
        rel(&mut g, "r1", R::Supports, "a", "b");
        rel(&mut g, "r2", R::Supports, "b", "d");
        rel(&mut g, "r3", R::Supports, "a", "c");
        rel(&mut g, "r4", R::Supports, "c", "d");
        rel(&mut g, "r5", R::CooperatesWith, "a", "b");
        rel(&mut g, "r6", R::Supports, "d", "e");
        g
    }

    #[test]
    fn shortest_path_counts_hops_and_breaks_ties_by_id() {
        let g = diamond();
        let p = shortest_path(&g, ix(&g, "a"), ix(&g, "e"), &Walk::any());
        let p = p.unwrap_or_else(|| panic!("no path"));
        assert_eq!(p.len(), 3);
        // Both a-b-d and a-c-d are 2 hops to d; r1 < r3 decides.
        assert_eq!(ids(&g, &p), ["r1", "r2", "r6"]);
        let back = shortest_path(
            &g,
            ix(&g, "e"),
            ix(&g, "a"),
            &Walk {
                direction: Direction::Outgoing,
                kinds: None,
            },
        );
        assert_eq!(back, None);
        let only_coop = Walk {
            direction: Direction::Both,
            kinds: Some(vec![R::CooperatesWith]),
        };
        let p = shortest_path(&g, ix(&g, "b"), ix(&g, "a"), &only_coop);
        assert_eq!(p.map(|p| ids(&g, &p)), Some(vec!["r5".to_owned()]));
        let same = shortest_path(&g, ix(&g, "a"), ix(&g, "a"), &Walk::any());
        assert_eq!(same.map(|p| p.len()), Some(0));
    }

    #[test]
    fn paths_are_ordered_by_length_then_ids() {
        let g = diamond();
        let all = paths(&g, ix(&g, "a"), ix(&g, "d"), 4, &Walk::any(), 20);
        let got: Vec<Vec<String>> = all.iter().map(|p| ids(&g, p)).collect();
        // Worked by hand: three two-hop paths (r1 and r5 are parallel), then
        // none longer, since every longer walk would revisit an entity.
        assert_eq!(got, [["r1", "r2"], ["r3", "r4"], ["r5", "r2"]]);
        let two = paths(&g, ix(&g, "a"), ix(&g, "d"), 4, &Walk::any(), 2);
        assert_eq!(two.len(), 2);
        let short = paths(&g, ix(&g, "a"), ix(&g, "e"), 2, &Walk::any(), 20);
        assert!(short.is_empty());
    }

    /// Random graphs of up to 8 entities and 20 relations.
    fn arb_graph() -> impl Strategy<Value = Graph> {
        prop::collection::vec((0usize..8, 0usize..8), 0..20).prop_map(|edges| {
            let names: Vec<String> = (0..8).map(|i| format!("n{i}")).collect();
            let spec: Vec<(&str, K)> = names.iter().map(|n| (n.as_str(), K::ArmedForce)).collect();
            let mut g = graph(&spec);
            for (i, (a, b)) in edges.into_iter().enumerate() {
                if a != b {
                    rel(
                        &mut g,
                        &format!("r{i:02}"),
                        R::Supports,
                        &names[a],
                        &names[b],
                    );
                }
            }
            g
        })
    }

    fn connects(g: &Graph, p: &Path, walk: &Walk) -> bool {
        p.entities.len() == p.relations.len() + 1
            && p.relations.iter().enumerate().all(|(i, e)| {
                let (s, t) = g.ends(*e);
                let (x, y) = (p.entities[i], p.entities[i + 1]);
                match walk.direction {
                    Direction::Outgoing => (s, t) == (x, y),
                    Direction::Incoming => (s, t) == (y, x),
                    Direction::Both => (s, t) == (x, y) || (s, t) == (y, x),
                }
            })
    }

    /// The plain search `shortest_path` must agree with: from `from` only,
    /// relations in id order, the first path to each entity kept.
    fn one_sided(g: &Graph, from: NodeIndex, to: NodeIndex, walk: &Walk) -> Option<Path> {
        first_found(g, from, to, walk, &Budget::unlimited(), |_, _| true).unwrap_or_default()
    }

    /// Random graphs of 24 entities and up to 60 relations of two kinds,
    /// whose ids do not follow the order they were added in.
    fn arb_larger_graph() -> impl Strategy<Value = Graph> {
        prop::collection::vec((0usize..24, 0usize..24, any::<bool>()), 0..60).prop_map(|edges| {
            let names: Vec<String> = (0..24).map(|i| format!("n{i:02}")).collect();
            let spec: Vec<(&str, K)> = names.iter().map(|n| (n.as_str(), K::ArmedForce)).collect();
            let mut g = graph(&spec);
            for (i, (a, b, coop)) in edges.into_iter().enumerate() {
                if a != b {
                    let kind = if coop { R::CooperatesWith } else { R::Supports };
                    let id = format!("r{:02}", (i * 37) % 61);
                    rel(&mut g, &id, kind, &names[a], &names[b]);
                }
            }
            g
        })
    }

    /// The plain search `paths` must agree with: every simple path of each
    /// length in turn, relations in id order, no pruning.
    fn plain_paths(
        g: &Graph,
        from: NodeIndex,
        to: NodeIndex,
        max_len: usize,
        walk: &Walk,
        first: usize,
    ) -> Vec<Path> {
        let unlimited = Budget::unlimited();
        paths_pruned(g, (from, to), max_len, walk, first, &unlimited, 0).unwrap_or_default()
    }

    proptest! {
        #[test]
        fn pruned_search_finds_the_plain_searchs_paths(
            g in arb_larger_graph(),
            a in 0usize..24,
            b in 0usize..24,
            direction in 0usize..3,
            only_support in any::<bool>(),
            max_len in 1usize..7,
            first in 1usize..40,
        ) {
            let walk = Walk {
                direction: [Direction::Outgoing, Direction::Incoming, Direction::Both][direction],
                kinds: only_support.then(|| vec![R::Supports]),
            };
            let (a, b) = (ix(&g, &format!("n{a:02}")), ix(&g, &format!("n{b:02}")));
            prop_assert_eq!(
                paths(&g, a, b, max_len, &walk, first),
                plain_paths(&g, a, b, max_len, &walk, first)
            );
        }

        #[test]
        fn both_ended_search_finds_the_plain_searchs_path(
            g in arb_larger_graph(),
            a in 0usize..24,
            b in 0usize..24,
            direction in 0usize..3,
            only_support in any::<bool>(),
        ) {
            let walk = Walk {
                direction: [Direction::Outgoing, Direction::Incoming, Direction::Both][direction],
                kinds: only_support.then(|| vec![R::Supports]),
            };
            let (a, b) = (ix(&g, &format!("n{a:02}")), ix(&g, &format!("n{b:02}")));
            prop_assert_eq!(shortest_path(&g, a, b, &walk), one_sided(&g, a, b, &walk));
        }

        #[test]
        fn shortest_is_never_longer_than_any_path(g in arb_graph(), a in 0usize..8, b in 0usize..8, out in any::<bool>()) {
            let walk = Walk { direction: if out { Direction::Outgoing } else { Direction::Both }, kinds: None };
            let (a, b) = (ix(&g, &format!("n{a}")), ix(&g, &format!("n{b}")));
            let sp = shortest_path(&g, a, b, &walk);
            let all = paths(&g, a, b, 7, &walk, 10_000);
            if let Some(sp) = &sp {
                prop_assert!(connects(&g, sp, &walk));
                for p in &all {
                    prop_assert!(sp.len() <= p.len());
                }
                if a != b {
                    prop_assert_eq!(all.first().map(|p| p.len()), Some(sp.len()));
                }
            } else {
                prop_assert!(all.is_empty());
            }
            for w in all.windows(2) {
                let key = |p: &Path| (p.len(), ids(&g, p));
                prop_assert!(key(&w[0]) < key(&w[1]));
            }
            for p in &all {
                prop_assert!(connects(&g, p, &walk));
                let mut seen = p.entities.clone();
                seen.sort();
                seen.dedup();
                prop_assert_eq!(seen.len(), p.entities.len());
            }
        }
    }
}
