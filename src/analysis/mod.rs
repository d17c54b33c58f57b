//! Analyses over a `&Graph`: paths, neighbourhoods, funding flows and
//! totals, centrality, search, timelines and possible duplicates. Pure
//! functions, free of GraphQL and HTTP.

pub mod centrality;
pub mod duplicates;
pub mod funding;
pub mod neighborhood;
pub mod paths;
pub mod search;
pub mod time_budget;
pub mod timeline;
pub mod totals;

pub use centrality::{centrality, centrality_within, Measure, Ranked, Ranking};
pub use duplicates::{possible_duplicates, possible_duplicates_within, Candidate};
pub use funding::{
    funding_flows, funding_flows_within, FlowsOverBudget, FundingFlow, FundingQuery,
};
pub use neighborhood::{neighborhood, neighborhood_within, Subgraph};
pub use paths::{paths, paths_within, shortest_path, shortest_path_within, Path};
pub use search::{search, search_first};
pub use time_budget::{Budget, OverBudget};
