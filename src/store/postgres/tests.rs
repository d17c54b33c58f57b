//! The PostgreSQL store against a real server: each test in a database of
//! its own, dropped after (see `scratch`).

use super::*;
use crate::store::testkit::{entity, logged, relation, scenario};
use crate::store::{Change, MemoryStore, ScratchDatabase};

/// A database of the test's own.
async fn scratch() -> ScratchDatabase {
    ScratchDatabase::new("store")
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {} is needed: {e}", super::scratch::server()))
}

/// A store on a new database, holding entity `a` at version 1.
async fn holding_a() -> (ScratchDatabase, PostgresStore) {
    let db = scratch().await;
    let store = PostgresStore::open(&db.url).await.unwrap();
    store
        .commit(&logged(1, vec![Change::PutEntity(entity("a", "A"))]))
        .await
        .unwrap();
    (db, store)
}

/// Two stores, as two instances have, on one new database.
async fn two_stores() -> (ScratchDatabase, Arc<PostgresStore>, Arc<PostgresStore>) {
    let db = scratch().await;
    let a = Arc::new(PostgresStore::open(&db.url).await.unwrap());
    let b = Arc::new(PostgresStore::open(&db.url).await.unwrap());
    (db, a, b)
}

#[tokio::test]
async fn postgres_passes_the_scenario_as_memory_does() {
    let db = scratch().await;
    let store = PostgresStore::open(&db.url).await.unwrap();
    let memory = scenario(&MemoryStore::new()).await;
    assert_eq!(scenario(&store).await, memory);
}

#[tokio::test]
async fn migrations_run_once_and_reopen_keeps_everything() {
    let (db, store) = holding_a().await;
    drop(store);
    let store = PostgresStore::open(&db.url).await.unwrap();
    let got = store.load().await.unwrap();
    assert_eq!((got.version, got.entities), (1, vec![entity("a", "A")]));
}

