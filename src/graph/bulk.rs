//! Loading a whole graph at once from a store's items, which were checked
//! in full when they were committed: quotes are trusted, ends are looked up
//! by hash, relation ids are indexed once at the end, and the search index
//! is built on a thread of its own while relations load.

use super::edit::shrink;
use super::{Graph, GraphError, Refused, Structure};
use crate::model::{Document, EndId, Entity, Relation, Source};
use crate::search_index::SearchIndex;
use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use std::collections::HashMap;
use std::sync::Arc;

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
        graph.inner = Structure::with_room(entities, relations);
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
                self.graph.note_text(relation.longest_text());
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
    fn share_documents(&mut self, sources: &mut [Source]) -> Result<(), GraphError> {
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
        // Entities were indexed as they came; relations at once, here.
        let mut facets = std::mem::take(&mut graph.facets);
        facets.insert_relations(&graph);
        graph.facets = facets;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::testing::*;
    use crate::model::{EntityKind as K, RelationKind as R};

    #[test]
    fn bulk_trusts_quotes_but_checks_structure() {
        let doc = document("doc");
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

    /// A generated dataset of `entities`, its items in id order, as a
    /// store hands them to a load.
    fn generated_in_id_order(entities: usize) -> crate::dataset::Dataset {
        let mut data =
            crate::synthetic::generate(&crate::synthetic::Spec::with_degree(entities, 5, 7));
        data.documents.sort_by(|a, b| a.id.cmp(&b.id));
        data.entities.sort_by(|a, b| a.id.cmp(&b.id));
        data.relations.sort_by(|a, b| a.id.cmp(&b.id));
        data
    }

    #[test]
    fn a_loaded_graph_and_its_copies_have_room_to_grow() {
        let data = generated_in_id_order(3000);
        let mut b = Bulk::with_capacity(data.entities.len(), data.relations.len());
        for d in data.all_documents() {
            assert!(b.document(d.clone()).is_ok());
        }
        for e in &data.entities {
            assert!(b.entity(e.clone()).is_ok());
        }
        for r in &data.relations {
            assert!(b.relation(r.clone()).is_ok());
        }
        let g = b.finish().unwrap_or_default();
        let (entities, relations) = (g.entity_count(), g.relation_count());
        assert_eq!((entities, relations), (3000, data.relations.len()));
        let room = (
            crate::room::with_room(entities),
            crate::room::with_room(relations),
        );
        let mut copy = g.clone();
        for g in [&g, &copy] {
            let (nodes, edges) = g.petgraph().capacity();
            assert!(nodes >= room.0 && edges >= room.1, "{:?}", (nodes, edges));
            assert!(g.search_index().spare_keys() >= room.0 - entities);
        }
        // A copy is the same graph, and growing it moves nothing.
        let whole = crate::dataset::Dataset::of_graph;
        assert_eq!(whole(&copy), whole(&g));
        let name = crate::model::fold(&g.entity_at(g.entities().nth(7).unwrap_or_default()).name);
        assert!(!g.search_index().find(&name).is_empty());
        assert_eq!(
            copy.search_index().find(&name),
            g.search_index().find(&name)
        );
        let before = copy.petgraph().capacity();
        let e = Entity::new(
            "zz-new",
            K::ArmedForce,
            "Zz New",
            data.entities[0].sources[0].clone(),
        );
        assert!(copy.add_entity(e).is_ok());
        assert_eq!(copy.petgraph().capacity(), before);
        assert_eq!(copy.entity_count(), g.entity_count() + 1);
    }

    #[test]
    fn a_large_graph_holds_its_texts_packed_and_reads_them_back() {
        let data = generated_in_id_order(2000);
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
