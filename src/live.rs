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
//! - Memory: two copies of the graph's structure and items (documents'
//!   texts are shared between them), plus the backlog of the last write.
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
//! Writes queue; whichever write's task takes the writer lock applies every
//! write queued by then, each as its own version in queue order, commits
//! them to the store in one transaction (one fsync), and only then answers
//! each. A write refused by the graph is taken back alone; a store failure
//! takes back the whole group and fails each of its writes.
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

use crate::dataset::Dataset;
use crate::edit::{self, Edit};
use crate::graph::{Bulk, Graph, GraphError, ScoreStats};
use crate::store::{Change, Item, Logged, Sink, Store, StoreError};
use arc_swap::ArcSwap;
use compact_str::CompactString;
use parking_lot::Mutex;
use std::any::Any;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::{broadcast, oneshot, watch};

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
    making: Option<oneshot::Receiver<Graph>>,
    /// The writes committed since it was published, in order.
    backlog: Vec<Arc<Logged>>,
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
    /// What it counted for `/metrics`.
    stats: ServiceStats,
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
        let (made, making) = oneshot::channel();
        let original = graph.clone();
        std::thread::spawn(move || {
            // Nobody waiting means the service is gone.
            let _ = made.send((*original).clone());
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
            current: ArcSwap::new(graph),
            queue: Mutex::new(VecDeque::new()),
            writer: tokio::sync::Mutex::new(spare),
            store,
            events,
            ahead,
            pinned_wait: PINNED_WAIT,
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

    /// Whether the service should get traffic: it has caught up with a
    /// shared store since it started, the store answered last time, and
    /// every write from the store's log could be applied.
    pub fn ready(&self) -> bool {
        self.caught_up.load(Ordering::SeqCst)
            && self.reachable.load(Ordering::SeqCst)
            && !self.diverged.load(Ordering::SeqCst)
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
        let this = self.clone();
        tokio::spawn(async move { this.apply_queued().await });
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

    /// One turn of the writer: the writes other instances committed, then
    /// (unless only following) every queued write as one group, all
    /// published together. Returns whether the store answered.
    ///
    /// The group is first applied to the spare copy as it is and committed
    /// only if the store is still at the copy's version
    /// ([`Store::commit_at`]): one exchange with a shared store, not a turn.
    /// If another instance wrote first, the group is taken back and run
    /// again in a turn of the store, after what the others wrote, so every
    /// write is checked against the version it follows.
    async fn turn(&self, only_follow: bool) -> bool {
        let mut behind = Vec::new();
        if only_follow {
            // Read before the writer lock is taken, so that a poll finding
            // nothing new never holds this instance's writes up.
            match self.store.log_after(self.snapshot().version()).await {
                Ok(log) if log.is_empty() => return self.answered(None),
                Ok(log) => behind = log,
                Err(error) => {
                    tracing::warn!(%error, "cannot read the store's change log");
                    return self.answered(Some(&error));
                }
            }
        }
        let mut spare = self.writer.lock().await;
        let published = self.snapshot();
        if only_follow {
            // A write of this instance may have applied some of them since;
            // what remains follows the published version without a gap.
            behind.retain(|w| w.version > published.version());
            if behind.is_empty() {
                return self.answered(None);
            }
        } else if self.queue.lock().is_empty() {
            // An earlier task took this write into its group.
            return true;
        }
        let mut copy = self.take_spare(&mut spare, &published).await;
        // Taken only now, so that writes that came while reads were leaving
        // the spare copy join this group rather than wait for the next.
        let mut jobs: Vec<Job> = if only_follow {
            Vec::new()
        } else {
            self.queue.lock().drain(..).collect()
        };
        let Some(g) = Arc::get_mut(&mut copy) else {
            // take_spare hands over a copy nobody else holds.
            abort(jobs, "no graph to write to");
            return true;
        };

        let mut optimistic = None;
        if !jobs.is_empty() {
            let base = g.version();
            g.begin_undo();
            let Ok(group) = run_group(g, &mut jobs) else {
                // The copy is dropped; the next write copies the graph.
                abort(jobs, "the write's group was abandoned");
                return true;
            };
            // A store only this process writes cannot have moved. A shared
            // one is asked even when every write was refused: a refusal
            // must hold at a version the store really had.
            let ask = !group.writes.is_empty() || self.store.shared();
            let outcome = if ask {
                self.store.commit_at(base, &group.writes).await
            } else {
                Ok(true)
            };
            match outcome {
                Ok(true) => optimistic = Some(group),
                Ok(false) => {
                    // Another instance wrote first.
                    let taken_back = g.undo_to(0);
                    g.end_undo();
                    if taken_back.is_err() {
                        abort(jobs, "the write's group was abandoned");
                        return true;
                    }
                }
                Err(error) => {
                    tracing::error!(%error, writes = group.writes.len(), "a group of writes was not committed");
                    let taken_back = g.undo_to(0);
                    g.end_undo();
                    for job in jobs {
                        let _ = job.reply.send(Err(WriteError::Store(again(&error))));
                    }
                    if taken_back.is_ok() {
                        spare.graph = Some(copy);
                    }
                    return self.answered(Some(&error));
                }
            }
        }

        let mut applied: Vec<(Arc<Logged>, Committed)> = Vec::new();
        let mut failure = None;
        let group = match optimistic {
            Some(group) => group,
            None => {
                let begun = !jobs.is_empty();
                if begun {
                    match self.store.begin(g.version()).await {
                        Ok(log) => behind = log,
                        Err(error) => {
                            tracing::error!(%error, writes = jobs.len(), "the store refused a turn to write");
                            spare.graph = Some(copy);
                            for job in jobs {
                                let _ = job.reply.send(Err(WriteError::Store(again(&error))));
                            }
                            return self.answered(Some(&error));
                        }
                    }
                }
                g.begin_undo();
                // What other instances committed comes first: it is the
                // truth the queued writes are checked against.
                applied.reserve(behind.len());
                for logged in behind {
                    match apply_logged(g, &logged, &published) {
                        Ok(committed) => applied.push((Arc::new(logged), committed)),
                        Err((item, error)) => {
                            // The graph refuses what the database committed:
                            // this instance can no longer follow; the copy
                            // is dropped.
                            tracing::error!(version = logged.version, %item, %error,
                                "a write from the store's log cannot be applied; restart this instance");
                            // Not ready until restarted: load balancers stop
                            // sending it traffic it would answer from an old
                            // graph.
                            self.diverged.store(true, Ordering::SeqCst);
                            self.store.abandon().await;
                            abort(
                                jobs,
                                &format!(
                                    "this instance cannot apply version {} from the store: {item}: {error}",
                                    logged.version
                                ),
                            );
                            return true;
                        }
                    }
                }
                let mine = g.undo_mark();
                let Ok(mut group) = run_group(g, &mut jobs) else {
                    if begun {
                        self.store.abandon().await;
                    }
                    abort(jobs, "the write's group was abandoned");
                    return true;
                };
                if group.writes.is_empty() {
                    if begun {
                        self.store.abandon().await;
                    }
                } else if let Err(error) = self.store.commit(&group.writes).await {
                    tracing::error!(%error, writes = group.writes.len(), "a group of writes was not committed");
                    group.writes.clear();
                    // Taken back so the copy can stay the spare; if that
                    // fails it is dropped and the next write copies the
                    // graph.
                    if g.undo_to(mine).is_err() {
                        for job in jobs {
                            let _ = job.reply.send(Err(WriteError::Store(again(&error))));
                        }
                        return self.answered(Some(&error));
                    }
                    failure = Some(error);
                }
                group
            }
        };
        g.set_version(g.version() + group.writes.len() as u64);
        g.end_undo();

        // Refused writes, and writes the store failed, are answered now.
        let mut accepted = Vec::with_capacity(group.writes.len());
        for (job, outcome) in jobs.into_iter().zip(group.outcomes) {
            let answer = match (outcome, &failure) {
                (Ok((value, committed)), None) => {
                    accepted.push((job.reply, value, Arc::new(committed)));
                    continue;
                }
                (Ok(_), Some(error)) => WriteError::Store(again(error)),
                (Err(refused), _) => WriteError::Refused(refused),
            };
            let _ = job.reply.send(Err(answer));
        }
        let writes = group.writes;
        if accepted.is_empty() && applied.is_empty() {
            // Nothing changed; the copy stays the spare, caught up.
            spare.graph = Some(copy);
            return self.answered(failure.as_ref());
        }
        let applied: Vec<(Arc<Logged>, Arc<Committed>)> = applied
            .into_iter()
            .map(|(logged, committed)| (logged, Arc::new(committed)))
            .collect();
        let announced = applied
            .iter()
            .map(|(_, c)| c)
            .chain(accepted.iter().map(|(_, _, c)| c));
        for committed in announced.clone() {
            // No follower is not an error.
            let _ = self.ahead.send(committed.clone());
        }
        self.current.store(copy.clone());
        self.version.send_replace(copy.version());
        // The copy readers had until now is the next spare.
        let backlog = applied
            .iter()
            .map(|(logged, _)| logged.clone())
            .chain(writes.into_iter().map(Arc::new))
            .collect();
        *spare = Spare {
            graph: Some(published),
            making: None,
            backlog,
        };
        drop(spare);
        for committed in announced {
            // No subscriber is not an error.
            let _ = self.events.send(committed.clone());
        }
        for (reply, value, committed) in accepted {
            // Nor is a caller that went away: the write stays committed.
            let _ = reply.send(Ok((value, committed, copy.clone())));
        }
        self.answered(failure.as_ref())
    }

    /// Records whether the store answered (an error other than its absence
    /// is an answer) and returns it.
    fn answered(&self, error: Option<&StoreError>) -> bool {
        if let Some(pruned @ StoreError::Pruned { .. }) = error {
            // The log this instance would catch up from is gone: it stays
            // unready until restarted, rather than answer from an old graph.
            tracing::error!(error = %pruned, "cannot follow the store any more; restart this instance");
            self.diverged.store(true, Ordering::SeqCst);
        }
        let reachable = !matches!(error, Some(StoreError::Unavailable(_)));
        self.reachable.store(reachable, Ordering::SeqCst);
        reachable
    }

    /// The spare copy, caught up with `published` and held by nobody else:
    /// waited for while reads still hold it (at most the pinned wait), and
    /// otherwise a new copy of `published`.
    async fn take_spare(&self, spare: &mut Spare, published: &Arc<Graph>) -> Arc<Graph> {
        if let Some(making) = spare.making.take() {
            if let Ok(made) = making.await {
                spare.graph = Some(Arc::new(made));
                spare.backlog.clear();
            }
        }
        let backlog = std::mem::take(&mut spare.backlog);
        let Some(mut copy) = spare.graph.take() else {
            return self.copy_of(published, "no spare copy yet");
        };
        let deadline = Instant::now() + self.pinned_wait;
        let mut pause = Duration::from_micros(50);
        while Arc::strong_count(&copy) > 1 || Arc::weak_count(&copy) > 0 {
            if Instant::now() >= deadline {
                return self.copy_of(published, "reads still hold the spare copy");
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(5));
        }
        let Some(g) = Arc::get_mut(&mut copy) else {
            return self.copy_of(published, "reads still hold the spare copy");
        };
        for logged in &backlog {
            if let Err((item, error)) = replay(g, &logged.changes, published) {
                tracing::error!(%item, %error, "replaying a write on the spare copy failed");
                return self.copy_of(published, "the spare copy could not catch up");
            }
        }
        g.set_version(published.version());
        copy
    }

    /// A new copy of `published`, as every write made before the spare copy:
    /// the fall-back when the spare cannot be used.
    fn copy_of(&self, published: &Arc<Graph>, why: &'static str) -> Arc<Graph> {
        let started = Instant::now();
        self.stats.graph_copies.fetch_add(1, Ordering::Relaxed);
        let copy = Arc::new((**published).clone());
        tracing::info!(
            why,
            entities = copy.entity_count(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "copied the graph for a write"
        );
        copy
    }
}

/// `error` again, for one more of the writes it failed.
fn again(error: &StoreError) -> StoreError {
    match error {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        StoreError::Conflict(m) => StoreError::Conflict(m.clone()),
        StoreError::Pruned { applied, pruned_to } => StoreError::Pruned {
            applied: *applied,
            pruned_to: *pruned_to,
        },
        other => StoreError::Database(other.to_string()),
    }
}

/// Fails every write of `jobs` as not completed.
fn abort(jobs: Vec<Job>, why: &str) {
    for job in jobs {
        let _ = job.reply.send(Err(WriteError::Aborted(why.to_owned())));
    }
}

/// An accepted write: its value, and the write as it will be announced.
type Accepted = (Box<dyn Any + Send>, Committed);

/// What the writes of a group did on the graph.
struct Group {
    /// For each write, in order: its value and its announcement, or why
    /// the graph refused it.
    outcomes: Vec<Result<Accepted, GraphError>>,
    /// The accepted writes as the store keeps them, each its own version
    /// after the graph's.
    writes: Vec<Logged>,
}

/// Runs each of `jobs` on `g` in order; a refused one is taken back alone.
/// The undo journal must be on. Fails only if a refused write could not be
/// taken back (the graph is damaged and must be dropped); nobody has been
/// answered then.
fn run_group(g: &mut Graph, jobs: &mut [Job]) -> Result<Group, GraphError> {
    let base = g.version();
    let mut group = Group {
        outcomes: Vec::with_capacity(jobs.len()),
        writes: Vec::with_capacity(jobs.len()),
    };
    for job in jobs.iter_mut() {
        let mark = g.undo_mark();
        let refused = match (job.work)(g) {
            Ok((value, edits)) => match changes(g, &edits) {
                Ok(c) => {
                    let touched = touched(g, mark, &edits);
                    let version = base + group.writes.len() as u64 + 1;
                    group.writes.push(Logged {
                        version,
                        changes: c,
                    });
                    group.outcomes.push(Ok((
                        value,
                        Committed {
                            version,
                            edits,
                            touched,
                        },
                    )));
                    continue;
                }
                Err((item, error)) => {
                    tracing::error!(%item, %error, "a write's edits name what it did not leave");
                    error
                }
            },
            Err(error) => error,
        };
        if let Err(error) = g.undo_to(mark) {
            tracing::error!(%error, "a refused write could not be taken back");
            return Err(error);
        }
        group.outcomes.push(Err(refused));
    }
    Ok(group)
}

/// Applies a write another instance committed, as a write of this one
/// would have been applied, and says what it changed. The undo journal must
/// be on (it tells the ends of deleted relations).
fn apply_logged(
    g: &mut Graph,
    logged: &Logged,
    published: &Graph,
) -> Result<Committed, (String, GraphError)> {
    let mark = g.undo_mark();
    let mut edits = Vec::with_capacity(logged.changes.len());
    for change in &logged.changes {
        edits.push(match change {
            Change::PutDocument(d) => Edit::DocumentCreated(d.id.to_string()),
            Change::PutEntity(e) if g.entity_ix(&e.id).is_some() => {
                Edit::EntityUpdated(e.id.to_string())
            }
            Change::PutEntity(e) => Edit::EntityCreated(e.id.to_string()),
            Change::PutRelation(r) if g.relation_ix(&r.id).is_some() => {
                Edit::RelationUpdated(r.id.to_string())
            }
            Change::PutRelation(r) => Edit::RelationCreated(r.id.to_string()),
            Change::DeleteEntity(id) => Edit::EntityDeleted(id.clone()),
            Change::DeleteRelation(id) => Edit::RelationDeleted(id.clone()),
        });
        replay(g, std::slice::from_ref(change), published)?;
    }
    g.set_version(logged.version);
    Ok(Committed {
        version: logged.version,
        touched: touched(g, mark, &edits),
        edits,
    })
}

/// Applies committed `changes` to the other copy of the graph: the same
/// items, checked again, with new documents' texts shared with `published`.
fn replay(
    g: &mut Graph,
    changes: &[Change],
    published: &Graph,
) -> Result<(), (String, GraphError)> {
    let named = |what: &str, id: &str| format!("{what} `{id}`");
    for change in changes {
        match change {
            Change::PutDocument(d) => {
                let shared = published
                    .document_shared(&d.id)
                    .unwrap_or_else(|| Arc::new(d.clone()));
                g.add_shared_document(shared)
                    .map_err(|e| (named("document", &d.id), e))?;
            }
            Change::PutEntity(e) => {
                let result = if g.entity_ix(&e.id).is_some() {
                    g.replace_entity(e.clone())
                } else {
                    g.add_entity(e.clone()).map(drop)
                };
                result.map_err(|err| (named("entity", &e.id), err))?;
            }
            Change::PutRelation(r) => {
                let result = if g.relation_ix(&r.id).is_some() {
                    g.replace_relation(r.clone())
                } else {
                    g.add_relation(r.clone()).map(drop)
                };
                result.map_err(|err| (named("relation", &r.id), err))?;
            }
            Change::DeleteEntity(id) => {
                g.remove_entity(id, true)
                    .map_err(|e| (named("entity", id), e))?;
            }
            Change::DeleteRelation(id) => {
                g.remove_relation(id)
                    .map_err(|e| (named("relation", id), e))?;
            }
        }
    }
    Ok(())
}

/// The entities each edit touched: read from the graph after it, and for
/// deleted relations from what the journal kept of them since `mark`.
fn touched(g: &Graph, mark: usize, edits: &[Edit]) -> Vec<[CompactString; 2]> {
    let gone: std::collections::HashMap<&str, &crate::model::Relation> =
        g.removed_since(mark).map(|r| (r.id.as_str(), r)).collect();
    let ends =
        |r: &crate::model::Relation| [CompactString::from(&*r.from), CompactString::from(&*r.to)];
    edits
        .iter()
        .map(|e| {
            let relation = match e {
                Edit::RelationCreated(rid) | Edit::RelationUpdated(rid) => g.relation(rid),
                Edit::RelationDeleted(rid) => gone.get(rid.as_str()).copied(),
                _ => None,
            };
            relation.map(ends).unwrap_or_else(|| {
                let id = CompactString::from(e.id());
                [id.clone(), id]
            })
        })
        .collect()
}

/// The store changes that persist `edits`, read from the graph after them.
/// An edit naming an item the graph lacks names it.
fn changes(g: &Graph, edits: &[Edit]) -> Result<Vec<Change>, (String, GraphError)> {
    let missing = |what: &'static str, id: &str| {
        (
            format!("{what} `{id}`"),
            GraphError::NotFound {
                what,
                id: id.to_owned(),
            },
        )
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
    use crate::edit::{EntityPatch, Ingest};
    use crate::graph::testing::{graph, source, TEXT};
    use crate::model::{Document, Entity, EntityKind, Relation, RelationKind, Source};
    use crate::store::{Contents, MemoryStore};
    use proptest::prelude::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

    /// A store that counts its commits and refuses them while told to.
    #[derive(Default)]
    struct Flaky {
        inner: MemoryStore,
        commits: AtomicUsize,
        refuse: AtomicBool,
    }

    #[async_trait::async_trait]
    impl Store for Flaky {
        async fn load(&self) -> Result<Contents, StoreError> {
            self.inner.load().await
        }
        fn engine(&self) -> &'static str {
            "memory"
        }
        async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError> {
            if self.refuse.load(Ordering::SeqCst) {
                return Err(StoreError::Database("disk full (test)".into()));
            }
            self.commits.fetch_add(1, Ordering::SeqCst);
            self.inner.commit(writes).await
        }
    }

    /// A store that several services share, as instances share PostgreSQL:
    /// a log of every write, and one turn at a time.
    #[derive(Default)]
    struct Shared {
        inner: MemoryStore,
        log: Mutex<Vec<Logged>>,
        turn: Arc<tokio::sync::Mutex<()>>,
        held: Mutex<Option<tokio::sync::OwnedMutexGuard<()>>>,
    }

    #[async_trait::async_trait]
    impl Store for Shared {
        async fn load(&self) -> Result<Contents, StoreError> {
            self.inner.load().await
        }
        fn engine(&self) -> &'static str {
            "memory"
        }
        fn shared(&self) -> bool {
            true
        }
        async fn begin(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
            let guard = self.turn.clone().lock_owned().await;
            *self.held.lock() = Some(guard);
            self.log_after(applied).await
        }
        async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError> {
            self.log.lock().extend(writes.iter().cloned());
            let done = self.inner.commit(writes).await;
            self.held.lock().take();
            done
        }
        async fn abandon(&self) {
            self.held.lock().take();
        }
        async fn log_after(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
            Ok(self
                .log
                .lock()
                .iter()
                .filter(|w| w.version > applied)
                .cloned()
                .collect())
        }
    }

    #[tokio::test]
    async fn services_sharing_a_store_follow_each_other_and_check_against_it() {
        let store = Arc::new(Shared::default());
        let a = service(store.clone()).await;
        let b = service(store.clone()).await;
        // B found the store seeded by A and follows its log.
        assert!(!b.ready());
        assert!(b.follow().await);
        assert_eq!(dump(&a.snapshot()), dump(&b.snapshot()));

        let mut heard = b.subscribe();
        let created = a
            .write(|g| edit::create_entity(g, Some("shared-unit".into()), asayish_unit()))
            .await
            .unwrap();
        let forces = "iraqs-security-and-intelligence-forces";
        let quote = Source::new(
            "k24-peshmerga-us-iraq-talks",
            "including the Asayish and Peshmerga",
        );
        let relate = Relation::new("", RelationKind::PartOf, "shared-unit", forces, quote);
        a.write(move |g| edit::create_relation(g, None, relate.clone()))
            .await
            .unwrap();
        a.write(|g| edit::delete_entity(g, "shared-unit", true).map(|e| ((), e)))
            .await
            .unwrap();
        assert!(b.follow().await);
        assert_eq!(dump(&a.snapshot()), dump(&b.snapshot()));
        // B announces A's writes as A did: versions, edits, touched ends.
        let first = heard.recv().await.unwrap();
        assert_eq!(first.version, created.committed.version);
        assert_eq!(first.edits, created.committed.edits);
        let second = heard.recv().await.unwrap();
        assert!(second.touches(0, "shared-unit") && second.touches(0, forces));
        let third = heard.recv().await.unwrap();
        assert_eq!(
            third.edits.last(),
            Some(&Edit::EntityDeleted("shared-unit".into()))
        );
        assert!(third.touches(0, forces), "the deleted relation's end");

        // A write on B that A's writes make a duplicate is refused, even
        // before B has followed them: its turn hands them over first.
        a.write(|g| edit::create_entity(g, Some("twice".into()), asayish_unit()))
            .await
            .unwrap();
        let refused = b
            .write(|g| edit::create_entity(g, Some("twice".into()), asayish_unit()))
            .await;
        assert!(matches!(
            refused,
            Err(WriteError::Refused(GraphError::DuplicateId { .. }))
        ));
        assert_eq!(b.snapshot().version(), a.snapshot().version());
        assert!(b.snapshot().entity("twice").is_some());

        // A write on B that needs what A just wrote: refused by B's own
        // copy, which has not followed yet, the store says that copy is
        // behind, and the write runs again after A's and is accepted.
        a.write(|g| edit::create_entity(g, Some("late".into()), asayish_unit()))
            .await
            .unwrap();
        let quote = Source::new(
            "k24-peshmerga-us-iraq-talks",
            "including the Asayish and Peshmerga",
        );
        let relate = Relation::new("", RelationKind::PartOf, "late", forces, quote);
        let runs = Arc::new(AtomicU64::new(0));
        let counted = runs.clone();
        let joined = b
            .write(move |g| {
                counted.fetch_add(1, Ordering::SeqCst);
                edit::create_relation(g, None, relate.clone())
            })
            .await
            .unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(joined.committed.version, a.snapshot().version() + 1);
        assert!(b.snapshot().relation(&joined.value).is_some());
        assert!(a.follow().await);
        assert_eq!(dump(&a.snapshot()), dump(&b.snapshot()));
    }

    #[tokio::test]
    async fn a_log_entry_the_graph_refuses_makes_the_service_unready() {
        let store = Arc::new(Shared::default());
        let a = service(store.clone()).await;
        assert!(a.follow().await && a.ready());
        let next = a.snapshot().version() + 1;
        // A relation to an entity nobody made: a log this graph cannot take.
        let bad = Relation::new("bad", RelationKind::PartOf, "ctef", "nobody", source());
        store.log.lock().push(Logged {
            version: next,
            changes: vec![Change::PutRelation(bad)],
        });
        a.follow().await;
        assert!(!a.ready());
        assert_eq!(a.snapshot().version(), next - 1);
        assert!(a.snapshot().relation("bad").is_none());
    }

    /// Everything a reader can see of a graph, in id order, after checking
    /// that its indices agree with its items.
    fn dump(g: &Graph) -> (u64, Vec<String>) {
        let mut out: Vec<String> = g.documents().map(|d| format!("d {}", d.id)).collect();
        for ix in g.entities() {
            let e = g.entity_at(ix);
            assert_eq!(g.entity_ix(&e.id), Some(ix));
            assert_eq!(
                g.search_keys(ix).first().map(|k| k.as_str()),
                Some(crate::model::fold(&e.name).as_str())
            );
            out.push(format!("e {} {}", e.id, e.name));
        }
        for ix in g.relations() {
            let r = g.relation_at(ix);
            let (from, to) = g.ends(ix);
            assert_eq!(
                (&*g.entity_at(from).id, &*g.entity_at(to).id),
                (&*r.from, &*r.to)
            );
            out.push(format!("r {} {} {}", r.id, r.from, r.to));
        }
        assert_eq!(g.entity_count(), g.entities().len());
        assert_eq!(g.relation_count(), g.relations().len());
        (g.version(), out)
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
        let written = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(written.value, "asayish-unit");
        // The old snapshot is untouched; the new one has the entity.
        assert!(old.entity("asayish-unit").is_none());
        assert_eq!(written.graph.version(), old.version() + 1);
        let event = events.recv().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.version, written.committed.version);
        assert_eq!(event.edits, [Edit::EntityCreated("asayish-unit".into())]);
        assert!(event.touches(0, "asayish-unit") && !event.touches(0, "ctef"));
    }

    /// An ingest refused at its last item leaves nothing of the items
    /// before it, in the copy written to and in the one replayed after.
    #[tokio::test]
    async fn a_write_refused_midway_is_taken_back_in_place() {
        let svc = Arc::new(GraphService::in_memory(graph(&[(
            "a",
            EntityKind::ArmedForce,
        )])));
        let before = dump(&svc.snapshot());
        let doc = Document {
            id: "d2".into(),
            title: "t".into(),
            publisher: "p".into(),
            published_on: None,
            dateline: None,
            text: TEXT.into(),
        };
        let ingest = |last_to: &str| Ingest {
            document_id: Some("d2".into()),
            document: doc.clone(),
            entities: vec![(
                Some("b".into()),
                Entity::new("", EntityKind::ArmedForce, "B", source()),
            )],
            relations: vec![
                (
                    None,
                    Relation::new("", RelationKind::PartOf, "a", "b", source()),
                ),
                (
                    None,
                    Relation::new("", RelationKind::PartOf, "b", last_to, source()),
                ),
            ],
        };
        for _ in 0..3 {
            let refused = ingest("nobody");
            let r = svc.write(move |g| edit::ingest(g, refused.clone())).await;
            assert!(matches!(
                r,
                Err(WriteError::Refused(GraphError::DanglingEnd { .. }))
            ));
            assert_eq!(dump(&svc.snapshot()), before);
        }
        let accepted = ingest("a");
        let w = svc.write(move |g| edit::ingest(g, accepted.clone())).await;
        let w = w.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.value.relations, ["a-part-of-b", "b-part-of-a"]);
        // Two more writes: each copy has had every change once.
        for name in ["B1", "B2"] {
            let patch = EntityPatch {
                name: Some(name.into()),
                ..Default::default()
            };
            let r = svc
                .write(move |g| Ok(((), edit::update_entity(g, "b", patch.clone())?)))
                .await;
            assert!(r.is_ok());
        }
        let now = dump(&svc.snapshot());
        assert_eq!(now.0, before.0 + 3);
        assert!(now.1.contains(&"e b B2".to_owned()) && now.1.contains(&"d d2".to_owned()));
        let spare = svc.writer.lock().await;
        let (Some(other), [backlog]) = (&spare.graph, &spare.backlog[..]) else {
            panic!("a spare copy with one write to replay");
        };
        let mut other = (**other).clone();
        assert!(replay(&mut other, &backlog.changes, &svc.snapshot()).is_ok());
        other.set_version(now.0);
        assert_eq!(dump(&other), now);
    }

    /// Writes that arrive together are committed in fewer transactions than
    /// writes, each its own version, announced in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writes_commit_in_groups() {
        let store = Arc::new(Flaky::default());
        let svc = Arc::new(GraphService::in_memory(graph(&[])));
        let svc = Arc::new(GraphService::with(
            svc.snapshot(),
            Spare::default(),
            store.clone(),
        ));
        let mut events = svc.subscribe();
        let writes = (0..64).map(|i| {
            let svc = svc.clone();
            tokio::spawn(async move {
                let e = Entity::new("", EntityKind::ArmedForce, &format!("Force {i}"), source());
                svc.write(move |g| edit::create_entity(g, None, e.clone()))
                    .await
            })
        });
        let mut versions = Vec::new();
        for w in futures_util::future::join_all(writes).await {
            let w = w
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(w.graph.version() >= w.committed.version);
            assert!(w.graph.entity(&w.value).is_some());
            versions.push(w.committed.version);
        }
        versions.sort_unstable();
        assert_eq!(versions, (1..=64).collect::<Vec<u64>>());
        let commits = store.commits.load(Ordering::SeqCst);
        assert!(commits < 64, "{commits} commits for 64 writes");
        for v in 1..=64 {
            let event = events.recv().await.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(event.version, v);
        }
        let stored = store.load().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((stored.version, stored.entities.len()), (64, 64));
    }

    /// A store that fails takes back the whole group; nothing is published
    /// or announced, and the next writes go on from where the graph was.
    #[tokio::test]
    async fn a_store_failure_takes_back_the_group() {
        let store = Arc::new(Flaky::default());
        let svc = Arc::new(GraphService::with(
            Arc::new(graph(&[("a", EntityKind::ArmedForce)])),
            Spare::default(),
            store.clone(),
        ));
        let before = dump(&svc.snapshot());
        let mut events = svc.subscribe();
        let create = |id: &str| {
            let e = Entity::new(id, EntityKind::ArmedForce, &id.to_uppercase(), source());
            move |g: &mut Graph| edit::create_entity(g, None, e.clone())
        };
        assert!(svc.write(create("b")).await.is_ok());
        store.refuse.store(true, Ordering::SeqCst);
        let failed = svc.write(create("c")).await;
        assert!(matches!(failed, Err(WriteError::Store(_))));
        let failed = svc
            .write(|g| Ok(((), edit::delete_entity(g, "b", true)?)))
            .await;
        assert!(matches!(failed, Err(WriteError::Store(_))));
        store.refuse.store(false, Ordering::SeqCst);
        assert!(svc.write(create("d")).await.is_ok());
        assert!(svc.write(create("e")).await.is_ok());
        let (version, items) = dump(&svc.snapshot());
        assert_eq!(version, before.0 + 3);
        let ids: Vec<&str> = items.iter().filter_map(|i| i.strip_prefix("e ")).collect();
        assert_eq!(ids, ["a A", "b B", "d D", "e E"]);
        let announced: Vec<u64> =
            std::iter::from_fn(|| events.try_recv().ok().map(|c| c.version)).collect();
        assert_eq!(announced, [1, 2, 3]);
        assert_eq!(store.load().await.map(|c| c.entities.len()).ok(), Some(3));
    }

    /// A read that holds the spare copy longer than the pinned wait does
    /// not hold the write up: it copies the graph and goes on.
    #[tokio::test]
    async fn a_long_read_does_not_hold_writes_up() {
        let svc = Arc::new(
            GraphService::in_memory(graph(&[("a", EntityKind::ArmedForce)]))
                .with_pinned_wait(Duration::from_millis(20)),
        );
        let create = |id: &str| {
            let e = Entity::new(id, EntityKind::ArmedForce, &id.to_uppercase(), source());
            move |g: &mut Graph| edit::create_entity(g, None, e.clone())
        };
        assert!(svc.write(create("b")).await.is_ok());
        // This snapshot is the copy the next write would write to... after
        // the one after it: hold both versions.
        let long_read = svc.snapshot();
        assert!(svc.write(create("c")).await.is_ok());
        let longer_read = svc.snapshot();
        let started = Instant::now();
        assert!(svc.write(create("d")).await.is_ok());
        assert!(svc.write(create("e")).await.is_ok());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(long_read.entity("c").is_none() && longer_read.entity("d").is_none());
        let ids: Vec<String> = dump(&svc.snapshot()).1;
        assert!(
            ids.iter().filter(|i| i.starts_with("e ")).count() == 5,
            "{ids:?}"
        );
        // The first write had no spare copy yet; the last two found theirs
        // held by the reads.
        assert_eq!(svc.stats().graph_copies(), 3);
    }

    /// One write of the property test below.
    #[derive(Debug, Clone)]
    enum Op {
        Create(u8),
        Rename(u8, u8),
        Delete(u8, bool),
        Link(u8, u8),
        Unlink(u8, u8),
        /// A document with entities, linked in a chain; refused at its end
        /// when the flag is set.
        Ingest(Vec<u8>, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        let n = 0u8..10;
        prop_oneof![
            n.clone().prop_map(Op::Create),
            (n.clone(), 0u8..4).prop_map(|(a, b)| Op::Rename(a, b)),
            (n.clone(), any::<bool>()).prop_map(|(a, c)| Op::Delete(a, c)),
            (n.clone(), n.clone()).prop_map(|(a, b)| Op::Link(a, b)),
            (n.clone(), n.clone()).prop_map(|(a, b)| Op::Unlink(a, b)),
            (prop::collection::vec(n, 1..4), any::<bool>()).prop_map(|(ns, f)| Op::Ingest(ns, f)),
        ]
    }

    fn apply(op: &Op, serial: usize, g: &mut Graph) -> Result<((), Vec<Edit>), GraphError> {
        let e = |n: &u8| format!("e{n}");
        let entity = |n: &u8| Entity::new("", EntityKind::ArmedForce, &format!("E{n}"), source());
        let link = |a: &u8, b: &u8| Relation::new("", RelationKind::PartOf, &e(a), &e(b), source());
        let edits = match op {
            Op::Create(n) => edit::create_entity(g, Some(e(n)), entity(n))?.1,
            Op::Rename(n, v) => {
                let patch = EntityPatch {
                    name: Some(format!("E{n} v{v}")),
                    ..Default::default()
                };
                edit::update_entity(g, &e(n), patch)?
            }
            Op::Delete(n, cascade) => edit::delete_entity(g, &e(n), *cascade)?,
            Op::Link(a, b) => edit::create_relation(g, Some(format!("r{a}-{b}")), link(a, b))?.1,
            Op::Unlink(a, b) => edit::delete_relation(g, &format!("r{a}-{b}"))?,
            Op::Ingest(ns, refused) => {
                let mut relations: Vec<_> =
                    ns.windows(2).map(|w| (None, link(&w[0], &w[1]))).collect();
                if *refused {
                    let to_nobody =
                        Relation::new("", RelationKind::PartOf, &e(&ns[0]), "nobody", source());
                    relations.push((None, to_nobody));
                }
                let input = Ingest {
                    document_id: Some(format!("doc-{serial}")),
                    document: Document {
                        id: "".into(),
                        title: "t".into(),
                        publisher: "p".into(),
                        published_on: None,
                        dateline: None,
                        text: TEXT.into(),
                    },
                    entities: ns.iter().map(|n| (Some(e(n)), entity(n))).collect(),
                    relations,
                };
                edit::ingest(g, input)?.1
            }
        };
        Ok(((), edits))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Writes from three tasks and reads from two, interleaved: every
        /// read sees exactly one committed version, and the graph (and the
        /// store) end as the same writes applied one by one in version
        /// order to a fresh graph.
        #[test]
        fn concurrent_writes_and_reads_see_committed_versions(
            ops in prop::collection::vec(op(), 1..40),
            short_wait in any::<bool>(),
        ) {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("{e}"));
            let base = graph(&[]);
            let wait = if short_wait { Duration::from_micros(100) } else { PINNED_WAIT };
            let store = Arc::new(MemoryStore::new());
            let svc = Arc::new(GraphService::with(Arc::new(base.clone()), Spare::default(), store.clone()).with_pinned_wait(wait));
            let (applied, readings) = runtime.block_on(async {
                let done = Arc::new(AtomicBool::new(false));
                let readers: Vec<_> = (0..2).map(|_| {
                    let (svc, done) = (svc.clone(), done.clone());
                    tokio::spawn(async move {
                        let mut seen = Vec::new();
                        while !done.load(Ordering::SeqCst) && seen.len() < 2000 {
                            let snapshot = svc.snapshot();
                            tokio::task::yield_now().await;
                            seen.push(dump(&snapshot));
                        }
                        seen
                    })
                }).collect();
                let writers: Vec<_> = (0..3).map(|w| {
                    let svc = svc.clone();
                    let mine: Vec<(usize, Op)> = ops.iter().cloned().enumerate().filter(|(i, _)| i % 3 == w).collect();
                    tokio::spawn(async move {
                        let mut applied = Vec::new();
                        for (serial, op) in mine {
                            let o = op.clone();
                            if let Ok(w) = svc.write(move |g| apply(&o, serial, g)).await {
                                applied.push((w.committed.version, serial, op));
                            }
                        }
                        applied
                    })
                }).collect();
                let mut applied = Vec::new();
                for w in futures_util::future::join_all(writers).await {
                    applied.extend(w.unwrap_or_else(|e| panic!("{e}")));
                }
                done.store(true, Ordering::SeqCst);
                let mut readings = Vec::new();
                for r in futures_util::future::join_all(readers).await {
                    readings.extend(r.unwrap_or_else(|e| panic!("{e}")));
                }
                (applied, readings)
            });
            let mut applied = applied;
            applied.sort_by_key(|(v, _, _)| *v);
            let mut reference = base;
            let mut states = vec![dump(&reference)];
            for (i, (version, serial, op)) in applied.iter().enumerate() {
                prop_assert_eq!(*version, i as u64 + 1);
                prop_assert!(apply(op, *serial, &mut reference).is_ok(), "{:?} refused in order", op);
                reference.set_version(*version);
                states.push(dump(&reference));
            }
            for reading in &readings {
                let version = usize::try_from(reading.0).unwrap_or(usize::MAX);
                prop_assert_eq!(Some(reading), states.get(version));
            }
            let last = states.last().cloned().unwrap_or_default();
            prop_assert_eq!(dump(&svc.snapshot()), last);
            let stored = runtime.block_on(store.load()).unwrap_or_else(|e| panic!("{e}"));
            let stored_ids: Vec<String> = stored.entities.iter().map(|e| format!("e {} {}", e.id, e.name)).collect();
            let final_ids: Vec<String> = states.last().map(|s| s.1.iter().filter(|i| i.starts_with("e ")).cloned().collect()).unwrap_or_default();
            prop_assert_eq!(stored.version, applied.len() as u64);
            prop_assert_eq!(stored_ids, final_ids);
        }
    }
}
