//! The durable store: what the graph is saved to and rebuilt from.
//!
//! The graph itself lives in memory; a [`Store`] keeps a copy of its
//! documents, entities and relations and the graph version, changed only by
//! whole transactions ([`Store::commit`]) and read back whole at start
//! ([`Store::load_into`]). Three implementations, one folder per engine:
//! - [`SqliteStore`] (`sqlite/`): the embedded default, a SQLite database
//!   in a data directory, guarded by a lock file so that one process at a
//!   time uses it;
//! - [`PostgresStore`] (`postgres/`): a PostgreSQL database that any number
//!   of instances share; its change log is the truth, which every instance
//!   tails ([`Store::log_after`], [`Store::wait_for_news`]);
//! - [`MemoryStore`]: a mutex around [`Contents`], for tests and for
//!   running without disk.
//!
//! Each engine folder reads the same way: `mod.rs` opens the database and
//! migrates its schema (versioned migrations in `migrations/<engine>/`,
//! applied at open), `load.rs` reads it at start-up, `write.rs` commits.
//!
//! # One driver per engine
//!
//! - SQLite: rusqlite. SQLite is a library, fastest used in-process on the
//!   thread that asks: a commit runs its whole transaction with cached
//!   prepared statements on the service's writer thread. An async
//!   driver (sqlx) runs each SQLite connection on a worker thread of its own
//!   and sends every statement there and back; measured at 1M entities, a
//!   commit of one write took five such round trips and the worker was a
//!   third of the server's time under concurrent writes. Migrations:
//!   rusqlite_migration (the schema version in `PRAGMA user_version`).
//! - PostgreSQL: sqlx. PostgreSQL is a server: the driver must be async,
//!   pool connections with a bounded wait (so that writes fail fast while
//!   the server is away), stream large reads, and LISTEN with
//!   reconnection (`PgListener`). sqlx does all four and runs versioned
//!   migrations under an advisory lock, so instances starting together
//!   migrate once. tokio-postgres would need a pool, a migration tool and
//!   the listener's reconnection added beside it, and measured against
//!   sqlx (`benches/tools/pg_drivers.rs`, BENCHMARKS.md) it gains nothing on
//!   writes (the same one-row writes per second and CPU per write) and
//!   reads rows with about a quarter less CPU, under a second of a
//!   13-second start-up at a million entities.
//!
//! # Turns
//!
//! A write takes a turn: [`Store::begin`] locks out every other writer of
//! the database (for PostgreSQL, a row lock on the version counter, held
//! until the turn's transaction ends) and hands back the writes that other
//! instances committed since this one last applied; the instance applies
//! them, checks its own writes against the graph as it now is — exactly the
//! database's state, which nobody else can change during the turn — and
//! commits them with [`Store::commit`] or ends the turn with
//! [`Store::abandon`]. Versions are therefore gap-free and in commit order
//! whatever the number of instances.
//!
//! A turn costs exchanges with the server while every other writer waits,
//! and most of the time nobody else has written. So a writer first tries
//! without one: it applies its group to the graph as it has it, at version
//! `base`, and asks [`Store::commit_at`] to commit only if the store is
//! still at `base` (for PostgreSQL, one statement that sets the counter
//! only where it still holds `base`, and writes the rows and the log only
//! if it did). If someone else wrote first, nothing is written; the writer
//! takes its group back and takes a turn as above, running the group again
//! after the others' writes. The group's checks therefore always ran
//! against the version its commit follows.

mod memory;
mod postgres;
mod sqlite;
mod timed;

pub use memory::MemoryStore;
pub use postgres::scratch::ScratchDatabase;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use timed::{timed, TimedStore};

use crate::model::{Document, Entity, Relation};
use serde::{Deserialize, Serialize};
use std::ops::ControlFlow;
use std::path::PathBuf;
use thiserror::Error;

