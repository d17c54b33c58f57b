//! The cost model: what a field weighs in the complexity limit
//! (`--max-complexity`, 5,000 by default), checked before anything runs.
//! A plain field weighs 1 plus what it selects. Heavier fields, as the
//! README lists them:
//! - a list with pages (`entities`, `relations`, `Entity.relations`):
//!   1 + its page size (`first`, else `last`, else 20) × its selection;
//! - a list of unknown length (`neighbors`, a neighbourhood's entities and
//!   relations, funding flows): [`SPREAD`] × its selection;
//! - `shortestPath`: [`PATH`] + its selection; `paths`: [`PATH`] × its
//!   `maxLength` + `first` × its selection; `neighborhood`: [`PATH`] ×
//!   (`depth` + 1) + [`SPREAD`] × its selection;
//! - `fundingFlows`: [`FLOWS`] + [`SPREAD`] × its selection;
//! - `centrality`: [`RANKING`] + `first` × its selection;
//! - `export`: [`EXPORT`]: five whole-graph exports fill a request.

/// A path search, per hop it may take.
pub const PATH: usize = 50;
/// A list of unknown length: what its selection is multiplied by.
pub const SPREAD: usize = 10;
/// The funding flows.
pub const FLOWS: usize = 100;
/// A centrality ranking (cached per version once computed).
pub const RANKING: usize = 200;
/// A whole-graph export.
pub const EXPORT: usize = 1000;

/// The page a list field is asked for (`first`, else `last`, else the
/// default page of 20), as a weight of at least 1.
pub fn page(first: Option<i32>, last: Option<i32>) -> usize {
    usize::try_from(first.or(last).unwrap_or(20))
        .unwrap_or(0)
        .max(1)
}

/// Hops asked for, as a weight of at least 1.
pub fn hops(n: Option<i32>) -> usize {
    usize::try_from(n.unwrap_or(1)).unwrap_or(0).max(1)
}
