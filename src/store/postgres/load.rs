//! The start-up read: one REPEATABLE READ, READ ONLY transaction, so that
//! the version and every row are of one moment however many writers are
//! at work; rows are streamed, never held whole beside the graph, and
//! read and decoded on a thread of their own while the caller builds from
//! them.

use super::error;
use crate::model::{Document, Entity, Relation};
use crate::store::{
    decode_row, feed, Batch, Contents, Item, Sink, StoreError, BATCH, BATCHES_IN_FLIGHT,
};
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, Row};
use std::ops::ControlFlow;
use std::sync::mpsc::SyncSender;

/// Hands every item to `sink` (documents, entities, relations, each by
/// id) and returns the version they are at.
///
/// Decoding JSON is half the work of a start-up, so a thread of its own
/// reads and decodes, on a connection and a runtime of its own, while this
/// one builds. The server's runtime has one thread, so a task would not
/// run beside the build; this blocks the calling thread, once, at start.
pub(super) fn stream(options: &PgConnectOptions, sink: &mut dyn Sink) -> Result<u64, StoreError> {
    let started = std::time::Instant::now();
    let version = std::thread::scope(|scope| {
        let (send, batches) = std::sync::mpsc::sync_channel(BATCHES_IN_FLIGHT);
        let reader = std::thread::Builder::new()
            .name("store-reader".into())
            .spawn_scoped(scope, move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StoreError::Database(format!("cannot start the reader: {e}")))?;
                runtime.block_on(read_all(options, send))
            })
            .map_err(|e| StoreError::Database(format!("cannot start the reader: {e}")))?;
        feed(batches, sink);
        reader
            .join()
            .unwrap_or_else(|_| Err(StoreError::Database("the store reader failed".into())))
    })?;
    tracing::debug!(
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "store read and decoded"
    );
    Ok(version)
}

/// Opens the snapshot on a connection of its own, sends the sizes and every
/// table in batches, and returns the version. Stops early, without error,
/// once nobody listens.
async fn read_all(options: &PgConnectOptions, send: SyncSender<Batch>) -> Result<u64, StoreError> {
    let fail = |e| error("cannot read the database", e);
    let mut conn = PgConnection::connect_with(options).await.map_err(fail)?;
    let mut tx = conn.begin().await.map_err(fail)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    let version: i64 = sqlx::query_scalar("SELECT version FROM graph_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
    let (documents, entities, relations): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM entities), \
         (SELECT count(*) FROM relations)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(fail)?;
    let size = |n: i64| usize::try_from(n).unwrap_or(0);
    let sizes = Batch::Sizes(size(documents), size(entities), size(relations));
    let _complete = send.send(sizes).is_ok()
        && send_table(
            &mut tx,
            &send,
            "documents",
            |d: &Document| &d.id,
            Item::Document,
        )
        .await?
        && send_table(&mut tx, &send, "entities", |e: &Entity| &e.id, Item::Entity).await?
        && send_table(
            &mut tx,
            &send,
            "relations",
            |r: &Relation| &r.id,
            Item::Relation,
        )
        .await?;
    tx.commit().await.map_err(fail)?;
    Ok(u64::try_from(version).unwrap_or(0))
}

/// Sends every row of `table`, ordered by id, decoded and checked to carry
/// its row's id. Returns whether the receiver took them all.
async fn send_table<T: DeserializeOwned>(
    conn: &mut PgConnection,
    send: &SyncSender<Batch>,
    table: &'static str,
    id_of: fn(&T) -> &str,
    wrap: fn(T) -> Item,
) -> Result<bool, StoreError> {
    let fail = |e| error(&format!("cannot read table `{table}`"), e);
    let sql = format!("SELECT id, body::text FROM {table} ORDER BY id");
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(row) = rows.try_next().await.map_err(fail)? {
        let id: &str = row.try_get(0).map_err(fail)?;
        let body: &str = row.try_get(1).map_err(fail)?;
        batch.push(wrap(decode_row(table, id, body, id_of)?));
        if batch.len() == BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if send.send(Batch::Items(full)).is_err() {
                return Ok(false);
            }
        }
    }
    Ok(batch.is_empty() || send.send(Batch::Items(batch)).is_ok())
}

/// Everything, read whole.
pub(super) fn contents(options: &PgConnectOptions) -> Result<Contents, StoreError> {
    let mut collect = Collect::default();
    collect.0.version = stream(options, &mut collect)?;
    Ok(collect.0)
}

/// A sink that keeps everything.
#[derive(Default)]
struct Collect(Contents);

impl Sink for Collect {
    fn expect(&mut self, documents: usize, entities: usize, relations: usize) {
        self.0.documents.reserve(documents);
        self.0.entities.reserve(entities);
        self.0.relations.reserve(relations);
    }

    fn item(&mut self, item: Item) -> ControlFlow<()> {
        match item {
            Item::Document(d) => self.0.documents.push(d),
            Item::Entity(e) => self.0.entities.push(e),
            Item::Relation(r) => self.0.relations.push(r),
        }
        ControlFlow::Continue(())
    }
}
