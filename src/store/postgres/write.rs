//! Turns, commits and the change log.

use super::{error, CHANNEL};
use crate::store::{Change, Logged, StoreError, LOG_PAGE};
use futures_util::TryStreamExt;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, Executor, PgConnection, Postgres, Row};
use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

/// Changes per row of the change log, and per multi-row statement.
const CHUNK: usize = 1000;

/// Bytes of log bodies per statement: an import's log goes in several,
/// each far below PostgreSQL's limit on one message.
const LOG_BYTES: usize = 16 << 20;

/// `work`, one exchange with the server, given at most `timeout`: every
/// exchange has its own limit, so that a large write (an import) takes
/// as long as its many statements need while a server that stopped
/// answering is noticed within one limit.
pub(super) async fn within<T>(
    timeout: Duration,
    doing: &str,
    work: impl Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(timeout, work).await {
        Ok(done) => done.map_err(|e| error(doing, e)),
        Err(_) => Err(StoreError::Unavailable(format!(
            "{doing}: no answer within {} ms",
            timeout.as_millis()
        ))),
    }
}

/// The connection a store writes through, kept from turn to turn (no pool
/// check-out, no ping), and whether a turn's transaction is open on it.
///
/// A turn is three exchanges with the server: `BEGIN` and the lock on the
/// version row, sent together; the changes, the log, the counter and the
/// notification, in one statement when the changes are of one kind (a
/// single write's usually are); and `COMMIT`. A group committed without a
/// turn ([`Writer::commit_at`]) is one exchange when it fits in that one
/// statement. Any failure drops the connection, which ends the transaction
/// on the server; the next turn connects again.
#[derive(Default)]
pub(super) struct Writer {
    conn: Option<PgConnection>,
    open: bool,
}

impl Writer {
    /// Whether a turn is open.
    pub(super) fn is_open(&self) -> bool {
        self.open && self.conn.is_some()
    }

    /// Begins a turn: a transaction holding the version row's lock, and the
    /// writes committed after `applied`.
    pub(super) async fn begin(
        &mut self,
        options: &PgConnectOptions,
        applied: u64,
        timeout: Duration,
    ) -> Result<Vec<Logged>, StoreError> {
        // A turn left open (its writer went away) is ended first.
        self.abandon().await;
        self.connect(options, timeout, "cannot begin a write")
            .await?;
        let result = self.lock_version(applied, timeout).await;
        match &result {
            Ok(_) => self.open = true,
            Err(_) => self.conn = None,
        }
        result
    }

