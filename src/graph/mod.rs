//! The typed property graph: entities on the nodes and relations on the
//! edges of a petgraph `StableDiGraph` (indices survive deletes), with
//! id-ordered indices for look-up by id, and the invariants every load and
//! write must keep:
//!
//! - ids are unique across documents, entities and relations, and the ids
//!   merged into entities stay reserved (`merged`);
//! - every relation joins two distinct entities the graph holds, of kinds
//!   its kind may join;
//! - every source names a document the graph holds, and its quote occurs
//!   in that document's text, whitespace aside (a bulk load trusts the
//!   store on this: each quote was checked when it was committed);
//! - the id orders hold every entity and relation, and the search index
//!   every entity's names (a bulk load indexes relation ids and names once,
//!   at its end).
//!
//! This module holds the graph and its look-ups; the rest is split by
//! concept: `error` (why an item is refused), `walk` (following relations
//! from an entity), `documents` (documents, their texts and the quotes
//! checked against them), `edit` (adding, replacing and removing one item),
//! `merged` (ids merged into other entities),
//! `undo` (taking back a write applied in place), `bulk` (loading a stored
//! graph at once), `facets` (relations filtered and ordered by their facts,
//! and the indexes that answer it) and `scores` (whole-graph scores cached per shape).

mod bulk;
mod documents;
mod edit;
mod error;
mod facets;
mod merged;
mod scores;
mod undo;
mod walk;

#[cfg(test)]
pub(crate) mod testing;

pub use bulk::Bulk;
pub use error::{GraphError, Refused};
pub use facets::{BadFilter, MoneyFacts, RelationFilter, RelationOrder, RelationOrderField};
pub use petgraph::stable_graph::{EdgeIndex as RelationIx, NodeIndex as EntityIx};
pub use scores::{ScoreStats, Scores};
pub use walk::{Direction, Step, Walk};

use crate::id_order::{IdOrder, Place};
use crate::model::{Document, Entity, Relation, TextDictionary};
use crate::search_index::SearchIndex;
use compact_str::CompactString;
use documents::FoldedText;
use facets::Facets;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use scores::ScoreCache;
use std::collections::BTreeMap;
use std::sync::Arc;
use undo::Undo;

/// petgraph's graph of entities and relations. A copy has room to grow
/// (see [`crate::room`]): the live graph's second copy is a clone, and
/// derived `Clone` would leave it full to capacity, so the first write
/// after start-up would move all of its slots.
#[derive(Debug, Default)]
struct Structure(StableDiGraph<Entity, Relation>);

impl Structure {
    /// An empty graph with room for this many items and more.
    fn with_room(entities: usize, relations: usize) -> Structure {
        Structure(StableDiGraph::with_capacity(
            crate::room::with_room(entities),
            crate::room::with_room(relations),
        ))
    }
}

impl Clone for Structure {
    fn clone(&self) -> Self {
        use petgraph::visit::{EdgeIndexable, NodeIndexable};
        // The bounds count vacant slots too, which the copy keeps.
        let mut copy = Structure::with_room(self.0.node_bound(), self.0.edge_bound());
        // Fills the allocations made above rather than making its own.
        copy.0.clone_from(&self.0);
        copy
    }
}

impl std::ops::Deref for Structure {
    type Target = StableDiGraph<Entity, Relation>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Structure {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// The graph: documents, entities and relations, always valid.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    inner: Structure,
    /// Every entity, ordered by id; as `relation_order`.
    entity_order: IdOrder<NodeIndex>,
    /// Every relation, ordered by id. The ids live in the relations
    /// themselves: a map keyed by a copy of each would cost more than the
    /// binary search over this saves.
    relation_order: IdOrder<EdgeIndex>,
    /// Shared with the sources that quote them, whose quotes are mostly
    /// places in these texts.
    documents: BTreeMap<CompactString, Arc<Document>>,
    /// The dictionary the documents' texts are packed with, trained when a
    /// large graph is loaded; documents added later are packed with it too.
    /// `None` in a graph too small for packing to pay.
    text_dictionary: Option<Arc<TextDictionary>>,
    /// The last document text folded for checking quotes: items usually
    /// come in runs that quote one document, and keeping every folded text
    /// would double the memory documents take.
    folded_text: FoldedText,
    /// Set only while [`Bulk`] loads items that were checked when they were
    /// committed: their quotes are then not searched for again, and the
    /// search index is built once, at the end, rather than entity by entity.
    bulk_loading: bool,
    /// Folded (lowercase, ASCII) name and aliases of each entity, indexed
    /// for search.
    search: SearchIndex,
    /// Relations by amount, fiscal year and date, and what each document
    /// evidences, kept in step with every edit.
    facets: Facets,
    /// Ids merged into other entities, each to the id of the entity it
    /// went into (see `merged`).
    merged: std::collections::HashMap<CompactString, CompactString>,
    /// Number of committed writes this graph reflects.
    version: u64,
    /// The bytes of the longest text any item added so far holds (see
    /// [`Graph::longest_text`]).
    longest_text: usize,
    /// Whole-graph scores, kept while the graph's structure stays as it
    /// was when they were computed.
    cache: ScoreCache,
    /// While a write is open: how to undo each change made so far, in the
    /// order made (see [`Graph::begin_undo`]).
    journal: Option<Vec<Undo>>,
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Graph::default()
    }

