//! GraphQL object types: thin wrappers that pair a graph snapshot with an
//! index and read the model through it.

mod connection;
mod duplicate;
mod entity;
mod objects;
mod scalars;
mod totals;

pub use connection::{paginate, Page, RelationConnection, TotalCount};
pub use duplicate::DuplicateCandidate;
pub use entity::{Entity, EntityIsNode, EntityRef, Node};
pub use objects::{
    DocumentObj, FundingFlowObj, GraphStats, MoneyObj, PathObj, RankedEntity, RelationObj,
    SourceObj, SubgraphObj,
};
pub use scalars::{
    AmountQualifier, CentralityMeasure, Date, Direction, EntityKind, ExportFormat, RelationKind,
};
pub use totals::{FundingGroup, FundingTotalObj, TimelineEntryObj};
