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
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::household_member::HouseholdRole;
use crate::entity::{client, household, household_member, referral};
use crate::schema::{Measure, ResponsibleBody};

/// A client's place in a household, and the household.
#[derive(Clone)]
pub(crate) struct Membership {
    role: HouseholdRole,
    household: household::Model,
}

/// Loads clients' household memberships with their households: two statements for a
/// batch of clients, however many households they live in.
pub(crate) struct MembershipLoader {
    pub(crate) rows: RowAccess,
}

impl Loader<String> for MembershipLoader {
    type Value = Membership;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let mut found = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_SIZE) {
            let members = household_member::Entity::find()
                .filter(household_member::Column::ClientId.is_in(chunk.iter().map(String::as_str)))
                .all(self.rows.db())
                .await?;
            let households: HashMap<String, household::Model> = household::Entity::find()
                .filter(
                    household::Column::Id.is_in(members.iter().map(|m| m.household_id.as_str())),
                )
                .all(self.rows.db())
                .await?
                .into_iter()
                .map(|household| (household.id.clone(), household))
                .collect();
            for member in members {
                // Row-level security may hide a household; its member then has none.
                if let Some(household) = households.get(&member.household_id) {
                    let membership = Membership {
                        role: member.role,
                        household: household.clone(),
                    };
                    found.insert(member.client_id, membership);
                }
            }
        }
        Ok(found)
    }
}

/// Loads the members of households that the caller may see, two statements for a batch
/// of households.
pub(crate) struct MembersLoader {
    pub(crate) rows: RowAccess,
}

/// The key "the members of household `0`".
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct MembersOf(String);

impl Loader<MembersOf> for MembersLoader {
    type Value = Vec<client::Model>;
    type Error = Arc<DbErr>;

    async fn load(
        &self,
        keys: &[MembersOf],
    ) -> Result<HashMap<MembersOf, Self::Value>, Self::Error> {
        let mut found: HashMap<MembersOf, Vec<client::Model>> = HashMap::with_capacity(keys.len());
        if self.rows.bodies().is_empty() {
            return Ok(found);
        }
        for chunk in keys.chunks(BATCH_SIZE) {
            let household_of: HashMap<String, String> = household_member::Entity::find()
                .filter(
                    household_member::Column::HouseholdId
                        .is_in(chunk.iter().map(|key| key.0.as_str())),
                )
                .all(self.rows.db())
                .await?
                .into_iter()
                .map(|member| (member.client_id, member.household_id))
                .collect();
            let clients = client::Entity::find()
                .filter(client::Column::Id.is_in(household_of.keys().map(String::as_str)))
                .filter(self.rows.client_scope::<client::Entity>())
                .order_by_asc(client::Column::Id)
                .all(self.rows.db())
                .await?;
            for client in clients {
                if let Some(household) = household_of.get(&client.id) {
                    found
                        .entry(MembersOf(household.clone()))
                        .or_default()
                        .push(client);
                }
            }
        }
        Ok(found)
    }
}

/// The household membership of a client the caller already may see.
async fn membership(ctx: &Context<'_>, client_id: &str) -> Result<Option<Membership>> {
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
    Ok(membership(ctx, client_id).await?.map(|m| m.household))
}

/// A client's place in its household.
pub(crate) async fn role_of(ctx: &Context<'_>, client_id: &str) -> Result<Option<HouseholdRole>> {
    Ok(membership(ctx, client_id).await?.map(|m| m.role))
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
        let found = ctx
            .data::<DataLoader<MembersLoader>>()?
            .load_one(MembersOf(self.id.clone()))
            .await
            .map_err(internal)?
            .unwrap_or_default();
        row_access(ctx)?.returned(found.iter().map(|c| c.id.as_str()));
        Ok(found)
    }
}

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
