//! Adding, replacing and removing one entity or relation, each checked
//! against the graph's invariants and recorded for undo while a write is
//! open. A change of shape (an item added or removed) drops the cached
//! scores; a change of fields keeps them.

use super::undo::Undo;
use super::{Graph, GraphError, Walk};
use crate::model::{EndId, Entity, Relation};
use compact_str::CompactString;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

impl Graph {
    /// Adds an entity after checking it and its evidence.
    pub fn add_entity(&mut self, entity: Entity) -> Result<NodeIndex, GraphError> {
        entity.validate().map_err(GraphError::Invalid)?;
        self.check_new_id(&entity.id)?;
        self.check_merged_ids(&entity, None)?;
        let mut entity = entity;
        if !self.bulk_loading {
            self.check_sources(&mut entity.sources)?;
        }
        // check_new_id found no entity with this id.
        let at = self.entity_at_rank(&entity.id).unwrap_or_else(|at| at);
        let id = entity.id.clone();
        self.note_text(entity.longest_text());
        let ix = self.inner.add_node(entity);
        self.note_merged(ix);
        self.entity_order.insert(at, ix);
        self.facets.insert_entity(ix, &self.inner[ix]);
        if !self.bulk_loading {
            self.search.insert(ix, &self.inner[ix]);
        }
        self.cache.forget();
        self.record(|| Undo::AddedEntity(id));
        Ok(ix)
    }

    /// Adds a relation after checking it, its ends, the kinds it joins and
    /// its evidence.
    pub fn add_relation(&mut self, relation: Relation) -> Result<EdgeIndex, GraphError> {
        relation.validate().map_err(GraphError::Invalid)?;
        self.check_new_id(&relation.id)?;
        let end = |end: &'static str, id: &str| {
            self.entity_ix(id).ok_or_else(|| GraphError::DanglingEnd {
                end,
                id: id.to_owned(),
            })
        };
        let from = end("from", &relation.from)?;
        let to = end("to", &relation.to)?;
        if from == to {
            return Err(GraphError::SelfLoop(relation.from.to_string()));
        }
        let (fk, tk) = (self.inner[from].kind, self.inner[to].kind);
        if !relation.kind.allows(fk, tk) {
            return Err(GraphError::KindNotAllowed {
                kind: relation.kind,
                from: fk,
                to: tk,
            });
        }
        let mut relation = relation;
        self.check_sources(&mut relation.sources)?;
        shrink(&mut relation);
        if let Some(shared) = self.shared_end(from) {
            relation.from = shared;
        }
        if let Some(shared) = self.shared_end(to) {
            relation.to = shared;
        }
        // check_new_id found no relation with this id.
        let at = self.relation_at_rank(&relation.id).unwrap_or_else(|at| at);
        let id = relation.id.clone();
        self.note_text(relation.longest_text());
        let ix = self.inner.add_edge(from, to, relation);
        self.relation_order.insert(at, ix);
        self.facets.insert_relation(ix, (from, to), &self.inner[ix]);
        self.cache.forget();
        self.record(|| Undo::AddedRelation(id));
        Ok(ix)
    }

    /// The copy of `ix`'s id that its relations share, if it has any.
    fn shared_end(&self, ix: NodeIndex) -> Option<EndId> {
        use petgraph::Direction::{Incoming, Outgoing};
        let id = &self.inner[ix].id;
        [Outgoing, Incoming].into_iter().find_map(|dir| {
            let r = &self.inner[self.inner.edges_directed(ix, dir).next()?.id()];
            [&r.from, &r.to]
                .into_iter()
                .find(|end| end.as_str() == id.as_str())
                .cloned()
        })
    }

    /// Replaces an entity with a new version of it: same id and kind,
    /// checked like a new one.
    pub fn replace_entity(&mut self, entity: Entity) -> Result<(), GraphError> {
        let ix = self
            .entity_ix(&entity.id)
            .ok_or_else(|| GraphError::NotFound {
                what: "entity",
                id: entity.id.to_string(),
            })?;
        if self.inner[ix].kind != entity.kind {
            return Err(GraphError::Immutable(format!(
                "the kind of entity `{}` cannot change",
                entity.id
            )));
        }
        entity.validate().map_err(GraphError::Invalid)?;
        self.check_merged_ids(&entity, Some(&self.inner[ix]))?;
        let mut entity = entity;
        self.check_sources(&mut entity.sources)?;
        self.search.insert(ix, &entity);
        self.note_text(entity.longest_text());
        let old = std::mem::replace(&mut self.inner[ix], entity);
        self.facets.remove_entity(ix, &old);
        self.facets.insert_entity(ix, &self.inner[ix]);
        self.forget_merged(&old);
        self.note_merged(ix);
        self.record(|| Undo::ReplacedEntity(old));
        Ok(())
    }

    /// Replaces a relation with a new version of it: same id, kind and
    /// ends, checked like a new one.
    pub fn replace_relation(&mut self, relation: Relation) -> Result<(), GraphError> {
        let ix = self
            .relation_ix(&relation.id)
            .ok_or_else(|| GraphError::NotFound {
                what: "relation",
                id: relation.id.to_string(),
            })?;
        let old = &self.inner[ix];
        if old.kind != relation.kind || old.from != relation.from || old.to != relation.to {
            return Err(GraphError::Immutable(format!(
                "the kind and ends of relation `{}` cannot change; delete it and create another",
                relation.id
            )));
        }
        relation.validate().map_err(GraphError::Invalid)?;
        let mut relation = relation;
        self.check_sources(&mut relation.sources)?;
        self.note_text(relation.longest_text());
        let old = std::mem::replace(&mut self.inner[ix], relation);
        let ends = self.ends(ix);
        self.facets.remove_relation(ix, ends, &old);
        self.facets.insert_relation(ix, ends, &self.inner[ix]);
        self.record(|| Undo::ReplacedRelation(old));
        Ok(())
    }

    /// Removes a relation, returning it.
    pub fn remove_relation(&mut self, id: &str) -> Result<Relation, GraphError> {
        let not_found = || GraphError::NotFound {
            what: "relation",
            id: id.to_owned(),
        };
        let at = self.relation_at_rank(id).map_err(|_| not_found())?;
        let ix = self.relation_order.remove(at).ok_or_else(not_found)?;
        let ends = self.ends(ix);
        let removed = self.inner.remove_edge(ix).ok_or_else(not_found)?;
        self.facets.remove_relation(ix, ends, &removed);
        self.cache.forget();
        self.record(|| Undo::RemovedRelation(removed.clone()));
        Ok(removed)
    }

    /// Removes an entity. With relations still attached it is refused
    /// unless `cascade`, which removes them too; returns the entity and the
    /// relations removed with it (ordered by id).
    pub fn remove_entity(
        &mut self,
        id: &str,
        cascade: bool,
    ) -> Result<(Entity, Vec<Relation>), GraphError> {
        let ix = self.entity_ix(id).ok_or_else(|| GraphError::NotFound {
            what: "entity",
            id: id.to_owned(),
        })?;
        let attached: Vec<CompactString> = self
            .steps(ix, &Walk::any())
            .into_iter()
            .map(|s| s.relation.id.clone())
            .collect();
        if !attached.is_empty() && !cascade {
            return Err(GraphError::HasRelations {
                id: id.to_owned(),
                count: attached.len(),
            });
        }
        let mut removed = Vec::with_capacity(attached.len());
        for rid in attached {
            removed.push(self.remove_relation(&rid)?);
        }
        if let Ok(at) = self.entity_at_rank(id) {
            self.entity_order.remove(at);
        }
        self.search.remove(ix);
        let entity = self
            .inner
            .remove_node(ix)
            .ok_or_else(|| GraphError::NotFound {
                what: "entity",
                id: id.to_owned(),
            })?;
        self.facets.remove_entity(ix, &entity);
        self.forget_merged(&entity);
        self.cache.forget();
        self.record(|| Undo::RemovedEntity(entity.clone()));
        Ok((entity, removed))
    }
}

