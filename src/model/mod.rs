//! Plain types of the domain and their self-contained validation: kinds,
//! entities, relations, money and evidence. Nothing here knows about the
//! graph structure, GraphQL or HTTP.

mod entity;
mod kind;
mod money;
mod relation;
mod source;

pub use entity::{validate_id, Entity, EntityDetails, Vote};
pub use kind::{EntityClass, EntityKind, RelationKind};
pub use money::{AmountQualifier, Money};
pub use relation::{EndId, Relation, RelationDetails};
pub use source::{normalize_whitespace, Document, Source, Sources};