    /// The kept connection, made first if there is none.
    async fn connect(
        &mut self,
        options: &PgConnectOptions,
        timeout: Duration,
        doing: &str,
    ) -> Result<&mut PgConnection, StoreError> {
        if self.conn.is_none() {
            let options = options.clone();
            let connect = async move { PgConnection::connect_with(&options).await };
            self.conn = Some(within(timeout, doing, connect).await?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::Unavailable(format!("{doing}: not connected")))
    }

    async fn lock_version(
        &mut self,
        applied: u64,
        timeout: Duration,
    ) -> Result<Vec<Logged>, StoreError> {
        let doing = "cannot begin a write";
        let Some(conn) = self.conn.as_mut() else {
            return Err(StoreError::Unavailable(format!("{doing}: not connected")));
        };
        // Waiting for another writer's turn is bounded by the server's
        // lock_timeout, not by the exchange limit: each turn is short, but
        // several may queue.
        let rows = conn
            .fetch_all("BEGIN; SELECT version FROM graph_version FOR UPDATE")
            .await
            .map_err(|e| error(doing, e))?;
        let stored: i64 = rows
            .first()
            .ok_or_else(|| StoreError::Database("the version row is missing".into()))?
            .try_get(0)
            .map_err(|e| error(doing, e))?;
        let stored = u64::try_from(stored).unwrap_or(0);
        if stored < applied {
            return Err(StoreError::Database(format!(
                "the database is at version {stored}, behind this instance's {applied}: \
                 it was restored from an older backup or replaced; restart the instance"
            )));
        }
        if stored > applied {
            log_after(conn, applied, Some(stored), timeout).await
        } else {
            Ok(Vec::new())
        }
    }

    /// Commits `writes` only if the database is still at version `base`,
    /// without a turn (see [`Store::commit_at`](crate::store::Store::commit_at)):
    /// one statement on its own (its own transaction) when the group fits
    /// in one, as a single write does; otherwise a turn, abandoned if
    /// others wrote first. With no writes, reads the counter.
    pub(super) async fn commit_at(
        &mut self,
        options: &PgConnectOptions,
        base: u64,
        writes: &[Logged],
        timeout: Duration,
    ) -> Result<bool, StoreError> {
        self.abandon().await;
        let doing = "cannot commit a write";
        let plan = match writes {
            [] => None,
            _ => Some(Plan::of(writes)?),
        };
        if plan.as_ref().is_some_and(|p| !p.is_one_statement()) {
            let behind = self.begin(options, base, timeout).await?;
            if !behind.is_empty() {
                self.abandon().await;
                return Ok(false);
            }
            return self.commit(writes, timeout).await.map(|()| true);
        }
        let conn = self.connect(options, timeout, doing).await?;
        let result = match &plan {
            Some(plan) => plan.send_last(conn, timeout).await,
            None => {
                let read = sqlx::query_scalar::<_, i64>("SELECT version FROM graph_version")
                    .fetch_one(&mut *conn);
                within(timeout, doing, read)
                    .await
                    .and_then(|stored| Ok(stored == version(base)?))
            }
        };
        if result.is_err() {
            // Whether a statement cut off committed is unknown: the log
            // tells, once the connection is made again.
            self.conn = None;
        }
        result
    }

    /// Ends the open turn, if any, without writing.
    pub(super) async fn abandon(&mut self) {
        if !std::mem::take(&mut self.open) {
            return;
        }
        let rolled_back = match self.conn.as_mut() {
            Some(conn) => conn.execute("ROLLBACK").await.is_ok(),
            None => true,
        };
        if !rolled_back {
            self.conn = None;
        }
    }

    /// Writes `writes` into the tables and the log, sets the counter,
    /// notifies, and commits the open turn.
    pub(super) async fn commit(
        &mut self,
        writes: &[Logged],
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let result = match self.conn.as_mut() {
            Some(conn) if self.open => commit(conn, writes, timeout).await,
            _ => Err(StoreError::Database("no turn is open to commit".into())),
        };
        self.open = false;
        if result.is_err() {
            // The transaction's state is unknown: dropping the connection
            // ends it on the server.
            self.conn = None;
        }
        result
    }
}

/// A group of writes as statements: the runs of changes that go first,
/// the log batches that go first, and the last statement, which holds the
/// last run and batch, sets the counter and notifies.
struct Plan<'a> {
    runs: Vec<Run<'a>>,
    batches: Vec<Vec<(i64, i32, String)>>,
    last_run: Option<Run<'a>>,
    last_batch: Vec<(i64, i32, String)>,
    /// The version before the group, and its last.
    base: i64,
    last: i64,
}