    /// The graph version: how many committed writes it reflects.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// At least the bytes of the longest text a reader can get from the
    /// graph: of every entity, relation and document added or replaced so
    /// far (see [`Entity::longest_text`]). Never less after a removal,
    /// which keeps it cheap and still a bound: the API uses it to bound an
    /// answer's size before computing it.
    pub fn longest_text(&self) -> usize {
        self.longest_text
    }

    /// Counts `len` into [`Graph::longest_text`].
    fn note_text(&mut self, len: usize) {
        self.longest_text = self.longest_text.max(len);
    }

    /// Sets the graph version (on a graph being prepared for commit or
    /// rebuilt from the store).
    pub fn set_version(&mut self, version: u64) {
        self.version = version;
    }

    /// Whether any node (entity, relation or document) has this id.
    pub fn id_taken(&self, id: &str) -> bool {
        self.entity_at_rank(id).is_ok()
            || self.relation_ix(id).is_some()
            || self.documents.contains_key(id)
            || self.merged.contains_key(id)
    }

    /// Refuses an id that a document, entity or relation already has,
    /// naming which.
    fn check_new_id(&self, id: &str) -> Result<(), GraphError> {
        let what = if self.entity_at_rank(id).is_ok() {
            "entity"
        } else if self.relation_ix(id).is_some() {
            "relation"
        } else if self.documents.contains_key(id) {
            "document"
        } else if self.merged.contains_key(id) {
            "merged entity"
        } else {
            return Ok(());
        };
        Err(GraphError::DuplicateId {
            what,
            id: id.to_owned(),
        })
    }

    /// Number of entities.
    pub fn entity_count(&self) -> usize {
        self.inner.node_count()
    }

    /// Number of relations.
    pub fn relation_count(&self) -> usize {
        self.inner.edge_count()
    }

    /// The underlying petgraph graph, for algorithms.
    pub fn petgraph(&self) -> &StableDiGraph<Entity, Relation> {
        &self.inner
    }

    /// The index of the entity with this id.
    pub fn entity_ix(&self, id: &str) -> Option<NodeIndex> {
        self.entity_at_rank(id)
            .ok()
            .and_then(|at| self.entity_order.get(at))
    }

    /// Where the entity with this id is in id order (`Err`: where it would
    /// go).
    fn entity_at_rank(&self, id: &str) -> Result<Place, Place> {
        self.entity_order
            .search(|ix| self.inner[ix].id.as_str().cmp(id))
    }

    /// The entity with this id.
    pub fn entity(&self, id: &str) -> Option<&Entity> {
        self.entity_ix(id).map(|ix| &self.inner[ix])
    }

    /// The entity at an index of this graph. Panics on a foreign index,
    /// which only a bug can produce; indices come from this graph.
    pub fn entity_at(&self, ix: NodeIndex) -> &Entity {
        &self.inner[ix]
    }

    /// The index of the relation with this id.
    pub fn relation_ix(&self, id: &str) -> Option<EdgeIndex> {
        self.relation_at_rank(id)
            .ok()
            .and_then(|at| self.relation_order.get(at))
    }

    /// Where the relation with this id is in id order (`Err`: where it
    /// would go).
    fn relation_at_rank(&self, id: &str) -> Result<Place, Place> {
        self.relation_order
            .search(|ix| self.inner[ix].id.as_str().cmp(id))
    }

    /// The relation with this id.
    pub fn relation(&self, id: &str) -> Option<&Relation> {
        self.relation_ix(id).map(|ix| &self.inner[ix])
    }

    /// The relation at an index of this graph.
    pub fn relation_at(&self, ix: EdgeIndex) -> &Relation {
        &self.inner[ix]
    }

    /// The two ends of a relation, `(from, to)`.
    pub fn ends(&self, ix: EdgeIndex) -> (NodeIndex, NodeIndex) {
        // Every EdgeIndex handed out refers to a live edge of this graph, and
        // a graph value never loses edges while borrowed.
        self.inner
            .edge_endpoints(ix)
            .unwrap_or((NodeIndex::end(), NodeIndex::end()))
    }

    /// All entities, ordered by id.
    pub fn entities(&self) -> impl ExactSizeIterator<Item = NodeIndex> + '_ {
        self.entity_order.iter()
    }

    /// All relations, ordered by id.
    pub fn relations(&self) -> impl ExactSizeIterator<Item = EdgeIndex> + '_ {
        self.relation_order.iter()
    }

    /// Folded search keys (name first, then aliases) of an entity.
    pub fn search_keys(&self, ix: NodeIndex) -> &[CompactString] {
        self.search.keys(ix)
    }

    /// The index of entity names and aliases that search uses.
    pub fn search_index(&self) -> &SearchIndex {
        &self.search
    }
}
