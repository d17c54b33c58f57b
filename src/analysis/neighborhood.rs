//! The entities within some hops of one entity, with the relations among them.

use super::time_budget::{Budget, OverBudget};
use crate::graph::{Graph, Walk};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use std::collections::{BTreeSet, HashMap, VecDeque};

/// A part of the graph: entities and the relations among them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subgraph {
    /// Entities, ordered by distance from the centre, then by id.
    pub entities: Vec<NodeIndex>,
    /// Relations, ordered by id.
    pub relations: Vec<EdgeIndex>,
}

/// The entities within `depth` hops of `centre` following `walk`, and every
/// relation whose ends are both among them (the induced subgraph),
/// restricted to `walk`'s kinds when it names any.
pub fn neighborhood(g: &Graph, centre: NodeIndex, depth: usize, walk: &Walk) -> Subgraph {
    neighborhood_within(g, centre, depth, walk, &Budget::unlimited()).unwrap_or_default()
}

/// [`neighborhood`], giving up when `budget` runs out.
pub fn neighborhood_within(
    g: &Graph,
    centre: NodeIndex,
    depth: usize,
    walk: &Walk,
    budget: &Budget,
) -> Result<Subgraph, OverBudget> {
    let mut dist: HashMap<NodeIndex, usize> = HashMap::from([(centre, 0)]);
    let mut queue = VecDeque::from([centre]);
    while let Some(n) = queue.pop_front() {
        budget.check()?;
        let d = dist.get(&n).copied().unwrap_or(0);
        if d == depth {
            continue;
        }
        for step in g.steps(n, walk) {
            if let std::collections::hash_map::Entry::Vacant(slot) = dist.entry(step.other) {
                slot.insert(d + 1);
                queue.push_back(step.other);
            }
        }
    }
    let mut entities: Vec<NodeIndex> = dist.keys().copied().collect();
    entities.sort_by(|a, b| {
        (dist.get(a), &g.entity_at(*a).id).cmp(&(dist.get(b), &g.entity_at(*b).id))
    });
    let pg = g.petgraph();
    let mut relations: BTreeSet<(&str, EdgeIndex)> = BTreeSet::new();
    for &n in &entities {
        for e in pg.edges_directed(n, petgraph::Direction::Outgoing) {
            if dist.contains_key(&e.target()) && walk.admits(e.weight().kind) {
                relations.insert((&e.weight().id, e.id()));
            }
        }
    }
    Ok(Subgraph {
        entities,
        relations: relations.into_iter().map(|(_, e)| e).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::graph::Direction;
    use crate::model::{EntityKind as K, RelationKind as R};

    fn names(g: &Graph, s: &Subgraph) -> (Vec<String>, Vec<String>) {
        (
            s.entities
                .iter()
                .map(|n| g.entity_at(*n).id.to_string())
                .collect(),
            s.relations
                .iter()
                .map(|e| g.relation_at(*e).id.to_string())
                .collect(),
        )
    }

    #[test]
    fn induced_subgraph_within_depth() {
        // a → b → c → d, plus a chord c → a and an isolated e.
        let f = K::ArmedForce;
        let mut g = graph(&[("a", f), ("b", f), ("c", f), ("d", f), ("e", f)]);
        rel(&mut g, "ab", R::Supports, "a", "b");
        rel(&mut g, "bc", R::Supports, "b", "c");
        rel(&mut g, "cd", R::Supports, "c", "d");
        rel(&mut g, "ca", R::CooperatesWith, "c", "a");
        let b = g.entity_ix("b").unwrap_or_else(NodeIndex::end);
        let one = neighborhood(&g, b, 1, &Walk::any());
        // a and c are one hop from b; the chord c → a joins two of them.
        assert_eq!(
            names(&g, &one),
            (
                vec!["b".into(), "a".into(), "c".into()],
                vec!["ab".into(), "bc".into(), "ca".into()]
            )
        );
        let out = Walk {
            direction: Direction::Outgoing,
            kinds: None,
        };
        let two = neighborhood(&g, b, 2, &out);
        assert_eq!(
            names(&g, &two),
            (
                vec!["b".into(), "c".into(), "a".into(), "d".into()],
                vec!["ab".into(), "bc".into(), "ca".into(), "cd".into()]
            )
        );
        let zero = neighborhood(&g, b, 0, &Walk::any());
        assert_eq!(names(&g, &zero), (vec!["b".into()], vec![]));
        let supports = Walk {
            direction: Direction::Both,
            kinds: Some(vec![R::Supports]),
        };
        let s = neighborhood(&g, b, 1, &supports);
        assert_eq!(
            names(&g, &s),
            (
                vec!["b".into(), "a".into(), "c".into()],
                vec!["ab".into(), "bc".into()]
            )
        );
    }
}
