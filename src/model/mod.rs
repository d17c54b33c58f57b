//! Plain types of the domain and their self-contained validation: kinds,
//! entities, relations, money and evidence. Nothing here knows about the
//! graph structure, GraphQL or HTTP.

mod entity;
mod kind;
mod money;
mod relation;
mod source;
mod text;

pub use entity::{validate_id, Entity, EntityDetails, Vote};
pub use kind::{EntityClass, EntityKind, RelationKind};
pub use money::{AmountQualifier, Money};
pub use relation::{EndId, Relation, RelationDetails};
pub use source::{normalize_whitespace, Document, Source, Sources};
pub use text::{fold, Text, TextDictionary};

/// The longest of `lengths`, 0 for none: see [`Entity::longest_text`].
fn longest(lengths: impl IntoIterator<Item = usize>) -> usize {
    lengths.into_iter().max().unwrap_or(0)
}

/// The fields only some items state, boxed apart from the item, or `None`
/// when they are all empty: most items state none of them, and an item's
/// size counts millions of times in a large graph.
type Rare<T> = Option<Box<T>>;

/// `details` boxed, unless every field is empty.
fn rare<T: Default + PartialEq>(details: T) -> Rare<T> {
    (details != T::default()).then(|| Box::new(details))
}

/// Applies `change` to the rare fields in `slot`, boxing them or dropping
/// the box as they become non-empty or empty.
fn change_rare<T: Default + PartialEq>(slot: &mut Rare<T>, change: impl FnOnce(&mut T)) {
    let mut details = slot.take().map(|d| *d).unwrap_or_default();
    change(&mut details);
    *slot = rare(details);
}
