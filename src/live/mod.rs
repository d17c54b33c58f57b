//! The live graph: the current snapshot that requests read, and the one
//! path by which writes reach it, committed durably to the store, then
//! published and announced, in commit order.
//!
//! # Two copies kept in step
//!
//! A write costs what it changes, not a copy of the graph: the service holds
//! two copies of the graph. Readers share one, the published copy, through
//! an `Arc` that each request holds for its whole life, so a request sees
//! one version from start to end (the `graphVersion` promise). Writes go to
//! the other, the spare, in place. Once the store has committed them, the
//! spare is published and the copy readers held until then becomes the
//! spare; the changes just made are kept as its backlog and replayed on it
//! at the start of the next write, when no reader holds it any longer. This
//! is the left-right pattern, with petgraph as the graph in both copies and
//! `Arc`s instead of an epoch counter: the `Arc` of a snapshot is what
//! async-graphql's resolvers already hold across their await points, which
//! left-right's read guards cannot be.
//!
//! The other designs weighed: one graph with versioned items would halve
//! the memory but make every traversal and every petgraph algorithm filter
//! by version and keep deleted items until no reader could see them; a
//! persistent (structurally shared) graph would mean giving up petgraph.
//!
//! Trade-offs, stated:
//! - Memory: two copies of the graph's structure and items, plus the
//!   backlog of the last write. Documents' texts are shared between them,
//!   and so are the chunks of the id orders and of the search index's
//!   posting lists that neither copy has changed (`id_order`).
//! - A long read pins the copy it started on. A write that finds the spare
//!   still pinned waits for it at most [`GraphService::with_pinned_wait`]
//!   (the server sets the analysis time limit, which bounds every analysis;
//!   one second unless set), then copies the published graph instead, as
//!   every write did before: a long analysis or an export never holds a
//!   write up longer than that, at the price of one copy of the graph (and,
//!   until the long read ends, a third copy in memory). Writes that arrive
//!   meanwhile join the waiting write's group, so many writers keep their
//!   throughput; one writer that waits for each answer writes at most once
//!   per the longest read in flight.
//! - A write that is refused is taken back in place from an undo journal
//!   kept while it runs ([`Graph::begin_undo`]), so a refused import does
//!   not cost a copy either.
//!
//! # Group commit
//!
//! Writes queue; the writer applies every write queued by then, each as
//! its own version in queue order, commits them to the store in one
//! transaction (one fsync), and only then answers each. A write refused by
//! the graph is taken back alone; a store failure takes back the whole
//! group and fails each of its writes.
//!
//! Over a store only this process writes (SQLite, memory), the writer is a
//! thread of its own, and the store commits on it: the turn is the writes'
//! critical path, and a thread that does nothing else is free the moment
//! the disk has synced. As a task among the HTTP workers' requests it
//! waited for the blocking pool to pick up each commit and then for a
//! worker to come back to it, about a fifth of a turn under 8 writing
//! clients at 1M (BENCHMARKS.md). Over a shared store (PostgreSQL) the
//! writer stays a task on the server's runtime: on the thread, whose
//! runtime is not the one its connections were made on, one client's
//! writes were a quarter slower and 8 clients' only 2–15% faster.
//!
//! # Following a shared store
//!
//! Over a store other instances write to (PostgreSQL), a group of writes is
//! first applied to the spare copy as this instance has it and committed
//! only if the store is still at that version (one exchange; most of the
//! time nobody else wrote). Otherwise it is taken back and the writer
//! begins a turn in the store, which locks out every other writer and hands
//! back the writes it has not applied; they are applied first, each as its
//! own version, and the group is run again after them. Either way the
//! group is checked against exactly what the database holds. Between
//! writes, [`GraphService::follow_store`] applies the others' writes as the
//! store announces them. A write from elsewhere costs what it changes, on
//! the spare copy like a write of this instance, and is announced like one.
//!
//! # Events
//!
//! Each committed write is announced as a [`Committed`]: its version and
//! what it changed (ids, and the entities each change touched), never a
//! graph. Subscribers read the items themselves from the current snapshot.
//! The channel keeps the last [`EVENT_BUFFER`] writes; a subscriber further
//! behind is told it missed events, so no subscriber pins more than that.
//!
//! Here the service and its readers' side; the writer's turn in `turn`,
//! a group of writes and its replay in `group`, the start-up rebuild in
//! `rebuild`.

