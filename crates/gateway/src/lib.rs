//! The federated gateway: one GraphQL endpoint in front of the subgraphs. A request
//! flows through its steps in order — [`validate`] the operation against the API schema,
//! [`plan`] it over the subgraphs, [`execute`] the plan into [`answer`] trees, and
//! [`project`] them onto the client's operation. The gateway knows no subgraph crate and
//! no database: only a composed supergraph SDL and the subgraphs' URLs in it, so it runs
//! any valid Federation v2 supergraph; the access log is an [`audit::AuditSink`] it is
//! given.

pub mod answer;
pub mod audit;
pub mod authorize;
pub mod csv;
pub mod emergency;
pub mod errors;
pub mod execute;
pub mod forwarded;
pub mod graphiql;
pub mod http;
pub mod live;
pub mod metrics;
pub mod persisted;
pub mod pipeline;
pub mod plan;
pub mod planning;
pub mod project;
pub mod response_cache;
pub mod saved;
pub mod supergraph;
pub mod validate;
pub mod variables;

pub use pipeline::{Gateway, GraphQLRequest, GraphQLResponse};
pub use supergraph::{Supergraph, SupergraphError};
