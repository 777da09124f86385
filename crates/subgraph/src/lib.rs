//! The machinery every Kotohub subgraph shares, so that the five division subgraphs
//! differ only in their domain: how a subgraph connects to its own database, how list
//! fields page, how a batch of clients' records is loaded in one query, how internal
//! errors are masked before they reach a client, the spans a request leaves in traces, and
//! the HTTP service (`POST /graphql`, `GET /health`) that the gateway calls.
//!
//! A subgraph crate builds its async-graphql schema and hands it to [`serve::router`];
//! nothing here knows any particular subgraph.

pub mod access;
pub mod batch;
pub mod db;
pub mod error;
pub mod links;
pub mod page;
pub mod records;
pub mod serve;
pub mod spans;
pub mod vocab;

pub use error::{bad_input, forbidden, internal};
pub use page::Page;