use crate::dataset::Dataset;
use crate::edit::{self, Edit};
use crate::graph::{Bulk, Graph, GraphError, ScoreStats};
use crate::store::{Change, Item, Logged, Sink, Store, StoreError};
use arc_swap::ArcSwap;
use compact_str::CompactString;
use futures_util::FutureExt;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{broadcast, oneshot, watch, Notify};

/// One committed write, as announced to subscribers: its version and what
/// it changed. It holds no graph.
#[derive(Debug)]
pub struct Committed {
    /// The graph version this write produced.
    pub version: u64,
    /// What it changed, in order.
    pub edits: Vec<Edit>,
    /// For each edit, the entities it touched: the entity itself, or the
    /// two ends of a relation (as they were for a deleted one).
    pub touched: Vec<[CompactString; 2]>,
}

impl Committed {
    /// Whether edit `i` touched entity `id`.
    pub fn touches(&self, i: usize, id: &str) -> bool {
        self.touched
            .get(i)
            .is_some_and(|ends| ends.iter().any(|e| e == id))
    }
}

/// What a write returned, once it is durable.
#[derive(Debug)]
pub struct Written<T> {
    /// The write's own result.
    pub value: T,
    /// The write as announced.
    pub committed: Arc<Committed>,
    /// The graph as published after it: at its version or, when it was
    /// committed in a group, at the version of the group's last write.
    pub graph: Arc<Graph>,
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

/// A write's work on the graph, its result boxed so that writes of every
/// result type queue together.
/// It may run more than once: a group is run again when another instance
/// committed first (see [`GraphService::turn`]).
type Work =
    Box<dyn FnMut(&mut Graph) -> Result<(Box<dyn Any + Send>, Vec<Edit>), GraphError> + Send>;

/// What a queued write is answered with.
type Reply = Result<(Box<dyn Any + Send>, Arc<Committed>, Arc<Graph>), WriteError>;

/// A write waiting for its turn.
struct Job {
    work: Work,
    reply: oneshot::Sender<Reply>,
}

/// The copy writes go to, and what it has not had yet.
#[derive(Default)]
struct Spare {
    /// The spare copy, if there is one yet.
    graph: Option<Arc<Graph>>,
    /// Being made on a thread of its own at start, so that start-up does
    /// not wait for the copy.
    making: Option<Making>,
    /// The writes committed since it was published, in order.
    backlog: Vec<Arc<Logged>>,
}

/// The spare copy as it is made at start.
struct Making {
    copy: oneshot::Receiver<Graph>,
    /// Set once the copy is made, before it is handed over, so that a
    /// write that took it never finds the service still making it.
    done: Arc<AtomicBool>,
}

/// The live graph and its store.
pub struct GraphService {
    /// What readers load: one atomic pointer, swapped whole by the writer,
    /// so a read takes no lock a write could hold.
    current: ArcSwap<Graph>,
    queue: Mutex<VecDeque<Job>>,
    /// Held by the one task applying writes; it owns the spare copy.
    writer: tokio::sync::Mutex<Spare>,
    store: Arc<dyn Store>,
    events: broadcast::Sender<Arc<Committed>>,
    /// The same writes, each sent just before its version is published.
    ahead: broadcast::Sender<Arc<Committed>>,
    pinned_wait: Duration,
    /// The published version, for requests that wait for one.
    version: watch::Sender<u64>,
    /// Whether the store answered last time it was asked.
    reachable: AtomicBool,
    /// Whether the graph has caught up with a shared store since start.
    caught_up: AtomicBool,
    /// Whether a write from the shared store's log could not be applied.
    diverged: AtomicBool,
    /// Whether the spare copy made at start exists (its [`Making::done`]):
    /// until then the first write would wait for it (a second or more at a
    /// million entities).
    spare_made: Arc<AtomicBool>,
    /// What it counted for `/metrics`.
    stats: ServiceStats,
    /// Rings the writer thread when a write is queued.
    ring: Arc<Notify>,
    /// Whether the writer thread runs; set by the first write.
    writer_thread: OnceLock<bool>,
}

impl Drop for GraphService {
    fn drop(&mut self) {
        // The writer thread wakes, finds the service gone, and ends.
        self.ring.notify_one();
    }
}

/// What a service counts for `/metrics`, over every version it served.
#[derive(Debug)]
pub struct ServiceStats {
    /// Its graph's: every version is a copy of the first, and copies count
    /// into the same statistics.
    scores: Arc<ScoreStats>,
    graph_copies: AtomicU64,
}

impl ServiceStats {
    /// How the graph's versions used their cached scores.
    pub fn scores(&self) -> &ScoreStats {
        &self.scores
    }

