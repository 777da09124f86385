//! The partners subgraph: the data of organisations outside the City that deliver
//! services with it — the Finnish Red Cross and its partners in community-sponsored
//! integration (seed 004), TE Services, Socca. No division of the City owns it, so it has
//! a database of its own, like a division's. It holds sponsor groups and their sponsors,
//! the refugees each group supports, "How are you" discussions, and trainings and
//! activities; it extends the programme's `Client` and `Measure` entities with them.
//!
//! Its officers have the partner role: the access policy lets them read these types for
//! their own organisation's rows and the pseudonymous core of the clients they serve,
//! and no division's records. In the request flow it sits behind the gateway like every
//! subgraph ([`kotohub_subgraph::serve`]).

pub mod entity;

use async_graphql::{
    ComplexObject, Context, EmptyMutation, EmptySubscription, ID, Object, Result, SchemaBuilder,
};
use kotohub_subgraph::Page;
use kotohub_subgraph::keyed_entity;
use kotohub_subgraph::links::ResponsibleBody;
use kotohub_subgraph::records::{of_client, page_of_measure, page_of_table, page_where};
use kotohub_subgraph::serve::{Guard, Router, division_router, federated};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection};

use entity::{partner_event, sponsor, sponsor_group, sponsorship, wellbeing_discussion};

/// The subgraph's name in the supergraph and its database schema name.
pub const NAME: &str = "partners";

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
    /// Sponsor groups of your organisations, in id order, optionally of one measure.
    async fn sponsor_groups(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsor_group::Model>> {
        page_of_table::<sponsor_group::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Sponsorships of refugees by your organisations' groups, in id order.
    async fn sponsorships(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsorship::Model>> {
        page_of_table::<sponsorship::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// "How are you" discussions your organisations held, in id order.
    async fn wellbeing_discussions(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<wellbeing_discussion::Model>> {
        page_of_table::<wellbeing_discussion::Entity>(
            ctx,
            measure.as_ref().map(|id| id.as_str()),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// Trainings and activities your organisations held, in id order.
    async fn partner_events(
        &self,
        ctx: &Context<'_>,
        measure: Option<ID>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<partner_event::Model>> {
        page_of_table::<partner_event::Entity>(
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
    /// A client, as the partner organisations know them.
    Client
);

#[Object]
impl Client {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The sponsor groups' support of the client.
    async fn sponsorships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsorship::Model>> {
        of_client::<sponsorship::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }

    /// "How are you" discussions held with the client.
    async fn wellbeing_discussions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<wellbeing_discussion::Model>> {
        of_client::<wellbeing_discussion::Entity>(
            ctx,
            &self.id,
            self.batch.as_ref(),
            Page::new(first, after.as_ref())?,
        )
        .await
    }
}

keyed_entity!(
    /// A programme measure, with what partner organisations recorded under it.
    Measure
);

#[Object]
impl Measure {
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// Sponsor groups working under the measure.
    async fn sponsor_groups(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsor_group::Model>> {
        page_of_measure::<sponsor_group::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Sponsorships under the measure.
    async fn sponsorships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsorship::Model>> {
        page_of_measure::<sponsorship::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }

    /// Trainings and activities under the measure.
    async fn partner_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<partner_event::Model>> {
        page_of_measure::<partner_event::Entity>(ctx, &self.id, Page::new(first, after.as_ref())?)
            .await
    }
}

#[ComplexObject]
impl sponsor_group::Model {
    /// The group's id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    /// The programme measure the group's work is recorded under.
    async fn measure(&self) -> Measure {
        Measure::new(&self.measure_id)
    }
    /// The organisation that formed and trains the group.
    async fn responsible_body(&self) -> ResponsibleBody {
        ResponsibleBody::new(&self.body_id)
    }
    /// The group's sponsors, in id order.
    async fn sponsors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsor::Model>> {
        let of_group = Condition::all().add(sponsor::Column::GroupId.eq(self.id));
        page_where::<sponsor::Entity>(ctx, of_group, Page::new(first, after.as_ref())?).await
    }
    /// The refugees the group supports and supported, in id order.
    async fn sponsorships(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<sponsorship::Model>> {
        let of_group = Condition::all().add(sponsorship::Column::GroupId.eq(self.id));
        page_where::<sponsorship::Entity>(ctx, of_group, Page::new(first, after.as_ref())?).await
    }
}

#[ComplexObject]
impl sponsor::Model {
    /// The sponsor's id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    /// The group the sponsor belongs to.
    async fn group(&self, ctx: &Context<'_>) -> Result<Option<sponsor_group::Model>> {
        kotohub_subgraph::records::by_id::<sponsor_group::Entity>(ctx, self.group_id).await
    }
}