impl<'a> Plan<'a> {
    /// The statements for `writes`, which must not be empty.
    fn of(writes: &'a [Logged]) -> Result<Plan<'a>, StoreError> {
        let (Some(first), Some(last)) = (writes.first(), writes.last()) else {
            return Err(StoreError::Database("no writes to commit".into()));
        };
        let changes: Vec<&Change> = writes.iter().flat_map(|w| &w.changes).collect();
        let mut runs = runs(&changes)?;
        // One run goes with the log in the last statement; more go first.
        let last_run = if runs.len() == 1 { runs.pop() } else { None };
        // The log, in parts of at most CHUNK changes, one row per part,
        // sent in statements of at most LOG_BYTES.
        let mut rows: Vec<(i64, i32, String)> = Vec::new();
        for w in writes {
            let chunks: Vec<&[Change]> = if w.changes.is_empty() {
                vec![&[]]
            } else {
                w.changes.chunks(CHUNK).collect()
            };
            for (part, chunk) in chunks.into_iter().enumerate() {
                let body = serde_json::to_string(chunk).map_err(|e| StoreError::Encode {
                    table: "change_log",
                    id: w.version.to_string(),
                    message: e.to_string(),
                })?;
                rows.push((
                    version(w.version)?,
                    i32::try_from(part).unwrap_or(i32::MAX),
                    body,
                ));
            }
        }
        let mut batches = batches(rows, LOG_BYTES);
        let last_batch = batches.pop().unwrap_or_default();
        Ok(Plan {
            runs,
            batches,
            last_run,
            last_batch,
            base: version(first.version.saturating_sub(1))?,
            last: version(last.version)?,
        })
    }

    /// Whether the whole group is the last statement alone.
    fn is_one_statement(&self) -> bool {
        self.runs.is_empty() && self.batches.is_empty()
    }

    /// Sends the statements that go before the last one.
    async fn send_first(
        &self,
        conn: &mut PgConnection,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let doing = "cannot commit a write";
        for run in &self.runs {
            within(timeout, doing, run.execute(&mut *conn)).await?;
        }
        for batch in &self.batches {
            let (v, p, c) = columns(batch);
            let insert = sqlx::query(
                "INSERT INTO change_log (version, part, changes) \
                 SELECT v, p, c::json FROM unnest($1::bigint[], $2::int[], $3::text[]) AS t(v, p, c)",
            )
            .bind(v)
            .bind(p)
            .bind(c)
            .execute(&mut *conn);
            within(timeout, doing, insert).await?;
        }
        Ok(())
    }

    /// Sends the last statement: if the counter still holds the version
    /// before the group, it writes the last run and batch, sets the counter
    /// and notifies; otherwise it writes nothing. Returns whether it wrote.
    ///
    /// The counter's row is locked by the `UPDATE`, which a concurrent
    /// writer's turn makes wait; once it may go on, PostgreSQL checks the
    /// condition again against the row as that turn left it, so a group
    /// never follows a version it was not checked against. The rows and
    /// the log are written only through a join with the counter's result.
    async fn send_last(
        &self,
        conn: &mut PgConnection,
        timeout: Duration,
    ) -> Result<bool, StoreError> {
        let (v, p, c) = columns(&self.last_batch);
        let data = self
            .last_run
            .as_ref()
            .map(|run| format!("data AS ({}), ", run.sql(7, true)))
            .unwrap_or_default();
        let sql = format!(
            "WITH counter AS (
                 UPDATE graph_version SET version = $4 WHERE version = $6 RETURNING version
             ), {data}logged AS (
                 INSERT INTO change_log (version, part, changes)
                 SELECT v, p, c::json
                 FROM unnest($1::bigint[], $2::int[], $3::text[]) AS t(v, p, c), counter
             )
             SELECT pg_notify($5, version::text) FROM counter"
        );
        let query = sqlx::query(&sql)
            .bind(v)
            .bind(p)
            .bind(c)
            .bind(self.last)
            .bind(CHANNEL)
            .bind(self.base);
        let query = match &self.last_run {
            Some(run) => run.bind(query),
            None => query,
        };
        let rows = within(
            timeout,
            "cannot commit a write",
            query.fetch_all(&mut *conn),
        )
        .await?;
        Ok(!rows.is_empty())
    }
}

/// Writes `writes` into the tables and the log, sets the counter, notifies,
/// and commits the transaction open on `conn`.
async fn commit(
    conn: &mut PgConnection,
    writes: &[Logged],
    timeout: Duration,
) -> Result<(), StoreError> {
    let doing = "cannot commit a write";
    if writes.is_empty() {
        return within(timeout, doing, conn.execute("COMMIT"))
            .await
            .map(drop);
    }
    let plan = Plan::of(writes)?;
    plan.send_first(conn, timeout).await?;
    if !plan.send_last(conn, timeout).await? {
        // The turn holds the counter's lock: only a database changed
        // behind the instances' backs gets here.
        return Err(StoreError::Database(format!(
            "the version counter moved from {} during a turn",
            plan.base
        )));
    }
    within(timeout, doing, conn.execute("COMMIT"))
        .await
        .map(drop)
}

/// Log rows in order, split into batches of at most `max_bytes` of bodies
/// (a larger row alone); at least one batch, perhaps empty.
fn batches(rows: Vec<(i64, i32, String)>, max_bytes: usize) -> Vec<Vec<(i64, i32, String)>> {
    let mut batches: Vec<Vec<(i64, i32, String)>> = vec![Vec::new()];
    let mut bytes = 0;
    for row in rows {
        if bytes + row.2.len() > max_bytes && batches.last().is_some_and(|b| !b.is_empty()) {
            batches.push(Vec::new());
            bytes = 0;
        }
        bytes += row.2.len();
        if let Some(batch) = batches.last_mut() {
            batch.push(row);
        }
    }
    batches
}

/// Log rows as the three columns `unnest` takes.
fn columns(rows: &[(i64, i32, String)]) -> (Vec<i64>, Vec<i32>, Vec<&str>) {
    let mut out = (Vec::new(), Vec::new(), Vec::new());
    for (v, p, c) in rows {
        out.0.push(*v);
        out.1.push(*p);
        out.2.push(c.as_str());
    }
    out
}