    /// How many writes copied the whole graph: the spare copy was missing
    /// or still held by reads past the wait.
    pub fn graph_copies(&self) -> u64 {
        self.graph_copies.load(Ordering::Relaxed)
    }
}

/// Why a service should not get traffic yet, or any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// A write from the shared store's log could not be applied; only a
    /// restart mends it.
    Diverged,
    /// The store did not answer last time it was asked.
    StoreUnreachable,
    /// The graph has not caught up with the shared store since start.
    CatchingUp,
    /// The copy that writes go to is still being made after start.
    MakingSpare,
}

impl NotReady {
    /// Says why, for people reading `/readyz`.
    pub fn reason(self) -> &'static str {
        match self {
            NotReady::Diverged => {
                "a write from the store could not be applied; restart this instance"
            }
            NotReady::StoreUnreachable => "the store cannot be reached",
            NotReady::CatchingUp => "catching up with the store",
            NotReady::MakingSpare => "making the copy of the graph that writes go to",
        }
    }
}

/// Subscribers that fall this far behind miss events and are told so.
pub const EVENT_BUFFER: usize = 1024;

/// How long a write waits for reads to leave the spare copy, unless set.
const PINNED_WAIT: Duration = Duration::from_secs(1);

impl GraphService {
    /// Rebuilds the graph from the store. An empty store is first seeded
    /// with `seed` (committed as version 1), so that the built-in dataset is
    /// loaded exactly once.
    pub async fn open(
        store: Arc<dyn Store>,
        seed: Vec<Dataset>,
    ) -> Result<GraphService, OpenError> {
        let started = Instant::now();
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
        // Instances starting together on an empty shared store seed it
        // once: whoever takes the first turn; the others follow its log.
        let seeding = empty && !seed.is_empty() && store.begin(version).await?.is_empty();
        if empty && !seed.is_empty() && !seeding {
            store.abandon().await;
            graph.set_version(version);
        } else if seeding {
            let mut g = Graph::new();
            let mut edits = Vec::new();
            for data in seed {
                let (_, mut e) = edit::ingest_dataset(&mut g, data)
                    .map_err(|(item, error)| OpenError::Seed { item, error })?;
                edits.append(&mut e);
            }
            let version = version + 1;
            g.set_version(version);
            let changes =
                changes(&g, &edits).map_err(|(item, error)| OpenError::Invalid { item, error })?;
            store.commit(&[Logged { version, changes }]).await?;
            graph = g;
        } else {
            graph.set_version(version);
        }
        let graph = Arc::new(graph);
        let (made, copy) = oneshot::channel();
        let original = graph.clone();
        let done = Arc::new(AtomicBool::new(false));
        let making = Making {
            copy,
            done: done.clone(),
        };
        std::thread::spawn(move || {
            let copy = (*original).clone();
            done.store(true, Ordering::SeqCst);
            // Nobody waiting means the service is gone.
            let _ = made.send(copy);
        });
        let spare = Spare {
            making: Some(making),
            ..Spare::default()
        };
        Ok(GraphService::with(graph, spare, store))
    }

