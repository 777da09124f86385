//! Saved queries in their database, behind the access rules: who may read which query
//! (its owner body's officers, the bodies it is shared with, every officer when it is
//! shared with all, auditors and admins), who may change it (its owner body's officers
//! and admins), and how a change becomes a new immutable version. The GraphQL resolvers
//! and the embedded default's seeding both save through here, so a seeded query is
//! checked exactly as one an officer saves.

use std::collections::BTreeSet;

use chrono::{SecondsFormat, Utc};
use kotohub_auth::SavedQueryScope;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::entity::{saved_query, saved_query_share, saved_query_version};

/// A variable of a saved query's operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variable {
    pub name: String,
    /// The GraphQL type as written in the operation (`Int`, `[ID!]!`).
    #[serde(rename = "type")]
    pub type_: String,
    /// The default the operation gives it, as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A document that passed the save-time checks.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    /// The operation as the gateway normalises it: its SHA-256 is the document hash the
    /// access log records for every run.
    pub normalized: String,
    /// The operation's variables, in the order it declares them (no descriptions).
    pub variables: Vec<Variable>,
}

/// What the saved-query store needs to know of the rest of the hub: the API schema and
/// the access policy (to refuse a document its owner's officers could never run), and
/// the programme's responsible bodies.
pub trait Checks: Send + Sync {
    /// Checks `document` as a saved query of `owner_body`: a single query, valid against
    /// the API schema, every field of which that body's officers may read. `Err` holds
    /// every reason it is refused.
    fn check(&self, document: &str, owner_body: &str) -> Result<CheckedDocument, Vec<String>>;

    /// Whether `slug` is a responsible body of the programme.
    fn is_body(&self, slug: &str) -> bool;

    /// The purposes a saved query may state for its runs, sorted.
    fn purposes(&self) -> Vec<String>;
}

/// Who may see a query, besides auditors and admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Officers of the owning body only.
    OwnerBody,
    /// Also officers of the bodies it is shared with.
    Shared,
    /// Every officer.
    AllOfficers,
}

impl Visibility {
    pub fn stored(self) -> &'static str {
        match self {
            Visibility::OwnerBody => "owner_body",
            Visibility::Shared => "shared",
            Visibility::AllOfficers => "all_officers",
        }
    }

    pub fn of(stored: &str) -> Self {
        match stored {
            "shared" => Visibility::Shared,
            "all_officers" => Visibility::AllOfficers,
            // Anything unknown is read as the narrowest visibility.
            _ => Visibility::OwnerBody,
        }
    }
}

/// Why a store operation did nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input is wrong; every reason is listed.
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error("{0}")]
    Forbidden(String),
    /// No such query that the caller may see: the same answer whether it exists or not.
    #[error("no saved query named {0:?} that you may see")]
    NotFound(String),
    /// Someone else saved the same query at the same time.
    #[error("the saved query {0:?} was changed at the same time; try again")]
    Conflict(String),
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// A new version of a saved query, or the first.
#[derive(Debug, Clone, Default)]
pub struct SaveInput {
    pub name: String,
    pub title: String,
    pub description: String,
    /// The owning body; may be left out by an officer of exactly one body.
    pub owner_body: Option<String>,
    pub document: String,
    /// Descriptions of the document's variables, by name.
    pub variable_descriptions: Vec<(String, String)>,
    /// The purpose its runs state when the runner states none.
    pub purpose: Option<String>,
}

/// Who is acting, and on which bodies' queries.
pub struct Actor<'a> {
    /// The token's subject, recorded on what it saves.
    pub subject: &'a str,
    /// The bodies the actor acts for.
    pub bodies: &'a [String],
    pub read: &'a SavedQueryScope,
    pub manage: &'a SavedQueryScope,
}

/// A saved query at one version, with its shares.
#[derive(Debug, Clone)]
pub struct Stored {
    pub query: saved_query::Model,
    pub version: saved_query_version::Model,
    pub shared_with: Vec<String>,
}

impl Stored {
    pub fn variables(&self) -> Vec<Variable> {
        serde_json::from_str(&self.version.variables).unwrap_or_default()
    }
}

const MAX_NAME: usize = 64;
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 4000;
const MAX_DOCUMENT: usize = 64 * 1024;

