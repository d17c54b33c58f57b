//! The SQLite store's own tests; the scenario every store passes is in
//! `store::testkit`.

use super::*;
use crate::store::testkit::{document, entity, logged, relation, scenario};
use crate::store::{Change, Item};

/// Executes raw SQL on the store's own connection.
async fn raw(store: &SqliteStore, sql: &str) {
    store.conn.lock().execute_batch(sql).unwrap();
}

/// Sets the body of entity `b` to `body`.
fn set_body_of_b(store: &SqliteStore, body: String) {
    store
        .conn
        .lock()
        .execute("UPDATE entities SET body = ?1 WHERE id = 'b'", [body])
        .unwrap();
}

#[tokio::test]
async fn puts_replaces_deletes_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    scenario(&SqliteStore::open(dir.path()).await.unwrap()).await;
}

#[tokio::test]
async fn a_large_commit_keeps_the_order_of_its_changes() {
    // Runs longer than one statement, an id put again in a later
    // statement of the same run, and in the same statement, deletes
    // between puts: the outcome must be the in-memory store's, which
    // applies the changes one by one.
    let id = |i: usize| format!("e{i:04}");
    let mut changes: Vec<Change> = Vec::new();
    changes.extend((0..1000).map(|i| Change::PutEntity(entity(&id(i), "first"))));
    changes.extend((0..500).map(|i| Change::PutEntity(entity(&id(i), "second"))));
    changes.extend((0..100).map(|i| Change::DeleteEntity(id(i))));
    changes.extend((0..10).map(|i| Change::PutEntity(entity(&id(i), "third"))));
    changes.push(Change::PutEntity(entity(&id(5), "fourth")));
    changes.push(Change::DeleteEntity("never-there".into()));
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    store.commit(&logged(1, changes.to_vec())).await.unwrap();
    let memory = crate::store::memory::MemoryStore::new();
    memory.commit(&logged(1, changes.to_vec())).await.unwrap();
    let got = store.load().await.unwrap();
    assert_eq!(got, memory.load().await.unwrap());
    assert_eq!(got.entities.len(), 910);
    let name = |i: usize| {
        got.entities
            .iter()
            .find(|e| e.id == id(i))
            .map(|e| e.name.to_string())
    };
    assert_eq!(name(5).as_deref(), Some("fourth"));
    assert_eq!(name(9).as_deref(), Some("third"));
    assert_eq!(name(50), None);
    assert_eq!(name(499).as_deref(), Some("second"));
    assert_eq!(name(500).as_deref(), Some("first"));
}

#[tokio::test]
async fn round_trip_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let store = SqliteStore::open(&data).await.unwrap();
    assert_eq!(store.path(), data.join("partnergraph.sqlite"));
    assert_eq!(store.dir(), data);
    let changes = [
        Change::PutDocument(document("doc")),
        Change::PutEntity(entity("ctef", "Counter-ISIS Train and Equip Fund")),
        Change::PutEntity(entity("b", "B")),
        Change::PutRelation(relation("ctef-funds-b", "ctef", "b")),
    ];
    store
        .commit(&logged(u64::MAX - 1, changes.to_vec()))
        .await
        .unwrap();
    drop(store);

    let store = SqliteStore::open(&data).await.unwrap();
    let got = store.load().await.unwrap();
    assert_eq!(
        got,
        Contents {
            version: u64::MAX - 1,
            documents: vec![document("doc")],
            entities: vec![
                entity("b", "B"),
                entity("ctef", "Counter-ISIS Train and Equip Fund")
            ],
            relations: vec![relation("ctef-funds-b", "ctef", "b")],
        }
    );
    store.close().await;
    // Closing released the lock too.
    let store = SqliteStore::open(&data).await.unwrap();
    assert_eq!(store.load().await.unwrap(), got);
}

/// Collects what `load_into` hands over.
#[derive(Default)]
struct Collect {
    sizes: (usize, usize, usize),
    items: Vec<Item>,
    stop_after: Option<usize>,
}