/// A version as PostgreSQL's `bigint`.
fn version(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Encode {
        table: "graph_version",
        id: v.to_string(),
        message: "past the largest bigint".into(),
    })
}

/// The writes after `applied` (up to `upto`, or at most [`LOG_PAGE`] of
/// them), in order, checked to follow on without a gap.
pub(super) async fn log_after(
    conn: &mut PgConnection,
    applied: u64,
    upto: Option<u64>,
    timeout: Duration,
) -> Result<Vec<Logged>, StoreError> {
    let doing = "cannot read the change log";
    let from = version(applied)?;
    let upto = version(upto.unwrap_or(applied.saturating_add(LOG_PAGE as u64)))?;
    // The horizon is read in the same statement (one snapshot) as the
    // log: a prune between two statements could otherwise pass for a log
    // with nothing new. The outer join gives it even when there is none.
    let mut rows = sqlx::query(
        "SELECT h.pruned_to, l.version, l.changes::text FROM log_horizon h \
         LEFT JOIN change_log l ON l.version > $1 AND l.version <= $2 \
         ORDER BY l.version, l.part",
    )
    .bind(from)
    .bind(upto)
    .fetch(&mut *conn);
    let mut out: Vec<Logged> = Vec::new();
    // Streamed, each row within the limit: a large write's log takes as
    // long as it takes to read.
    while let Some(row) = within(timeout, doing, rows.try_next()).await? {
        let fail = |e| error(doing, e);
        let pruned_to: i64 = row.try_get(0).map_err(fail)?;
        let pruned_to = u64::try_from(pruned_to).unwrap_or(0);
        if pruned_to > applied {
            return Err(StoreError::Pruned { applied, pruned_to });
        }
        let (Some(v), Some(body)) = (
            row.try_get::<Option<i64>, _>(1).map_err(fail)?,
            row.try_get::<Option<&str>, _>(2).map_err(fail)?,
        ) else {
            continue;
        };
        let v = u64::try_from(v).unwrap_or(0);
        let corrupt = |message: String| StoreError::Corrupt {
            table: "change_log",
            id: v.to_string(),
            message,
        };
        let mut changes: Vec<Change> =
            serde_json::from_str(body).map_err(|e| corrupt(e.to_string()))?;
        match out.last_mut() {
            Some(w) if w.version == v => w.changes.append(&mut changes),
            _ => {
                let expected = out.last().map_or(applied, |w| w.version) + 1;
                if v != expected {
                    return Err(corrupt(format!(
                        "the log jumps from version {} to {v}",
                        expected - 1
                    )));
                }
                out.push(Logged {
                    version: v,
                    changes,
                });
            }
        }
    }
    Ok(out)
}

