//! Saved queries as a subgraph (`queries`): officers list, read, save, share and archive
//! their bodies' queries; auditors and admins read all of them. The gateway authorises
//! the fields by the policy before planning; this subgraph asks the policy again which
//! queries the caller may read or change. Running a saved query is the gateway's work
//! (`runSavedQuery`, `GET /q/{name}`): it reads the definition here as the runner, then
//! runs the document under the runner's own rules.

use std::sync::Arc;

use async_graphql::{
    ComplexObject, Context, Enum, ErrorExtensions, ID, InputObject, Json, Object, Result,
    SimpleObject,
};
use kotohub_auth::{Policy, Principal};
use kotohub_subgraph::serve::{Guard, Router, SubgraphSchema, federated_with};
use kotohub_subgraph::{bad_input, forbidden, internal};
use sea_orm::DatabaseConnection;
use serde_json::Value;

use crate::store::{self, Actor, Checks, SaveInput, StoreError, Stored, Visibility};

/// The subgraph's name in the supergraph.
pub const NAME: &str = "queries";

/// The schema without a database: enough to export the SDL.
pub fn schema_builder()
-> async_graphql::SchemaBuilder<Query, Mutation, async_graphql::EmptySubscription> {
    federated_with(Query, Mutation)
}

/// The subgraph's routes over the saved-query database.
pub fn router(db: DatabaseConnection, guard: Guard, checks: Arc<dyn Checks>) -> Router {
    let policy = guard.policy();
    let schema: SubgraphSchema<Query, Mutation> = schema_builder()
        .data(policy)
        .data(Store {
            db: db.clone(),
            checks,
        })
        .finish();
    kotohub_subgraph::serve::router(NAME, schema, db, guard, |request, _| request)
}

/// What the resolvers write to: the database itself, not the request's read-only scoped
/// connection, since saved queries hold no person-level rows.
struct Store {
    db: DatabaseConnection,
    checks: Arc<dyn Checks>,
}

/// Who may see a saved query, besides auditors and admins.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::store::Visibility")]
pub enum SavedQueryVisibility {
    /// Officers of the owning body only.
    OwnerBody,
    /// Also officers of the bodies it is shared with.
    Shared,
    /// Every officer.
    AllOfficers,
}

/// A variable of a saved query, as `GET /q/{name}?variable=value` takes it.
#[derive(SimpleObject)]
pub struct SavedQueryVariable {
    name: String,
    /// The GraphQL type (`Int`, `[ID!]`).
    #[graphql(name = "type")]
    type_: String,
    /// The default the document gives it.
    default_value: Option<Json<Value>>,
    description: Option<String>,
}

/// One version of a saved query, for its history.
#[derive(SimpleObject)]
pub struct SavedQueryRevision {
    version: i32,
    title: String,
    /// SHA-256 of the normalised document: the `documentHash` of the access log's events
    /// of runs of this version.
    document_hash: String,
    saved_at: String,
    saved_by: String,
}

/// A named GraphQL operation owned by a responsible body, at one version.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct SavedQuery {
    /// Stable across versions; the access log records it for every run.
    id: ID,
    name: String,
    /// The owning responsible body (a slug such as "ohjaamo").
    owner_body: ID,
    visibility: SavedQueryVisibility,
    /// The bodies a SHARED query is shared with.
    shared_with: Vec<ID>,
    archived: bool,
    archived_at: Option<String>,
    /// The version shown.
    version: i32,
    latest_version: i32,
    title: String,
    description: String,
    /// The GraphQL document, as saved.
    document: String,
    /// SHA-256 of the normalised document (see `SavedQueryRevision.documentHash`).
    document_hash: String,
    variables: Vec<SavedQueryVariable>,
    /// The purpose its runs state for reading person-level data when the runner states
    /// none (one of the hub's `access.purposes`).
    purpose: Option<String>,
    /// When and by whom this version was saved.
    saved_at: String,
    saved_by: String,
    created_at: String,
    created_by: String,
    /// When and by whom the query last changed: a new version, its sharing or its
    /// archiving.
    updated_at: String,
    updated_by: String,
}

