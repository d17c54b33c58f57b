//! Ids merged into other entities: each stays reserved and resolves to the
//! entity it went into. The map is derived from the entities' own
//! `merged_ids`, kept in step by every add, replace and remove, so a load,
//! a replay and an undo rebuild it with the entities themselves.

use super::{Graph, GraphError};
use crate::model::Entity;
use compact_str::CompactString;
use petgraph::stable_graph::NodeIndex;

impl Graph {
    /// The id of the entity `id` was merged into, if it was.
    pub fn merged_into(&self, id: &str) -> Option<&str> {
        self.merged.get(id).map(CompactString::as_str)
    }

    /// The entity with this id or, for an id merged into another, that
    /// entity: what a look-up by id from outside answers.
    pub fn resolve_entity_ix(&self, id: &str) -> Option<NodeIndex> {
        self.entity_ix(id)
            .or_else(|| self.entity_ix(self.merged_into(id)?))
    }

    /// Refuses merged ids of `entity` that are taken, other than those
    /// `old` (the version it replaces) already held.
    pub(super) fn check_merged_ids(
        &self,
        entity: &Entity,
        old: Option<&Entity>,
    ) -> Result<(), GraphError> {
        let held = old.map_or(&[][..], Entity::merged_ids);
        for id in entity.merged_ids() {
            if !held.contains(id) {
                self.check_new_id(id)?;
            }
        }
        Ok(())
    }

    /// Points each merged id of the entity at `ix` at it.
    pub(super) fn note_merged(&mut self, ix: NodeIndex) {
        let Graph { inner, merged, .. } = self;
        let entity = &inner[ix];
        for id in entity.merged_ids() {
            merged.insert(id.clone(), entity.id.clone());
        }
    }

    /// Forgets the merged ids of `entity`.
    pub(super) fn forget_merged(&mut self, entity: &Entity) {
        for id in entity.merged_ids() {
            self.merged.remove(id);
        }
    }
}
