//! The live graph: the current snapshot that requests read, and the one
//! path by which writes reach it: applied to a copy, committed durably to
//! the store, and only then published and announced, in commit order.

use crate::dataset::Dataset;
use crate::edit::{self, Edit};
use crate::graph::{Bulk, Graph, GraphError};
use crate::store::{Change, Item, Sink, Store, StoreError};
use std::ops::ControlFlow;
use std::sync::{Arc, RwLock};
use thiserror::Error;
use tokio::sync::{broadcast, Mutex};

/// A write that was committed: its version, what it changed, and the graph
/// as it stands after it.
#[derive(Debug)]
pub struct Committed {
    /// The graph version this write produced.
    pub version: u64,
    /// What it changed, in order.
    pub edits: Vec<Edit>,
    /// The graph after it.
    pub graph: Arc<Graph>,
    /// The graph before it (where deleted items can still be read).
    pub previous: Arc<Graph>,
}

/// Why a write was not committed. The graph and the store are unchanged.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The graph refused it.
    #[error(transparent)]
    Refused(#[from] GraphError),
    /// The store could not commit it.
    #[error("the store could not commit the write: {0}")]
    Store(#[from] StoreError),
    /// The write task ended abnormally.
    #[error("the write did not complete: {0}")]
    Aborted(String),
}

/// Why the service could not start.
#[derive(Debug, Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored items do not form a valid graph.
    #[error("stored {item} is invalid: {error}")]
    Invalid {
        /// Which item.
        item: String,
        /// What is wrong.
        error: GraphError,
    },
    /// The seed data was refused.
    #[error("seed data refused: {item}: {error}")]
    Seed {
        /// Which item.
        item: String,
        /// What is wrong.
        error: GraphError,
    },
}

/// The live graph and its store.
pub struct GraphService {
    current: RwLock<Arc<Graph>>,
    writer: Mutex<()>,
    store: Arc<dyn Store>,
    events: broadcast::Sender<Arc<Committed>>,
}

/// Subscribers that fall this far behind miss events and are told so.
const EVENT_BUFFER: usize = 1024;