    /// A service over `graph` as it is, whose writes go to a fresh
    /// in-memory store: for tests and throwaway use, nothing is kept.
    pub fn in_memory(graph: Graph) -> GraphService {
        let store = Arc::new(crate::store::MemoryStore::new());
        GraphService::with(Arc::new(graph), Spare::default(), store)
    }

    fn with(graph: Arc<Graph>, spare: Spare, store: Arc<dyn Store>) -> GraphService {
        // Without a copy being made, nothing is awaited: the first write
        // copies the graph if there is no spare.
        let spare_made = spare.making.as_ref().map_or_else(
            || Arc::new(AtomicBool::new(true)),
            |making| making.done.clone(),
        );
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (ahead, _) = broadcast::channel(EVENT_BUFFER);
        let (version, _) = watch::channel(graph.version());
        let caught_up = AtomicBool::new(!store.shared());
        let stats = ServiceStats {
            scores: graph.score_stats().clone(),
            graph_copies: AtomicU64::new(0),
        };
        GraphService {
            stats,
            version,
            reachable: AtomicBool::new(true),
            caught_up,
            diverged: AtomicBool::new(false),
            spare_made,
            current: ArcSwap::new(graph),
            queue: Mutex::new(VecDeque::new()),
            writer: tokio::sync::Mutex::new(spare),
            store,
            events,
            ahead,
            pinned_wait: PINNED_WAIT,
            ring: Arc::new(Notify::new()),
            writer_thread: OnceLock::new(),
        }
    }

    /// Sets how long a write waits for reads still on the spare copy before
    /// it copies the graph instead.
    pub fn with_pinned_wait(mut self, wait: Duration) -> GraphService {
        self.pinned_wait = wait;
        self
    }

    /// The current snapshot; it never changes under its holder.
    pub fn snapshot(&self) -> Arc<Graph> {
        self.current.load_full()
    }

