//! The live graph's tests.

use super::*;
use crate::edit::{EntityPatch, Ingest};
use crate::graph::testing::{document, graph, source};
use crate::model::{Entity, EntityKind, Relation, RelationKind, Source};
use crate::store::{Contents, MemoryStore};
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// A service opened over `store`, once the copy its writes go to is made.
async fn service(store: Arc<dyn Store>) -> Arc<GraphService> {
    let seed = vec![Dataset::builtin().unwrap_or_else(|e| panic!("{e}"))];
    let svc = GraphService::open(store, seed)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..500 {
        if svc.spare_made.load(Ordering::SeqCst) {
            return Arc::new(svc);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the spare copy was not made in 5 s");
}

/// A service is not ready while the copy its writes go to is being made,
/// and is once it is, whatever else holds.
#[tokio::test]
async fn not_ready_until_the_spare_copy_is_made() {
    let made = Arc::new(AtomicBool::new(false));
    // The sender is kept, as the thread making the copy would keep it.
    let (_sender, copy) = oneshot::channel();
    let spare = Spare {
        making: Some(Making {
            copy,
            done: made.clone(),
        }),
        ..Spare::default()
    };
    let store = Arc::new(MemoryStore::new());
    let svc = GraphService::with(Arc::new(graph(&[])), spare, store);
    assert_eq!(svc.not_ready(), Some(NotReady::MakingSpare));
    assert!(!svc.ready());
    made.store(true, Ordering::SeqCst);
    assert_eq!(svc.not_ready(), None);
    assert!(svc.ready());
    // What else keeps a service out comes first: it is what lasts.
    made.store(false, Ordering::SeqCst);
    svc.reachable.store(false, Ordering::SeqCst);
    assert_eq!(svc.not_ready(), Some(NotReady::StoreUnreachable));
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
        if !e.merged_ids().is_empty() {
            for m in e.merged_ids() {
                assert_eq!(g.resolve_entity_ix(m), Some(ix));
            }
            out.push(format!("m {} {:?} {:?}", e.id, e.merged_ids(), e.aliases));
        }
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
    // The relation indexes, on either copy and after any replay or
    // refusal taken back, are what a fresh build would make.
    assert!(g.facets_consistent());
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
    let doc = document("d2");
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

/// Over a store only this process writes, writes go to the writer thread,
/// which neither keeps the service alive nor outlives it.
#[tokio::test]
async fn the_writer_thread_ends_with_the_service() {
    let svc = Arc::new(GraphService::in_memory(graph(&[])));
    let e = Entity::new("", EntityKind::ArmedForce, "Force", source());
    let written = svc
        .write(move |g| edit::create_entity(g, None, e.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(svc.writer_thread.get(), Some(&true));
    drop(written);
    // The thread holds the bell while it runs, and the service only
    // during a turn.
    let (service, ring) = (Arc::downgrade(&svc), Arc::downgrade(&svc.ring));
    drop(svc);
    for _ in 0..500 {
        if service.upgrade().is_none() && ring.upgrade().is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the writer thread still holds the service or runs");
}

/// A write whose work panics fails alone; the writer thread goes on with
/// the next write, from a copy of the published graph.
#[tokio::test]
async fn a_panicking_write_fails_and_the_writer_goes_on() {
    let svc = Arc::new(GraphService::in_memory(graph(&[])));
    let failed = svc
        .write(|_: &mut Graph| -> Result<((), Vec<Edit>), GraphError> {
            panic!("a write's work panicked")
        })
        .await;
    assert!(matches!(failed, Err(WriteError::Aborted(_))), "{failed:?}");
    let e = Entity::new("", EntityKind::ArmedForce, "Force", source());
    let next = svc.write(move |g| edit::create_entity(g, None, e.clone()));
    let written = tokio::time::timeout(Duration::from_secs(30), next)
        .await
        .unwrap_or_else(|_| panic!("the write after a panic was never answered"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(written.graph.version(), 1);
    assert!(written.graph.entity(&written.value).is_some());
    assert_eq!(svc.snapshot().entity_count(), 1);
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
    /// The second entity merged into the first.
    Merge(u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0u8..10;
    prop_oneof![
        n.clone().prop_map(Op::Create),
        (n.clone(), 0u8..4).prop_map(|(a, b)| Op::Rename(a, b)),
        (n.clone(), any::<bool>()).prop_map(|(a, c)| Op::Delete(a, c)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Link(a, b)),
        (n.clone(), n.clone()).prop_map(|(a, b)| Op::Unlink(a, b)),
        (prop::collection::vec(n.clone(), 1..4), any::<bool>())
            .prop_map(|(ns, f)| Op::Ingest(ns, f)),
        (n.clone(), n).prop_map(|(a, b)| Op::Merge(a, b)),
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
        Op::Merge(a, b) => edit::merge_entities(g, &e(a), &[e(b)])?,
        Op::Ingest(ns, refused) => {
            let mut relations: Vec<_> = ns.windows(2).map(|w| (None, link(&w[0], &w[1]))).collect();
            if *refused {
                let to_nobody =
                    Relation::new("", RelationKind::PartOf, &e(&ns[0]), "nobody", source());
                relations.push((None, to_nobody));
            }
            let input = Ingest {
                document_id: Some(format!("doc-{serial}")),
                document: document(""),
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
