//! The durable store: what the graph is saved to and rebuilt from.
//!
//! The graph itself lives in memory; a [`Store`] keeps a copy of its
//! documents, entities and relations and the graph version, changed only by
//! whole transactions ([`Store::commit`]) and read back whole at start
//! ([`Store::load`]). Two implementations:
//! - [`SqliteStore`]: a SQLite database in a data directory, guarded by a
//!   lock file so that one process at a time uses it;
//! - [`MemoryStore`]: a mutex around [`Contents`], for tests and for
//!   running without disk.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

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
    DeleteEntity(String),
    /// Inserts the relation, or replaces the one with the same id.
    PutRelation(Relation),
    /// Deletes the relation with this id; deleting a missing id does nothing.
    DeleteRelation(String),
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
         schema version {expected}; run the partnergraph that wrote it, or choose \
         another --data-dir",
        path.display()
    )]
    Schema {
        /// The database file.
        path: PathBuf,
        /// The schema version stored in it.
        found: String,
        /// The schema version this build reads.
        expected: &'static str,
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

    /// Applies `changes` in order as ONE transaction and records `version`
    /// as the graph version.
    ///
    /// Returns only once the transaction is durably committed (fsync'd); on
    /// error nothing of it is applied.
    async fn commit(&self, version: u64, changes: &[Change]) -> Result<(), StoreError>;
}

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
            .commit(
                1,
                &[
                    Change::PutDocument(document("doc")),
                    Change::PutEntity(entity("c", "C")),
                    Change::PutEntity(entity("a", "A")),
                    Change::PutEntity(entity("b", "B")),
                    Change::PutRelation(relation("r2", "a", "b")),
                    Change::PutRelation(relation("r1", "b", "c")),
                ],
            )
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
            .commit(
                2,
                &[
                    Change::PutEntity(entity("a", "A renamed")),
                    Change::DeleteEntity("b".into()),
                    Change::DeleteEntity("missing".into()),
                    Change::DeleteRelation("r1".into()),
                    Change::DeleteRelation("r2".into()),
                    Change::PutRelation(relation("r2", "a", "c")),
                ],
            )
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

        // An empty commit only records the version.
        store.commit(3, &[]).await.unwrap();
        let last = store.load().await.unwrap();
        assert_eq!(last, Contents { version: 3, ..got });
        last
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
