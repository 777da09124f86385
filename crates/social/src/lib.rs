//! The social services subgraph, owned by the Social Services and Health Care Division
//! (with the Helmi service). It extends the programme's `Client` and `Measure` entities
//! with cases, multi-professional service-needs assessments, support periods, outcomes
//! such as "no longer a child-welfare client", referrals to substance abuse and mental
//! health treatment, and the division's events, from its own database.
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
    service_needs_assessment, social_case, social_event, social_outcome, support_period,
    treatment_referral,
};

/// The subgraph's name in the supergraph and its database schema name.
pub const NAME: &str = "social";

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
    /// Cases in social services, in id order, optionally of one measure.
    async fn social_cases(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_case::Model>> {
        page_of_table::<social_case::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Events of the division (trainings, peer groups …), in id order, optionally of one measure.
    async fn social_events(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_event::Model>> {
        page_of_table::<social_event::Entity>(
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
    /// A client, as social services know them.
    Client
);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The client's cases in social services.
    async fn social_cases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_case::Model>> {
        of_client::<social_case::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Assessments of the client's service needs.
    async fn service_needs_assessments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<service_needs_assessment::Model>> {
        of_client::<service_needs_assessment::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Periods of support the client received (Helmi, social rehabilitation …).
    async fn support_periods(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<support_period::Model>> {
        of_client::<support_period::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Outcomes of social work with the client.
    async fn social_outcomes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_outcome::Model>> {
        of_client::<social_outcome::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Referrals of the client to substance abuse or mental health treatment.
    async fn treatment_referrals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<treatment_referral::Model>> {
        of_client::<treatment_referral::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }
}

keyed_entity!(
    /// A programme measure, with what social services recorded under it.
    Measure
);

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Cases in social services under the measure.
    async fn social_cases(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_case::Model>> {
        page_of_measure::<social_case::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Service-needs assessments under the measure.
    async fn service_needs_assessments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<service_needs_assessment::Model>> {
        page_of_measure::<service_needs_assessment::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Support periods (Helmi, social rehabilitation …) under the measure.
    async fn support_periods(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<support_period::Model>> {
        page_of_measure::<support_period::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Outcomes of social work under the measure.
    async fn social_outcomes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_outcome::Model>> {
        page_of_measure::<social_outcome::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Referrals to treatment under the measure.
    async fn treatment_referrals(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<treatment_referral::Model>> {
        page_of_measure::<treatment_referral::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Events of the division (trainings, peer groups …) under the measure.
    async fn social_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<social_event::Model>> {
        page_of_measure::<social_event::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }
}