    /// Every write committed from now on, in commit order.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.events.subscribe()
    }

    /// Every write committed from now on, in commit order, each sent
    /// before any request can read its version: for caches that must know
    /// what a version changed by the time it is read. Subscribers instead
    /// get [`subscribe`](Self::subscribe)'s events, sent once the version
    /// can be read, so that what an event names can be looked up.
    pub fn subscribe_ahead(&self) -> broadcast::Receiver<Arc<Committed>> {
        self.ahead.subscribe()
    }

    /// What the service counted for `/metrics`.
    pub fn stats(&self) -> &ServiceStats {
        &self.stats
    }

    /// Which store the graph is kept in: `sqlite`, `postgres` or `memory`.
    pub fn engine(&self) -> &'static str {
        self.store.engine()
    }

    /// Whether the service should get traffic: `None` when it should, or
    /// why not.
    pub fn not_ready(&self) -> Option<NotReady> {
        if self.diverged.load(Ordering::SeqCst) {
            Some(NotReady::Diverged)
        } else if !self.reachable.load(Ordering::SeqCst) {
            Some(NotReady::StoreUnreachable)
        } else if !self.caught_up.load(Ordering::SeqCst) {
            Some(NotReady::CatchingUp)
        } else if !self.spare_made.load(Ordering::SeqCst) {
            Some(NotReady::MakingSpare)
        } else {
            None
        }
    }

    /// Whether the service should get traffic: it has caught up with a
    /// shared store since it started, the store answered last time, every
    /// write from the store's log could be applied, and the copy writes go
    /// to exists, so that the first write does not wait for it.
    pub fn ready(&self) -> bool {
        self.not_ready().is_none()
    }

    /// Waits until version `version` is published, at most `wait`; returns
    /// whether it is.
    pub async fn reached(&self, version: u64, wait: Duration) -> bool {
        let mut published = self.version.subscribe();
        let reached = tokio::time::timeout(wait, published.wait_for(|v| *v >= version)).await;
        matches!(reached, Ok(Ok(_)))
    }

    /// Follows a shared store: applies what other instances commit, as they
    /// commit it, until the service is dropped. Does nothing for a store
    /// only this process writes.
    pub fn follow_store(self: &Arc<Self>) {
        if !self.store.shared() {
            return;
        }
        let (store, service) = (self.store.clone(), Arc::downgrade(self));
        tokio::spawn(async move {
            loop {
                let Some(service) = service.upgrade() else {
                    return;
                };
                service.follow().await;
                drop(service);
                // Errors only mean the store is away; follow() said so.
                let _ = store.wait_for_news().await;
            }
        });
    }

    /// Applies `f` to the graph, commits its edits durably (with the other
    /// writes queued at the same time), then publishes the new snapshot and
    /// announces it. A refused `f` leaves nothing of what it did. The work
    /// runs on a task of its own, so a caller that goes away cannot leave a
    /// write committed but unpublished. `f` may run more than once, each
    /// time from the graph as it then is (another instance of a shared
    /// store committed first), and only its last run counts.
    pub async fn write<T, F>(self: &Arc<Self>, f: F) -> Result<Written<T>, WriteError>
    where
        T: Send + 'static,
        F: FnMut(&mut Graph) -> Result<(T, Vec<Edit>), GraphError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let mut f = f;
        let work: Work = Box::new(move |g| {
            f(g).map(|(value, edits)| (Box::new(value) as Box<dyn Any + Send>, edits))
        });
        self.queue.lock().push_back(Job { work, reply });
        if self.writer_thread() {
            self.ring.notify_one();
        } else {
            let this = self.clone();
            tokio::spawn(async move { this.apply_queued().await });
        }
        let (value, committed, graph) = answer
            .await
            .map_err(|_| WriteError::Aborted("the write task ended".into()))??;
        let value = value
            .downcast::<T>()
            .map_err(|_| WriteError::Aborted("a write returned another type".into()))?;
        Ok(Written {
            value: *value,
            committed,
            graph,
        })
    }

    /// Applies every queued write as one group; see the module doc.
    async fn apply_queued(&self) {
        self.turn(false).await;
    }

    /// Whether writes go to the writer thread, started here the first time
    /// (see the module doc); not for a shared store, nor if the thread
    /// cannot be started, and then each write runs as a task.
    fn writer_thread(self: &Arc<Self>) -> bool {
        *self.writer_thread.get_or_init(|| {
            if self.store.shared() {
                return false;
            }
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return false;
            };
            let (service, ring) = (Arc::downgrade(self), self.ring.clone());
            let writer = move || {
                runtime.block_on(async move {
                    loop {
                        // A write queued during a turn rings again (one
                        // permit is kept), so none waits for another.
                        ring.notified().await;
                        let Some(service) = service.upgrade() else {
                            return;
                        };
                        // A turn that panicked has answered its writes
                        // (their replies were dropped) and left no spare
                        // copy; the writer goes on, as a task's end would
                        // not have stopped the next write's task.
                        let turn = AssertUnwindSafe(service.apply_queued()).catch_unwind();
                        if turn.await.is_err() {
                            tracing::error!("a write's turn panicked; the writes in it failed");
                        }
                    }
                });
            };
            std::thread::Builder::new()
                .name("partnergraph-writer".into())
                .spawn(writer)
                .is_ok()
        })
    }

    /// Applies the writes other instances committed to a shared store since
    /// this one last did, if there are any: what the store's follower runs
    /// whenever it hears of a commit. Returns whether the store answered.
    pub async fn follow(&self) -> bool {
        let answered = self.turn(true).await;
        if answered {
            self.caught_up.store(true, Ordering::SeqCst);
        }
        answered
    }
}

mod group;
mod rebuild;
mod turn;

use group::{abort, again, apply_logged, changes, replay, run_group};
use rebuild::Rebuild;

#[cfg(test)]
mod tests;
