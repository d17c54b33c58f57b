//! Analyses over a `&Graph`: paths, neighbourhoods, funding flows,
//! centrality and search. Pure functions, free of GraphQL and HTTP.

pub mod centrality;
pub mod funding;
pub mod neighborhood;
pub mod paths;
pub mod search;

pub use centrality::{centrality, Measure, Ranked};
pub use funding::{funding_flows, FundingFlow, FundingQuery};
pub use neighborhood::{neighborhood, Subgraph};
pub use paths::{paths, shortest_path, Path};
pub use search::search;
