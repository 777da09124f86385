//! Households and referrals: who a client lives with, and how a client was sent from
//! one responsible body to another. Both belong to the programme subgraph because they
//! cross divisions: a family is served by the Helmi service, the immigration unit and
//! the Skill Center at once, and a referral leaves one division's body for another's.
//!
//! Reads follow the client core's row rules: a body sees the household of a client it
//! serves and, of its members, only those it serves too; it sees the referrals it sent
//! and those sent to it. On PostgreSQL the tables' row-level security says the same.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{ComplexObject, Context, ID, Result};
use kotohub_subgraph::access::{RowAccess, row_access};
use kotohub_subgraph::batch::ClientRows;
use kotohub_subgraph::records::BATCH_SIZE;
use kotohub_subgraph::{Page, internal};
use sea_orm::sea_query::Query as Select;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::household_member::HouseholdRole;
use crate::entity::{client, household, household_member, referral};
use crate::schema::{Measure, ResponsibleBody};

/// Loads clients' household memberships, a batch of clients per statement.
pub(crate) struct MembershipLoader {
    pub(crate) rows: RowAccess,
}

impl Loader<String> for MembershipLoader {
    type Value = household_member::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_SIZE) {
            let rows = household_member::Entity::find()
                .filter(household_member::Column::ClientId.is_in(chunk.iter().map(String::as_str)))
                .all(self.rows.db())
                .await?;
            found.extend(rows.into_iter().map(|row| (row.client_id.clone(), row)));
        }
        Ok(found)
    }
}

/// The household membership of a client the caller already may see.
async fn membership(ctx: &Context<'_>, client_id: &str) -> Result<Option<household_member::Model>> {
    ctx.data::<DataLoader<MembershipLoader>>()?
        .load_one(client_id.to_owned())
        .await
        .map_err(internal)
}

/// The household of a client the caller may see, if the client has one.
pub(crate) async fn household_of(
    ctx: &Context<'_>,
    client_id: &str,
) -> Result<Option<household::Model>> {
    let Some(member) = membership(ctx, client_id).await? else {
        return Ok(None);
    };
    let rows = row_access(ctx)?;
    household::Entity::find_by_id(member.household_id)
        .one(rows.db())
        .await
        .map_err(internal)
}

/// A client's place in its household.
pub(crate) async fn role_of(ctx: &Context<'_>, client_id: &str) -> Result<Option<HouseholdRole>> {
    Ok(membership(ctx, client_id).await?.map(|member| member.role))
}

#[ComplexObject]
impl household::Model {
    /// The household's pseudonymous id.
    #[graphql(tag = "class:pseudonymous")]
    async fn id(&self) -> ID {
        ID(self.id.clone())
    }

    /// The members you may see: those your bodies serve (or the one an emergency access
    /// opened), in id order. A body that serves only the child of a family does not
    /// learn who the parents are.
    async fn members(&self, ctx: &Context<'_>) -> Result<Vec<client::Model>> {
        let rows = row_access(ctx)?;
        if rows.bodies().is_empty() {
            return Ok(Vec::new());
        }
        let of_household = Select::select()
            .column(household_member::Column::ClientId)
            .from(household_member::Entity)
            .and_where(household_member::Column::HouseholdId.eq(self.id.as_str()))
            .to_owned();
        let found = client::Entity::find()
            .filter(client::Column::Id.in_subquery(of_household))
            .filter(rows.client_scope::<client::Entity>())
            .order_by_asc(client::Column::Id)
            .limit(HOUSEHOLD_SIZE_LIMIT)
            .all(rows.db())
            .await
            .map_err(internal)?;
        rows.returned(found.iter().map(|c| c.id.as_str()));
        Ok(found)
    }
}

/// More members than any household has: a bound on what one household reads.
const HOUSEHOLD_SIZE_LIMIT: u64 = 50;

/// A client's referrals the caller may see, in id order.
pub(crate) async fn referrals_of(
    ctx: &Context<'_>,
    client_id: &str,
    page: Page,
) -> Result<Vec<referral::Model>> {
    kotohub_subgraph::records::of_client::<referral::Entity>(ctx, client_id, None, page).await
}

/// Referrals the caller's bodies sent or received, in id order, optionally of one
/// measure.
pub(crate) async fn referrals(
    ctx: &Context<'_>,
    measure: Option<&str>,
    page: Page,
) -> Result<Vec<referral::Model>> {
    let rows = row_access(ctx)?;
    if rows.bodies().is_empty() {
        return Ok(Vec::new());
    }
    let mut query = referral::Entity::find().filter(referral::Entity::scope_filter(rows.bodies()));
    if let Some(measure) = measure {
        query = query.filter(referral::Column::MeasureId.eq(measure));
    }
    if let Some(after) = page.after {
        query = query.filter(referral::Column::Id.gt(after));
    }
    let found = query
        .order_by_asc(referral::Column::Id)
        .limit(page.limit)
        .all(rows.db())
        .await
        .map_err(internal)?;
    rows.returned(found.iter().map(|r| r.client_id.as_str()));
    Ok(found)
}

#[ComplexObject]
impl referral::Model {
    /// The referral's id.
    async fn id(&self) -> ID {
        ID(self.id.to_string())
    }
    /// The client referred, if your bodies serve the client: a receiving body that has
    /// no record of the client yet sees the referral but not who it is about.
    async fn client(&self, ctx: &Context<'_>) -> Result<Option<client::Model>> {
        crate::schema::client_by_id(ctx, &self.client_id).await
    }
    /// The measure under which the referral was made.
    async fn measure(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        Measure::by_id(ctx, &self.measure_id)
    }
    /// The body that sent the client.
    #[graphql(name = "fromBody")]
    async fn sending_body(&self, ctx: &Context<'_>) -> Result<Option<ResponsibleBody>> {
        ResponsibleBody::by_id(ctx, &self.from_body_id)
    }
    /// The body the client was sent to.
    #[graphql(name = "toBody")]
    async fn receiving_body(&self, ctx: &Context<'_>) -> Result<Option<ResponsibleBody>> {
        ResponsibleBody::by_id(ctx, &self.to_body_id)
    }
    /// Days from the referral to the start of the service, once it started: what "time
    /// from referral to service" is counted from.
    async fn days_to_start(&self) -> Option<i64> {
        self.started_on
            .map(|started| (started - self.referred_on).num_days())
    }
}