impl Sink for Collect {
    fn expect(&mut self, documents: usize, entities: usize, relations: usize) {
        self.sizes = (documents, entities, relations);
    }

    fn item(&mut self, item: Item) -> std::ops::ControlFlow<()> {
        self.items.push(item);
        match self.stop_after {
            Some(n) if self.items.len() >= n => std::ops::ControlFlow::Break(()),
            _ => std::ops::ControlFlow::Continue(()),
        }
    }
}

#[tokio::test]
async fn streamed_load_hands_over_what_load_reads_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let changes = [
        Change::PutDocument(document("doc")),
        Change::PutEntity(entity("b", "B")),
        Change::PutEntity(entity("a", "A")),
        Change::PutRelation(relation("r2", "a", "b")),
        Change::PutRelation(relation("r1", "b", "a")),
    ];
    store.commit(&logged(7, changes.to_vec())).await.unwrap();
    let whole = store.load().await.unwrap();
    let mut sink = Collect::default();
    assert_eq!(store.load_into(&mut sink).await.unwrap(), 7);
    assert_eq!(sink.sizes, (1, 2, 2));
    let expected: Vec<Item> = (whole.documents.into_iter().map(Item::Document))
        .chain(whole.entities.into_iter().map(Item::Entity))
        .chain(whole.relations.into_iter().map(Item::Relation))
        .collect();
    assert_eq!(sink.items, expected);

    // A sink that stops early gets no more, and the store stays usable.
    let mut early = Collect {
        stop_after: Some(2),
        ..Collect::default()
    };
    assert_eq!(store.load_into(&mut early).await.unwrap(), 7);
    assert_eq!(early.items.len(), 2);
    store.commit(&logged(8, vec![])).await.unwrap();

    raw(
        &store,
        "UPDATE relations SET body = 'not json {' WHERE id = 'r2'",
    )
    .await;
    let err = store.load_into(&mut Collect::default()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt { table: "relations", id, .. } if id == "r2"),
        "{err:?}"
    );
}

#[tokio::test]
async fn commits_are_durable_by_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let conn = store.conn.lock();
    let journal: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(journal, "wal");
    // 2 is FULL: the WAL is fsync'd at every commit.
    let synchronous: i64 = conn
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(synchronous, 2);
}

#[tokio::test]
async fn new_store_is_empty_at_version_zero() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    assert_eq!(store.load().await.unwrap(), Contents::default());
}

/// A trigger makes SQLite itself abort the transaction at its third
/// statement, after two statements have been executed in it.
#[tokio::test]
async fn failure_midway_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    store
        .commit(&logged(1, vec![Change::PutEntity(entity("a", "A"))]))
        .await
        .unwrap();
    raw(
        &store,
        "CREATE TRIGGER refuse BEFORE INSERT ON relations WHEN NEW.id = 'boom' \
         BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END",
    )
    .await;
    let before = store.load().await.unwrap();

    let err = store
        .commit(&logged(
            2,
            vec![
                Change::PutEntity(entity("a", "A renamed")),
                Change::DeleteEntity("a".into()),
                Change::PutDocument(document("doc")),
                Change::PutRelation(relation("boom", "a", "a")),
                Change::PutEntity(entity("z", "Z")),
            ],
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert!(err.to_string().contains("refused by test trigger"), "{err}");
    assert_eq!(store.load().await.unwrap(), before);

    // The connection is not left inside the failed transaction.
    store
        .commit(&logged(3, vec![Change::PutEntity(entity("z", "Z"))]))
        .await
        .unwrap();
    drop(store);
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let got = store.load().await.unwrap();
    assert_eq!(got.version, 3);
    assert_eq!(got.entities, vec![entity("a", "A"), entity("z", "Z")]);
    assert!(got.documents.is_empty());
    assert!(got.relations.is_empty());
}

#[tokio::test]
async fn second_open_is_locked_out_until_first_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).await.unwrap();
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    match &err {
        StoreError::Locked { dir: locked } => assert_eq!(locked, dir.path()),
        other => panic!("expected Locked, got {other:?}"),
    }
    let message = err.to_string();
    let shown = dir.path().display().to_string();
    assert!(message.contains(&format!("`{shown}`")), "{message}");
    assert!(
        message.contains(&dir.path().join("LOCK").display().to_string()),
        "{message}"
    );
    assert!(message.contains("--data-dir"), "{message}");
    // The refused open did not disturb the first store.
    first.commit(&logged(1, vec![])).await.unwrap();
    drop(first);
    let second = SqliteStore::open(dir.path()).await.unwrap();
    assert_eq!(second.load().await.unwrap().version, 1);
}