/// A name is a slug: it goes into URLs (`/q/{name}`) and file names of exports.
pub fn is_slug(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn new_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness is an environment fault; the time still gives a unique id here,
        // and the unique name constraint catches the impossible clash.
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        bytes[..8].copy_from_slice(&nanos.to_be_bytes());
    }
    format!("sq_{}", hex::encode(bytes))
}

fn covers(scope: &SavedQueryScope, body: &str) -> bool {
    match scope {
        SavedQueryScope::Nothing => false,
        SavedQueryScope::Bodies(bodies) => bodies.iter().any(|b| b == body),
        SavedQueryScope::All => true,
    }
}

/// Whether a reader with `scope` may see a query owned by `owner` with `visibility`,
/// shared with `shared_with`.
fn readable(
    scope: &SavedQueryScope,
    owner: &str,
    visibility: Visibility,
    shared_with: &[String],
) -> bool {
    match scope {
        SavedQueryScope::Nothing => false,
        SavedQueryScope::All => true,
        SavedQueryScope::Bodies(bodies) => {
            bodies.iter().any(|b| b == owner)
                || visibility == Visibility::AllOfficers
                || (visibility == Visibility::Shared
                    && shared_with.iter().any(|s| bodies.contains(s)))
        }
    }
}

async fn shares_of(db: &DatabaseConnection, query_id: &str) -> Result<Vec<String>, DbErr> {
    Ok(saved_query_share::Entity::find()
        .filter(saved_query_share::Column::QueryId.eq(query_id))
        .order_by_asc(saved_query_share::Column::Body)
        .all(db)
        .await?
        .into_iter()
        .map(|share| share.body)
        .collect())
}

/// The query called `name` at `version` (the latest when `None`), if `scope` may read it.
/// Archived queries are found too; whether they may run is the caller's decision.
pub async fn find(
    db: &DatabaseConnection,
    scope: &SavedQueryScope,
    name: &str,
    version: Option<i32>,
) -> Result<Option<Stored>, StoreError> {
    if !is_slug(name) {
        return Ok(None);
    }
    let Some(query) = saved_query::Entity::find()
        .filter(saved_query::Column::Name.eq(name))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let shared_with = shares_of(db, &query.id).await?;
    if !readable(
        scope,
        &query.owner_body,
        Visibility::of(&query.visibility),
        &shared_with,
    ) {
        return Ok(None);
    }
    let version = version.unwrap_or(query.latest_version);
    let Some(version) = saved_query_version::Entity::find_by_id((query.id.clone(), version))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(Stored {
        query,
        version,
        shared_with,
    }))
}

/// Every query `scope` may read at its latest version, by name; optionally only those
/// owned by `owner`, and archived ones only when asked for.
pub async fn list(
    db: &DatabaseConnection,
    scope: &SavedQueryScope,
    owner: Option<&str>,
    include_archived: bool,
) -> Result<Vec<Stored>, StoreError> {
    if *scope == SavedQueryScope::Nothing {
        return Ok(Vec::new());
    }
    let mut select = saved_query::Entity::find().order_by_asc(saved_query::Column::Name);
    if let Some(owner) = owner {
        select = select.filter(saved_query::Column::OwnerBody.eq(owner));
    }
    if !include_archived {
        select = select.filter(saved_query::Column::ArchivedAt.is_null());
    }
    let queries = select.all(db).await?;
    let mut shares: std::collections::HashMap<String, Vec<String>> = Default::default();
    for share in saved_query_share::Entity::find()
        .order_by_asc(saved_query_share::Column::Body)
        .all(db)
        .await?
    {
        shares.entry(share.query_id).or_default().push(share.body);
    }
    let mut found = Vec::new();
    for query in queries {
        let shared_with = shares.remove(&query.id).unwrap_or_default();
        if !readable(
            scope,
            &query.owner_body,
            Visibility::of(&query.visibility),
            &shared_with,
        ) {
            continue;
        }
        if let Some(version) =
            saved_query_version::Entity::find_by_id((query.id.clone(), query.latest_version))
                .one(db)
                .await?
        {
            found.push(Stored {
                query,
                version,
                shared_with,
            });
        }
    }
    Ok(found)
}

