//! A commit: the changes of a group of writes, serialized first, then one
//! transaction, on the calling thread.

use super::database;
use crate::store::{Change, Logged, StoreError};
use parking_lot::Mutex;
use rusqlite::Connection;
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;

/// Commits `writes` in one transaction and records the last one's version.
pub(super) async fn commit(
    conn: &Arc<Mutex<Connection>>,
    path: &Path,
    writes: &[Logged],
) -> Result<(), StoreError> {
    let Some(last) = writes.last() else {
        return Ok(());
    };
    let version = last.version;
    // Serialize everything before touching the database.
    let statements = writes
        .iter()
        .flat_map(|w| &w.changes)
        .map(Statement::of)
        .collect::<Result<Vec<_>, _>>()?;
    // On the calling thread: the service's writer has a thread of its
    // own (see `live`), which has nothing else to do while the disk syncs;
    // a hop to the blocking pool and back was a fifth of a write's turn.
    commit_all(&mut conn.lock(), version, &statements)
        .map_err(|e| database(path, "cannot commit to", e))
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
