//! Small hand-made graphs for the unit tests of the analyses.

use super::Graph;
use crate::model::{Document, Entity, EntityKind, Relation, RelationKind, Source};
use petgraph::stable_graph::EdgeIndex;

/// The one document every test item quotes.
pub const TEXT: &str = "evidence";

/// A document of id `id` whose text is [`TEXT`].
pub fn document(id: &str) -> Document {
    Document {
        id: id.into(),
        title: "t".into(),
        publisher: "p".into(),
        published_on: None,
        dateline: None,
        text: TEXT.into(),
    }
}

fn src() -> Source {
    Source::new("doc", TEXT)
}

/// A graph with entities of the given ids and kinds.
pub fn graph(entities: &[(&str, EntityKind)]) -> Graph {
    let mut g = Graph::new();
    let _ = g.add_document(document("doc"));
    for (id, kind) in entities {
        let e = Entity::new(id, *kind, &id.to_uppercase(), src());
        assert!(g.add_entity(e).is_ok(), "entity {id}");
    }
    g
}

/// Adds a relation, panicking (in tests only) when it is refused.
pub fn rel(g: &mut Graph, id: &str, kind: RelationKind, from: &str, to: &str) -> EdgeIndex {
    rel_with(g, Relation::new(id, kind, from, to, src()))
}

/// Adds a prepared relation, panicking (in tests only) when it is refused.
pub fn rel_with(g: &mut Graph, r: Relation) -> EdgeIndex {
    let id = r.id.clone();
    match g.add_relation(r) {
        Ok(ix) => ix,
        Err(e) => panic!("relation {id}: {e}"),
    }
}

/// A source for hand-built items.
pub fn source() -> Source {
    src()
}
