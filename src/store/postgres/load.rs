//! The start-up read: one REPEATABLE READ, READ ONLY transaction, so that
//! the version and every row are of one moment however many writers are
//! at work; rows are streamed, never held whole beside the graph.

use super::error;
use crate::model::{Document, Entity, Relation};
use crate::store::{decode_row, Contents, Item, Sink, StoreError};
use futures_util::TryStreamExt;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres, Row, Transaction};

/// Opens the snapshot and reads its version.
async fn snapshot(pool: &PgPool) -> Result<(Transaction<'static, Postgres>, u64), StoreError> {
    let fail = |e| error("cannot read the database", e);
    let mut tx = pool.begin().await.map_err(fail)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    let version: i64 = sqlx::query_scalar("SELECT version FROM graph_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(fail)?;
    Ok((tx, u64::try_from(version).unwrap_or(0)))
}

/// Hands every item to `sink` (documents, entities, relations, each by
/// id) and returns the version they are at.
pub(super) async fn stream(pool: &PgPool, sink: &mut dyn Sink) -> Result<u64, StoreError> {
    let started = std::time::Instant::now();
    let (mut tx, version) = snapshot(pool).await?;
    let (documents, entities, relations): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM entities), \
         (SELECT count(*) FROM relations)",
    )
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| error("cannot read the database", e))?;
    let size = |n: i64| usize::try_from(n).unwrap_or(0);
    sink.expect(size(documents), size(entities), size(relations));
    let complete = each_row(
        &mut tx,
        "documents",
        |d: &Document| &d.id,
        |d| sink.item(Item::Document(d)).is_continue(),
    )
    .await?
        && each_row(
            &mut tx,
            "entities",
            |e: &Entity| &e.id,
            |e| sink.item(Item::Entity(e)).is_continue(),
        )
        .await?
        && each_row(
            &mut tx,
            "relations",
            |r: &Relation| &r.id,
            |r| sink.item(Item::Relation(r)).is_continue(),
        )
        .await?;
    let _ = complete;
    tx.commit()
        .await
        .map_err(|e| error("cannot read the database", e))?;
    tracing::debug!(
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "store read and decoded"
    );
    Ok(version)
}

/// Everything, read whole.
pub(super) async fn contents(pool: &PgPool) -> Result<Contents, StoreError> {
    let (mut tx, version) = snapshot(pool).await?;
    let mut contents = Contents {
        version,
        ..Contents::default()
    };
    each_row(
        &mut tx,
        "documents",
        |d: &Document| &d.id,
        |d| {
            contents.documents.push(d);
            true
        },
    )
    .await?;
    each_row(
        &mut tx,
        "entities",
        |e: &Entity| &e.id,
        |e| {
            contents.entities.push(e);
            true
        },
    )
    .await?;
    each_row(
        &mut tx,
        "relations",
        |r: &Relation| &r.id,
        |r| {
            contents.relations.push(r);
            true
        },
    )
    .await?;
    tx.commit()
        .await
        .map_err(|e| error("cannot read the database", e))?;
    Ok(contents)
}

/// Hands every row of `table`, ordered by id, decoded and checked to carry
/// its row's id, to `each`, until it answers false. Returns whether every
/// row was handed over.
async fn each_row<T: DeserializeOwned>(
    conn: &mut PgConnection,
    table: &'static str,
    id_of: fn(&T) -> &str,
    mut each: impl FnMut(T) -> bool,
) -> Result<bool, StoreError> {
    let fail = |e| error(&format!("cannot read table `{table}`"), e);
    let sql = format!("SELECT id, body::text FROM {table} ORDER BY id");
    let mut rows = sqlx::query(&sql).fetch(&mut *conn);
    while let Some(row) = rows.try_next().await.map_err(fail)? {
        let id: &str = row.try_get(0).map_err(fail)?;
        let body: &str = row.try_get(1).map_err(fail)?;
        if !each(decode_row(table, id, body, id_of)?) {
            return Ok(false);
        }
    }
    Ok(true)
}
