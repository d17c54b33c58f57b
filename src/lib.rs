//! partnergraph: a typed property graph of who funds, commands and
//! supports whom in security cooperation, served over GraphQL.
//!
//! Data flows one way:
//! `dataset` (data files) → `model` (plain types) → `graph` (petgraph) →
//! `analysis` (pure algorithms) → `api` (GraphQL) → `http` (actix-web).
//! `config` holds the command line; `main.rs` only parses it and runs.

pub mod analysis;
pub mod dataset;
pub mod graph;
pub mod model;
