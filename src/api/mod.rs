//! The GraphQL API: a thin translation layer from the contract's types and
//! arguments to the graph and its analyses. Knows nothing of HTTP.

pub mod answer_budget;
pub mod cost;
pub mod error;
mod guards;
mod inputs;
mod introspection;
mod mutation;
mod query;
pub mod reads;
pub mod shape;
mod subscription;
pub mod types;

use async_graphql::{Schema, ValidationMode};
pub use mutation::{Mutation, WriteAccess, WrittenVersion};
pub use query::Query;
pub use subscription::Subscription;

/// The schema served.
pub type AppSchema = Schema<Query, Mutation, Subscription>;

/// Limits on what one request may ask for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Deepest selection nesting.
    pub max_depth: usize,
    /// Largest total field cost.
    pub max_complexity: usize,
    /// Largest `first`/`last` of a connection.
    pub max_page_size: usize,
    /// Page size when neither `first` nor `last` is given.
    pub default_page_size: usize,
    /// Largest `paths(maxLength:)`.
    pub max_path_length: usize,
    /// Largest `neighborhood(depth:)`.
    pub max_neighborhood_depth: usize,
    /// Most fields one request may resolve.
    pub max_resolved_fields: usize,
    /// Most bytes one answer may hold.
    pub max_response_bytes: usize,
    /// Longest time one path, neighbourhood or centrality analysis may take.
    pub analysis_time_limit: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 15,
            max_complexity: 5000,
            max_page_size: 100,
            default_page_size: 20,
            max_path_length: 6,
            max_neighborhood_depth: 4,
            max_resolved_fields: 100_000,
            max_response_bytes: 64 << 20,
            analysis_time_limit: std::time::Duration::from_secs(5),
        }
    }
}

/// Builds the schema with these limits. Each request carries as data the
/// graph snapshot it reads (`Arc<Graph>`), the graph service
/// (`Arc<GraphService>`) for writes and subscriptions, its `WriteAccess` and
/// a `WrittenVersion`.
pub fn schema(limits: Limits) -> AppSchema {
    schema_validating(limits, ValidationMode::Strict)
}

/// The schema with these limits, validating documents in `mode`.
/// `ValidationMode::Fast` leaves out the rules a document already passed:
/// it is for documents a strict schema validated before, with the same
/// operation and variables; such a request is not validated again at all
/// (not even by the fast mode's rules), nor are its text, depth and cost
/// checked, since it passed them then.
pub fn schema_validating(limits: Limits, mode: ValidationMode) -> AppSchema {
    builder(limits, mode).finish()
}

/// The schema with these limits for queries that passed before and whose
/// answer is bounded within the field and byte budgets before they run
/// (see [`answer_budget`]): no extension, so async-graphql resolves each
/// field without describing it to one. It then runs its fast validation
/// rules (the extension of the other schemas is what skips them), which
/// cost less than the extension's step on each field.
pub fn schema_unbudgeted(limits: Limits) -> AppSchema {
    unguarded(ValidationMode::Fast).data(limits).finish()
}

/// The schema's builder without its extension or limits.
fn unguarded(mode: ValidationMode) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(Query, Mutation, Subscription)
        .validation_mode(mode)
        .register_output_type::<types::EntityIsNode>()
        // The depth limit is checked by the guards (see `shape`), which
        // refuse with their own code; async-graphql's check of the same
        // nesting is set where no text `shape::scan` admits reaches it.
        .limit_recursive_depth(shape::MAX_TEXT_NESTING)
}

/// The schema's builder, for tests that add extensions of their own.
fn builder(
    limits: Limits,
    mode: ValidationMode,
) -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    unguarded(mode)
        .extension(guards::Guards {
            max_complexity: limits.max_complexity,
            max_depth: limits.max_depth,
            max_resolved_fields: limits.max_resolved_fields,
            max_response_bytes: limits.max_response_bytes,
            passed_before: matches!(mode, ValidationMode::Fast),
        })
        .data(limits)
}

/// The SDL of the schema, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    schema(Limits::default()).sdl()
}
