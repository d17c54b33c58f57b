//! The read at start-up: every row, in one read transaction, decoded on a
//! thread of its own while the caller builds the graph from them.

use super::database;
use crate::model::{Document, Entity, Relation};
use crate::store::{
    decode_row, feed, Batch, Contents, Item, Sink, StoreError, BATCH, BATCHES_IN_FLIGHT,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::de::DeserializeOwned;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::time::Duration;

/// Hands every stored item to `sink`, read by a thread of its own; returns
/// the graph version.
pub(super) fn stream(db: &Path, sink: &mut dyn Sink) -> Result<u64, StoreError> {
    // A thread of its own reads and decodes rows while this one builds
    // from them. It uses a plain SQLite connection: through the pool,
    // every row is a message between threads, which costs more than
    // decoding it. This blocks the calling thread, once, at start.
    let path = db.to_path_buf();
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Only a hint to the page cache: should the thread not start,
        // SQLite reads the disk on its own.
        let _ = std::thread::Builder::new()
            .name("store-prefetch".into())
            .spawn_scoped(scope, || prefetch(db, &done));
        let (tx, rx) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let reader = std::thread::Builder::new()
            .name("store-reader".into())
            .spawn_scoped(scope, move || read_all(&path, &tx))
            .map_err(|source| StoreError::Io {
                path: db.to_path_buf(),
                source,
            })?;
        feed(rx, sink);
        let read = reader
            .join()
            .unwrap_or_else(|_| Err(StoreError::Database("the store reader failed".into())));
        done.store(true, Ordering::Relaxed);
        read
    })
}

/// The graph version recorded in `meta`; 0 for a new store.
pub(super) fn stored_version(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
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
        if !each(decode_row(table, id, body, id_of)?) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every table and the version, as of one moment.
pub(super) fn read_contents(conn: &mut Connection, path: &Path) -> Result<Contents, StoreError> {
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
