//! The typed property graph: entities on the nodes and relations on the
//! edges of a petgraph `StableDiGraph` (indices survive deletes), with
//! id-ordered indices for look-up by id, and the invariants every load and
//! write must keep.

use crate::id_order::{IdOrder, Place};
use crate::lock;
use crate::model::{
    normalize_whitespace, Document, EndId, Entity, EntityKind, Relation, RelationKind,
    TextDictionary,
};
use crate::search_index::SearchIndex;
use compact_str::CompactString;
use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use thiserror::Error;

pub use petgraph::stable_graph::{EdgeIndex as RelationIx, NodeIndex as EntityIx};

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

/// Why the graph refused an item.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    /// An item of the same sort already has this id.
    #[error("{what} id `{id}` already exists")]
    DuplicateId {
        /// What holds the id already: "entity", "relation" or "document".
        what: &'static str,
        /// The id.
        id: String,
    },
    /// A source names a document the graph does not hold.
    #[error("source names unknown document `{0}`")]
    UnknownDocument(String),
    /// A quote does not occur in its document's text.
    #[error("quote not found in document `{document}`: \"{quote}\"")]
    QuoteNotFound {
        /// The document id.
        document: String,
        /// The quote as given.
        quote: String,
    },
    /// A relation end names an entity the graph does not hold.
    #[error("relation end `{end}` names unknown entity `{id}`")]
    DanglingEnd {
        /// "from" or "to".
        end: &'static str,
        /// The missing id.
        id: String,
    },
    /// The relation kind may not join these entity kinds.
    #[error("a {kind} relation may not go from {from} to {to}")]
    KindNotAllowed {
        /// The relation kind.
        kind: RelationKind,
        /// Kind of the `from` entity.
        from: EntityKind,
        /// Kind of the `to` entity.
        to: EntityKind,
    },
    /// A relation joins an entity to itself.
    #[error("a relation may not join `{0}` to itself")]
    SelfLoop(String),
    /// No item has this id.
    #[error("no {what} with id `{id}`")]
    NotFound {
        /// "entity", "relation" or "document".
        what: &'static str,
        /// The id.
        id: String,
    },
    /// An entity still has relations and deleting it without cascade was asked.
    #[error(
        "entity `{id}` still has {count} relation(s); delete them first or pass cascade: true"
    )]
    HasRelations {
        /// The entity.
        id: String,
        /// How many relations it has.
        count: usize,
    },
    /// An update tried to change what may not change (kind, ends).
    #[error("{0}")]
    Immutable(String),
    /// A self-contained check of the item failed.
    #[error("{0}")]
    Invalid(String),
}

/// The graph: documents, entities and relations, always valid.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    inner: StableDiGraph<Entity, Relation>,
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
    /// Number of committed writes this graph reflects.
    version: u64,
    /// Whole-graph scores, kept while the graph's structure stays as it
    /// was when they were computed.
    cache: ScoreCache,
    /// While a write is open: how to undo each change made so far, in the
    /// order made (see [`Graph::begin_undo`]).
    journal: Option<Vec<Undo>>,
}

/// What puts back one change made to the graph while a write was open.
#[derive(Debug, Clone)]
enum Undo {
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

/// Scores of whole-graph analyses (PageRank, betweenness), computed at most
/// once per shape of the graph: the cache lives in the graph, and adding or
/// removing an entity or relation empties it, while changing the fields of
/// one (a name, an amount) keeps it, since no score reads them. A copy of
/// the graph begins with an empty one.
#[derive(Default)]
struct ScoreCache {
    /// One slot per key, locked while its scores are computed so that
    /// concurrent callers wait for one computation; a failed computation
    /// leaves it empty.
    entries: Mutex<HashMap<String, ScoreSlot>>,
}

/// Every entity with its score, best first (ties by id).
pub type Scores = Vec<(NodeIndex, f64)>;

/// The cached scores of one key, empty until computed.
type ScoreSlot = Arc<Mutex<Option<Arc<Scores>>>>;

/// How often cached scores were reused or computed, over all snapshots.
pub static SCORE_CACHE_HITS: AtomicU64 = AtomicU64::new(0);
/// How often scores had to be computed, over all snapshots.
pub static SCORE_CACHE_MISSES: AtomicU64 = AtomicU64::new(0);

impl Clone for ScoreCache {
    fn clone(&self) -> Self {
        // Rankings hold entity indices, which are this graph's own.
        ScoreCache::default()
    }
}

impl ScoreCache {
    /// Forgets every score: the graph's shape changed.
    fn forget(&mut self) {
        let entries = match self.entries.get_mut() {
            Ok(e) => e,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.clear();
    }
}

impl std::fmt::Debug for ScoreCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScoreCache")
    }
}

