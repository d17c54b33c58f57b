//! partnergraph: a typed property graph of who funds, commands and
//! supports whom in security cooperation, served over GraphQL.
//!
//! Data flows one way:
//! - [`dataset`]: the data-file format and its loader;
//! - [`model`]: plain types (entities, relations, money, evidence);
//! - [`graph`]: the petgraph graph with its id maps and invariants;
//! - [`search_index`]: the trigram index of entity names behind search;
//! - [`store`]: the durable store the graph is saved to and rebuilt from;
//! - [`analysis`]: paths, neighbourhoods, funding flows, centrality, search;
//! - [`interop`]: exports to and imports from analysis tools' formats;
//! - [`api`]: the GraphQL schema, a thin layer over the analyses;
//! - [`http`]: actix-web routes, GraphQL over HTTP, GraphiQL, health;
//! - [`generate`]: seeded scale datasets of any size, for benchmarks.
//!
//! [`config`] is the command line and [`run`] what `main` calls; tests
//! build the same application through [`http::app`].

pub mod analysis;
pub mod api;
pub mod config;
pub mod dataset;
pub mod edit;
pub mod generate;
pub mod graph;
pub mod http;
pub mod id_order;
pub mod interop;
pub mod model;
pub mod run;
pub mod search_index;
pub mod service;
pub mod store;
