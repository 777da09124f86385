//! The `kotohub` command's wiring, shared by the command-line front end (`main.rs`) and
//! the end-to-end tests: which subgraphs exist, how each gets its database, how the
//! services start and stop, and how their SDL is exported. It is the one place that
//! knows every subgraph crate; the subgraphs know none of each other.

pub mod access;
pub mod checks;
pub mod databases;
pub mod import;
pub mod processing;
pub mod sdl;
pub mod seed;
pub mod services;
pub mod subject_report;
pub mod timestamping;
pub mod upload;

/// The subgraphs of the embedded default, in start order. Each name is also the
/// subgraph's name in the supergraph, its SQLite file stem and its PostgreSQL schema.
pub const SUBGRAPHS: [&str; 6] = [
    "programme",
    "employment",
    "education",
    "social",
    "culture",
    "partners",
];

/// The access log's subgraph: also its SQLite file stem and its PostgreSQL schema.
pub const AUDIT: &str = "audit";

/// The saved-query subgraph: also its SQLite file stem and its PostgreSQL schema.
pub const QUERIES: &str = "queries";

/// Every subgraph whose SDL goes into the supergraph.
pub const ALL_SUBGRAPHS: [&str; 8] = [
    "programme",
    "employment",
    "education",
    "social",
    "culture",
    "partners",
    AUDIT,
    QUERIES,
];
