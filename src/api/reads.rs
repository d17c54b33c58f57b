//! What a query read, so that a response kept for later is dropped only by
//! the writes that can change it.
//!
//! A resolver records what its answer depends on: an entity whose fields or
//! relations it read, an id it looked up (found or not), a name search, or
//! (the default of every root field not listed below) the whole graph. The
//! HTTP layer attaches a [`Reads`] to queries whose response it may keep;
//! without one, recording costs a failed look-up and nothing else.
//!
//! Why entity-level recording is enough: every write names the entities it
//! touched (the entity itself, or both ends of a relation, as they were for
//! a deleted one), and a field of an entity reads only that entity and the
//! relations at its ends. What reads further (a ranking, a path, funding
//! flows along several hops, a list of everything) records the whole graph.

use crate::edit::Edit;
use crate::graph::Graph;
use crate::live::Committed;
use crate::model::{fold, EntityKind};
use async_graphql::Context;
use compact_str::CompactString;
use parking_lot::Mutex;
use petgraph::stable_graph::NodeIndex;
use std::collections::HashSet;
use std::sync::Arc;

/// What one request's resolvers read; attached to the request as
/// `Arc<Reads>`.
#[derive(Default)]
pub struct Reads(Mutex<Recorded>);

#[derive(Default)]
struct Recorded {
    whole_graph: bool,
    entities: Vec<NodeIndex>,
    ids: Vec<CompactString>,
    searches: Vec<Search>,
}

/// A name search a response depends on: the folded query and the kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    folded: String,
    kind: Option<EntityKind>,
}

impl Search {
    /// Whether the entity at `ix` of `g` would be among this search's hits.
    pub fn matches(&self, g: &Graph, ix: NodeIndex) -> bool {
        self.kind.is_none_or(|k| g.entity_at(ix).kind == k)
            && (self.folded.is_empty()
                || g.search_keys(ix)
                    .iter()
                    .any(|key| key.contains(self.folded.as_str())))
    }
}

/// What a kept response depends on, with entities named by id so that it
/// holds on every later version.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Dependencies {
    /// Any write may change it.
    pub whole_graph: bool,
    /// Entity, relation and document ids it read or looked up.
    pub ids: HashSet<CompactString>,
    /// Name searches whose hits it holds.
    pub searches: Vec<Search>,
}

impl Reads {
    fn with(ctx: &Context<'_>, f: impl FnOnce(&mut Recorded)) {
        if let Some(reads) = ctx.data_opt::<Arc<Reads>>() {
            f(&mut reads.0.lock());
        }
    }

    /// Records that the answer depends on anything in the graph.
    pub fn whole_graph(ctx: &Context<'_>) {
        Self::with(ctx, |r| r.whole_graph = true);
    }

    /// Records that the answer read the fields or relations of entity `ix`.
    pub fn entity(ctx: &Context<'_>, ix: NodeIndex) {
        Self::with(ctx, |r| r.entities.push(ix));
    }

    /// Records that the answer read every entity of `ixs`.
    pub fn entities(ctx: &Context<'_>, ixs: impl IntoIterator<Item = NodeIndex>) {
        Self::with(ctx, |r| r.entities.extend(ixs));
    }

    /// Records a look-up of `id`, which may have found nothing.
    pub fn id(ctx: &Context<'_>, id: &str) {
        Self::with(ctx, |r| r.ids.push(id.into()));
    }

    /// Records that the answer holds the hits of a name search.
    pub fn search(ctx: &Context<'_>, query: &str, kind: Option<EntityKind>) {
        let search = Search {
            folded: fold(query),
            kind,
        };
        Self::with(ctx, |r| r.searches.push(search));
    }

    /// What was recorded, with the entities of snapshot `g` named by id.
    pub fn dependencies(&self, g: &Graph) -> Dependencies {
        let recorded = self.0.lock();
        if recorded.whole_graph {
            return Dependencies {
                whole_graph: true,
                ..Dependencies::default()
            };
        }
        let mut ids: HashSet<CompactString> = recorded.ids.iter().cloned().collect();
        let mut entities = recorded.entities.clone();
        entities.sort_unstable();
        entities.dedup();
        ids.extend(entities.into_iter().map(|ix| g.entity_at(ix).id.clone()));
        let mut searches = recorded.searches.clone();
        searches.dedup();
        Dependencies {
            whole_graph: false,
            ids,
            searches,
        }
    }
}

impl Dependencies {
    /// Whether the write `c` may have changed an answer with these
    /// dependencies; `g` is a snapshot at `c`'s version or later.
    ///
    /// A created entity changes a search only if it would be a hit; the
    /// entity is judged as `g` holds it, and any later change to it that
    /// `g` includes is itself an update or a delete, which changes every
    /// search: whether the old name matched is not known here.
    pub fn changed_by(&self, c: &Committed, g: &Graph) -> bool {
        if self.whole_graph {
            return true;
        }
        c.edits.iter().enumerate().any(|(i, edit)| {
            self.ids.contains(edit.id())
                // An edit whose touched entities are not known may have
                // touched anything read.
                || c.touched
                    .get(i)
                    .is_none_or(|ends| ends.iter().any(|e| self.ids.contains(e.as_str())))
                || (!self.searches.is_empty()
                    && match edit {
                        Edit::EntityCreated(id) => g
                            .entity_ix(id)
                            .is_none_or(|ix| self.searches.iter().any(|s| s.matches(g, ix))),
                        Edit::EntityUpdated(_) | Edit::EntityDeleted(_) => true,
                        _ => false,
                    })
        })
    }
}