impl GraphService {
    /// Rebuilds the graph from the store. An empty store is first seeded
    /// with `seed` (committed as version 1), so that the built-in dataset is
    /// loaded exactly once.
    pub async fn open(
        store: Arc<dyn Store>,
        seed: Vec<Dataset>,
    ) -> Result<GraphService, OpenError> {
        let started = std::time::Instant::now();
        let mut sink = Rebuild::default();
        let version = store.load_into(&mut sink).await?;
        if let Some(error) = sink.error {
            return Err(error);
        }
        let mut graph = sink.bulk.finish().map_err(|error| OpenError::Invalid {
            item: "relation ids".into(),
            error,
        })?;
        tracing::info!(
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "graph rebuilt from the store"
        );
        let empty = graph.documents().len() == 0
            && graph.entity_count() == 0
            && graph.relation_count() == 0;
        if empty && !seed.is_empty() {
            let mut g = Graph::new();
            let mut edits = Vec::new();
            for data in seed {
                let (_, mut e) = edit::ingest_dataset(&mut g, data)
                    .map_err(|(item, error)| OpenError::Seed { item, error })?;
                edits.append(&mut e);
            }
            let version = version + 1;
            g.set_version(version);
            store.commit(version, &changes(&g, &edits)?).await?;
            graph = g;
        } else {
            graph.set_version(version);
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Ok(GraphService {
            current: RwLock::new(Arc::new(graph)),
            writer: Mutex::new(()),
            store,
            events,
        })
    }

    /// A service over `graph` as it is, whose writes go to a fresh
    /// in-memory store: for tests and throwaway use, nothing is kept.
    pub fn in_memory(graph: Graph) -> GraphService {
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        GraphService {
            current: RwLock::new(Arc::new(graph)),
            writer: Mutex::new(()),
            store: Arc::new(crate::store::MemoryStore::new()),
            events,
        }
    }

    /// The current snapshot; it never changes under its holder.
    pub fn snapshot(&self) -> Arc<Graph> {
        match self.current.read() {
            Ok(g) => g.clone(),
            // The lock only guards a pointer swap, which cannot panic midway.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Every write committed from now on, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.events.subscribe()
    }

    /// Applies `f` to a copy of the graph, commits its edits durably, then
    /// publishes the new snapshot and announces it. Runs on its own task, so
    /// a caller that goes away cannot leave a write committed but
    /// unpublished.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<(T, Arc<Committed>), WriteError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Graph) -> Result<(T, Vec<Edit>), GraphError> + Send + 'static,
    {
        let this = self.clone();
        tokio::spawn(async move { this.write_now(f).await })
            .await
            .map_err(|e| WriteError::Aborted(e.to_string()))?
    }

    async fn write_now<T, F>(&self, f: F) -> Result<(T, Arc<Committed>), WriteError>
    where
        F: FnOnce(&mut Graph) -> Result<(T, Vec<Edit>), GraphError>,
    {
        let _writer = self.writer.lock().await;
        let base = self.snapshot();
        let mut next = (*base).clone();
        let (out, edits) = f(&mut next)?;
        let version = base.version() + 1;
        next.set_version(version);
        let changes = changes(&next, &edits).map_err(|e| WriteError::Aborted(e.to_string()))?;
        self.store.commit(version, &changes).await?;
        let graph = Arc::new(next);
        match self.current.write() {
            Ok(mut g) => *g = graph.clone(),
            Err(poisoned) => *poisoned.into_inner() = graph.clone(),
        }
        let committed = Arc::new(Committed {
            version,
            edits,
            graph,
            previous: base,
        });
        // No subscriber is not an error.
        let _ = self.events.send(committed.clone());
        Ok((out, committed))
    }
}

/// The store changes that persist `edits`, read from the graph after them.
fn changes(g: &Graph, edits: &[Edit]) -> Result<Vec<Change>, OpenError> {
    let missing = |what: &str, id: &str| OpenError::Invalid {
        item: format!("{what} `{id}`"),
        error: GraphError::NotFound {
            what: "item",
            id: id.to_owned(),
        },
    };
    edits
        .iter()
        .map(|e| {
            Ok(match e {
                Edit::DocumentCreated(id) => Change::PutDocument(
                    g.document(id)
                        .cloned()
                        .ok_or_else(|| missing("document", id))?,
                ),
                Edit::EntityCreated(id) | Edit::EntityUpdated(id) => {
                    Change::PutEntity(g.entity(id).cloned().ok_or_else(|| missing("entity", id))?)
                }
                Edit::RelationCreated(id) | Edit::RelationUpdated(id) => Change::PutRelation(
                    g.relation(id)
                        .cloned()
                        .ok_or_else(|| missing("relation", id))?,
                ),
                Edit::EntityDeleted(id) => Change::DeleteEntity(id.clone()),
                Edit::RelationDeleted(id) => Change::DeleteRelation(id.clone()),
            })
        })
        .collect()
}

/// Builds the graph from stored items as the store hands them over, and
/// keeps the first refusal.
#[derive(Default)]
struct Rebuild {
    bulk: Bulk,
    error: Option<OpenError>,
}

impl Sink for Rebuild {
    fn expect(&mut self, _documents: usize, entities: usize, relations: usize) {
        self.bulk = Bulk::with_capacity(entities, relations);
    }

    fn item(&mut self, item: Item) -> ControlFlow<()> {
        let (what, result) = match item {
            Item::Document(d) => ("document", self.bulk.document(d)),
            Item::Entity(e) => ("entity", self.bulk.entity(e)),
            Item::Relation(r) => ("relation", self.bulk.relation(r)),
        };
        match result {
            Ok(()) => ControlFlow::Continue(()),
            Err((id, error)) => {
                self.error = Some(OpenError::Invalid {
                    item: format!("{what} `{id}`"),
                    error,
                });
                ControlFlow::Break(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, EntityKind, Source};
    use crate::store::MemoryStore;

    async fn service(store: Arc<dyn Store>) -> Arc<GraphService> {
        let seed = vec![Dataset::builtin().unwrap_or_else(|e| panic!("{e}"))];
        Arc::new(
            GraphService::open(store, seed)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    fn asayish_unit() -> Entity {
        let source = Source::new(
            "k24-peshmerga-us-iraq-talks",
            "including the Asayish and Peshmerga",
        );
        Entity::new("", EntityKind::SecurityService, "Asayish Unit", source)
    }

    #[tokio::test]
    async fn seeds_once_and_rebuilds_from_the_store() {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let svc = service(store.clone()).await;
        assert_eq!(svc.snapshot().version(), 1);
        let before = svc.snapshot().entity_count();
        let r = svc
            .write(|g| edit::create_entity(g, None, asayish_unit()))
            .await;
        assert!(r.is_ok());
        let again = service(store).await;
        assert_eq!(again.snapshot().version(), 2);
        assert_eq!(again.snapshot().entity_count(), before + 1);
        assert!(again.snapshot().entity("asayish-unit").is_some());
        // The search index is built apart while the relations load.
        let rebuilt = again.snapshot();
        let found = |q: &str| -> Vec<String> {
            crate::analysis::search(&rebuilt, q, None)
                .iter()
                .map(|n| rebuilt.entity_at(*n).id.to_string())
                .collect()
        };
        assert_eq!(found("asayish un"), ["asayish-unit"]);
        assert_eq!(found("CTEF").first().map(String::as_str), Some("ctef"));
    }

    #[tokio::test]
    async fn refused_write_changes_nothing_and_snapshots_stay_put() {
        let svc = service(Arc::new(MemoryStore::new())).await;
        let old = svc.snapshot();
        let mut events = svc.subscribe();
        let refused = svc
            .write(|g| edit::create_entity(g, Some("ctef".into()), asayish_unit()))
            .await;
        assert!(matches!(
            refused,
            Err(WriteError::Refused(GraphError::DuplicateId { .. }))
        ));
        assert!(Arc::ptr_eq(&old, &svc.snapshot()));
        let ok = svc
            .write(|g| edit::create_entity(g, None, asayish_unit()))
            .await;
        let (id, committed) = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(id, "asayish-unit");
        // The old snapshot is untouched; the new one has the entity.
        assert!(old.entity("asayish-unit").is_none());
        assert_eq!(committed.graph.version(), old.version() + 1);
        let event = events.recv().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.version, committed.version);
        assert_eq!(event.edits, [Edit::EntityCreated("asayish-unit".into())]);
    }
}
