//! The integration tests of partnergraph: the whole application, in process
//! through `partnergraph::http::app` and as the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod server;

mod analysis;
mod bounded;
mod cli_store;
mod compose;
mod consistency;
mod durability;
mod errors;
mod exports;
mod facts;
mod hardening;
mod http;
mod introspection;
mod merge;
mod pagination;
mod persisted;
mod properties;
mod queries;
mod relation_filters;
mod responses;
mod scaleout;
mod schema_drift;
mod search;
mod smoke;
mod subscriptions;
mod totals;
mod writes;
