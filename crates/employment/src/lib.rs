//! The employment subgraph, owned by Immigration and Employment Services and the bodies
//! that deliver employment measures (Helsinki Skill Center, Ohjaamo, the TYP service,
//! International House Helsinki, NewCo). It extends the programme's `Client` and
//! `Measure` entities with skill assessments, guidance sessions, service paths,
//! employment outcomes and networking events, from its own database.
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

use entity::{
    employment_outcome, guidance_session, networking_event, service_path, skill_assessment,
};

/// The subgraph's name in the supergraph and its database schema name.
pub const NAME: &str = "employment";

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
    /// Skill assessments, in id order, optionally of one measure.
    async fn skill_assessments(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<skill_assessment::Model>> {
        page_of_table::<skill_assessment::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Networking and recruitment events, in id order, optionally of one measure.
    async fn networking_events(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<networking_event::Model>> {
        page_of_table::<networking_event::Entity>(
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
    /// A client, as the employment services know them.
    Client
);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The client's skill assessments.
    async fn skill_assessments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<skill_assessment::Model>> {
        of_client::<skill_assessment::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Guidance and career advice the client received.
    async fn guidance_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<guidance_session::Model>> {
        of_client::<guidance_session::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// The client's service paths.
    async fn service_paths(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<service_path::Model>> {
        of_client::<service_path::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Employment and education outcomes recorded for the client.
    async fn employment_outcomes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<employment_outcome::Model>> {
        of_client::<employment_outcome::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }
}

keyed_entity!(
    /// A programme measure, with what the employment services recorded under it.
    Measure
);

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Skill assessments made under the measure.
    async fn skill_assessments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<skill_assessment::Model>> {
        page_of_measure::<skill_assessment::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Guidance sessions given under the measure.
    async fn guidance_sessions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<guidance_session::Model>> {
        page_of_measure::<guidance_session::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Service paths under the measure.
    async fn service_paths(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<service_path::Model>> {
        page_of_measure::<service_path::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Outcomes recorded under the measure.
    async fn employment_outcomes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<employment_outcome::Model>> {
        page_of_measure::<employment_outcome::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Networking and recruitment events held for the measure.
    async fn networking_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<networking_event::Model>> {
        page_of_measure::<networking_event::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }
}