/// One change to the stored graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Change {
    /// Inserts the document, or replaces the one with the same id.
    PutDocument(Document),
    /// Inserts the entity, or replaces the one with the same id.
    PutEntity(Entity),
    /// Deletes the entity with this id; deleting a missing id does nothing.
    /// The relations on it must be deleted first (the PostgreSQL store
    /// refuses otherwise), as the graph's own deletes do.
    DeleteEntity(String),
    /// Inserts the relation, or replaces the one with the same id.
    PutRelation(Relation),
    /// Deletes the relation with this id; deleting a missing id does nothing.
    DeleteRelation(String),
}

/// One committed write as the store keeps it: its graph version and its
/// changes, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// The graph version the write produced.
    pub version: u64,
    /// What it changed, in order.
    pub changes: Vec<Change>,
}

/// Everything stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contents {
    /// The graph version recorded by the last commit; 0 for a new store.
    pub version: u64,
    /// Every document, ordered by id.
    pub documents: Vec<Document>,
    /// Every entity, ordered by id.
    pub entities: Vec<Entity>,
    /// Every relation, ordered by id.
    pub relations: Vec<Relation>,
}

impl Contents {
    /// Applies `changes` in order and records `version`, keeping every list
    /// ordered by id. Cannot fail.
    pub(crate) fn apply(&mut self, version: u64, changes: &[Change]) {
        for change in changes {
            match change {
                Change::PutDocument(d) => put(&mut self.documents, d, |d| d.id.as_str()),
                Change::PutEntity(e) => put(&mut self.entities, e, |e| e.id.as_str()),
                Change::DeleteEntity(id) => delete(&mut self.entities, id, |e| e.id.as_str()),
                Change::PutRelation(r) => put(&mut self.relations, r, |r| r.id.as_str()),
                Change::DeleteRelation(id) => delete(&mut self.relations, id, |r| r.id.as_str()),
            }
        }
        self.version = version;
    }
}

/// Inserts `item` into the id-ordered `items`, replacing one with its id.
fn put<T: Clone>(items: &mut Vec<T>, item: &T, id: fn(&T) -> &str) {
    match items.binary_search_by(|x| id(x).cmp(id(item))) {
        Ok(i) => items[i] = item.clone(),
        Err(i) => items.insert(i, item.clone()),
    }
}

/// Removes the item with id `key` from the id-ordered `items`, if present.
fn delete<T>(items: &mut Vec<T>, key: &str, id: fn(&T) -> &str) {
    if let Ok(i) = items.binary_search_by(|x| id(x).cmp(key)) {
        items.remove(i);
    }
}

