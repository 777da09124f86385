//! Saved queries: named, versioned GraphQL operations owned by a responsible body, which
//! officers run by name instead of writing GraphQL. This crate owns their storage and
//! access rules ([`store`]) and the `queries` subgraph ([`graphql`]) through which they are
//! listed, saved, shared and archived. The gateway runs them (`runSavedQuery`,
//! `GET /q/{name}`): it reads a definition through this subgraph as the runner, then
//! runs the document as any other operation of the runner.

pub mod entity;
pub mod graphql;
pub mod store;

pub use store::{CheckedDocument, Checks, Variable};
