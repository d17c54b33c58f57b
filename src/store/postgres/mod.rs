//! [`PostgresStore`]: the graph in a PostgreSQL database that any number of
//! instances share.
//!
//! Tables (`migrations/postgres/`, applied at open by sqlx's migrator,
//! which holds an advisory lock so that instances starting together migrate
//! once): `documents`, `entities` and `relations`, one row per item with
//! its body as JSON (relations also name their ends, which must exist when
//! a transaction commits); `graph_version`, one row, the version; and
//! `change_log`, every write by the version it produced, kept for a
//! retention and then pruned; `log_horizon`, one row, how far it was.
//!
//! The change log is the truth. A write is one transaction that locks the
//! `graph_version` row (`SELECT … FOR UPDATE`, held to the end), so that
//! versions are handed out one transaction at a time: the next transaction
//! reads the counter only once the previous one has committed or rolled
//! back, so versions are gap-free and commit in the order they were handed
//! out (a sequence would not do: its numbers are taken before commit, and
//! transactions commit in any order). Within the same transaction it
//! changes the tables, appends the write to the log, sets the counter and
//! sends a NOTIFY, which PostgreSQL delivers on commit.
//!
//! Other instances follow the log: the NOTIFY only wakes them (its payload
//! is small, and notifications sent while a listener is disconnected are
//! lost), then they read the log from the last version they applied. A
//! poll every [`POLL`] covers a lost notification.
//!
//! - this file: open, migrate, and the [`Store`] methods;
//! - `load.rs`: the start-up read, one REPEATABLE READ snapshot, streamed;
//! - `write.rs`: turns, commits and reading the log;
//! - `prune.rs`: deleting the log's old writes (see
//!   [`PostgresStore::with_log_retention`]).

mod load;
mod prune;
pub mod scratch;
mod write;

use super::{Contents, Logged, Sink, Store, StoreError};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Notify};

/// The channel that commits notify.
const CHANNEL: &str = "partnergraph_log";

/// How often the log is read even without a notification.
pub const POLL: Duration = Duration::from_secs(1);

/// How long a store operation may take before it counts as unavailable,
/// unless set.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// A store in a PostgreSQL database, shared by any number of instances.
pub struct PostgresStore {
    pool: PgPool,
    /// How to connect, for the start-up read's connection of its own.
    options: PgConnectOptions,
    /// The connection writes go through, and whether a turn is open on it.
    writer: Mutex<write::Writer>,
    /// Woken by the listener task for every notification and reconnection.
    news: Arc<Notify>,
    /// The newest version this store committed itself: notifications up to
    /// it are of writes this instance has (see [`listen`]).
    own: Arc<AtomicU64>,
    listener: tokio::task::JoinHandle<()>,
    /// Deletes the log's old writes now and then, if a retention is set.
    pruner: Option<tokio::task::JoinHandle<()>>,
    timeout: Duration,
    /// The database's address without its password, for messages.
    shown: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.shown)
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        self.listener.abort();
        if let Some(pruner) = &self.pruner {
            pruner.abort();
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://…`), creating or
    /// migrating its tables, and starts listening for other instances'
    /// commits.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Database(format!("bad database URL: {e}")))?
            // A writer waits for another's turn at most this long, and a
            // turn left open by an instance that stalled is ended by the
            // server, releasing the version lock. A turn holds the lock
            // while its writes are applied in memory, which for an import
            // of millions of items takes minutes: hence fifteen.
            .options([
                ("lock_timeout", "10s"),
                ("idle_in_transaction_session_timeout", "15min"),
            ]);
        let shown = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(|e| error(&format!("cannot connect to {shown}"), e))?;
        let migrator = sqlx::migrate!("./migrations/postgres");
        migrator.run(&pool).await.map_err(|e| match e {
            // A newer partnergraph migrated it (instances of mixed versions,
            // or a rollback): said as such, not as a missing file.
            sqlx::migrate::MigrateError::VersionMissing(found) => StoreError::Database(format!(
                "database {shown} has schema version {found}, newer than this partnergraph \
                 reads (up to {}); run the partnergraph that migrated it, or a newer one",
                migrator.iter().map(|m| m.version).max().unwrap_or(0)
            )),
            e => StoreError::Database(format!("cannot migrate {shown}: {e}")),
        })?;
        let mut listener = PgListener::connect_with(&pool)
            .await
            .map_err(|e| error(&format!("cannot listen on {shown}"), e))?;
        listener
            .listen(CHANNEL)
            .await
            .map_err(|e| error(&format!("cannot listen on {shown}"), e))?;
        let news = Arc::new(Notify::new());
        let own = Arc::new(AtomicU64::new(0));
        let listener = tokio::spawn(listen(listener, news.clone(), own.clone()));
        Ok(PostgresStore {
            pool,
            options,
            writer: Mutex::new(write::Writer::default()),
            news,
            own,
            listener,
            pruner: None,
            timeout: TIMEOUT,
            shown,
        })
    }

    /// Records `writes` as this store's own before they are sent, and
    /// returns what to restore if they are not committed (the writer lock
    /// is held, so nobody else changes it meanwhile).
    ///
    /// Before, not after: PostgreSQL notifies the listener as the commit
    /// answers, and the listener is usually first. A notification skipped
    /// meanwhile for another instance's write of one of these versions is
    /// not lost: that write means this commit fails to find the version it
    /// expects, and the writer's turn then reads it from the log (or, if
    /// the commit fails otherwise, the next poll does).
    fn committing(&self, writes: &[Logged]) -> u64 {
        let before = self.own.load(Ordering::SeqCst);
        if let Some(last) = writes.last() {
            self.own.fetch_max(last.version, Ordering::SeqCst);
        }
        before
    }

    /// Sets how long an operation may take before it fails as unavailable.
    pub fn with_timeout(mut self, timeout: Duration) -> PostgresStore {
        self.timeout = timeout;
        self
    }

    /// Keeps the change log's writes for `keep` after their commit, and
    /// prunes older ones now and then (every instance tries; one at a time
    /// does it). `None` keeps the log whole. An instance that stops
    /// following the log for longer than `keep` (cut off from the database,
    /// or suspended) cannot catch up from it any more: it reports
    /// [`StoreError::Pruned`] and must be restarted, which reads a fresh
    /// snapshot; instances starting up never need older writes.
    pub fn with_log_retention(mut self, keep: Option<Duration>) -> PostgresStore {
        if let Some(pruner) = self.pruner.take() {
            pruner.abort();
        }
        if let Some(keep) = keep {
            let (pool, timeout) = (self.pool.clone(), self.timeout);
            self.pruner = Some(tokio::spawn(async move {
                let mut every = tokio::time::interval(prune::every(keep));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    match prune::prune(&pool, keep, timeout).await {
                        Ok(0) => {}
                        Ok(versions) => {
                            tracing::info!(versions, "pruned the change log's old writes")
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot prune the change log; trying again later")
                        }
                    }
                }
            }));
        }
        self
    }
}

