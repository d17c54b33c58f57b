//! The `Date` scalar and the enums mirrored from the model.

use async_graphql::{Enum, InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

/// An ISO 8601 calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

/// An ISO 8601 calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("`{s}` is not a YYYY-MM-DD date"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

/// What an entity is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::model::EntityKind")]
pub enum EntityKind {
    /// A sovereign state.
    Country,
    /// A sub-national region.
    Region,
    /// A city.
    City,
    /// A government.
    Government,
    /// A ministry or department.
    Ministry,
    /// A legislature.
    Legislature,
    /// A military command or task force.
    MilitaryCommand,
    /// An armed force or group of forces.
    ArmedForce,
    /// A security or intelligence service.
    SecurityService,
    /// A non-state armed group.
    ArmedGroup,
    /// A person.
    Person,
    /// A fund.
    Fund,
    /// A law or bill.
    Legislation,
    /// A meeting, round of talks or other happening.
    Event,
    /// A news outlet.
    MediaOutlet,
}

/// What a relation says, read `from → to`.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::model::RelationKind")]
pub enum RelationKind {
    /// `from` is a part or member of `to`.
    PartOf,
    /// Person `from` holds `role` at `to`.
    HoldsPosition,
    /// Government `from` governs place `to`.
    Governs,
    /// Legislature `from` passed legislation `to`.
    Enacted,
    /// Legislation `from` provides fund `to` (amount, fiscal year).
    Authorizes,
    /// `from` gives money to `to` (amount, qualifier, fiscal year).
    Funds,
    /// `from` advises, assists or backs `to`.
    Supports,
    /// Actor `from` takes part in event `to`.
    ParticipatesIn,
    /// Partners; read in both directions.
    CooperatesWith,
    /// Force `from` fights adversary `to`.
    Combats,
    /// `from` made a statement about `to`.
    Announced,
    /// Force or body `from` acts in place `to`.
    OperatesIn,
}

/// How exact a stated amount is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::model::AmountQualifier")]
pub enum AmountQualifier {
    /// As stated.
    Exact,
    /// At least this much ("more than").
    AtLeast,
    /// At most this much ("up to").
    AtMost,
    /// Roughly this much ("about").
    Approximate,
}

/// Which way to follow relations.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "crate::graph::Direction")]
pub enum Direction {
    /// Relations that start at the entity.
    Outgoing,
    /// Relations that end at the entity.
    Incoming,
    /// Either way.
    #[default]
    Both,
}

/// A centrality measure.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
#[graphql(remote = "crate::analysis::Measure")]
pub enum CentralityMeasure {
    /// Raw count of relations, in + out.
    Degree,
    /// Damped PageRank (alpha 0.85) on the directed multigraph of all relations.
    #[default]
    #[graphql(name = "PAGERANK")]
    PageRank,
    /// Normalised shortest-path betweenness on the undirected graph.
    Betweenness,
}

/// A file format for analysis tools.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::interop::Format")]
pub enum ExportFormat {
    /// GraphML with typed attributes (networkx, Gephi, yEd).
    #[graphql(name = "GRAPHML")]
    GraphMl,
    /// GEXF 1.3 (Gephi, networkx).
    Gexf,
    /// networkx node-link JSON.
    NodeLink,
    /// Cytoscape.js elements JSON.
    Cytoscape,
    /// A zip of nodes.csv, edges.csv and documents.csv; base64-encoded in GraphQL.
    Csv,
    /// FollowTheMoney entities as JSON lines.
    Ftm,
    /// The project's own dataset format.
    Json,
}
