//! The culture and leisure subgraph, owned by the Culture and Leisure Division (cultural
//! centres, HAM, the City Museum, libraries, sports and youth services). It extends the
//! programme's `Client` and `Measure` entities with participations, outcomes such as a
//! hobby taken up, and cultural events with their districts, languages and participant
//! counts, from its own database.
//!
//! In the request flow it sits behind the gateway: the gateway sends it operations and
//! `_entities` batches over HTTP ([`kotohub_subgraph::serve`]).

pub mod entity;

use async_graphql::{Context, EmptyMutation, EmptySubscription, ID, Object, Result, SchemaBuilder};
use kotohub_subgraph::Page;
use kotohub_subgraph::keyed_entity;
use kotohub_subgraph::records::{of_client, page_of_measure, page_of_table};
use kotohub_subgraph::serve::{Guard, Router, division_router, federated};
use sea_orm::DatabaseConnection;

use entity::{cultural_event, culture_outcome, participation};

/// The subgraph's name in the supergraph and its database schema name.
pub const NAME: &str = "culture";

/// The schema without a database: enough to export the SDL.
pub fn schema_builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    federated(Query)
}

/// The HTTP routes of the subgraph, serving `db`.
pub fn router(db: DatabaseConnection, guard: Guard) -> Router {
    division_router(NAME, Query, db, guard)
}

pub struct Query;

#[Object]
impl Query {
    /// Participations in events and groups, in id order, optionally of one measure.
    async fn participations(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<participation::Model>> {
        page_of_table::<participation::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Cultural and leisure events, in id order, optionally of one measure.
    async fn cultural_events(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<cultural_event::Model>> {
        page_of_table::<cultural_event::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    #[graphql(entity)]
    async fn find_client_by_id(&self, ctx: &Context<'_>, id: ID) -> Result<Client> {
        Client::in_batch(ctx, id)
    }

    #[graphql(entity)]
    async fn find_measure_by_id(&self, id: ID) -> Result<Measure> {
        Measure::checked(id)
    }
}

keyed_entity!(
    /// A client, as the Culture and Leisure Division know them.
    Client
);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The events and groups the client took part in.
    async fn participations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<participation::Model>> {
        of_client::<participation::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// What taking part led to for the client.
    async fn culture_outcomes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<culture_outcome::Model>> {
        of_client::<culture_outcome::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }
}

keyed_entity!(
    /// A programme measure, with what the Culture and Leisure Division recorded under it.
    Measure
);

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Participations in events and groups under the measure.
    async fn participations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<participation::Model>> {
        page_of_measure::<participation::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Outcomes of taking part under the measure.
    async fn culture_outcomes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<culture_outcome::Model>> {
        page_of_measure::<culture_outcome::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Cultural and leisure events under the measure.
    async fn cultural_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<cultural_event::Model>> {
        page_of_measure::<cultural_event::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }
}