/// Wakes `news` for every notification of a version newer than `own`, and
/// whenever the connection was lost (notifications may have been missed
/// then). `PgListener` reconnects by itself; while it cannot, this retries
/// every [`POLL`].
///
/// A notification of a version up to `own`, the newest this instance
/// committed, is of a write it has: its own, or one committed before its
/// own, which was checked to follow everything before it. Waking the
/// follower for those would read the log once per commit of this
/// instance's own writes, for nothing.
async fn listen(mut listener: PgListener, news: Arc<Notify>, own: Arc<AtomicU64>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(note)) => {
                let had = note
                    .payload()
                    .parse::<u64>()
                    .is_ok_and(|v| v <= own.load(Ordering::SeqCst));
                if !had {
                    news.notify_one();
                }
            }
            Ok(None) => news.notify_one(),
            Err(e) => {
                tracing::warn!(error = %e, "lost the store's notifications; retrying");
                news.notify_one();
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// A driver error as a store error: the server's absence as
/// [`StoreError::Unavailable`], a refused write as
/// [`StoreError::Conflict`], anything else as [`StoreError::Database`].
fn error(doing: &str, e: sqlx::Error) -> StoreError {
    let message = format!("{doing}: {e}");
    match &e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // unique_violation, foreign_key_violation
            Some("23505" | "23503") => StoreError::Conflict(message),
            // connection exceptions, the server shutting down, and another
            // writer's turn held past the lock timeout
            Some(code) if code.starts_with("08") || code.starts_with("57P") || code == "55P03" => {
                StoreError::Unavailable(message)
            }
            _ => StoreError::Database(message),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(message),
        _ => StoreError::Database(message),
    }
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    fn engine(&self) -> &'static str {
        "postgres"
    }

    async fn load(&self) -> Result<Contents, StoreError> {
        load::contents(&self.options)
    }

    async fn load_into(&self, sink: &mut dyn Sink) -> Result<u64, StoreError> {
        load::stream(&self.options, sink)
    }

    async fn begin(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
        let mut writer = self.writer.lock().await;
        writer.begin(&self.options, applied, self.timeout).await
    }

    async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await;
        if !writer.is_open() {
            // Without a turn (an import, the seed), this commit is one.
            let after = writes.first().map_or(0, |w| w.version.saturating_sub(1));
            let behind = writer.begin(&self.options, after, self.timeout).await?;
            if !behind.is_empty() {
                writer.abandon().await;
                return Err(StoreError::Conflict(format!(
                    "the database is already past version {after}"
                )));
            }
        }
        let before = self.committing(writes);
        let result = writer.commit(writes, self.timeout).await;
        if result.is_err() {
            self.own.store(before, Ordering::SeqCst);
        }
        result
    }

    async fn commit_at(&self, base: u64, writes: &[Logged]) -> Result<bool, StoreError> {
        let mut writer = self.writer.lock().await;
        let before = self.committing(writes);
        let result = writer
            .commit_at(&self.options, base, writes, self.timeout)
            .await;
        if !matches!(result, Ok(true)) {
            self.own.store(before, Ordering::SeqCst);
        }
        result
    }

    async fn abandon(&self) {
        self.writer.lock().await.abandon().await;
    }

    async fn log_after(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
        let doing = "cannot read the change log";
        let mut conn = write::within(self.timeout, doing, self.pool.acquire()).await?;
        write::log_after(&mut conn, applied, None, self.timeout).await
    }

    fn shared(&self) -> bool {
        true
    }

    async fn wait_for_news(&self) -> Result<(), StoreError> {
        let _ = tokio::time::timeout(POLL, self.news.notified()).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