#[tokio::test]
async fn corrupt_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    store
        .commit(&logged(
            1,
            vec![
                Change::PutEntity(entity("a", "A")),
                Change::PutEntity(entity("b", "B")),
            ],
        ))
        .await
        .unwrap();

    raw(
        &store,
        "UPDATE entities SET body = 'not json {' WHERE id = 'b'",
    )
    .await;
    let err = store.load().await.unwrap_err();
    match &err {
        StoreError::Corrupt { table, id, .. } => {
            assert_eq!((*table, id.as_str()), ("entities", "b"))
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains("`b`") && message.contains("`entities`"),
        "{message}"
    );

    // Well-formed JSON of the wrong shape, and a body under another id.
    let wrong_shape = serde_json::json!({"id": "b", "kind": "NOT_A_KIND"}).to_string();
    set_body_of_b(&store, wrong_shape);
    assert!(matches!(
        store.load().await.unwrap_err(),
        StoreError::Corrupt { table: "entities", ref id, .. } if id == "b"
    ));
    let other_id = serde_json::to_string(&entity("a", "A")).unwrap();
    set_body_of_b(&store, other_id);
    let err = store.load().await.unwrap_err();
    assert!(err.to_string().contains("body has id `a`"), "{err}");

    // Repairing the row makes the store readable again.
    store
        .commit(&logged(2, vec![Change::DeleteEntity("b".into())]))
        .await
        .unwrap();
    assert_eq!(store.load().await.unwrap().entities, vec![entity("a", "A")]);

    raw(&store, "UPDATE meta SET value = 'x' WHERE key = 'version'").await;
    assert!(matches!(
        store.load().await.unwrap_err(),
        StoreError::Corrupt { table: "meta", ref id, .. } if id == "version"
    ));
}

#[tokio::test]
async fn other_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).await.unwrap();
    raw(&store, "PRAGMA user_version = 99").await;
    store.close().await;
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::Schema { found, .. } if found == "99"),
        "{err:?}"
    );
    assert!(err.to_string().contains("schema version 99"), "{err}");
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DB_FILE), vec![b'x'; 4096]).unwrap();
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert!(err.to_string().contains(DB_FILE), "{err}");
}

#[tokio::test]
async fn a_data_dir_that_is_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    let err = SqliteStore::open(&file).await.unwrap_err();
    assert!(matches!(err, StoreError::Io { .. }), "{err:?}");
}

#[tokio::test]
async fn a_database_made_before_versioned_migrations_is_migrated() {
    // The layout every build wrote before migrations were versioned.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO meta VALUES ('schema', '1'), ('version', '5');
             CREATE TABLE documents (id TEXT PRIMARY KEY, body TEXT NOT NULL);
             CREATE TABLE entities (id TEXT PRIMARY KEY, body TEXT NOT NULL);
             CREATE TABLE relations (id TEXT PRIMARY KEY, body TEXT NOT NULL);",
        )
        .unwrap();
        let body = serde_json::to_string(&entity("a", "A")).unwrap();
        conn.execute("INSERT INTO entities VALUES ('a', ?1)", [body])
            .unwrap();
    }
    let store = SqliteStore::open(dir.path()).await.unwrap();
    let got = store.load().await.unwrap();
    assert_eq!((got.version, got.entities), (5, vec![entity("a", "A")]));
    let version: usize = store
        .conn
        .lock()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, MIGRATIONS.len());
}
