//! [`SqliteStore`]: the store on disk, a SQLite database in a data
//! directory.
//!
//! The directory holds `LOCK`, locked exclusively for as long as the store
//! lives so that one process at a time uses the directory, and
//! `partnergraph.sqlite` (with its `-wal` and `-shm` files), in WAL mode
//! with `synchronous=FULL` so that a commit is on disk when it returns.
//!
//! Tables: `meta(key, value)` holds `schema` (this layout's version,
//! [`SCHEMA`]) and `version` (the graph version); `documents`, `entities`
//! and `relations` hold one row per item, `id` and `body`, the item as
//! JSON.
//!
//! One driver, rusqlite, for reading and writing. The store once wrote
//! through sqlx and read at start-up through rusqlite, so two drivers had to
//! agree on one native SQLite library. sqlx's SQLite connection lives on a
//! worker thread of its own and every statement is a message to it and
//! back: a commit of one write took five such round trips, and at 1M
//! entities the store's worker was a third of the server's time under
//! concurrent writes, most of it waking and switching threads. Here a
//! commit is one job on the blocking pool that runs its whole transaction
//! with cached prepared statements, one row per statement, as SQLite is
//! fastest used in-process.

use super::{Change, Contents, Item, Sink, Store, StoreError};
use crate::lock;
use crate::model::{Document, Entity, Relation};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The version of the table layout this build reads and writes.
const SCHEMA: &str = "1";

/// Name of the lock file in the data directory.
const LOCK_FILE: &str = "LOCK";

/// Name of the database file in the data directory.
const DB_FILE: &str = "partnergraph.sqlite";

/// Creates the tables other than `meta`; idempotent.
const CREATE_TABLES: [&str; 3] = [
    "CREATE TABLE IF NOT EXISTS documents (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS entities (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS relations (id TEXT PRIMARY KEY, body TEXT NOT NULL)",
];

/// A store in a data directory: a SQLite database guarded by a lock file.
///
/// The lock is held until the store is dropped or [`closed`](Self::close),
/// and released by the OS if the process dies, however it dies.
#[derive(Debug)]
pub struct SqliteStore {
    // Fields drop in order: the database before the lock.
    conn: Arc<Mutex<Connection>>,
    dir: PathBuf,
    path: PathBuf,
    _lock: File,
}

impl SqliteStore {
    /// Opens the store in `dir`, creating the directory, the database and
    /// its tables as needed.
    ///
    /// Fails with [`StoreError::Locked`] if another store (in this process
    /// or another) has `dir` open, and with [`StoreError::Schema`] if the
    /// database was written with a table layout this build does not read.
    pub async fn open(dir: &Path) -> Result<SqliteStore, StoreError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    dir: dir.to_path_buf(),
                })
            }
            Err(TryLockError::Error(source)) => {
                return Err(StoreError::Io {
                    path: lock_path,
                    source,
                })
            }
        }

        let path = dir.join(DB_FILE);
        let conn = connect(&path).map_err(|e| database(&path, "cannot open", e))?;
        let store = SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            dir: dir.to_path_buf(),
            path,
            _lock: lock,
        };
        store.set_up()?;
        // Make the new database file's directory entry durable too; SQLite
        // syncs the directory for its journal files but not for the main
        // file.
        #[cfg(unix)]
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
        Ok(store)
    }

    /// The database file, `partnergraph.sqlite` in the data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Closes the database, waiting for a commit still running to finish,
    /// then releases the directory's lock. Dropping the store also releases
    /// the lock, without waiting.
    pub async fn close(self) {
        let conn = self.conn.clone();
        // The connection is held for the whole of a commit.
        let _ = tokio::task::spawn_blocking(move || drop(lock(&conn))).await;
    }

    /// Creates the tables if missing and checks or records the schema
    /// version, all in one transaction.
    fn set_up(&self) -> Result<(), StoreError> {
        let fail = |e| database(&self.path, "cannot set up", e);
        let mut conn = lock(&self.conn);
        let tx = conn.transaction().map_err(fail)?;
        tx.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
            [],
        )
        .map_err(fail)?;
        let found: Option<String> = tx
            .query_row("SELECT value FROM meta WHERE key = 'schema'", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(fail)?;
        match found {
            Some(found) if found == SCHEMA => {}
            Some(found) => {
                return Err(StoreError::Schema {
                    path: self.path.clone(),
                    found,
                    expected: SCHEMA,
                })
            }
            None => {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema', ?1)",
                    [SCHEMA],
                )
                .map_err(fail)?;
            }
        }
        for sql in CREATE_TABLES {
            tx.execute(sql, []).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }
}