/// Why the store could not be opened, read or written.
#[derive(Debug, Error)]
pub enum StoreError {
    /// Another process (or another store in this one) holds the data
    /// directory's lock file.
    #[error(
        "data directory `{}` is in use by another partnergraph process (lock file {}); \
         stop it or choose another --data-dir",
        dir.display(),
        dir.join("LOCK").display()
    )]
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// A file or directory of the store could not be created, opened or
    /// locked.
    #[error(
        "cannot use `{}`: {source}; check that the path exists or can be created \
         and that partnergraph may read and write it",
        path.display()
    )]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The database was written by another version of partnergraph, with a
    /// schema this one does not understand.
    #[error(
        "database `{}` has schema version {found}, but this partnergraph reads only \
         schema versions up to {expected}; run the partnergraph that wrote it, or \
         choose another --data-dir",
        path.display()
    )]
    Schema {
        /// The database file.
        path: PathBuf,
        /// The schema version stored in it.
        found: String,
        /// The schema version this build reads.
        expected: String,
    },
    /// A stored row does not deserialize: the database was damaged or
    /// edited by hand.
    #[error(
        "stored row `{id}` of table `{table}` is corrupt: {message}; restore the data \
         directory from a backup, or repair or delete that row"
    )]
    Corrupt {
        /// The table (`documents`, `entities`, `relations` or `meta`).
        table: &'static str,
        /// The row's id (for `meta`, its key).
        id: String,
        /// What is wrong with it.
        message: String,
    },
    /// An item could not be serialized for storage; nothing was written.
    #[error("cannot serialize `{id}` for table `{table}`: {message}; nothing was written")]
    Encode {
        /// The table it was meant for.
        table: &'static str,
        /// The item's id.
        id: String,
        /// The serializer's message.
        message: String,
    },
    /// The database refused an operation (disk full, file damaged, not a
    /// database, …); the message says which and on what.
    #[error("database error: {0}")]
    Database(String),
    /// The database server cannot be reached (down, restarting, network
    /// gone, or it did not answer in time); nothing was written, or the
    /// write's outcome shows in the change log once the server is back.
    #[error("the database is unavailable: {0}; try again shortly")]
    Unavailable(String),
    /// The database refused a write as clashing with what it holds (a
    /// duplicate id, a relation left on a deleted entity); nothing of it was
    /// written.
    #[error("the database refused the write: {0}")]
    Conflict(String),
    /// The change log no longer holds the writes after `applied`: they were
    /// pruned (see `--log-retention-secs`) while this instance was not
    /// following. It cannot catch up from the log; a restart reads a fresh
    /// snapshot.
    #[error(
        "the change log no longer holds the writes after version {applied} (pruned up to \
         {pruned_to}); this instance fell too far behind to follow it: restart it to read \
         a fresh snapshot, or keep the log longer with --log-retention-secs"
    )]
    Pruned {
        /// The last version this instance applied.
        applied: u64,
        /// Every version up to this one may be gone from the log.
        pruned_to: u64,
    },
}

/// A stored row's item: its JSON `body` decoded, and checked to carry the
/// row's `id`; anything else is [`StoreError::Corrupt`], naming the row.
pub(crate) fn decode_row<T: serde::de::DeserializeOwned>(
    table: &'static str,
    id: &str,
    body: &str,
    id_of: fn(&T) -> &str,
) -> Result<T, StoreError> {
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
    Ok(item)
}

/// What a start-up reader thread sends to the thread building the graph:
/// both engines read on a thread of their own while the caller builds.
pub(crate) enum Batch {
    /// How many documents, entities and relations follow.
    Sizes(usize, usize, usize),
    /// The next items, in order.
    Items(Vec<Item>),
}

/// Items per [`Batch`]: enough that passing them costs little per item,
/// few enough to keep both threads busy.
pub(crate) const BATCH: usize = 2048;

/// Batches a reader may run ahead by.
pub(crate) const BATCHES_IN_FLIGHT: usize = 8;

/// Hands what a reader sends to `sink` until it stops reading; dropping
/// the receiver then stops the reader at its next batch.
pub(crate) fn feed(batches: std::sync::mpsc::Receiver<Batch>, sink: &mut dyn Sink) {
    for batch in batches.iter() {
        let taken = match batch {
            Batch::Sizes(d, e, r) => {
                sink.expect(d, e, r);
                true
            }
            Batch::Items(items) => items.into_iter().all(|i| sink.item(i).is_continue()),
        };
        if !taken {
            break;
        }
    }
}

/// One stored item, as [`Store::load_into`] hands it over.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A document.
    Document(Document),
    /// An entity.
    Entity(Entity),
    /// A relation.
    Relation(Relation),
}

/// What receives the stored items one at a time, so that a large store is
/// never held whole in memory beside the graph built from it.
pub trait Sink: Send {
    /// How many items of each sort follow, told before the first one so
    /// that the receiver can size its storage once.
    fn expect(&mut self, documents: usize, entities: usize, relations: usize);

    /// Takes the next item; `Break` stops the reading (the sink keeps the
    /// reason).
    fn item(&mut self, item: Item) -> ControlFlow<()>;
}

