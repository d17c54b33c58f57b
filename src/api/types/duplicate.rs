//! `DuplicateCandidate`: two entities that may be one.

use super::entity::Entity;
use async_graphql::SimpleObject;

/// Two entities of the same kind whose names or aliases are alike once
/// case, accents and word order are set aside: perhaps one entity, to be
/// checked and merged with `mergeEntities`.
#[derive(SimpleObject)]
pub struct DuplicateCandidate {
    /// The entity with the lesser id.
    pub a: Entity,
    /// The entity with the greater id.
    pub b: Entity,
    /// How alike they are, from 0 to 1: the Jaccard index of the trigrams
    /// of their folded words (1: the same name once case, accents and word
    /// order are set aside); a match through an alias counts 0.9 of one
    /// between names.
    pub score: f64,
    /// Why, in words, the best match first (at most three).
    pub reasons: Vec<String>,
}
