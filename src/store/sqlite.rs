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

use super::{Change, Contents, Item, Sink, Store, StoreError};
use crate::model::{Document, Entity, Relation};
use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
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
    pool: SqlitePool,
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
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(false)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| database(&path, "cannot open", e))?;
        let store = SqliteStore {
            pool,
            dir: dir.to_path_buf(),
            path,
            _lock: lock,
        };
        store.set_up().await?;
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

    /// Closes the database, waiting for its connection to finish, then
    /// releases the directory's lock. Dropping the store also releases the
    /// lock, without waiting for the connection.
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Creates the tables if missing and checks or records the schema
    /// version, all in one transaction.
    async fn set_up(&self) -> Result<(), StoreError> {
        let fail = |e| database(&self.path, "cannot set up", e);
        let mut tx = self.pool.begin().await.map_err(fail)?;
        sqlx::query("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        match meta(&mut tx, "schema").await.map_err(fail)? {
            Some(found) if found == SCHEMA => {}
            Some(found) => {
                return Err(StoreError::Schema {
                    path: self.path.clone(),
                    found,
                    expected: SCHEMA,
                })
            }
            None => {
                sqlx::query("INSERT INTO meta (key, value) VALUES ('schema', ?1)")
                    .bind(SCHEMA)
                    .execute(&mut *tx)
                    .await
                    .map_err(fail)?;
            }
        }
        for sql in CREATE_TABLES {
            sqlx::query(sql).execute(&mut *tx).await.map_err(fail)?;
        }
        tx.commit().await.map_err(fail)
    }
}

/// A database error with the file and what was being done.
fn database(path: &Path, doing: &str, e: sqlx::Error) -> StoreError {
    StoreError::Database(format!("{doing} `{}`: {e}", path.display()))
}

/// The value of `key` in `meta`, if present.
async fn meta(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT value FROM meta WHERE key = ?1")
        .bind(key)
        .fetch_optional(conn)
        .await
}

/// The graph version recorded in `meta`; 0 for a new store.
async fn stored_version(conn: &mut SqliteConnection, path: &Path) -> Result<u64, StoreError> {
    match meta(conn, "version")
        .await
        .map_err(|e| database(path, "cannot read", e))?
    {
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
    let mut conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
    let read = conn.transaction().map_err(fail)?;
    let version: Option<String> = read
        .query_row("SELECT value FROM meta WHERE key = 'version'", [], |row| {
            row.get(0)
        })
        .optional()
        .map_err(fail)?;
    let version = match version {
        None => 0,
        Some(v) => v.parse().map_err(|e| StoreError::Corrupt {
            table: "meta",
            id: "version".into(),
            message: format!("`{v}` is not a version number: {e}"),
        })?,
    };
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
    conn: &rusqlite::Connection,
    path: &Path,
    tx: &SyncSender<Batch>,
    table: &'static str,
    id_of: fn(&T) -> &str,
    wrap: fn(T) -> Item,
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
    let mut batch = Vec::with_capacity(BATCH);
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
        batch.push(wrap(item));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.send(Batch::Items(full)).is_err() {
                return Ok(false);
            }
        }
    }
    Ok(batch.is_empty() || tx.send(Batch::Items(batch)).is_ok())
}

/// Reads every row of `table`, ordered by id, checking each body
/// deserializes and carries its row's id.
async fn read_table<T: DeserializeOwned>(
    conn: &mut SqliteConnection,
    path: &Path,
    table: &'static str,
    sql: &'static str,
    id_of: fn(&T) -> &str,
) -> Result<Vec<T>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(sql)
        .fetch_all(conn)
        .await
        .map_err(|e| database(path, &format!("cannot read table `{table}` of"), e))?;
    rows.into_iter()
        .map(|(id, body)| {
            let corrupt = |message: String| StoreError::Corrupt {
                table,
                id: id.clone(),
                message,
            };
            let item: T = serde_json::from_str(&body).map_err(|e| corrupt(e.to_string()))?;
            if id_of(&item) != id {
                return Err(corrupt(format!(
                    "its body has id `{}`, not the row's",
                    id_of(&item)
                )));
            }
            Ok(item)
        })
        .collect()
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
struct Statement<'a> {
    op: Op,
    id: &'a str,
    body: Option<String>,
}

