//! Who is asking and what they may read. The gateway turns a bearer token into a
//! [`Principal`] ([`token`]), asks the [`policy`] which types and fields that principal may
//! read before it plans an operation, and forwards the principal to the subgraphs in a
//! signed header ([`internal`]); each subgraph verifies that header and asks the same
//! policy which rows the principal may see.
//!
//! Knows neither the gateway nor any subgraph: both depend on this crate, not the other
//! way round.

pub mod internal;
pub mod keys;
pub mod policy;
pub mod principal;
pub mod token;

pub use policy::{AggregateScope, Decision, Policy, RowScope, SavedQueryScope};
pub use principal::{Principal, Role};
pub use token::{AuthError, Authenticator, DevIssuer};