impl From<Stored> for SavedQuery {
    fn from(stored: Stored) -> Self {
        let variables = stored
            .variables()
            .into_iter()
            .map(|v| SavedQueryVariable {
                name: v.name,
                type_: v.type_,
                default_value: v.default.map(Json),
                description: v.description,
            })
            .collect();
        let Stored {
            query,
            version,
            shared_with,
        } = stored;
        Self {
            id: ID(query.id),
            name: query.name,
            owner_body: ID(query.owner_body),
            visibility: Visibility::of(&query.visibility).into(),
            shared_with: shared_with.into_iter().map(ID).collect(),
            archived: query.archived_at.is_some(),
            archived_at: query.archived_at,
            version: version.version,
            latest_version: query.latest_version,
            title: version.title,
            description: version.description,
            document: version.document,
            document_hash: version.document_hash,
            variables,
            purpose: version.purpose,
            saved_at: version.saved_at,
            saved_by: version.saved_by,
            created_at: query.created_at,
            created_by: query.created_by,
            updated_at: query.updated_at,
            updated_by: query.updated_by,
        }
    }
}

#[ComplexObject]
impl SavedQuery {
    /// Every version, oldest first.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<SavedQueryRevision>> {
        let store = ctx.data::<Store>()?;
        let versions = store::history(&store.db, &self.id)
            .await
            .map_err(to_graphql)?;
        Ok(versions
            .into_iter()
            .map(|v| SavedQueryRevision {
                version: v.version,
                title: v.title,
                document_hash: v.document_hash,
                saved_at: v.saved_at,
                saved_by: v.saved_by,
            })
            .collect())
    }
}

fn to_graphql(error: StoreError) -> async_graphql::Error {
    match error {
        StoreError::Invalid(reasons) => {
            // Every reason, also one by one for clients that show them as a list.
            bad_input(reasons.join("; ")).extend_with(|_, ext| {
                ext.set(
                    "reasons",
                    async_graphql::Value::List(
                        reasons
                            .iter()
                            .map(|r| async_graphql::Value::String(r.clone()))
                            .collect(),
                    ),
                )
            })
        }
        StoreError::Forbidden(message) => forbidden(message),
        StoreError::NotFound(_) => async_graphql::Error::new(error.to_string())
            .extend_with(|_, ext| ext.set("code", "NOT_FOUND")),
        StoreError::Conflict(_) => async_graphql::Error::new(error.to_string())
            .extend_with(|_, ext| ext.set("code", "CONFLICT")),
        StoreError::Database(error) => internal(error),
    }
}

/// The caller and what the policy lets it do with saved queries.
struct Caller<'a> {
    principal: &'a Principal,
    read: kotohub_auth::SavedQueryScope,
    manage: kotohub_auth::SavedQueryScope,
}

impl<'a> Caller<'a> {
    fn of(ctx: &Context<'a>) -> Result<Self> {
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        Ok(Self {
            principal,
            read: policy.saved_query_read_scope(principal),
            manage: policy.saved_query_manage_scope(principal),
        })
    }

    fn actor(&self) -> Actor<'_> {
        Actor {
            subject: &self.principal.subject,
            bodies: &self.principal.bodies,
            read: &self.read,
            manage: &self.manage,
        }
    }

    fn must_read(&self) -> Result<()> {
        if self.read == kotohub_auth::SavedQueryScope::Nothing {
            return Err(forbidden(
                "saved queries are for officers, auditors and admins",
            ));
        }
        Ok(())
    }
}

pub struct Query;

#[Object]
impl Query {
    /// The saved queries you may run or review, by name: your bodies' own, those shared
    /// with them or with every officer (auditors and admins: all). Optionally only one
    /// body's; archived ones only with `includeArchived`.
    async fn saved_queries(
        &self,
        ctx: &Context<'_>,
        owner_body: Option<ID>,
        #[graphql(default = false)] include_archived: bool,
    ) -> Result<Vec<SavedQuery>> {
        let caller = Caller::of(ctx)?;
        caller.must_read()?;
        let store = ctx.data::<Store>()?;
        let found = store::list(
            &store.db,
            &caller.read,
            owner_body.as_ref().map(|id| id.as_str()),
            include_archived,
        )
        .await
        .map_err(to_graphql)?;
        Ok(found.into_iter().map(SavedQuery::from).collect())
    }