impl<'a> Statement<'a> {
    /// The statement for `change`, with its body already serialized.
    fn of(change: &'a Change) -> Result<Self, StoreError> {
        let put = |table, id: &'a str, body: Result<String, StoreError>| {
            Ok(Statement {
                op: Op::Put(table),
                id,
                body: Some(body?),
            })
        };
        let delete = |table, id: &'a str| {
            Ok(Statement {
                op: Op::Delete(table),
                id,
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
}

/// Most rows written by one SQL statement: two parameters each stays
/// under 999, the smallest limit SQLite has ever had on parameters.
const ROWS_PER_STATEMENT: usize = 400;

/// Writes `run`, changes that all share one operation, with as few SQL
/// statements as the parameter limit allows. Each statement is a round
/// trip to the connection's worker thread, which at millions of rows (an
/// import) cost several times what SQLite's own work did. A multi-row
/// `INSERT OR REPLACE` takes its rows in order, so a later put of the same
/// id still wins, as it would one statement at a time.
async fn write_run(
    tx: &mut SqliteConnection,
    op: Op,
    run: &[Statement<'_>],
) -> Result<(), sqlx::Error> {
    for chunk in run.chunks(ROWS_PER_STATEMENT) {
        let mut query: QueryBuilder<'_, Sqlite> = match op {
            Op::Put(table) => {
                let mut q =
                    QueryBuilder::new(format!("INSERT OR REPLACE INTO {table} (id, body) "));
                q.push_values(chunk, |mut row, s| {
                    row.push_bind(s.id)
                        .push_bind(s.body.as_deref().unwrap_or_default());
                });
                q
            }
            Op::Delete(table) => {
                let mut q = QueryBuilder::new(format!("DELETE FROM {table} WHERE id IN ("));
                let mut ids = q.separated(", ");
                for s in chunk {
                    ids.push_bind(s.id);
                }
                q.push(")");
                q
            }
        };
        query.build().execute(&mut *tx).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn load(&self) -> Result<Contents, StoreError> {
        let fail = |e| database(&self.path, "cannot read", e);
        // One read transaction, so that the tables are read as of one
        // moment.
        let mut tx = self.pool.begin().await.map_err(fail)?;
        let version = stored_version(&mut tx, &self.path).await?;
        let documents = read_table(
            &mut tx,
            &self.path,
            "documents",
            "SELECT id, body FROM documents ORDER BY id",
            |d: &crate::model::Document| &d.id,
        )
        .await?;
        let entities = read_table(
            &mut tx,
            &self.path,
            "entities",
            "SELECT id, body FROM entities ORDER BY id",
            |e: &crate::model::Entity| &e.id,
        )
        .await?;
        let relations = read_table(
            &mut tx,
            &self.path,
            "relations",
            "SELECT id, body FROM relations ORDER BY id",
            |r: &crate::model::Relation| &r.id,
        )
        .await?;
        tx.commit().await.map_err(fail)?;
        Ok(Contents {
            version,
            documents,
            entities,
            relations,
        })
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
        let fail = |e| database(&self.path, "cannot commit to", e);
        // Dropping `tx` before `commit` (on error, or if this future is
        // dropped) rolls the whole transaction back.
        let mut tx = self.pool.begin().await.map_err(fail)?;
        for run in statements.chunk_by(|a, b| a.op == b.op) {
            if let Some(first) = run.first() {
                write_run(&mut tx, first.op, run).await.map_err(fail)?;
            }
        }
        sqlx::query("INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?1)")
            .bind(version.to_string())
            .execute(&mut *tx)
            .await
            .map_err(fail)?;
        tx.commit().await.map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::{document, entity, relation, scenario};
    use super::*;

    /// Executes raw SQL on the store's own connection.
    async fn raw(store: &SqliteStore, sql: &str) {
        sqlx::query(sql).execute(&store.pool).await.unwrap();
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

        sqlx::query("UPDATE relations SET body = 'not json {' WHERE id = 'r2'")
            .execute(&store.pool)
            .await
            .unwrap();
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
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        // 2 is FULL: the WAL is fsync'd at every commit.
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.pool)
            .await
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
        sqlx::query("UPDATE entities SET body = ?1 WHERE id = 'b'")
            .bind(wrong_shape)
            .execute(&store.pool)
            .await
            .unwrap();
        assert!(matches!(
            store.load().await.unwrap_err(),
            StoreError::Corrupt { table: "entities", ref id, .. } if id == "b"
        ));
        let other_id = serde_json::to_string(&entity("a", "A")).unwrap();
        sqlx::query("UPDATE entities SET body = ?1 WHERE id = 'b'")
            .bind(other_id)
            .execute(&store.pool)
            .await
            .unwrap();
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