#[tokio::test]
async fn a_turn_sees_what_others_committed_and_excludes_them_until_it_ends() {
    let (_db, a, b) = two_stores().await;
    assert!(a.begin(0).await.unwrap().is_empty());
    a.commit(&logged(1, vec![Change::PutEntity(entity("a", "A"))]))
        .await
        .unwrap();

    // B, which has applied nothing, is handed A's write in its turn.
    let behind = b.begin(0).await.unwrap();
    assert_eq!(behind, logged(1, vec![Change::PutEntity(entity("a", "A"))]));
    // A's next turn waits for B's to end.
    let a2 = a.clone();
    let waiting = tokio::spawn(async move { a2.begin(1).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished());
    b.commit(&logged(2, vec![Change::PutEntity(entity("b", "B"))]))
        .await
        .unwrap();
    let behind = waiting.await.unwrap().unwrap();
    assert_eq!(behind.iter().map(|w| w.version).collect::<Vec<_>>(), [2]);
    a.abandon().await;
    assert_eq!(a.log_after(0).await.unwrap().len(), 2);
}

#[tokio::test]
async fn the_database_refuses_a_relation_whose_end_is_missing() {
    let (_db, store) = holding_a().await;
    let dangling = logged(2, vec![Change::PutRelation(relation("r", "a", "missing"))]);
    // In a turn, and in the one statement of a write without a turn.
    for without_turn in [false, true] {
        let err = if without_turn {
            store.commit_at(1, &dangling).await.unwrap_err()
        } else {
            store.commit(&dangling).await.unwrap_err()
        };
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
        // Nothing of it was kept, not even its version.
        let got = store.load().await.unwrap();
        assert_eq!((got.version, got.relations.len()), (1, 0));
        assert!(store.log_after(1).await.unwrap().is_empty());
    }
    // The store goes on.
    let b = logged(2, vec![Change::PutEntity(entity("b", "B"))]);
    assert!(store.commit_at(1, &b).await.unwrap());
}

#[tokio::test]
async fn a_large_write_is_logged_in_parts_and_read_back_whole() {
    let db = scratch().await;
    let store = PostgresStore::open(&db.url).await.unwrap();
    let id = |i: usize| format!("e{i:05}");
    let mut changes: Vec<Change> = (0..2500)
        .map(|i| Change::PutEntity(entity(&id(i), "first")))
        .collect();
    // The same id twice in one write, and a delete between puts.
    changes.push(Change::PutEntity(entity(&id(3), "again")));
    changes.push(Change::DeleteEntity(id(4)));
    changes.push(Change::PutRelation(relation("r", &id(1), &id(2))));
    store.commit(&logged(1, changes.clone())).await.unwrap();
    let log = store.log_after(0).await.unwrap();
    assert_eq!(log, logged(1, changes.clone()));
    let memory = MemoryStore::new();
    memory.commit(&logged(1, changes)).await.unwrap();
    assert_eq!(store.load().await.unwrap(), memory.load().await.unwrap());
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_hang() {
    // Nothing listens on port 1.
    let err = PostgresStore::open("postgres://postgres@127.0.0.1:1/none")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn a_group_commits_without_a_turn_only_where_the_store_still_is() {
    let (_db, store) = holding_a().await;
    let b = logged(2, vec![Change::PutEntity(entity("b", "B"))]);
    // At version 1: written, in one statement.
    assert!(store.commit_at(1, &b).await.unwrap());
    // Still "at version 1" is now wrong: nothing is written.
    let stale = logged(2, vec![Change::PutEntity(entity("c", "C"))]);
    assert!(!store.commit_at(1, &stale).await.unwrap());
    // A group of several kinds of change goes through a turn, and is
    // refused the same way.
    let mixed = logged(
        2,
        vec![
            Change::PutEntity(entity("c", "C")),
            Change::PutRelation(relation("r", "a", "c")),
        ],
    );
    assert!(!store.commit_at(1, &mixed).await.unwrap());
    let got = store.load().await.unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.entities, vec![entity("a", "A"), entity("b", "B")]);
    assert_eq!(store.log_after(1).await.unwrap(), b);
    // Nothing to write: only asks.
    assert!(store.commit_at(2, &[]).await.unwrap());
    assert!(!store.commit_at(1, &[]).await.unwrap());
    // At the right version, the mixed group is written whole.
    let mixed = logged(
        3,
        vec![
            Change::PutEntity(entity("c", "C")),
            Change::PutRelation(relation("r", "a", "c")),
        ],
    );
    assert!(store.commit_at(2, &mixed).await.unwrap());
    let got = store.load().await.unwrap();
    assert_eq!((got.version, got.relations.len()), (3, 1));
    assert_eq!(store.log_after(2).await.unwrap(), mixed);
}

#[tokio::test]
async fn a_group_without_a_turn_waits_for_a_turn_and_then_is_refused() {
    let (_db, a, b) = two_stores().await;
    assert!(b.begin(0).await.unwrap().is_empty());
    // A's one statement waits for B's turn to end...
    let a2 = a.clone();
    let waiting = tokio::spawn(async move {
        a2.commit_at(
            0,
            &logged(1, vec![Change::PutEntity(entity("x", "from A"))]),
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiting.is_finished());
    b.commit(&logged(1, vec![Change::PutEntity(entity("x", "from B"))]))
        .await
        .unwrap();
    // ...and then writes nothing, since the counter has moved.
    assert!(!waiting.await.unwrap().unwrap());
    let got = a.load().await.unwrap();
    assert_eq!(
        (got.version, got.entities),
        (1, vec![entity("x", "from B")])
    );
    assert_eq!(a.log_after(0).await.unwrap().len(), 1);
}

#[tokio::test]
async fn pruning_deletes_old_writes_and_a_reader_behind_them_is_told() {
    let (_db, store) = holding_a().await;
    store
        .commit(&logged(2, vec![Change::PutEntity(entity("b", "B"))]))
        .await
        .unwrap();
    // Young writes are kept.
    let hour = Duration::from_secs(3600);
    assert_eq!(prune::prune(&store.pool, hour, TIMEOUT).await.unwrap(), 0);
    assert_eq!(store.log_after(0).await.unwrap().len(), 2);

    // Kept for no time at all, every committed write goes.
    assert_eq!(
        prune::prune(&store.pool, Duration::ZERO, TIMEOUT)
            .await
            .unwrap(),
        2
    );
    // A reader that applied less cannot follow, in either way of reading
    // the log; one that applied all of it reads on as before.
    for applied in [0, 1] {
        let err = store.log_after(applied).await.unwrap_err();
        assert!(
            matches!(err, StoreError::Pruned { applied: a, pruned_to: 2 } if a == applied),
            "{err:?}"
        );
        let err = store.begin(applied).await.unwrap_err();
        assert!(matches!(err, StoreError::Pruned { .. }), "{err:?}");
        assert!(err.to_string().contains("restart"), "{err}");
    }
    assert!(store.log_after(2).await.unwrap().is_empty());
    let c = logged(3, vec![Change::PutEntity(entity("c", "C"))]);
    assert!(store.commit_at(2, &c).await.unwrap());
    assert_eq!(store.log_after(2).await.unwrap(), c);
    // The tables are untouched: a new instance starts from them.
    let got = store.load().await.unwrap();
    assert_eq!((got.version, got.entities.len()), (3, 3));
    // Nothing more to prune until another write is old enough.
    assert_eq!(prune::prune(&store.pool, hour, TIMEOUT).await.unwrap(), 0);
}

#[tokio::test]
async fn instances_pruning_at_once_each_delete_a_version_once() {
    let (_db, a, b) = two_stores().await;
    for v in 1..=20u64 {
        a.commit(&logged(
            v,
            vec![Change::PutEntity(entity(&format!("e{v}"), "E"))],
        ))
        .await
        .unwrap();
    }
    let (pa, pb) = tokio::join!(
        prune::prune(&a.pool, Duration::ZERO, TIMEOUT),
        prune::prune(&b.pool, Duration::ZERO, TIMEOUT)
    );
    // One may skip its round while the other holds the horizon; together
    // they deleted each version once, and all of them.
    let (pa, pb) = (pa.unwrap(), pb.unwrap());
    let rest = prune::prune(&a.pool, Duration::ZERO, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(pa + pb + rest, 20);
    let err = b.log_after(19).await.unwrap_err();
    assert!(
        matches!(err, StoreError::Pruned { pruned_to: 20, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn only_other_instances_commits_wake_the_follower() {
    let (_db, a, b) = two_stores().await;
    // The listeners are listening once a commit's notification reaches them;
    // B's first write proves A's is.
    b.commit(&logged(1, vec![Change::PutEntity(entity("b", "B"))]))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), a.news.notified())
        .await
        .unwrap();
    // A's own writes, with and without a turn, wake nothing: nothing is
    // waiting to be taken once their notifications had time to arrive.
    assert!(a
        .commit_at(1, &logged(2, vec![Change::PutEntity(entity("a", "A"))]))
        .await
        .unwrap());
    assert!(a.begin(2).await.unwrap().is_empty());
    a.commit(&logged(3, vec![Change::PutEntity(entity("c", "C"))]))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let woken = tokio::time::timeout(Duration::from_millis(50), a.news.notified()).await;
    assert!(woken.is_err(), "A was woken by its own writes");
    // B hears of them.
    tokio::time::timeout(Duration::from_secs(5), b.news.notified())
        .await
        .unwrap();
    // A write refused (the store is not at its base) claims nothing: B's
    // next version, which it had claimed, still wakes A.
    assert!(!a
        .commit_at(4, &logged(5, vec![Change::PutEntity(entity("x", "X"))]))
        .await
        .unwrap());
    assert!(b
        .commit_at(3, &logged(4, vec![Change::PutEntity(entity("d", "D"))]))
        .await
        .unwrap());
    tokio::time::timeout(Duration::from_secs(5), a.news.notified())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_database_migrated_by_a_newer_version_is_refused_as_such() {
    let (db, store) = holding_a().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (999, 'from a newer partnergraph', true, '\\x00', 0)",
    )
    .execute(&store.pool)
    .await
    .unwrap();
    drop(store);
    let err = PostgresStore::open(&db.url).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("schema version 999") && message.contains("newer"),
        "{message}"
    );
}