/// Consecutive changes of one kind, as one multi-row statement.
enum Run<'a> {
    /// Inserts or replaces rows of `documents` or `entities`.
    Put(&'static str, Vec<(&'a str, String)>),
    /// Inserts or replaces relations.
    PutRelations(Vec<(&'a str, &'a str, &'a str, String)>),
    /// Deletes rows of a table by id.
    Delete(&'static str, Vec<&'a str>),
}

/// Splits `changes` into runs that keep their order: a run holds changes
/// of one kind, at most [`CHUNK`], each id once (a statement cannot insert
/// the same row twice).
fn runs<'a>(changes: &[&'a Change]) -> Result<Vec<Run<'a>>, StoreError> {
    let mut out: Vec<Run<'a>> = Vec::new();
    let mut ids: HashSet<&'a str> = HashSet::new();
    for &change in changes {
        let (kind, id) = match change {
            Change::PutDocument(d) => (0, d.id.as_str()),
            Change::PutEntity(e) => (1, e.id.as_str()),
            Change::PutRelation(r) => (2, r.id.as_str()),
            Change::DeleteEntity(id) => (3, id.as_str()),
            Change::DeleteRelation(id) => (4, id.as_str()),
        };
        let same = match out.last() {
            Some(Run::Put("documents", v)) => kind == 0 && v.len() < CHUNK,
            Some(Run::Put(_, v)) => kind == 1 && v.len() < CHUNK,
            Some(Run::PutRelations(v)) => kind == 2 && v.len() < CHUNK,
            Some(Run::Delete("entities", v)) => kind == 3 && v.len() < CHUNK,
            Some(Run::Delete(_, v)) => kind == 4 && v.len() < CHUNK,
            None => false,
        };
        if !same || !ids.insert(id) {
            ids.clear();
            ids.insert(id);
            out.push(match kind {
                0 => Run::Put("documents", Vec::new()),
                1 => Run::Put("entities", Vec::new()),
                2 => Run::PutRelations(Vec::new()),
                3 => Run::Delete("entities", Vec::new()),
                _ => Run::Delete("relations", Vec::new()),
            });
        }
        let body = |table, item: Result<String, serde_json::Error>| {
            item.map_err(|e| StoreError::Encode {
                table,
                id: id.to_owned(),
                message: e.to_string(),
            })
        };
        match (out.last_mut(), change) {
            (Some(Run::Put(_, v)), Change::PutDocument(d)) => {
                v.push((&d.id, body("documents", serde_json::to_string(d))?))
            }
            (Some(Run::Put(_, v)), Change::PutEntity(e)) => {
                v.push((&e.id, body("entities", serde_json::to_string(e))?))
            }
            (Some(Run::PutRelations(v)), Change::PutRelation(r)) => v.push((
                &r.id,
                &r.from,
                &r.to,
                body("relations", serde_json::to_string(r))?,
            )),
            (Some(Run::Delete(_, v)), Change::DeleteEntity(id) | Change::DeleteRelation(id)) => {
                v.push(id)
            }
            _ => {}
        }
    }
    Ok(out)
}

impl<'a> Run<'a> {
    /// The statement, its parameters numbered from `first`; `gated`: as
    /// part of [`Plan::send_last`], writing only if its `counter` has a row.
    fn sql(&self, first: usize, gated: bool) -> String {
        let (a, b, c, d) = (first, first + 1, first + 2, first + 3);
        let (join, exists) = if gated {
            (", counter", " AND EXISTS (SELECT 1 FROM counter)")
        } else {
            ("", "")
        };
        match self {
            Run::Put(table, _) => format!(
                "INSERT INTO {table} (id, body) \
                 SELECT i, b::json FROM unnest(${a}::text[], ${b}::text[]) AS t(i, b){join} \
                 ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body"
            ),
            Run::PutRelations(_) => format!(
                "INSERT INTO relations (id, from_id, to_id, body) \
                 SELECT i, f, t, b::json \
                 FROM unnest(${a}::text[], ${b}::text[], ${c}::text[], ${d}::text[]) AS x(i, f, t, b){join} \
                 ON CONFLICT (id) DO UPDATE \
                 SET from_id = EXCLUDED.from_id, to_id = EXCLUDED.to_id, body = EXCLUDED.body"
            ),
            Run::Delete(table, _) => {
                format!("DELETE FROM {table} WHERE id = ANY(${a}::text[]){exists}")
            }
        }
    }

    /// Binds its parameters, after those `query` has.
    fn bind<'q>(
        &'q self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
        match self {
            Run::Put(_, rows) => {
                let (ids, bodies): (Vec<&str>, Vec<&str>) =
                    rows.iter().map(|(id, b)| (*id, b.as_str())).unzip();
                query.bind(ids).bind(bodies)
            }
            Run::PutRelations(rows) => {
                let mut cols: (Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) = Default::default();
                for (id, from, to, body) in rows {
                    cols.0.push(id);
                    cols.1.push(from);
                    cols.2.push(to);
                    cols.3.push(body);
                }
                query.bind(cols.0).bind(cols.1).bind(cols.2).bind(cols.3)
            }
            Run::Delete(_, ids) => query.bind(ids.clone()),
        }
    }

    async fn execute(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        let sql = self.sql(1, false);
        self.bind(sqlx::query(&sql)).execute(conn).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_rows_are_sent_in_bounded_batches_in_order() {
        let row = |v: i64, n: usize| (v, 0, "x".repeat(n));
        let rows = vec![row(1, 4), row(2, 4), row(3, 9), row(4, 1), row(5, 1)];
        let got: Vec<Vec<i64>> = batches(rows, 8)
            .into_iter()
            .map(|b| b.into_iter().map(|r| r.0).collect())
            .collect();
        assert_eq!(got, vec![vec![1, 2], vec![3], vec![4, 5]]);
        assert_eq!(batches(Vec::new(), 8), vec![Vec::new()]);
    }
}