/// Drops the spare room of a relation's evidence list: a deserialized list
/// of one may have been put on the heap with room for more, where it
/// belongs inline.
pub(super) fn shrink(relation: &mut Relation) {
    relation.sources.shrink_to_fit();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{EntityKind as K, RelationKind as R, Source};

    #[test]
    fn refuses_bad_items() {
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce), ("p", K::Person)]);
        rel(&mut g, "r1", R::PartOf, "a", "b");
        let dup = Relation::new("r1", R::PartOf, "b", "a", source());
        assert!(matches!(
            g.add_relation(dup),
            Err(GraphError::DuplicateId { .. })
        ));
        let dangling = Relation::new("r2", R::PartOf, "a", "zz", source());
        assert!(matches!(
            g.add_relation(dangling),
            Err(GraphError::DanglingEnd { end: "to", .. })
        ));
        let wrong = Relation::new("r3", R::HoldsPosition, "a", "p", source());
        assert!(matches!(
            g.add_relation(wrong),
            Err(GraphError::KindNotAllowed { .. })
        ));
        let selfloop = Relation::new("r4", R::PartOf, "a", "a", source());
        assert!(matches!(
            g.add_relation(selfloop),
            Err(GraphError::SelfLoop(_))
        ));
        let mut unquoted = Relation::new("r5", R::PartOf, "b", "a", source());
        unquoted.sources[0] = Source::new("doc", "not there");
        assert!(matches!(
            g.add_relation(unquoted),
            Err(GraphError::QuoteNotFound { .. })
        ));
        let mut nodoc = Entity::new("c", K::City, "C", source());
        nodoc.sources[0] = Source::new("nope", TEXT);
        assert!(matches!(
            g.add_entity(nodoc),
            Err(GraphError::UnknownDocument(_))
        ));
        assert_eq!(g.relation_count(), 1);
        assert_eq!(g.entity_count(), 3);
    }

    #[test]
    fn added_relations_share_ends_and_quote_their_documents_in_place() {
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce)]);
        rel(&mut g, "r1", R::PartOf, "a", "b");
        rel(&mut g, "r2", R::PartOf, "b", "a");
        let (r1, r2) = (g.relation("r1"), g.relation("r2"));
        assert!(r1.zip(r2).is_some_and(|(r1, r2)| r1.from.ptr_eq(&r2.to)
            && r1.to.ptr_eq(&r2.from)
            && r1.sources[0].quote_in_text()
            && r1.sources[0].same_document(&r2.sources[0])));
    }

    #[test]
    fn ids_are_unique_across_nodes() {
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce)]);
        let clash = Relation::new("a", R::PartOf, "a", "b", source());
        assert!(matches!(
            g.add_relation(clash),
            Err(GraphError::DuplicateId { what: "entity", .. })
        ));
        let doc_clash = Entity::new("doc", K::City, "C", source());
        assert!(matches!(
            g.add_entity(doc_clash),
            Err(GraphError::DuplicateId {
                what: "document",
                ..
            })
        ));
    }

    #[test]
    fn the_longest_text_bounds_every_text_added_and_never_shrinks() {
        let mut g = graph(&[
            ("a", K::ArmedForce),
            ("b", K::ArmedForce),
            ("m", K::Ministry),
        ]);
        // The document's title, publisher and text, and the ids and names.
        assert_eq!(g.longest_text(), TEXT.len());
        let mut a = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        a.aliases.push("x".repeat(300));
        assert_eq!(g.replace_entity(a.clone()), Ok(()));
        assert_eq!(g.longest_text(), 300);
        a.update_details(|d| d.description = Some("y".repeat(400).into()));
        assert_eq!(g.replace_entity(a), Ok(()));
        assert_eq!(g.longest_text(), 400);
        let mut supports = Relation::new("ab", R::Supports, "m", "b", Source::new("doc", TEXT));
        supports.update_details(|d| d.categories.push("z".repeat(500)));
        rel_with(&mut g, supports.clone());
        assert_eq!(g.longest_text(), 500);
        let mut long = document("long");
        long.text = "evidence ".repeat(100).into();
        assert_eq!(g.add_document(long), Ok(()));
        assert_eq!(g.longest_text(), 900);
        // Still a bound once the longest items are gone.
        assert!(g.remove_relation("ab").is_ok());
        assert!(g.remove_entity("a", true).is_ok());
        assert_eq!(g.longest_text(), 900);
        // A graph loaded in bulk counts what it loads.
        let mut bulk = crate::graph::Bulk::default();
        assert!(bulk.document(document("doc")).is_ok());
        for (id, kind) in [("b", K::ArmedForce), ("m", K::Ministry)] {
            let e = Entity::new(id, kind, id, Source::new("doc", TEXT));
            assert!(bulk.entity(e).is_ok());
        }
        assert!(bulk.relation(supports).is_ok());
        let loaded = bulk.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.longest_text(), 500);
    }

    #[test]
    fn removes_and_replaces_keep_indices_and_invariants() {
        let mut g = graph(&[
            ("a", K::ArmedForce),
            ("b", K::ArmedForce),
            ("c", K::ArmedForce),
        ]);
        rel(&mut g, "ab", R::PartOf, "a", "b");
        rel(&mut g, "bc", R::PartOf, "b", "c");
        let c_ix = g.entity_ix("c");
        assert!(matches!(
            g.remove_entity("b", false),
            Err(GraphError::HasRelations { count: 2, .. })
        ));
        assert_eq!(g.relation_count(), 2);
        let removed = g.remove_entity("b", true).map(|(e, rs)| (e.id, rs.len()));
        assert_eq!(removed, Ok(("b".into(), 2)));
        assert_eq!((g.entity_count(), g.relation_count()), (2, 0));
        // Stable indices: the surviving entity keeps its index.
        assert_eq!(g.entity_ix("c"), c_ix);
        assert!(g.entity("b").is_none() && g.relation("ab").is_none());
        assert!(matches!(
            g.remove_relation("ab"),
            Err(GraphError::NotFound { .. })
        ));

        let mut renamed = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        renamed.name = "Alpha Force".into();
        assert_eq!(g.replace_entity(renamed.clone()), Ok(()));
        assert_eq!(g.entity("a").map(|e| e.name.as_str()), Some("Alpha Force"));
        assert!(g
            .search_keys(g.entity_ix("a").unwrap_or_default())
            .contains(&"alpha force".into()));
        renamed.kind = K::City;
        assert!(matches!(
            g.replace_entity(renamed),
            Err(GraphError::Immutable(_))
        ));

        rel(&mut g, "ac", R::PartOf, "a", "c");
        let mut r = g.relation("ac").cloned().unwrap_or_else(|| panic!("ac"));
        r.to = "a".into();
        assert!(matches!(
            g.replace_relation(r),
            Err(GraphError::Immutable(_))
        ));
    }
}
