//! Taking back a write applied in place: while a write is open the graph
//! keeps a journal of how to undo each change, so that a refused write
//! costs what it changed rather than a copy of the graph.

use super::{Graph, GraphError};
use crate::model::{Entity, Relation};
use compact_str::CompactString;

/// What puts back one change made to the graph while a write was open.
#[derive(Debug, Clone)]
pub(super) enum Undo {
    /// Remove the document added with this id.
    AddedDocument(CompactString),
    /// Remove the entity added with this id.
    AddedEntity(CompactString),
    /// Remove the relation added with this id.
    AddedRelation(CompactString),
    /// Put back the entity as it was before it was replaced.
    ReplacedEntity(Entity),
    /// Put back the relation as it was before it was replaced.
    ReplacedRelation(Relation),
    /// Add back the entity removed.
    RemovedEntity(Entity),
    /// Add back the relation removed.
    RemovedRelation(Relation),
}

impl Graph {
    /// Starts recording how to undo every change made from now on, so that
    /// a write applied in place can be taken back ([`Graph::undo_to`]).
    /// Recording costs a copy of what a change replaces or removes.
    pub fn begin_undo(&mut self) {
        self.journal = Some(Vec::new());
    }

    /// Stops recording; the changes made stay.
    pub fn end_undo(&mut self) {
        self.journal = None;
    }

    /// A mark to undo back to: the number of changes recorded so far.
    pub fn undo_mark(&self) -> usize {
        self.journal.as_ref().map_or(0, Vec::len)
    }

    /// Takes back every change recorded after `mark`, the latest first,
    /// which leaves the graph as it was at the mark. Each undo is a change
    /// the graph held before, so it is only refused if the graph was
    /// damaged; the caller then rebuilds it.
    pub fn undo_to(&mut self, mark: usize) -> Result<(), GraphError> {
        let Some(mut journal) = self.journal.take() else {
            return Ok(());
        };
        let mut result = Ok(());
        while journal.len() > mark && result.is_ok() {
            let Some(undo) = journal.pop() else { break };
            result = match undo {
                Undo::AddedDocument(id) => {
                    self.documents.remove(&id);
                    Ok(())
                }
                Undo::AddedEntity(id) => self.remove_entity(&id, false).map(drop),
                Undo::AddedRelation(id) => self.remove_relation(&id).map(drop),
                Undo::ReplacedEntity(e) => self.replace_entity(e),
                Undo::ReplacedRelation(r) => self.replace_relation(r),
                Undo::RemovedEntity(e) => self.add_entity(e).map(drop),
                Undo::RemovedRelation(r) => self.add_relation(r).map(drop),
            };
        }
        self.journal = Some(journal);
        result
    }

    /// The relations removed since `mark` of the journal, as they were.
    pub fn removed_since(&self, mark: usize) -> impl Iterator<Item = &Relation> + '_ {
        let recorded = self.journal.as_deref().unwrap_or_default();
        recorded
            .get(mark..)
            .unwrap_or_default()
            .iter()
            .filter_map(|u| match u {
                Undo::RemovedRelation(r) => Some(r),
                _ => None,
            })
    }

    /// Records how to undo a change, while a write is open.
    pub(super) fn record(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(journal) = &mut self.journal {
            journal.push(undo());
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::graph::testing::*;
    use crate::graph::Graph;
    use crate::model::{Entity, EntityKind as K, RelationKind as R};

    #[test]
    fn undo_puts_back_every_change_after_the_mark() {
        let mut g = graph(&[
            ("a", K::ArmedForce),
            ("b", K::ArmedForce),
            ("c", K::ArmedForce),
        ]);
        rel(&mut g, "ab", R::PartOf, "a", "b");
        rel(&mut g, "bc", R::PartOf, "b", "c");
        let dump = |g: &Graph| {
            let es: Vec<String> = g
                .entities()
                .map(|ix| format!("{:?}", g.entity_at(ix)))
                .collect();
            let rs: Vec<String> = g
                .relations()
                .map(|ix| format!("{:?}", g.relation_at(ix)))
                .collect();
            (es, rs, g.documents().len())
        };
        let before = dump(&g);
        g.begin_undo();
        let mark = g.undo_mark();
        let mut renamed = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        renamed.name = "Alpha".into();
        assert_eq!(g.replace_entity(renamed), Ok(()));
        assert!(g.remove_entity("b", true).is_ok());
        assert_eq!(g.removed_since(mark).count(), 2);
        let _ = g.add_entity(Entity::new("d", K::ArmedForce, "D", source()));
        rel(&mut g, "cd", R::PartOf, "c", "d");
        assert_eq!(g.undo_to(mark), Ok(()));
        g.end_undo();
        assert_eq!(dump(&g), before);
        assert_eq!(g.search_index().find("alpha").len(), 0);
        assert_eq!(g.search_index().find("b").len(), 1);
    }
}