/// A one-entry memo of a document's whitespace-folded text. A clone starts
/// empty: it is only a shortcut.
#[derive(Default)]
struct FoldedText {
    last: Mutex<Option<(CompactString, Arc<str>)>>,
}

impl FoldedText {
    /// The folded text of `doc`, from the memo when it is the last one asked
    /// for.
    fn of(&self, doc: &Document) -> Arc<str> {
        let mut last = lock(&self.last);
        if let Some((id, text)) = last.as_ref() {
            if *id == doc.id {
                return text.clone();
            }
        }
        let text: Arc<str> = doc.text.with(normalize_whitespace).into();
        *last = Some((doc.id.clone(), text.clone()));
        text
    }
}

impl Clone for FoldedText {
    fn clone(&self) -> Self {
        FoldedText::default()
    }
}

impl std::fmt::Debug for FoldedText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FoldedText")
    }
}

/// Every entity's index with its name and aliases, in index order: what
/// [`SearchIndex::build`] takes.
fn entity_names(g: &Graph) -> Vec<(NodeIndex, Vec<String>)> {
    g.inner
        .node_indices()
        .map(|ix| {
            let e = &g.inner[ix];
            let names = std::iter::once(e.name.as_str())
                .chain(e.aliases.iter().map(String::as_str))
                .map(str::to_owned);
            (ix, names.collect())
        })
        .collect()
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
    }

    fn check_new_id(&self, id: &str) -> Result<(), GraphError> {
        let what = if self.entity_at_rank(id).is_ok() {
            "entity"
        } else if self.relation_ix(id).is_some() {
            "relation"
        } else if self.documents.contains_key(id) {
            "document"
        } else {
            return Ok(());
        };
        Err(GraphError::DuplicateId {
            what,
            id: id.to_owned(),
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
        let mut entity = entity;
        self.check_sources(&mut entity.sources)?;
        self.search.insert(ix, &entity);
        let old = std::mem::replace(&mut self.inner[ix], entity);
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
        let old = std::mem::replace(&mut self.inner[ix], relation);
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
        let removed = self.inner.remove_edge(ix).ok_or_else(not_found)?;
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
        self.cache.forget();
        self.record(|| Undo::RemovedEntity(entity.clone()));
        Ok((entity, removed))
    }

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
    fn record(&mut self, undo: impl FnOnce() -> Undo) {
        if let Some(journal) = &mut self.journal {
            journal.push(undo());
        }
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

    /// Adds a document; its id must be new and a slug.
    pub fn add_document(&mut self, mut doc: Document) -> Result<(), GraphError> {
        crate::model::validate_id(&doc.id).map_err(GraphError::Invalid)?;
        if doc.title.trim().is_empty() || doc.publisher.trim().is_empty() {
            return Err(GraphError::Invalid(
                "document title and publisher must not be empty".into(),
            ));
        }
        if doc.text.get().trim().is_empty() {
            return Err(GraphError::Invalid("document text is empty".into()));
        }
        self.check_new_id(&doc.id)?;
        if let Some(dictionary) = &self.text_dictionary {
            doc.text.pack(dictionary);
        }
        let id = doc.id.clone();
        self.documents.insert(doc.id.clone(), Arc::new(doc));
        self.record(|| Undo::AddedDocument(id));
        Ok(())
    }

    /// Adds a document another graph holds, sharing its text rather than
    /// copying it: how a change made to one copy of the graph is replayed
    /// on the other. Its id must be new here.
    pub fn add_shared_document(&mut self, doc: Arc<Document>) -> Result<(), GraphError> {
        self.check_new_id(&doc.id)?;
        let id = doc.id.clone();
        self.documents.insert(doc.id.clone(), doc);
        self.record(|| Undo::AddedDocument(id));
        Ok(())
    }

    /// The document with this id, shared.
    pub fn document_shared(&self, id: &str) -> Option<Arc<Document>> {
        self.documents.get(id).cloned()
    }

    /// Trains a dictionary on the documents' texts and packs them with it,
    /// when there are enough of them for that to pay; a no-op once done.
    /// Runs before any source is bound, while the graph alone holds its
    /// documents, so that they are packed in place.
    fn pack_texts(&mut self) {
        if self.text_dictionary.is_some() {
            return;
        }
        let started = std::time::Instant::now();
        let dictionary = {
            let texts: Vec<&str> = self
                .documents
                .values()
                .filter_map(|d| d.text.plain())
                .collect();
            TextDictionary::train(&texts)
        };
        let Some(dictionary) = dictionary else {
            return;
        };
        // A bulk load gets here after its first documents, a few
        // milliseconds of packing; later ones are packed as they come.
        for doc in self.documents.values_mut() {
            Arc::make_mut(doc).text.pack(&dictionary);
        }
        let (packed, bytes, held) = self
            .documents
            .values()
            .filter(|d| d.text.is_packed())
            .fold((0, 0, 0), |(n, bytes, held), d| {
                (n + 1, bytes + d.text.len(), held + d.text.held_len())
            });
        tracing::info!(
            documents = self.documents.len(),
            packed,
            text_bytes = bytes,
            packed_bytes = held,
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "text dictionary trained; the documents so far packed, every later one as it comes"
        );
        self.text_dictionary = Some(dictionary);
    }

    /// The dictionary the documents' texts are packed with, if they are.
    pub fn text_dictionary(&self) -> Option<&TextDictionary> {
        self.text_dictionary.as_deref()
    }

    /// Checks that every source's document exists and holds its quote,
    /// and binds the sources to the graph's documents.
    fn check_sources(&self, sources: &mut [crate::model::Source]) -> Result<(), GraphError> {
        for s in sources {
            let doc = self
                .documents
                .get(s.document())
                .ok_or_else(|| GraphError::UnknownDocument(s.document().to_owned()))?;
            let folded = self.folded_text.of(doc);
            let quote = normalize_whitespace(&s.quote());
            if quote.is_empty() || !folded.contains(quote.as_str()) {
                return Err(GraphError::QuoteNotFound {
                    document: s.document().to_owned(),
                    quote: s.quote().into_owned(),
                });
            }
            s.bind(doc, 0);
        }
        Ok(())
    }

    /// Adds an entity after checking it and its evidence.
    pub fn add_entity(&mut self, entity: Entity) -> Result<NodeIndex, GraphError> {
        entity.validate().map_err(GraphError::Invalid)?;
        self.check_new_id(&entity.id)?;
        let mut entity = entity;
        if !self.bulk_loading {
            self.check_sources(&mut entity.sources)?;
        }
        // check_new_id found no entity with this id.
        let at = self.entity_at_rank(&entity.id).unwrap_or_else(|at| at);
        let id = entity.id.clone();
        let ix = self.inner.add_node(entity);
        self.entity_order.insert(at, ix);
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
        let ix = self.inner.add_edge(from, to, relation);
        self.relation_order.insert(at, ix);
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

    /// All documents, ordered by id.
    pub fn documents(&self) -> impl ExactSizeIterator<Item = &Document> + '_ {
        self.documents.values().map(|d| &**d)
    }

    /// The document with this id.
    pub fn document(&self, id: &str) -> Option<&Document> {
        self.documents.get(id).map(|d| &**d)
    }

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

    /// The ranking cached under `key` for this version, computing them with
    /// `compute` the first time; concurrent callers wait for one computation.
    /// A computation that fails (runs out of budget) is not kept: the next
    /// caller tries again.
    pub fn cached_scores<E>(
        &self,
        key: &str,
        compute: impl FnOnce() -> Result<Scores, E>,
    ) -> Result<Arc<Scores>, E> {
        let cell = {
            let mut entries = lock(&self.cache.entries);
            entries.entry(key.to_owned()).or_default().clone()
        };
        let mut slot = lock(&cell);
        if let Some(scores) = slot.as_ref() {
            SCORE_CACHE_HITS.fetch_add(1, Ordering::Relaxed);
            return Ok(scores.clone());
        }
        SCORE_CACHE_MISSES.fetch_add(1, Ordering::Relaxed);
        let scores = Arc::new(compute()?);
        *slot = Some(scores.clone());
        Ok(scores)
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

/// An item that [`Bulk`] refused: its id and why.
pub type Refused = (String, GraphError);

/// Builds a graph from the items of a store, which were each checked in
/// full when they were committed: it trusts their quotes rather than
/// searching every document again, and takes relations in one pass with
/// storage sized once. It still checks everything that is cheap and that
/// the graph's structure depends on: each item's own rules, unique ids,
/// that every source's document and every relation's ends exist, no self
/// loops, and that each relation kind may join its ends' kinds.
///
/// Items come as the store gives them: documents, then entities, then
/// relations, each in id order.
#[derive(Debug)]
pub struct Bulk {
    graph: Graph,
    /// Entity ids by hash, built when the first relation comes: millions of
    /// end look-ups in random order cost seconds in the ordered map.
    /// Hashed with foldhash: the ids come from the store, not from clients,
    /// so a DoS-resistant hash buys nothing here.
    ends: HashMap<EndId, NodeIndex, foldhash::fast::RandomState>,
    /// Relations in the order they came, checked ascending by id: the
    /// graph's id order as it is.
    relations: Vec<EdgeIndex>,
    /// The document the previous item quoted, and where in its text that
    /// quote ended: items come in runs that quote one document in order
    /// (so a packed text is unpacked about once, by [`crate::model::Text::with`]).
    last_quote: Option<(Arc<Document>, usize)>,
    /// Builds the search index from the entities' names on a thread of its
    /// own while relations load, which need nothing from it.
    indexer: Option<std::thread::JoinHandle<SearchIndex>>,
    /// After this many documents, the dictionary for their texts is trained
    /// on them, and every later document is packed as it comes, while the
    /// store's reader decodes the next: packing all at the end would hold
    /// up the load, the reader waiting, for a second per million relations.
    train_after: usize,
}

/// Documents a bulk load trains its text dictionary on, at most (as many
/// as the dictionary samples).
const TRAIN_AFTER_DOCUMENTS: usize = 2048;

impl Default for Bulk {
    fn default() -> Self {
        Bulk::with_capacity(0, 0)
    }
}

impl Bulk {
    /// An empty graph to load into, with room for this many items.
    pub fn with_capacity(entities: usize, relations: usize) -> Self {
        let mut graph = Graph::new();
        graph.inner = StableDiGraph::with_capacity(entities, relations);
        graph.bulk_loading = true;
        Bulk {
            graph,
            ends: HashMap::default(),
            relations: Vec::with_capacity(relations),
            last_quote: None,
            indexer: None,
            train_after: TRAIN_AFTER_DOCUMENTS,
        }
    }

    /// Adds a document, checked as [`Graph::add_document`] does.
    pub fn document(&mut self, doc: Document) -> Result<(), Refused> {
        let id = doc.id.to_string();
        self.graph.add_document(doc).map_err(|e| (id, e))?;
        if self.graph.documents.len() == self.train_after {
            self.graph.pack_texts();
        }
        Ok(())
    }

    /// Adds an entity, checked as [`Graph::add_entity`] does but for quotes.
    pub fn entity(&mut self, mut entity: Entity) -> Result<(), Refused> {
        self.graph.pack_texts();
        let id = entity.id.to_string();
        entity.sources.shrink_to_fit();
        entity.aliases.shrink_to_fit();
        self.share_documents(&mut entity.sources)
            .map_err(|e| (id.clone(), e))?;
        self.graph
            .add_entity(entity)
            .map(|_| ())
            .map_err(|e| (id, e))
    }

    /// Adds a relation; relations must come in ascending id order, after
    /// every entity.
    pub fn relation(&mut self, mut relation: Relation) -> Result<(), Refused> {
        if self.ends.len() != self.graph.entity_order.len() {
            self.graph.pack_texts();
            let g = &self.graph;
            self.ends = g
                .entity_order
                .iter()
                .map(|ix| (EndId::from(g.inner[ix].id.as_str()), ix))
                .collect();
            if self.indexer.is_none() {
                let names = entity_names(&self.graph);
                // Should the thread not start, `finish` builds the index.
                self.indexer = std::thread::Builder::new()
                    .name("search-index".into())
                    .spawn(move || SearchIndex::build(names))
                    .ok();
            }
        }
        match self.check(&mut relation) {
            Ok((from, to)) => {
                let ix = self.graph.inner.add_edge(from, to, relation);
                self.relations.push(ix);
                Ok(())
            }
            Err(e) => Err((relation.id.into(), e)),
        }
    }

    /// The ends of a relation about to be added, if it may be; its end ids
    /// and document ids are swapped for shared ones.
    fn check(&mut self, relation: &mut Relation) -> Result<(NodeIndex, NodeIndex), GraphError> {
        relation.validate().map_err(GraphError::Invalid)?;
        if self
            .relations
            .last()
            .is_some_and(|last| self.graph.inner[*last].id >= relation.id)
        {
            return Err(GraphError::DuplicateId {
                what: "relation",
                id: relation.id.to_string(),
            });
        }
        let end = |end: &'static str, id: &EndId| {
            self.ends
                .get_key_value(id)
                .map(|(shared, ix)| (shared.clone(), *ix))
                .ok_or_else(|| GraphError::DanglingEnd {
                    end,
                    id: id.to_string(),
                })
        };
        let (from_id, from) = end("from", &relation.from)?;
        let (to_id, to) = end("to", &relation.to)?;
        if from == to {
            return Err(GraphError::SelfLoop(relation.from.to_string()));
        }
        let (fk, tk) = (self.graph.inner[from].kind, self.graph.inner[to].kind);
        if !relation.kind.allows(fk, tk) {
            return Err(GraphError::KindNotAllowed {
                kind: relation.kind,
                from: fk,
                to: tk,
            });
        }
        self.share_documents(&mut relation.sources)?;
        shrink(relation);
        relation.from = from_id;
        relation.to = to_id;
        Ok((from, to))
    }

    /// Checks that every source's document exists and binds the sources
    /// to the graph's documents, looking for each quote first where the
    /// previous one of the same document ended.
    fn share_documents(&mut self, sources: &mut [crate::model::Source]) -> Result<(), GraphError> {
        for s in sources {
            let (doc, hint) = match self.last_quote.take() {
                Some((doc, end)) if doc.id == s.document() => (doc, end),
                _ => {
                    let doc = self
                        .graph
                        .documents
                        .get(s.document())
                        .ok_or_else(|| GraphError::UnknownDocument(s.document().to_owned()))?;
                    (doc.clone(), 0)
                }
            };
            let end = s.bind(&doc, hint).unwrap_or(hint);
            self.last_quote = Some((doc, end));
        }
        Ok(())
    }

    /// The graph, once its relation ids are indexed and checked unique
    /// among all ids.
    pub fn finish(self) -> Result<Graph, GraphError> {
        let mut graph = self.graph;
        graph.pack_texts();
        graph.bulk_loading = false;
        let built = self.indexer.and_then(|thread| thread.join().ok());
        graph.search = built.unwrap_or_else(|| SearchIndex::build(entity_names(&graph)));
        graph.relation_order = self.relations.into_iter().collect();
        let relation_ids = || {
            graph
                .relation_order
                .iter()
                .map(|ix| graph.inner[ix].id.as_str())
        };
        for (what, other) in [
            (
                "entity",
                first_common(
                    relation_ids(),
                    graph
                        .entity_order
                        .iter()
                        .map(|ix| graph.inner[ix].id.as_str()),
                ),
            ),
            (
                "document",
                first_common(relation_ids(), graph.documents.keys().map(|k| k.as_str())),
            ),
        ] {
            if let Some(id) = other {
                return Err(GraphError::DuplicateId {
                    what,
                    id: id.to_owned(),
                });
            }
        }
        Ok(graph)
    }
}

/// Drops the spare room of a relation's evidence list: a deserialized list
/// of one may have been put on the heap with room for more, where it
/// belongs inline.
fn shrink(relation: &mut Relation) {
    relation.sources.shrink_to_fit();
}

/// The first string in both ascending sequences, found in one merge pass.
fn first_common<'a>(
    a: impl Iterator<Item = &'a str>,
    b: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let (mut a, mut b) = (a.peekable(), b.peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        match x.cmp(y) {
            std::cmp::Ordering::Less => {
                a.next();
            }
            std::cmp::Ordering::Greater => {
                b.next();
            }
            std::cmp::Ordering::Equal => return Some(x),
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small hand-made graphs for the unit tests of the analyses.
    use super::*;
    use crate::model::Source;

    /// The one document every test item quotes.
    pub const TEXT: &str = "evidence";

    fn src() -> Source {
        Source::new("doc", TEXT)
    }

    /// A graph with entities of the given ids and kinds.
    pub fn graph(entities: &[(&str, EntityKind)]) -> Graph {
        let mut g = Graph::new();
        let doc = Document {
            id: "doc".into(),
            title: "t".into(),
            publisher: "p".into(),
            published_on: None,
            dateline: None,
            text: TEXT.into(),
        };
        let _ = g.add_document(doc);
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
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::model::Source;
    use EntityKind as K;
    use RelationKind as R;

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

    #[test]
    fn rankings_survive_changes_of_fields_but_not_of_shape() {
        let mut g = graph(&[("a", K::ArmedForce), ("b", K::ArmedForce)]);
        let computed = std::cell::Cell::new(0);
        let rank = |g: &Graph| {
            let scores = g.cached_scores("test", || {
                computed.set(computed.get() + 1);
                Ok::<Scores, ()>(Vec::new())
            });
            assert!(scores.is_ok());
        };
        rank(&g);
        let mut renamed = g.entity("a").cloned().unwrap_or_else(|| panic!("a"));
        renamed.name = "Alpha".into();
        assert_eq!(g.replace_entity(renamed), Ok(()));
        rank(&g);
        assert_eq!(computed.get(), 1, "a rename keeps the ranking");
        rel(&mut g, "ab", R::PartOf, "a", "b");
        rank(&g);
        assert_eq!(computed.get(), 2, "a new relation drops it");
        assert!(g.remove_relation("ab").is_ok());
        rank(&g);
        assert_eq!(computed.get(), 3, "so does a removed one");
    }

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

    #[test]
    fn bulk_trusts_quotes_but_checks_structure() {
        let doc = Document {
            id: "doc".into(),
            title: "t".into(),
            publisher: "p".into(),
            published_on: None,
            dateline: None,
            text: TEXT.into(),
        };
        let bulk = |relations: &[(&str, &str, &str)]| {
            let mut b = Bulk::with_capacity(2, relations.len());
            b.document(doc.clone())?;
            let unquoted = Source::new("doc", "not in the text");
            b.entity(Entity::new("a", K::ArmedForce, "A", unquoted))?;
            b.entity(Entity::new("b", K::ArmedForce, "B", source()))?;
            for (id, from, to) in relations {
                b.relation(Relation::new(id, R::PartOf, from, to, source()))?;
            }
            b.finish().map_err(|e| (String::new(), e))
        };
        let g = bulk(&[("r1", "a", "b"), ("r2", "b", "a")]).unwrap_or_default();
        assert_eq!((g.entity_count(), g.relation_count()), (2, 2));
        // The search index, built at the end, holds every entity, whether
        // relations came (and it was built apart) or not.
        for g in [&g, &bulk(&[]).unwrap_or_default()] {
            assert_eq!(g.search_keys(g.entity_ix("b").unwrap_or_default()), ["b"]);
            assert_eq!(g.search_index().find("a").len(), 1);
        }
        assert_eq!(g.relations().collect::<Vec<_>>().len(), 2);
        assert!(g.relation("r2").is_some_and(|r| &*r.from == "b"));
        // Ends and documents are shared, not copied.
        let (r1, r2) = (g.relation("r1"), g.relation("r2"));
        assert!(r1.zip(r2).is_some_and(|(r1, r2)| r1.from.ptr_eq(&r2.to)
            && r1.sources[0].same_document(&r2.sources[0])
            && r1.sources[0].quote_in_text()));
        let refused = |rs: &[(&str, &str, &str)]| bulk(rs).err().map(|(_, e)| e);
        assert!(matches!(
            refused(&[("r1", "a", "zz")]),
            Some(GraphError::DanglingEnd { end: "to", .. })
        ));
        assert!(matches!(
            refused(&[("r2", "a", "b"), ("r1", "b", "a")]),
            Some(GraphError::DuplicateId { .. })
        ));
        assert!(matches!(
            refused(&[("a", "a", "b")]),
            Some(GraphError::DuplicateId { what: "entity", .. })
        ));
        assert!(matches!(
            refused(&[("r1", "a", "a")]),
            Some(GraphError::SelfLoop(_))
        ));
    }
    #[test]
    fn a_large_graph_holds_its_texts_packed_and_reads_them_back() {
        let mut data = crate::generate::generate(&crate::generate::Spec::with_degree(2000, 5, 7));
        data.documents.sort_by(|a, b| a.id.cmp(&b.id));
        data.entities.sort_by(|a, b| a.id.cmp(&b.id));
        data.relations.sort_by(|a, b| a.id.cmp(&b.id));
        let load = |train_after: usize| -> Result<Graph, Refused> {
            let mut b = Bulk::with_capacity(data.entities.len(), data.relations.len());
            b.train_after = train_after;
            for d in &data.documents {
                b.document(d.clone())?;
            }
            // Trained before the first entity only when told to train early.
            let early = train_after < data.documents.len();
            assert_eq!(b.graph.text_dictionary.is_some(), early);
            for e in &data.entities {
                b.entity(e.clone())?;
            }
            for r in &data.relations {
                b.relation(r.clone())?;
            }
            b.finish().map_err(|e| (String::new(), e))
        };
        // Trained once every document has come (too few here to train
        // before), or on the first 400 with the rest packed as they come.
        assert!(data.documents.len() < TRAIN_AFTER_DOCUMENTS);
        let loads = [TRAIN_AFTER_DOCUMENTS, 400].map(|n| match load(n) {
            Ok(g) => g,
            Err((id, e)) => panic!("{id}: {e}"),
        });
        for g in &loads {
            assert!(g.text_dictionary().is_some());
            for d in &data.documents {
                let held = g
                    .document(&d.id)
                    .map(|h| (h.text.is_packed(), h.text.get() == d.text.get()));
                assert_eq!(held, Some((true, true)), "{}", d.id);
            }
            for r in &data.relations {
                let held = g.relation(&r.id).map(|h| &h.sources[0]);
                assert!(held.is_some_and(|s| s.quote_in_text() && s == &r.sources[0]));
            }
        }
        let [_, mut g] = loads;
        // A document added later is packed with the same dictionary, and a
        // relation quoting it is checked against its words.
        let quoted = data.relations[0].sources[0].document();
        let found = data.documents.iter().find(|d| d.id == quoted).cloned();
        let mut doc = found.unwrap_or_else(|| panic!("{quoted}"));
        doc.id = "later".into();
        let quote = data.relations[0].sources[0].quote().into_owned();
        assert_eq!(g.add_document(doc), Ok(()));
        assert!(g.document("later").is_some_and(|d| d.text.is_packed()));
        let quoting = |id: &str, quote: &str| {
            let mut r = data.relations[0].clone();
            r.id = id.into();
            r.sources = vec![Source::new("later", quote)].into();
            r
        };
        assert!(g.add_relation(quoting("r-later", &quote)).is_ok());
        assert!(g
            .relation("r-later")
            .is_some_and(|r| r.sources[0].quote_in_text() && r.sources[0].quote() == quote));
        assert!(matches!(
            g.add_relation(quoting("r-none", "not in it")),
            Err(GraphError::QuoteNotFound { .. })
        ));
    }
}
