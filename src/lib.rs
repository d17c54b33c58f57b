//! partnergraph: a typed property graph of who funds, commands and
//! supports whom in security cooperation, served over GraphQL.
//!
//! Data flows one way:
//! - [`dataset`]: the data-file format and its loader;
//! - [`model`]: plain types (entities, relations, money, evidence);
//! - [`graph`]: the petgraph graph with its id maps and invariants, and
//!   what works on it directly: walks, one-item edits and their undo, the
//!   bulk loader, whole-graph scores cached per shape;
//! - [`search_index`]: the trigram index of entity names behind search;
//! - [`id_order`]: sorted indices in chunks that copies share (entities and
//!   relations in id order, the search index's posting lists), cheap to grow;
//! - [`room`]: spare capacity for the graph's large vectors;
//! - [`edit`]: writes as pure operations on a graph, each returning the
//!   edits it made;
//! - [`live`]: the live graph: snapshots for readers, one write path
//!   through the store, change events;
//! - [`store`]: the durable store the graph is saved to and rebuilt from;
//! - [`analysis`]: paths, neighbourhoods, funding flows, centrality, search;
//! - [`interop`]: exports to and imports from analysis tools' formats;
//! - [`api`]: the GraphQL schema, a thin layer over the analyses;
//! - [`http`]: actix-web routes, GraphQL over HTTP, the web pages, health;
//! - [`metrics`]: the process's Prometheus metrics, recorded by the layers
//!   and served by `http`;
//! - [`synthetic`]: seeded scale datasets of any size, for benchmarks.
//!
//! [`config`] is the command line and [`cli`] what `main` calls with it;
//! tests build the same application through [`http::app`].

pub mod analysis;
pub mod api;
pub mod cli;
pub mod config;
pub mod dataset;
pub mod edit;
pub mod graph;
pub mod http;
pub mod id_order;
pub mod interop;
pub mod live;
pub mod metrics;
pub mod model;
pub mod room;
pub mod search_index;
pub mod store;
pub mod synthetic;