/// Where the graph is saved: read whole at start, changed only by whole
/// transactions.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Everything stored, to rebuild the graph at start.
    async fn load(&self) -> Result<Contents, StoreError>;

    /// Everything stored, handed to `sink` item by item: documents, then
    /// entities, then relations, each ordered by id. Returns the graph
    /// version. Stores that can read incrementally override it; this one
    /// reads everything first.
    async fn load_into(&self, sink: &mut dyn Sink) -> Result<u64, StoreError> {
        let contents = self.load().await?;
        sink.expect(
            contents.documents.len(),
            contents.entities.len(),
            contents.relations.len(),
        );
        let items = (contents.documents.into_iter().map(Item::Document))
            .chain(contents.entities.into_iter().map(Item::Entity))
            .chain(contents.relations.into_iter().map(Item::Relation));
        for item in items {
            if sink.item(item).is_break() {
                break;
            }
        }
        Ok(contents.version)
    }

    /// Which engine: `sqlite`, `postgres` or `memory`.
    fn engine(&self) -> &'static str;

    /// Begins a turn to write (see the module doc): waits for every other
    /// writer of the database to finish, then returns the writes others
    /// committed after version `applied`, in order. A turn ends with
    /// [`commit`](Self::commit) or [`abandon`](Self::abandon). A store that
    /// only this process writes has nothing to return.
    async fn begin(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
        let _ = applied;
        Ok(Vec::new())
    }

    /// Commits `writes`, each its own version, consecutive and following
    /// the last committed one, as ONE transaction, and ends the turn.
    ///
    /// Returns only once the transaction is durably committed (fsync'd); on
    /// error nothing of it is applied.
    async fn commit(&self, writes: &[Logged]) -> Result<(), StoreError>;

    /// Commits `writes` as [`commit`](Self::commit) does, without a turn
    /// begun first, but only if the store is still at version `base`: how
    /// a writer commits a group it applied to its own copy of the graph
    /// before asking anyone (see the module doc). `Ok(false)`: another
    /// writer committed after `base`, and nothing was written; the writer
    /// then takes a turn. With no writes, only tells whether the store is
    /// still at `base`.
    async fn commit_at(&self, base: u64, writes: &[Logged]) -> Result<bool, StoreError> {
        if !self.begin(base).await?.is_empty() {
            self.abandon().await;
            return Ok(false);
        }
        if writes.is_empty() {
            self.abandon().await;
            return Ok(true);
        }
        self.commit(writes).await.map(|()| true)
    }

    /// Ends a turn without writing.
    async fn abandon(&self) {}

    /// The writes committed after version `applied`, in order, at most
    /// [`LOG_PAGE`] of them: how an instance follows the others. A store
    /// that only this process writes has none.
    async fn log_after(&self, applied: u64) -> Result<Vec<Logged>, StoreError> {
        let _ = applied;
        Ok(Vec::new())
    }

    /// Whether other processes write to this store too, so that its log
    /// must be followed.
    fn shared(&self) -> bool {
        false
    }

    /// Returns when another process may have committed, or after a while
    /// in any case; fails while the database cannot be reached. Never
    /// returns for a store that only this process writes.
    async fn wait_for_news(&self) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

/// The most writes [`Store::log_after`] returns at once.
pub const LOG_PAGE: usize = 1000;

/// Fixtures and a scenario that every store must pass the same way.
#[cfg(test)]
pub(crate) mod testkit {
    use super::*;
    use crate::model::{EntityKind, Money, RelationKind, Source};

    fn src() -> Source {
        Source::new("doc", "q")
    }

    /// A document with id `id`.
    pub fn document(id: &str) -> Document {
        Document {
            id: id.into(),
            title: format!("Title {id}").into(),
            publisher: "Kurdistan24".into(),
            published_on: chrono::NaiveDate::from_ymd_opt(2025, 12, 1),
            dateline: Some("Erbil".into()),
            text: "Some text.".into(),
        }
    }

    /// An entity with id `id` and name `name`.
    pub fn entity(id: &str, name: &str) -> Entity {
        let mut e = Entity::new(id, EntityKind::Fund, name, src());
        e.update_details(|d| d.total_amount = Some(Money::usd(925_000_000_000)));
        e.aliases = vec!["CTEF".into()].into();
        e
    }

