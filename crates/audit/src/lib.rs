//! The access log. The gateway hands every operation it answered — allowed, partly
//! denied, refused or failed — to an [`AuditLog`] as an [`Event`] and sends the answer
//! only once the event is stored; if it cannot be stored, the caller gets no data (fail
//! closed). Events are stored in their own database (`audit`), insert-only, each with
//! the SHA-256 of the previous event's hash and its own content ([`chain`]), so that
//! [`chain::verify`] finds any edit, deletion or reordering. The chain's heads are
//! signed with a key the database does not hold ([`seal`]), so that a stretch written
//! out ([`bundle`]) shows even a chain rewritten whole to whoever holds the public key.
//!
//! Auditors mark what they reviewed, each mark a new version ([`marks`]).
//! Emergency accesses — an officer's reads of one client outside its bodies, with a
//! reason — are kept beside the events ([`emergency`]).
//!
//! Auditors read the log through the gateway from its own subgraph ([`graphql`]), so
//! their reads are authorised and recorded like any other. The gateway fills in the
//! events; this crate knows nothing of it.

pub mod bundle;
pub mod chain;
pub mod emergency;
pub mod entity;
pub mod graphql;
mod log;
pub mod marks;
pub mod review;
pub mod seal;
pub mod timestamp;

pub use log::{AuditLog, Decision, Event, Unavailable, WAIT};