    /// One saved query by name, at `version` (the latest when left out); null when there
    /// is none you may see.
    async fn saved_query(
        &self,
        ctx: &Context<'_>,
        name: String,
        version: Option<i32>,
    ) -> Result<Option<SavedQuery>> {
        let caller = Caller::of(ctx)?;
        caller.must_read()?;
        let store = ctx.data::<Store>()?;
        let found = store::find(&store.db, &caller.read, &name, version)
            .await
            .map_err(to_graphql)?;
        Ok(found.map(SavedQuery::from))
    }

    /// Runs the saved query called `name` (at `version`, the latest when left out) with
    /// `variables` under your own access rules, and returns its data. Answered by the
    /// gateway, which also records the run with the query's id and version; `GET
    /// /q/{name}` does the same and can answer in CSV.
    async fn run_saved_query(
        &self,
        name: String,
        version: Option<i32>,
        variables: Option<Json<Value>>,
    ) -> Result<Option<Json<Value>>> {
        let _ = (name, version, variables);
        Err(bad_input(
            "saved queries are run by the gateway, which applies the runner's access rules and records the run",
        ))
    }
}

/// A new version of a saved query, or a new saved query.
#[derive(InputObject)]
pub struct SaveQueryInput {
    /// A slug: lower-case letters and digits in words joined by hyphens.
    name: String,
    title: String,
    #[graphql(default)]
    description: String,
    /// The owning body; may be left out by an officer of a single body. Fixed once the
    /// query exists.
    owner_body: Option<ID>,
    /// One GraphQL query; its variables' types and defaults are taken from it.
    document: String,
    /// Descriptions of the document's variables.
    #[graphql(default)]
    variables: Vec<SavedQueryVariableInput>,
    /// The purpose runs state when the runner states none: one of the hub's purposes.
    purpose: Option<String>,
}

/// What a variable is for, as the people who run the query read it.
#[derive(InputObject)]
pub struct SavedQueryVariableInput {
    name: String,
    description: String,
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Saves a new saved query (version 1) or a new version of one your body owns. The
    /// document is refused, with every reason, unless it is a single valid query that
    /// the owning body's officers may read in full. Saving what the latest version holds
    /// returns it unchanged.
    async fn save_query(&self, ctx: &Context<'_>, input: SaveQueryInput) -> Result<SavedQuery> {
        let caller = Caller::of(ctx)?;
        let store = ctx.data::<Store>()?;
        let input = SaveInput {
            name: input.name,
            title: input.title,
            description: input.description,
            owner_body: input.owner_body.map(|id| id.0),
            document: input.document,
            variable_descriptions: input
                .variables
                .into_iter()
                .map(|v| (v.name, v.description))
                .collect(),
            purpose: input.purpose,
        };
        let saved = store::save(&store.db, store.checks.as_ref(), &caller.actor(), input)
            .await
            .map_err(to_graphql)?;
        Ok(saved.into())
    }

    /// Sets who may see and run a query your body owns: its officers only, also the
    /// officers of `bodies` (SHARED), or every officer. A runner always gets only what
    /// the runner's own rules allow.
    async fn share_query(
        &self,
        ctx: &Context<'_>,
        name: String,
        visibility: SavedQueryVisibility,
        #[graphql(default)] bodies: Vec<ID>,
    ) -> Result<SavedQuery> {
        let caller = Caller::of(ctx)?;
        let store = ctx.data::<Store>()?;
        let shared = store::share(
            &store.db,
            store.checks.as_ref(),
            &caller.actor(),
            &name,
            visibility.into(),
            bodies.into_iter().map(|id| id.0).collect(),
        )
        .await
        .map_err(to_graphql)?;
        Ok(shared.into())
    }

    /// Archives a query your body owns: it no longer runs or lists; its versions remain
    /// for the record.
    async fn archive_query(&self, ctx: &Context<'_>, name: String) -> Result<SavedQuery> {
        let caller = Caller::of(ctx)?;
        let store = ctx.data::<Store>()?;
        let archived = store::archive(&store.db, &caller.actor(), &name)
            .await
            .map_err(to_graphql)?;
        Ok(archived.into())
    }
}