    /// A relation with id `id`.
    pub fn relation(id: &str, from: &str, to: &str) -> Relation {
        let mut r = Relation::new(id, RelationKind::Funds, from, to, src());
        r.update_details(|d| d.amount = Some(Money::usd(213_000_000)));
        r.update_details(|d| d.fiscal_year = Some(2026));
        r
    }

    /// Puts, replaces, deletes and checks order; returns the final contents
    /// so callers can compare stores.
    pub async fn scenario(store: &impl Store) -> Contents {
        assert_eq!(store.load().await.unwrap(), Contents::default());
        store
            .commit(&logged(
                1,
                vec![
                    Change::PutDocument(document("doc")),
                    Change::PutEntity(entity("c", "C")),
                    Change::PutEntity(entity("a", "A")),
                    Change::PutEntity(entity("b", "B")),
                    Change::PutRelation(relation("r2", "a", "b")),
                    Change::PutRelation(relation("r1", "b", "c")),
                ],
            ))
            .await
            .unwrap();
        let got = store.load().await.unwrap();
        assert_eq!(got.version, 1);
        assert_eq!(got.documents, vec![document("doc")]);
        assert_eq!(
            got.entities,
            vec![entity("a", "A"), entity("b", "B"), entity("c", "C")]
        );
        assert_eq!(
            got.relations,
            vec![relation("r1", "b", "c"), relation("r2", "a", "b")]
        );

        // Replace, delete, delete of a missing id, and a put after a delete
        // of the same id within one commit.
        store
            .commit(&logged(
                2,
                vec![
                    Change::PutEntity(entity("a", "A renamed")),
                    Change::DeleteRelation("r1".into()),
                    Change::DeleteRelation("r2".into()),
                    Change::DeleteEntity("b".into()),
                    Change::DeleteEntity("missing".into()),
                    Change::PutRelation(relation("r2", "a", "c")),
                ],
            ))
            .await
            .unwrap();
        let got = store.load().await.unwrap();
        assert_eq!(got.version, 2);
        assert_eq!(got.documents, vec![document("doc")]);
        assert_eq!(
            got.entities,
            vec![entity("a", "A renamed"), entity("c", "C")]
        );
        assert_eq!(got.relations, vec![relation("r2", "a", "c")]);

        // Writes without changes only record their versions, several in
        // one commit.
        store
            .commit(&[
                Logged {
                    version: 3,
                    changes: vec![],
                },
                Logged {
                    version: 4,
                    changes: vec![],
                },
            ])
            .await
            .unwrap();
        let last = store.load().await.unwrap();
        assert_eq!(last, Contents { version: 4, ..got });

        // A store others write to keeps every write in its log.
        if store.shared() {
            let log = store.log_after(0).await.unwrap();
            let versions: Vec<u64> = log.iter().map(|w| w.version).collect();
            assert_eq!(versions, vec![1, 2, 3, 4]);
            assert_eq!(log[1].changes.len(), 6);
            assert_eq!(store.log_after(3).await.unwrap().len(), 1);
            assert!(store.log_after(4).await.unwrap().is_empty());
        }
        last
    }

    /// One write at `version` with `changes`.
    pub fn logged(version: u64, changes: Vec<Change>) -> Vec<Logged> {
        vec![Logged { version, changes }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_and_sqlite_agree() {
        let memory = testkit::scenario(&MemoryStore::new()).await;
        let dir = tempfile::tempdir().unwrap();
        let sqlite = SqliteStore::open(dir.path()).await.unwrap();
        assert_eq!(testkit::scenario(&sqlite).await, memory);
    }

    #[test]
    fn errors_say_what_to_do() {
        let e = StoreError::Locked {
            dir: PathBuf::from("/data"),
        };
        assert_eq!(
            e.to_string(),
            "data directory `/data` is in use by another partnergraph process \
             (lock file /data/LOCK); stop it or choose another --data-dir"
        );
    }
}