/// Opens the database for reading and writing: WAL, every commit synced.
fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // `journal_mode` answers with the mode set, so it is read as a query.
    let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
    conn.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = OFF;")?;
    Ok(conn)
}

/// A database error with the file and what was being done.
fn database(path: &Path, doing: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Database(format!("{doing} `{}`: {e}", path.display()))
}

/// The graph version recorded in `meta`; 0 for a new store.
fn stored_version(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let version: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = 'version'", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(|e| database(path, "cannot read", e))?;
    match version {
        None => Ok(0),
        Some(v) => v.parse().map_err(|e| StoreError::Corrupt {
            table: "meta",
            id: "version".into(),
            message: format!("`{v}` is not a version number: {e}"),
        }),
    }
}

/// What the reader thread of [`SqliteStore::load_into`] sends.
enum Batch {
    /// How many documents, entities and relations follow.
    Sizes(usize, usize, usize),
    /// The next items, in order.
    Items(Vec<Item>),
}

/// Items per message from the reader thread: large enough that passing
/// them costs little per item, small enough to keep both threads busy.
const BATCH: usize = 2048;

/// Messages the reader may run ahead by.
const BATCHES_IN_FLIGHT: usize = 8;

/// Reads the database file (then its write-ahead log) through once, ahead
/// of SQLite, until `done`. On a cold page cache SQLite would read the disk
/// a page at a time, as it walks its tables, while rows wait to be decoded;
/// read ahead in long runs, the disk is busy while the cores decode.
/// Errors are ignored: this only warms the cache.
fn prefetch(db: &Path, done: &AtomicBool) {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let mut buf = vec![0u8; 1 << 20];
    for path in [db, Path::new(&wal)] {
        let Ok(mut file) = File::open(path) else {
            continue;
        };
        while !done.load(Ordering::Relaxed) {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
}

/// Reads the whole store in one read transaction, sending its sizes and
/// then its items in batches. Stops early, without error, when the
/// receiver is gone. Returns the graph version.
fn read_all(path: &Path, tx: &SyncSender<Batch>) -> Result<u64, StoreError> {
    let started = std::time::Instant::now();
    let fail =
        |e: rusqlite::Error| StoreError::Database(format!("cannot read `{}`: {e}", path.display()));
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
    let read = conn.transaction().map_err(fail)?;
    let version = stored_version(&read, path)?;
    let (documents, entities, relations): (i64, i64, i64) = read
        .query_row(
            "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM entities), \
             (SELECT count(*) FROM relations)",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .map_err(fail)?;
    let size = |n: i64| usize::try_from(n).unwrap_or(0);
    let sizes = Batch::Sizes(size(documents), size(entities), size(relations));
    let complete = tx.send(sizes).is_ok()
        && send_table(
            &read,
            path,
            tx,
            "documents",
            |d: &Document| &d.id,
            Item::Document,
        )?
        && send_table(
            &read,
            path,
            tx,
            "entities",
            |e: &Entity| &e.id,
            Item::Entity,
        )?
        && send_table(
            &read,
            path,
            tx,
            "relations",
            |r: &Relation| &r.id,
            Item::Relation,
        )?;
    let _ = complete;
    read.finish().map_err(fail)?;
    tracing::debug!(
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "store read and decoded"
    );
    Ok(version)
}

/// Sends every row of `table`, ordered by id, decoded and checked to carry
/// its row's id. Returns whether the receiver took them all.
fn send_table<T: DeserializeOwned>(
    conn: &Connection,
    path: &Path,
    tx: &SyncSender<Batch>,
    table: &'static str,
    id_of: fn(&T) -> &str,
    wrap: fn(T) -> Item,
) -> Result<bool, StoreError> {
    let mut batch = Vec::with_capacity(BATCH);
    let all = each_row(conn, path, table, id_of, |item| {
        batch.push(wrap(item));
        if batch.len() < BATCH {
            return true;
        }
        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
        tx.send(Batch::Items(full)).is_ok()
    })?;
    Ok(all && (batch.is_empty() || tx.send(Batch::Items(batch)).is_ok()))
}

/// Every row of `table`, ordered by id, decoded and checked to carry its
/// row's id.
fn read_table<T: DeserializeOwned>(
    conn: &Connection,
    path: &Path,
    table: &'static str,
    id_of: fn(&T) -> &str,
) -> Result<Vec<T>, StoreError> {
    let mut rows = Vec::new();
    each_row(conn, path, table, id_of, |item| {
        rows.push(item);
        true
    })?;
    Ok(rows)
}

/// Hands every row of `table`, ordered by id, decoded and checked to carry
/// its row's id, to `each`, until it answers false. Returns whether every
/// row was handed over.
fn each_row<T: DeserializeOwned>(
    conn: &Connection,
    path: &Path,
    table: &'static str,
    id_of: fn(&T) -> &str,
    mut each: impl FnMut(T) -> bool,
) -> Result<bool, StoreError> {
    let fail = |e: rusqlite::Error| {
        StoreError::Database(format!(
            "cannot read table `{table}` of `{}`: {e}",
            path.display()
        ))
    };
    let mut statement = conn
        .prepare(&format!("SELECT id, body FROM {table} ORDER BY id"))
        .map_err(fail)?;
    let mut rows = statement.query([]).map_err(fail)?;
    while let Some(row) = rows.next().map_err(fail)? {
        let id = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(fail)?;
        let body = row.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(fail)?;
        let corrupt = |message: String| StoreError::Corrupt {
            table,
            id: id.to_owned(),
            message,
        };
        let item: T = serde_json::from_str(body).map_err(|e| corrupt(e.to_string()))?;
        if id_of(&item) != id {
            return Err(corrupt(format!(
                "its body has id `{}`, not the row's",
                id_of(&item)
            )));
        }
        if !each(item) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The JSON body of an item bound for `table`.
fn encode<T: Serialize>(table: &'static str, id: &str, item: &T) -> Result<String, StoreError> {
    serde_json::to_string(item).map_err(|e| StoreError::Encode {
        table,
        id: id.to_owned(),
        message: e.to_string(),
    })
}

/// What one change does to which table.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Insert or replace a row by id.
    Put(&'static str),
    /// Delete a row by id.
    Delete(&'static str),
}

/// One change of a commit: its operation, the id and, for puts, the body.
struct Statement {
    op: Op,
    id: String,
    body: Option<String>,
}

impl Statement {
    /// The statement for `change`, with its body already serialized.
    fn of(change: &Change) -> Result<Self, StoreError> {
        let put = |table, id: &str, body: Result<String, StoreError>| {
            Ok(Statement {
                op: Op::Put(table),
                id: id.to_owned(),
                body: Some(body?),
            })
        };
        let delete = |table, id: &str| {
            Ok(Statement {
                op: Op::Delete(table),
                id: id.to_owned(),
                body: None,
            })
        };
        match change {
            Change::PutDocument(d) => put("documents", &d.id, encode("documents", &d.id, d)),
            Change::PutEntity(e) => put("entities", &e.id, encode("entities", &e.id, e)),
            Change::DeleteEntity(id) => delete("entities", id),
            Change::PutRelation(r) => put("relations", &r.id, encode("relations", &r.id, r)),
            Change::DeleteRelation(id) => delete("relations", id),
        }
    }

    /// Runs it in `tx`, through the connection's cache of prepared
    /// statements.
    fn run(&self, tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
        match self.op {
            Op::Put(table) => tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO {table} (id, body) VALUES (?1, ?2)"
                ))?
                .execute(rusqlite::params![
                    self.id,
                    self.body.as_deref().unwrap_or_default()
                ]),
            Op::Delete(table) => tx
                .prepare_cached(&format!("DELETE FROM {table} WHERE id = ?1"))?
                .execute([&self.id]),
        }
        .map(|_| ())
    }
}

/// Commits `statements` and the new `version` in one transaction; a
/// failure anywhere rolls all of it back.
fn commit_all(
    conn: &mut Connection,
    version: u64,
    statements: &[Statement],
) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction()?;
    for s in statements {
        s.run(&tx)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?1)",
        [version.to_string()],
    )?;
    tx.commit()
}

/// Every table and the version, as of one moment.
fn read_contents(conn: &mut Connection, path: &Path) -> Result<Contents, StoreError> {
    let tx = conn
        .transaction()
        .map_err(|e| database(path, "cannot read", e))?;
    Ok(Contents {
        version: stored_version(&tx, path)?,
        documents: read_table(&tx, path, "documents", |d: &Document| &d.id)?,
        entities: read_table(&tx, path, "entities", |e: &Entity| &e.id)?,
        relations: read_table(&tx, path, "relations", |r: &Relation| &r.id)?,
    })
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Contents, StoreError> {
        let (conn, path) = (self.conn.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || read_contents(&mut lock(&conn), &path))
            .await
            .map_err(|e| StoreError::Database(format!("the store read failed: {e}")))?
    }

    async fn load_into(&self, sink: &mut dyn Sink) -> Result<u64, StoreError> {
        // A thread of its own reads and decodes rows while this one builds
        // from them. It uses a plain SQLite connection: through the pool,
        // every row is a message between threads, which costs more than
        // decoding it. This blocks the calling thread, once, at start.
        let path = self.path.clone();
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            // Only a hint to the page cache: should the thread not start,
            // SQLite reads the disk on its own.
            let _ = std::thread::Builder::new()
                .name("store-prefetch".into())
                .spawn_scoped(scope, || prefetch(&self.path, &done));
            let (tx, rx) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
            let reader = std::thread::Builder::new()
                .name("store-reader".into())
                .spawn_scoped(scope, move || read_all(&path, &tx))
                .map_err(|source| StoreError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            for message in rx.iter() {
                let taken = match message {
                    Batch::Sizes(d, e, r) => {
                        sink.expect(d, e, r);
                        true
                    }
                    Batch::Items(items) => items.into_iter().all(|i| sink.item(i).is_continue()),
                };
                if !taken {
                    // Dropping the receiver stops the reader at its next batch.
                    break;
                }
            }
            drop(rx);
            let read = reader
                .join()
                .unwrap_or_else(|_| Err(StoreError::Database("the store reader failed".into())));
            done.store(true, Ordering::Relaxed);
            read
        })
    }

    async fn commit(&self, version: u64, changes: &[Change]) -> Result<(), StoreError> {
        // Serialize everything before touching the database.
        let statements = changes
            .iter()
            .map(Statement::of)
            .collect::<Result<Vec<_>, _>>()?;
        let (conn, path) = (self.conn.clone(), self.path.clone());
        // Runs to its end even if this future is dropped: the transaction
        // is either committed or rolled back, never left open.
        tokio::task::spawn_blocking(move || {
            commit_all(&mut lock(&conn), version, &statements)
                .map_err(|e| database(&path, "cannot commit to", e))
        })
        .await
        .map_err(|e| StoreError::Database(format!("the store commit failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{document, entity, relation, scenario};
    use super::*;

    /// Executes raw SQL on the store's own connection.
    async fn raw(store: &SqliteStore, sql: &str) {
        lock(&store.conn).execute_batch(sql).unwrap();
    }

    /// Sets the body of entity `b` to `body`.
    fn set_body_of_b(store: &SqliteStore, body: String) {
        lock(&store.conn)
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
        store.commit(1, &changes).await.unwrap();
        let memory = crate::store::memory::MemoryStore::new();
        memory.commit(1, &changes).await.unwrap();
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
        store.commit(u64::MAX - 1, &changes).await.unwrap();
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
        store.commit(7, &changes).await.unwrap();
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
        store.commit(8, &[]).await.unwrap();

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
        let conn = lock(&store.conn);
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
            .commit(1, &[Change::PutEntity(entity("a", "A"))])
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
            .commit(
                2,
                &[
                    Change::PutEntity(entity("a", "A renamed")),
                    Change::DeleteEntity("a".into()),
                    Change::PutDocument(document("doc")),
                    Change::PutRelation(relation("boom", "a", "a")),
                    Change::PutEntity(entity("z", "Z")),
                ],
            )
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Database(_)), "{err:?}");
        assert!(err.to_string().contains("refused by test trigger"), "{err}");
        assert_eq!(store.load().await.unwrap(), before);

        // The connection is not left inside the failed transaction.
        store
            .commit(3, &[Change::PutEntity(entity("z", "Z"))])
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
        first.commit(1, &[]).await.unwrap();
        drop(first);
        let second = SqliteStore::open(dir.path()).await.unwrap();
        assert_eq!(second.load().await.unwrap().version, 1);
    }

    #[tokio::test]
    async fn corrupt_rows_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).await.unwrap();
        store
            .commit(
                1,
                &[
                    Change::PutEntity(entity("a", "A")),
                    Change::PutEntity(entity("b", "B")),
                ],
            )
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
            .commit(2, &[Change::DeleteEntity("b".into())])
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
        raw(&store, "UPDATE meta SET value = '2' WHERE key = 'schema'").await;
        store.close().await;
        let err = SqliteStore::open(dir.path()).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Schema { found, .. } if found == "2"),
            "{err:?}"
        );
        assert!(err.to_string().contains("schema version 2"), "{err}");
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
}
