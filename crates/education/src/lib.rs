//! The education subgraph, owned by the Education Division. It extends the programme's
//! `Client` and `Measure` entities with enrolments (S2, preparatory education, parents'
//! language courses, homework help, early childhood and vocational education),
//! joint-application results, qualifications and education events, from its own database.
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

use entity::{education_event, enrolment, joint_application_result, qualification};

/// The subgraph's name in the supergraph and its database schema name.
pub const NAME: &str = "education";

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
    /// Enrolments in study programmes, in id order, optionally of one measure.
    async fn enrolments(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<enrolment::Model>> {
        page_of_table::<enrolment::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Education events (info sessions, Learning Paths in Helsinki …), in id order, optionally of one measure.
    async fn education_events(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<education_event::Model>> {
        page_of_table::<education_event::Entity>(
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
    /// A client, as the Education Division know them.
    Client
);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The client's enrolments in study programmes.
    async fn enrolments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<enrolment::Model>> {
        of_client::<enrolment::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// The client's joint-application results.
    async fn joint_application_results(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<joint_application_result::Model>> {
        of_client::<joint_application_result::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Qualifications the client completed.
    async fn qualifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<qualification::Model>> {
        of_client::<qualification::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }
}

keyed_entity!(
    /// A programme measure, with what the Education Division recorded under it.
    Measure
);

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Enrolments in study programmes under the measure.
    async fn enrolments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<enrolment::Model>> {
        page_of_measure::<enrolment::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?).await
    }

    /// Joint-application results under the measure.
    async fn joint_application_results(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<joint_application_result::Model>> {
        page_of_measure::<joint_application_result::Entity>(
            ctx,
            &self.id,
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Qualifications completed under the measure.
    async fn qualifications(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<qualification::Model>> {
        page_of_measure::<qualification::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Education events (info sessions, Learning Paths in Helsinki …) under the measure.
    async fn education_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<education_event::Model>> {
        page_of_measure::<education_event::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }
}