/// Every version of a query, oldest first.
pub async fn history(
    db: &DatabaseConnection,
    query_id: &str,
) -> Result<Vec<saved_query_version::Model>, StoreError> {
    Ok(saved_query_version::Entity::find()
        .filter(saved_query_version::Column::QueryId.eq(query_id))
        .order_by_asc(saved_query_version::Column::Version)
        .all(db)
        .await?)
}

/// The owning body of a new query: the one given, or the actor's only body.
fn owner_of(actor: &Actor<'_>, given: Option<&str>) -> Result<String, StoreError> {
    match (given, actor.bodies) {
        (Some(body), _) => Ok(body.to_owned()),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(StoreError::Invalid(vec![
            "say which responsible body owns the query (ownerBody)".to_owned(),
        ])),
    }
}

/// Saves `input` as a new query (version 1) or as the next version of the query with its
/// name. Saving what the latest version already holds makes no new version.
pub async fn save(
    db: &DatabaseConnection,
    checks: &dyn Checks,
    actor: &Actor<'_>,
    input: SaveInput,
) -> Result<Stored, StoreError> {
    let mut reasons = Vec::new();
    if !is_slug(&input.name) {
        reasons.push(format!(
            "the name {:?} is not a slug: lower-case letters and digits in words joined by single hyphens, at most {MAX_NAME} characters",
            input.name
        ));
    }
    let title = input.title.trim().to_owned();
    if title.is_empty() || title.chars().count() > MAX_TITLE {
        reasons.push(format!("the title must have 1 to {MAX_TITLE} characters"));
    }
    if input.description.chars().count() > MAX_DESCRIPTION {
        reasons.push(format!(
            "the description must have at most {MAX_DESCRIPTION} characters"
        ));
    }
    if input.document.len() > MAX_DOCUMENT {
        reasons.push(format!(
            "the document must have at most {MAX_DOCUMENT} bytes"
        ));
    }
    if let Some(purpose) = &input.purpose {
        let purposes = checks.purposes();
        if !purposes.contains(purpose) {
            reasons.push(format!(
                "{purpose:?} is not a purpose of this hub; one of: {}",
                purposes.join(", ")
            ));
        }
    }
    if !reasons.is_empty() {
        return Err(StoreError::Invalid(reasons));
    }
    let existing = saved_query::Entity::find()
        .filter(saved_query::Column::Name.eq(input.name.as_str()))
        .one(db)
        .await?;
    let owner = match &existing {
        Some(query) => {
            if input
                .owner_body
                .as_deref()
                .is_some_and(|given| given != query.owner_body)
            {
                return Err(StoreError::Invalid(vec![format!(
                    "the query {:?} belongs to {}; its owner does not change with a new version",
                    input.name, query.owner_body
                )]));
            }
            query.owner_body.clone()
        }
        None => owner_of(actor, input.owner_body.as_deref())?,
    };
    if !covers(actor.manage, &owner) {
        // Someone who may read the query but not change it is told whose it is.
        return match &existing {
            Some(query)
                if readable(
                    actor.read,
                    &query.owner_body,
                    Visibility::of(&query.visibility),
                    &shares_of(db, &query.id).await?,
                ) =>
            {
                Err(StoreError::Forbidden(format!(
                    "only officers of {} and admins may change the saved query {:?}",
                    query.owner_body, query.name
                )))
            }
            // Names are unique across bodies, so a taken name cannot be hidden.
            Some(_) => Err(StoreError::Forbidden(format!(
                "the name {:?} is taken by another body's saved query; choose another",
                input.name
            ))),
            None => Err(StoreError::Forbidden(format!(
                "you may not save queries for {owner}"
            ))),
        };
    }
    if !checks.is_body(&owner) {
        return Err(StoreError::Invalid(vec![format!(
            "{owner:?} is not a responsible body of the programme"
        )]));
    }
    if existing.as_ref().is_some_and(|q| q.archived_at.is_some()) {
        return Err(StoreError::Invalid(vec![format!(
            "the saved query {:?} is archived; save it under a new name",
            input.name
        )]));
    }
    let checked = checks
        .check(&input.document, &owner)
        .map_err(StoreError::Invalid)?;
    let mut variables = checked.variables;
    let mut unknown = Vec::new();
    for (name, description) in input.variable_descriptions {
        match variables.iter_mut().find(|v| v.name == name) {
            Some(variable) => variable.description = Some(description),
            None => unknown.push(format!(
                "the document declares no variable ${name} to describe"
            )),
        }
    }
    if !unknown.is_empty() {
        return Err(StoreError::Invalid(unknown));
    }
    let variables_json =
        serde_json::to_string(&variables).map_err(|e| DbErr::Custom(e.to_string()))?;
    let document_hash = sha256_hex(&checked.normalized);
    let stamp = now();

    let transaction = db.begin().await?;
    let (query_id, version_number) = match &existing {
        Some(query) => {
            let latest =
                saved_query_version::Entity::find_by_id((query.id.clone(), query.latest_version))
                    .one(&transaction)
                    .await?;
            if let Some(latest) = latest
                && latest.title == title
                && latest.description == input.description
                && latest.document == input.document
                && latest.variables == variables_json
                && latest.purpose == input.purpose
            {
                transaction.rollback().await?;
                let shared_with = shares_of(db, &query.id).await?;
                return Ok(Stored {
                    query: query.clone(),
                    version: latest,
                    shared_with,
                });
            }
            let next = query.latest_version + 1;
            // Only the saver that still sees the version it read moves the query on: a
            // concurrent save of the same query fails here instead of being lost.
            let moved = saved_query::Entity::update_many()
                .col_expr(saved_query::Column::LatestVersion, next.into())
                .col_expr(saved_query::Column::UpdatedAt, stamp.clone().into())
                .col_expr(saved_query::Column::UpdatedBy, actor.subject.into())
                .filter(saved_query::Column::Id.eq(query.id.as_str()))
                .filter(saved_query::Column::LatestVersion.eq(query.latest_version))
                .exec(&transaction)
                .await?;
            if moved.rows_affected != 1 {
                transaction.rollback().await?;
                return Err(StoreError::Conflict(input.name));
            }
            (query.id.clone(), next)
        }
        None => {
            let id = new_id();
            let inserted = saved_query::Entity::insert(saved_query::ActiveModel {
                id: Set(id.clone()),
                name: Set(input.name.clone()),
                owner_body: Set(owner.clone()),
                visibility: Set(Visibility::OwnerBody.stored().to_owned()),
                latest_version: Set(1),
                created_at: Set(stamp.clone()),
                created_by: Set(actor.subject.to_owned()),
                updated_at: Set(stamp.clone()),
                updated_by: Set(actor.subject.to_owned()),
                archived_at: Set(None),
                archived_by: Set(None),
            })
            .exec(&transaction)
            .await;
            if inserted.is_err() {
                // The unique name: another save of the same new name won the race.
                transaction.rollback().await?;
                return Err(StoreError::Conflict(input.name));
            }
            (id, 1)
        }
    };
    saved_query_version::Entity::insert(saved_query_version::ActiveModel {
        query_id: Set(query_id.clone()),
        version: Set(version_number),
        title: Set(title),
        description: Set(input.description),
        document: Set(input.document),
        document_hash: Set(document_hash),
        variables: Set(variables_json),
        purpose: Set(input.purpose),
        saved_at: Set(stamp),
        saved_by: Set(actor.subject.to_owned()),
    })
    .exec(&transaction)
    .await?;
    transaction.commit().await?;
    find(db, &SavedQueryScope::All, &input.name, Some(version_number))
        .await?
        .ok_or_else(|| StoreError::NotFound(input.name))
}

