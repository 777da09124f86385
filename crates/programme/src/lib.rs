//! The programme subgraph, owned by the City Executive Office: the Integration Programme
//! catalog (themes, sets of measures, measures, indicators, responsible bodies,
//! divisions) and the pseudonymous client core. It owns the `Measure`,
//! `ResponsibleBody` and `Client` entities that the division subgraphs extend.
//!
//! The catalog is small and changes only when the programme does, so it is read from the
//! database once when the subgraph starts and served from memory; clients are read per
//! request through a batching loader. Its statistics register answers dashboards'
//! aggregates, with disclosure control; the bodies record there what it cannot count of
//! the programme's indicators ([`indicators`]). In the request flow it sits behind the
//! gateway.

pub mod catalog;
pub mod disclosure;
pub mod entity;
mod families;
pub mod indicator_values;
pub mod indicators;
pub mod population;
pub mod register;
mod schema;
pub mod statistics;

pub use schema::{Query, Snapshot};

use std::sync::Arc;

use async_graphql::{EmptySubscription, SchemaBuilder};
use kotohub_subgraph::serve::{Guard, Router, federated_with};
use sea_orm::{DatabaseConnection, DbErr};

/// The subgraph's name in the supergraph and its database schema name.
pub const NAME: &str = "programme";

/// The schema without a database: enough to export the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, indicators::Mutation, EmptySubscription> {
    federated_with(Query, indicators::Mutation)
}

/// The HTTP routes of the subgraph, serving `db`. Reads the catalog once, and starts
/// reading the statistics register's client facts so that the first breakdown finds
/// them in memory.
pub async fn router(db: DatabaseConnection, guard: Guard) -> Result<Router, DbErr> {
    let snapshot = Arc::new(Snapshot::load(&db).await?);
    let register = Arc::new(register::Register::new(db.clone()));
    let warming = register.clone();
    tokio::spawn(async move {
        if let Err(error) = warming.facts().await {
            // The first breakdown reads them instead, and says so if it cannot.
            tracing::warn!(%error, "reading the statistics register on start failed");
        }
    });
    let schema = schema_builder()
        .data(snapshot)
        .data(register)
        .data(guard.policy())
        .data(indicators::IndicatorRecords { db: db.clone() })
        .finish();
    Ok(kotohub_subgraph::serve::router(
        NAME,
        schema,
        db,
        guard,
        schema::attach_loaders,
    ))
}
