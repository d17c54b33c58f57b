//! Following relations from an entity: which way and which kinds a walk
//! may take ([`Walk`]), and the steps it finds, in relation id order so
//! that every traversal built on them is deterministic.

use super::Graph;
use crate::model::{Relation, RelationKind};
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

/// Which way to follow relations from an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Relations that start at the entity.
    Outgoing,
    /// Relations that end at the entity.
    Incoming,
    /// Either way; a relation is still one relation.
    #[default]
    Both,
}

/// What to follow when walking the graph: a direction and, optionally,
/// only some relation kinds.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    /// Which way to follow relations.
    pub direction: Direction,
    /// Only these kinds; `None` for all.
    pub kinds: Option<Vec<RelationKind>>,
}

impl Walk {
    /// Every relation, both ways.
    pub fn any() -> Self {
        Walk::default()
    }

    /// Whether a relation of `kind` may be followed.
    pub fn admits(&self, kind: RelationKind) -> bool {
        self.kinds.as_ref().is_none_or(|ks| ks.contains(&kind))
    }
}

/// One step from an entity along a relation.
#[derive(Debug, Clone, Copy)]
pub struct Step<'g> {
    /// The relation followed.
    pub edge: EdgeIndex,
    /// The relation's data.
    pub relation: &'g Relation,
    /// The entity at the other end.
    pub other: NodeIndex,
}

impl Graph {
    /// Relations in and out of an entity: `in + out`.
    pub fn degree(&self, ix: NodeIndex) -> usize {
        self.inner
            .edges_directed(ix, petgraph::Direction::Outgoing)
            .count()
            + self
                .inner
                .edges_directed(ix, petgraph::Direction::Incoming)
                .count()
    }

    /// The entities one step from `ix` along `walk`, in no particular
    /// order and without the sort `steps` does: for searches that only
    /// count hops.
    pub fn step_ends<'a>(
        &'a self,
        ix: NodeIndex,
        walk: &'a Walk,
    ) -> impl Iterator<Item = NodeIndex> + 'a {
        let out = (walk.direction != Direction::Incoming).then(|| {
            self.inner
                .edges_directed(ix, petgraph::Direction::Outgoing)
                .filter(|e| walk.admits(e.weight().kind))
                .map(|e| e.target())
        });
        let inc = (walk.direction != Direction::Outgoing).then(|| {
            self.inner
                .edges_directed(ix, petgraph::Direction::Incoming)
                .filter(|e| walk.admits(e.weight().kind))
                .map(|e| e.source())
        });
        out.into_iter().flatten().chain(inc.into_iter().flatten())
    }

    /// The relations one step from `ix` that `walk` admits, ordered by
    /// relation id so that every traversal built on it is deterministic.
    pub fn steps(&self, ix: NodeIndex, walk: &Walk) -> Vec<Step<'_>> {
        let mut out = Vec::new();
        if walk.direction != Direction::Incoming {
            for e in self.inner.edges_directed(ix, petgraph::Direction::Outgoing) {
                if walk.admits(e.weight().kind) {
                    out.push(Step {
                        edge: e.id(),
                        relation: e.weight(),
                        other: e.target(),
                    });
                }
            }
        }
        if walk.direction != Direction::Outgoing {
            for e in self.inner.edges_directed(ix, petgraph::Direction::Incoming) {
                if walk.admits(e.weight().kind) {
                    out.push(Step {
                        edge: e.id(),
                        relation: e.weight(),
                        other: e.source(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.relation.id.cmp(&b.relation.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::EntityKind as K;
    use RelationKind as R;

    #[test]
    fn steps_follow_direction_and_kinds_in_id_order() {
        let mut g = graph(&[
            ("a", K::ArmedForce),
            ("b", K::ArmedForce),
            ("c", K::Country),
        ]);
        rel(&mut g, "z-ab", R::PartOf, "a", "b");
        rel(&mut g, "y-ba", R::CooperatesWith, "b", "a");
        rel(&mut g, "x-ac", R::OperatesIn, "a", "c");
        let a = g.entity_ix("a").unwrap_or_default();
        let ids = |w: &Walk| -> Vec<String> {
            g.steps(a, w)
                .iter()
                .map(|s| s.relation.id.to_string())
                .collect()
        };
        assert_eq!(ids(&Walk::any()), ["x-ac", "y-ba", "z-ab"]);
        let out = Walk {
            direction: Direction::Outgoing,
            kinds: None,
        };
        assert_eq!(ids(&out), ["x-ac", "z-ab"]);
        let inc = Walk {
            direction: Direction::Incoming,
            kinds: None,
        };
        assert_eq!(ids(&inc), ["y-ba"]);
        let part = Walk {
            direction: Direction::Both,
            kinds: Some(vec![R::PartOf]),
        };
        assert_eq!(ids(&part), ["z-ab"]);
        assert_eq!(g.degree(a), 3);
    }
}
