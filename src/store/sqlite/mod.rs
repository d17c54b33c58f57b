//! [`SqliteStore`]: the store on disk, a SQLite database in a data
//! directory.
//!
//! The directory holds `LOCK`, locked exclusively for as long as the store
//! lives so that one process at a time uses the directory, and
//! `partnergraph.sqlite` (with its `-wal` and `-shm` files), in WAL mode
//! with `synchronous=FULL` so that a commit is on disk when it returns.
//!
//! Tables (`migrations/sqlite/`, applied at open, the schema version kept
//! in `PRAGMA user_version`): `meta(key, value)` holds `version` (the graph
//! version); `documents`, `entities` and `relations` hold one row per item,
//! `id` and `body`, the item as JSON.
//!
//! - this file: open, lock and migrate;
//! - `load.rs`: the read at start-up, streamed from a thread of its own;
//! - `write.rs`: a commit, one transaction on the calling thread (the
//!   service's writer thread).
//!
//! Why rusqlite alone: see the module doc of `store`.

mod load;
#[cfg(test)]
mod tests;
mod write;

use super::{Contents, Logged, Sink, Store, StoreError};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{Migrations, M};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The schema's migrations, in order; a database records how many it has
/// had. Never edit one that has shipped: add the next.
const MIGRATIONS: [&str; 1] = [include_str!("../../../migrations/sqlite/0001_graph.sql")];

/// Name of the lock file in the data directory.
const LOCK_FILE: &str = "LOCK";

/// Name of the database file in the data directory.
const DB_FILE: &str = "partnergraph.sqlite";

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
        let _ = tokio::task::spawn_blocking(move || drop(conn.lock())).await;
    }

    /// Migrates the schema to this build's, refusing a database that a
    /// newer build has migrated further.
    fn set_up(&self) -> Result<(), StoreError> {
        let migrations = Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect());
        let mut conn = self.conn.lock();
        let found: usize = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| database(&self.path, "cannot read the schema version of", e))?;
        if found > MIGRATIONS.len() {
            return Err(StoreError::Schema {
                path: self.path.clone(),
                found: found.to_string(),
                expected: MIGRATIONS.len().to_string(),
            });
        }
        migrations.to_latest(&mut conn).map_err(|e| {
            StoreError::Database(format!(
                "cannot migrate the schema of `{}`: {e}",
                self.path.display()
            ))
        })
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

#[async_trait::async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> &'static str {
        "sqlite"
    }

    async fn load(&self) -> Result<Contents, StoreError> {
        let (conn, path) = (self.conn.clone(), self.path.clone());
        tokio::task::spawn_blocking(move || load::read_contents(&mut conn.lock(), &path))
            .await
            .map_err(|e| StoreError::Database(format!("the store read failed: {e}")))?
    }

    async fn load_into(&self, sink: &mut dyn Sink) -> Result<u64, StoreError> {
        load::stream(&self.path, sink)
    }

    async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError> {
        write::commit(&self.conn, &self.path, writes).await
    }
}
