//! Why the graph refuses an item: every check a load or a write makes
//! answers with one of these, naming the item and what is wrong with it.

use crate::model::{EntityKind, RelationKind};
use thiserror::Error;

/// Why the graph refused an item.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GraphError {
    /// An item of the same sort already has this id.
    #[error("{what} id `{id}` already exists")]
    DuplicateId {
        /// What holds the id already: "entity", "relation" or "document".
        what: &'static str,
        /// The id.
        id: String,
    },
    /// A source names a document the graph does not hold.
    #[error("source names unknown document `{0}`")]
    UnknownDocument(String),
    /// A quote does not occur in its document's text.
    #[error("quote not found in document `{document}`: \"{quote}\"")]
    QuoteNotFound {
        /// The document id.
        document: String,
        /// The quote as given.
        quote: String,
    },
    /// A relation end names an entity the graph does not hold.
    #[error("relation end `{end}` names unknown entity `{id}`")]
    DanglingEnd {
        /// "from" or "to".
        end: &'static str,
        /// The missing id.
        id: String,
    },
    /// The relation kind may not join these entity kinds.
    #[error("a {kind} relation may not go from {from} to {to}")]
    KindNotAllowed {
        /// The relation kind.
        kind: RelationKind,
        /// Kind of the `from` entity.
        from: EntityKind,
        /// Kind of the `to` entity.
        to: EntityKind,
    },
    /// A relation joins an entity to itself.
    #[error("a relation may not join `{0}` to itself")]
    SelfLoop(String),
    /// No item has this id.
    #[error("no {what} with id `{id}`")]
    NotFound {
        /// "entity", "relation" or "document".
        what: &'static str,
        /// The id.
        id: String,
    },
    /// An entity still has relations and deleting it without cascade was asked.
    #[error(
        "entity `{id}` still has {count} relation(s); delete them first or pass cascade: true"
    )]
    HasRelations {
        /// The entity.
        id: String,
        /// How many relations it has.
        count: usize,
    },
    /// An update tried to change what may not change (kind, ends).
    #[error("{0}")]
    Immutable(String),
    /// A merge of entities was asked for wrongly (nothing to merge, an id
    /// twice, an entity into itself, different kinds).
    #[error("{0}")]
    MergeRefused(String),
    /// A merge would leave a relation joining an entity to itself.
    #[error("{0}")]
    MergeBlocked(String),
    /// A self-contained check of the item failed.
    #[error("{0}")]
    Invalid(String),
}

/// An item that [`Bulk`](super::Bulk) refused: its id and why.
pub type Refused = (String, GraphError);