/// The query called `name` if `actor` may change it.
async fn managed(
    db: &DatabaseConnection,
    actor: &Actor<'_>,
    name: &str,
) -> Result<saved_query::Model, StoreError> {
    let Some(stored) = find(db, actor.read, name, None).await? else {
        return Err(StoreError::NotFound(name.to_owned()));
    };
    if !covers(actor.manage, &stored.query.owner_body) {
        return Err(StoreError::Forbidden(format!(
            "only officers of {} and admins may change the saved query {name:?}",
            stored.query.owner_body
        )));
    }
    Ok(stored.query)
}

/// Sets who may see the query: its owner body only, the bodies in `bodies` as well, or
/// every officer. Who may run it never widens what a run returns.
pub async fn share(
    db: &DatabaseConnection,
    checks: &dyn Checks,
    actor: &Actor<'_>,
    name: &str,
    visibility: Visibility,
    bodies: Vec<String>,
) -> Result<Stored, StoreError> {
    let query = managed(db, actor, name).await?;
    let bodies: BTreeSet<String> = bodies.into_iter().collect();
    let mut reasons: Vec<String> = bodies
        .iter()
        .filter(|body| !checks.is_body(body))
        .map(|body| format!("{body:?} is not a responsible body of the programme"))
        .collect();
    match visibility {
        Visibility::Shared if bodies.is_empty() => {
            reasons.push("name the bodies to share the query with".to_owned())
        }
        Visibility::OwnerBody | Visibility::AllOfficers if !bodies.is_empty() => {
            reasons.push("bodies are named only when the visibility is SHARED".to_owned())
        }
        _ => {}
    }
    if !reasons.is_empty() {
        return Err(StoreError::Invalid(reasons));
    }
    let transaction = db.begin().await?;
    saved_query_share::Entity::delete_many()
        .filter(saved_query_share::Column::QueryId.eq(query.id.as_str()))
        .exec(&transaction)
        .await?;
    for body in bodies.iter().filter(|b| **b != query.owner_body) {
        saved_query_share::Entity::insert(saved_query_share::ActiveModel {
            query_id: Set(query.id.clone()),
            body: Set(body.clone()),
        })
        .exec(&transaction)
        .await?;
    }
    saved_query::Entity::update_many()
        .col_expr(saved_query::Column::Visibility, visibility.stored().into())
        .col_expr(saved_query::Column::UpdatedAt, now().into())
        .col_expr(saved_query::Column::UpdatedBy, actor.subject.into())
        .filter(saved_query::Column::Id.eq(query.id.as_str()))
        .exec(&transaction)
        .await?;
    transaction.commit().await?;
    find(db, &SavedQueryScope::All, name, None)
        .await?
        .ok_or_else(|| StoreError::NotFound(name.to_owned()))
}

/// Archives the query: it no longer runs or lists, and its versions stay for the record.
pub async fn archive(
    db: &DatabaseConnection,
    actor: &Actor<'_>,
    name: &str,
) -> Result<Stored, StoreError> {
    let query = managed(db, actor, name).await?;
    if query.archived_at.is_none() {
        let stamp = now();
        saved_query::Entity::update_many()
            .col_expr(saved_query::Column::ArchivedAt, Some(stamp.clone()).into())
            .col_expr(
                saved_query::Column::ArchivedBy,
                Some(actor.subject.to_owned()).into(),
            )
            .col_expr(saved_query::Column::UpdatedAt, stamp.into())
            .col_expr(saved_query::Column::UpdatedBy, actor.subject.into())
            .filter(saved_query::Column::Id.eq(query.id.as_str()))
            .exec(db)
            .await?;
    }
    find(db, &SavedQueryScope::All, name, None)
        .await?
        .ok_or_else(|| StoreError::NotFound(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_slugs() {
        for good in ["a", "ohjaamo-events-1-3", "x9"] {
            assert!(is_slug(good), "{good}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "A",
            "a_b",
            "a b",
            "ä",
            &"a".repeat(65),
        ] {
            assert!(!is_slug(bad), "{bad}");
        }
    }

    #[test]
    fn officers_read_their_own_and_what_is_shared_with_them() {
        let ohjaamo = SavedQueryScope::Bodies(vec!["ohjaamo".to_owned()].into());
        let shared = ["libraries".to_owned()];
        assert!(readable(&ohjaamo, "ohjaamo", Visibility::OwnerBody, &[]));
        assert!(!readable(&ohjaamo, "helmi", Visibility::OwnerBody, &[]));
        assert!(!readable(&ohjaamo, "helmi", Visibility::Shared, &shared));
        assert!(readable(
            &ohjaamo,
            "helmi",
            Visibility::Shared,
            &["ohjaamo".to_owned()]
        ));
        assert!(readable(&ohjaamo, "helmi", Visibility::AllOfficers, &[]));
        assert!(readable(
            &SavedQueryScope::All,
            "helmi",
            Visibility::OwnerBody,
            &[]
        ));
        assert!(!readable(
            &SavedQueryScope::Nothing,
            "helmi",
            Visibility::AllOfficers,
            &[]
        ));
    }
}
