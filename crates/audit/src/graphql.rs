//! The access log as a subgraph (`audit`): auditors read events through the gateway like
//! any other data, so their reads are authorised by the same policy and recorded in the
//! same log. The gateway refuses the fields to every other role before planning; the
//! subgraph asks the policy again before it reads a row.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, SecondsFormat, Utc};
use kotohub_auth::{Policy, Principal};
use kotohub_subgraph::access::row_access;
use kotohub_subgraph::serve::{Guard, Router, SubgraphSchema, federated_with};
use kotohub_subgraph::{Page, bad_input, forbidden, internal};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use crate::chain::Verdict;
use crate::entity::audit_event::{self, Column, Model};
use crate::entity::stored_list as list;

/// The subgraph's name in the supergraph.
pub const NAME: &str = "audit";

/// The schema without a database: enough to export the SDL.
pub fn schema_builder()
-> async_graphql::SchemaBuilder<Query, Mutation, async_graphql::EmptySubscription> {
    federated_with(Query, Mutation)
}

/// How long an emergency access lasts, in minutes.
#[derive(Clone, Copy)]
struct EmergencyMinutes(u32);

/// The subgraph's routes over the log's database; emergency accesses opened here last
/// `emergency_minutes`.
pub fn router(db: DatabaseConnection, guard: Guard, emergency_minutes: u32) -> Router {
    let policy = guard.policy();
    let schema: SubgraphSchema<Query, Mutation> = schema_builder()
        .data(policy)
        .data(EmergencyMinutes(emergency_minutes))
        .data(db.clone())
        .finish();
    kotohub_subgraph::serve::router(NAME, schema, db, guard, |request, _| request)
}

/// An officer's emergency access to one client outside its own bodies.
#[derive(SimpleObject)]
pub struct EmergencyAccess {
    /// Name it in the `Kotohub-Emergency-Access` header (or `extensions.emergencyAccess`)
    /// of the requests that read the client.
    id: ID,
    /// The officer who opened it; only they may use it.
    subject: String,
    /// The bodies the officer acted for.
    bodies: Vec<String>,
    client: ID,
    /// Why, in the officer's words.
    reason: String,
    opened_at: String,
    /// After this it opens nothing.
    expires_at: String,
}

impl From<crate::entity::emergency_access::Model> for EmergencyAccess {
    fn from(row: crate::entity::emergency_access::Model) -> Self {
        Self {
            id: ID(row.id),
            subject: row.subject,
            bodies: list(&row.bodies),
            client: ID(row.client_id),
            reason: row.reason,
            opened_at: row.opened_at,
            expires_at: row.expires_at,
        }
    }
}

/// An auditor's mark on an event: one version of it.
#[derive(SimpleObject, Clone)]
pub struct ReviewMark {
    event: ID,
    /// 1 for the first look, one more for each later one.
    version: i32,
    outcome: crate::marks::Outcome,
    note: String,
    reviewed_by: String,
    reviewed_at: String,
}

impl From<crate::entity::review_mark::Model> for ReviewMark {
    fn from(row: crate::entity::review_mark::Model) -> Self {
        Self {
            event: ID(row.event_seq.to_string()),
            version: row.version,
            outcome: crate::marks::Outcome::of(&row.outcome),
            note: row.note,
            reviewed_by: row.reviewed_by,
            reviewed_at: row.reviewed_at,
        }
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Marks events as reviewed with what you concluded and a note; marking an event
    /// again adds a version, and every version stays. Auditors only; the marking is
    /// itself in the access log.
    async fn mark_reviewed(
        &self,
        ctx: &Context<'_>,
        events: Vec<ID>,
        outcome: crate::marks::Outcome,
        note: String,
    ) -> Result<Vec<ReviewMark>> {
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        if !policy.review_events(principal).allowed {
            return Err(forbidden("only auditors mark events as reviewed"));
        }
        let seqs = events
            .iter()
            .map(|id| {
                id.parse::<i64>()
                    .map_err(|_| bad_input(format!("{:?} is not an event's id", id.as_str())))
            })
            .collect::<Result<Vec<i64>>>()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let marked = crate::marks::mark(db, &principal.subject, &seqs, outcome, &note)
            .await
            .map_err(|error| match error {
                crate::marks::MarkError::Invalid(message) => bad_input(message),
                crate::marks::MarkError::Conflict => bad_input(error.to_string()),
                crate::marks::MarkError::Database(error) => internal(error),
            })?;
        Ok(marked.into_iter().map(ReviewMark::from).collect())
    }

    /// Opens access to one client outside your own bodies, for a short time
    /// (`access.emergency_minutes`), when you must read their data now: say why in words.
    /// Every read under it is recorded with it and queued for the auditors' review;
    /// you read only what your role may read. Officers only.
    async fn open_emergency_access(
        &self,
        ctx: &Context<'_>,
        client: ID,
        reason: String,
    ) -> Result<EmergencyAccess> {
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        if !policy.open_emergency_access(principal).allowed {
            return Err(forbidden("only officers may open an emergency access"));
        }
        let EmergencyMinutes(minutes) = *ctx.data::<EmergencyMinutes>()?;
        let db = ctx.data::<DatabaseConnection>()?;
        let opened = crate::emergency::open(db, principal, &client, &reason, minutes)
            .await
            .map_err(|error| match error {
                crate::emergency::OpenError::Invalid(message) => bad_input(message),
                crate::emergency::OpenError::Database(error) => internal(error),
            })?;
        // The access log's event of this operation names the client it is about.
        row_access(ctx)?.returned([opened.client_id.as_str()]);
        Ok(opened.into())
    }
}

/// What became of an operation.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum AuditDecision {
    Allowed,
    Partial,
    Refused,
    Failed,
}

impl AuditDecision {
    fn stored(self) -> &'static str {
        match self {
            AuditDecision::Allowed => "allowed",
            AuditDecision::Partial => "partial",
            AuditDecision::Refused => "refused",
            AuditDecision::Failed => "failed",
        }
    }

    fn of(stored: &str) -> Self {
        match stored {
            "allowed" => AuditDecision::Allowed,
            "partial" => AuditDecision::Partial,
            "refused" => AuditDecision::Refused,
            _ => AuditDecision::Failed,
        }
    }
}

/// Which events to list; every given condition must hold.
#[derive(InputObject, Default)]
pub struct AuditFilter {
    /// Events whose answer held this client's person-level data.
    client: Option<ID>,
    /// Events of this caller (the token's subject).
    subject: Option<String>,
    /// Events of callers acting for this responsible body.
    body: Option<String>,
    /// Events of operations with this name.
    operation: Option<String>,
    decision: Option<AuditDecision>,
    /// Events of reads for this stated purpose.
    purpose: Option<String>,
    /// Events run under this emergency access.
    emergency_access: Option<ID>,
    /// Events whose operation asked for data of this class (`special-category`,
    /// `identifying` …), whether or not it was answered.
    class: Option<String>,
    /// At or after this time (RFC 3339).
    from: Option<DateTime<Utc>>,
    /// Before this time (RFC 3339).
    to: Option<DateTime<Utc>>,
}

/// One operation the gateway answered, refused or failed.
#[derive(SimpleObject)]
pub struct AuditEvent {
    /// The event's position in the hash chain; pass it as `after` for the next page.
    id: ID,
    event_id: String,
    occurred_at: String,
    request_id: String,
    trace_id: Option<String>,
    subject: Option<String>,
    roles: Vec<String>,
    bodies: Vec<String>,
    client_address: Option<String>,
    operation_type: Option<String>,
    operation_name: Option<String>,
    /// SHA-256 of the operation as the gateway normalised it.
    document_hash: Option<String>,
    saved_query_id: Option<String>,
    saved_query_version: Option<i32>,
    /// SHA-256 of the variables; their values are never stored.
    variables_hash: Option<String>,
    subgraphs: Vec<String>,
    /// `Type.field` coordinates the caller was allowed to read.
    fields: Vec<String>,
    /// Clients whose person-level data the answer held.
    client_ids: Vec<ID>,
    row_count: i64,
    suppressed_cells: i64,
    decision: AuditDecision,
    /// Ids of the policy rules behind the decision.
    policies: Vec<String>,
    /// The HTTP status answered.
    status: i32,
    error_codes: Vec<String>,
    duration_micros: i64,
    /// `Type.field` coordinates the policy cut from the operation.
    denied_fields: Vec<String>,
    /// The answer left as a file (a CSV export) rather than as a GraphQL response.
    as_file: bool,
    /// The purpose the caller stated for reading person-level data.
    purpose: Option<String>,
    /// The emergency access the operation ran under.
    emergency_access: Option<ID>,
    /// The classes of data (the schema's marks) of the fields it asked for and was
    /// allowed.
    classes: Vec<String>,
    hash: String,
}

impl From<Model> for AuditEvent {
    fn from(row: Model) -> Self {
        Self {
            id: ID(row.seq.to_string()),
            event_id: row.event_id,
            occurred_at: row.occurred_at,
            request_id: row.request_id,
            trace_id: row.trace_id,
            subject: row.subject,
            roles: list(&row.roles),
            bodies: list(&row.bodies),
            client_address: row.client_address,
            operation_type: row.operation_type,
            operation_name: row.operation_name,
            document_hash: row.document_hash,
            saved_query_id: row.saved_query_id,
            saved_query_version: row.saved_query_version,
            variables_hash: row.variables_hash,
            subgraphs: list(&row.subgraphs),
            fields: list(&row.fields),
            client_ids: list(&row.client_ids).into_iter().map(ID).collect(),
            row_count: row.row_count,
            suppressed_cells: row.suppressed_cells,
            decision: AuditDecision::of(&row.decision),
            policies: list(&row.policies),
            status: row.status,
            error_codes: list(&row.error_codes),
            duration_micros: row.duration_us,
            denied_fields: list(&row.denied_fields),
            as_file: row.as_file,
            purpose: row.purpose,
            emergency_access: row.emergency_access.map(ID),
            classes: list(&row.classes),
            hash: row.hash,
        }
    }
}

/// The thresholds of the review rules; each left out takes its default.
#[derive(InputObject, Default)]
pub struct ReviewThresholds {
    /// Working hours start at this hour, Helsinki time (default 7).
    working_hours_start: Option<u32>,
    /// Working hours end before this hour, Helsinki time (default 18).
    working_hours_end: Option<u32>,
    /// Distinct clients one caller reads within the window that are flagged (default 50).
    many_clients: Option<u32>,
    /// Refusals of one caller within the window that make a burst (default 10).
    refusals: Option<u32>,
    /// The window of the two rules above, in minutes (default 10).
    window_minutes: Option<u32>,
    /// Bodies reading one client in the range that are flagged (default 3).
    bodies_per_client: Option<u32>,
}

impl ReviewThresholds {
    fn resolved(self) -> Result<crate::review::Thresholds> {
        let defaults = crate::review::Thresholds::default();
        let hours = (
            self.working_hours_start.unwrap_or(defaults.working_hours.0),
            self.working_hours_end.unwrap_or(defaults.working_hours.1),
        );
        if hours.0 >= hours.1 || hours.1 > 24 {
            return Err(bad_input(
                "working hours run from an hour to a later one, 0 to 24",
            ));
        }
        let at_least_one = |value: Option<u32>, default: usize, what: &str| match value {
            Some(0) => Err(bad_input(format!("{what} is at least 1"))),
            Some(n) => Ok(n as usize),
            None => Ok(default),
        };
        Ok(crate::review::Thresholds {
            working_hours: hours,
            many_clients: at_least_one(self.many_clients, defaults.many_clients, "manyClients")?,
            refusals: at_least_one(self.refusals, defaults.refusals, "refusals")?,
            window: match self.window_minutes {
                Some(0) => return Err(bad_input("windowMinutes is at least 1")),
                Some(minutes) => chrono::Duration::minutes(i64::from(minutes.min(24 * 60))),
                None => defaults.window,
            },
            bodies_per_client: at_least_one(
                self.bodies_per_client,
                defaults.bodies_per_client,
                "bodiesPerClient",
            )?,
        })
    }
}

/// Something in the log an auditor should look at, and the events behind it.
#[derive(SimpleObject)]
pub struct ReviewFlag {
    rule: crate::review::Rule,
    /// Every event of it has a current mark.
    reviewed: bool,
    /// The current marks of its events.
    marks: Vec<ReviewMark>,
    /// The caller, for the rules about one caller.
    subject: Option<String>,
    /// The client, for the rule about one client.
    client: Option<ID>,
    /// The events it rests on, by their position in the chain.
    events: Vec<ID>,
    first_at: String,
    last_at: String,
    detail: String,
}

/// The longest range the rules read at once.
const REVIEW_DAYS: i64 = 31;

pub struct Query;

#[Object]
impl Query {
    /// What the review rules flag in the events from `from` to before `to` (at most 31
    /// days): reads of person-level data outside working hours, many clients read by one
    /// caller in a short time, bursts of refusals, a client read by several bodies;
    /// auditors only.
    async fn audit_review(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        thresholds: Option<ReviewThresholds>,
        #[graphql(default)] unreviewed_only: bool,
    ) -> Result<Vec<ReviewFlag>> {
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        if !policy.read_type(principal, "ReviewFlag").allowed {
            return Err(forbidden("the access log is for auditors"));
        }
        if to <= from || to - from > chrono::Duration::days(REVIEW_DAYS) {
            return Err(bad_input(format!(
                "review a range of up to {REVIEW_DAYS} days, `to` after `from`"
            )));
        }
        let thresholds = thresholds.unwrap_or_default().resolved()?;
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        let rows = row_access(ctx)?;
        let events = audit_event::Entity::find()
            .filter(Column::OccurredAt.gte(stamp(from)))
            .filter(Column::OccurredAt.lt(stamp(to)))
            .order_by_asc(Column::Seq)
            .all(rows.db())
            .await
            .map_err(internal)?;
        let flags = crate::review::flags(&events, &thresholds);
        let flagged: Vec<i64> = flags
            .iter()
            .flat_map(|f| f.events.iter().copied())
            .collect();
        let marks = crate::marks::current(rows.db(), &flagged)
            .await
            .map_err(internal)?;
        Ok(flags
            .into_iter()
            .map(|flag| {
                let current: Vec<ReviewMark> = flag
                    .events
                    .iter()
                    .filter_map(|seq| marks.get(seq).cloned().map(ReviewMark::from))
                    .collect();
                (current.len() == flag.events.len(), current, flag)
            })
            .filter(|(reviewed, _, _)| !(unreviewed_only && *reviewed))
            .map(|(reviewed, marks, flag)| ReviewFlag {
                reviewed,
                marks,
                rule: flag.rule,
                subject: flag.subject,
                client: flag.client.map(ID),
                events: flag.events.iter().map(|seq| ID(seq.to_string())).collect(),
                first_at: flag.first_at,
                last_at: flag.last_at,
                detail: flag.detail,
            })
            .collect())
    }

    /// Events of the access log in the order they happened, filtered; auditors only.
    async fn audit_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<AuditFilter>,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<AuditEvent>> {
        events(ctx, filter.unwrap_or_default(), first, after).await
    }

    /// Who saw this client's data, when and through what: every event whose answer held
    /// the client's person-level data, in the order they happened; auditors only.
    async fn accesses_to_client(
        &self,
        ctx: &Context<'_>,
        id: ID,
        first: Option<i32>,
        after: Option<ID>,
    ) -> Result<Vec<AuditEvent>> {
        let filter = AuditFilter {
            client: Some(id),
            ..AuditFilter::default()
        };
        events(ctx, filter, first, after).await
    }

    /// Every version of the review marks of one event, oldest first; auditors only.
    async fn review_marks(&self, ctx: &Context<'_>, event: ID) -> Result<Vec<ReviewMark>> {
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        if !policy.read_type(principal, "ReviewMark").allowed {
            return Err(forbidden("the access log is for auditors"));
        }
        let seq: i64 = event
            .parse()
            .map_err(|_| bad_input(format!("{:?} is not an event's id", event.as_str())))?;
        let rows = row_access(ctx)?;
        Ok(crate::marks::history(rows.db(), seq)
            .await
            .map_err(internal)?
            .into_iter()
            .map(ReviewMark::from)
            .collect())
    }

    /// Emergency accesses opened from `from` to before `to`, newest first: every one for
    /// auditors, an officer's own for that officer.
    async fn emergency_accesses(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<EmergencyAccess>> {
        use crate::entity::emergency_access::{Column as Access, Entity};
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        if !policy.read_type(principal, "EmergencyAccess").allowed {
            return Err(forbidden(
                "emergency accesses are for their officers and auditors",
            ));
        }
        if to <= from {
            return Err(bad_input("`to` must be after `from`"));
        }
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        let mut query = Entity::find()
            .filter(Access::OpenedAt.gte(stamp(from)))
            .filter(Access::OpenedAt.lt(stamp(to)));
        if !policy.read_type(principal, "AuditEvent").allowed {
            query = query.filter(Access::Subject.eq(principal.subject.as_str()));
        }
        let rows = row_access(ctx)?;
        let found = query
            .order_by_desc(Access::OpenedAt)
            .limit(1_000)
            .all(rows.db())
            .await
            .map_err(internal)?;
        Ok(found.into_iter().map(EmergencyAccess::from).collect())
    }

    /// Walks the log's hash chain from its start (or the last pruning checkpoint) to its
    /// newest event and says whether it holds; auditors only. It reads every event, so
    /// it is asked for on demand, not with each page of events.
    async fn audit_chain(&self, ctx: &Context<'_>) -> Result<AuditChainVerification> {
        let principal = ctx.data::<Principal>()?;
        let policy = ctx.data::<Arc<Policy>>()?;
        if !policy
            .read_type(principal, "AuditChainVerification")
            .allowed
        {
            return Err(forbidden("the access log is for auditors"));
        }
        let rows = row_access(ctx)?;
        let verdict = crate::chain::verify(rows.db(), None)
            .await
            .map_err(internal)?;
        let verified_at = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        Ok(match verdict {
            Verdict::Intact { events, last_seq } => AuditChainVerification {
                intact: true,
                events_checked: i64::try_from(events).unwrap_or(i64::MAX),
                last_event: last_seq.map(|seq| ID(seq.to_string())),
                broken_at: None,
                broken_event_id: None,
                reason: None,
                verified_at,
            },
            Verdict::Broken {
                seq,
                event_id,
                reason,
            } => AuditChainVerification {
                intact: false,
                events_checked: 0,
                last_event: None,
                broken_at: Some(ID(seq.to_string())),
                broken_event_id: (!event_id.is_empty()).then_some(event_id),
                reason: Some(reason),
                verified_at,
            },
        })
    }
}

/// What walking the access log's hash chain found.
#[derive(SimpleObject)]
pub struct AuditChainVerification {
    /// Every event links to the one before it and matches its own hash.
    intact: bool,
    /// Events checked when the chain holds.
    events_checked: i64,
    /// The newest event checked.
    last_event: Option<ID>,
    /// Where the chain breaks: the first event that is missing, altered or out of place.
    broken_at: Option<ID>,
    /// That event's id, when it is there.
    broken_event_id: Option<String>,
    /// Why it breaks there.
    reason: Option<String>,
    /// When the walk ended (RFC 3339).
    verified_at: String,
}

/// Text a filter may hold: ids, slugs, subjects and operation names, never SQL.
fn plain(what: &str, value: &str) -> Result<()> {
    let fine = !value.is_empty()
        && value.len() <= 255
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':' | '|'));
    if fine {
        Ok(())
    } else {
        Err(bad_input(format!(
            "{what} {value:?} is not a name the log holds"
        )))
    }
}

/// A JSON list column holding `value` as one of its strings.
fn holds(column: Column, value: &str) -> Condition {
    Condition::all().add(column.contains(format!("\"{value}\"")))
}

async fn events(
    ctx: &Context<'_>,
    filter: AuditFilter,
    first: Option<i32>,
    after: Option<ID>,
) -> Result<Vec<AuditEvent>> {
    let principal = ctx.data::<Principal>()?;
    let policy = ctx.data::<Arc<Policy>>()?;
    if !policy.read_type(principal, "AuditEvent").allowed {
        return Err(forbidden("the access log is for auditors"));
    }
    let page = Page::new(first, after.as_ref())?;
    let mut query = audit_event::Entity::find();
    if let Some(after) = page.after {
        query = query.filter(Column::Seq.gt(after));
    }
    if let Some(client) = &filter.client {
        plain("the client", client)?;
        query = query.filter(holds(Column::ClientIds, client));
    }
    if let Some(subject) = &filter.subject {
        plain("the subject", subject)?;
        query = query.filter(Column::Subject.eq(subject.as_str()));
    }
    if let Some(body) = &filter.body {
        plain("the body", body)?;
        query = query.filter(holds(Column::Bodies, body));
    }
    if let Some(operation) = &filter.operation {
        plain("the operation", operation)?;
        query = query.filter(Column::OperationName.eq(operation.as_str()));
    }
    if let Some(decision) = filter.decision {
        query = query.filter(Column::Decision.eq(decision.stored()));
    }
    if let Some(purpose) = &filter.purpose {
        plain("the purpose", purpose)?;
        query = query.filter(Column::Purpose.eq(purpose.as_str()));
    }
    if let Some(class) = &filter.class {
        plain("the class", class)?;
        query = query.filter(holds(Column::Classes, class));
    }
    if let Some(access) = &filter.emergency_access {
        plain("the emergency access", access)?;
        query = query.filter(Column::EmergencyAccess.eq(access.as_str()));
    }
    // Stored times are RFC 3339 in UTC with microseconds, so they order as text.
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
    if let Some(from) = filter.from {
        query = query.filter(Column::OccurredAt.gte(stamp(from)));
    }
    if let Some(to) = filter.to {
        query = query.filter(Column::OccurredAt.lt(stamp(to)));
    }
    let rows = row_access(ctx)?;
    let found = query
        .order_by_asc(Column::Seq)
        .limit(page.limit)
        .all(rows.db())
        .await
        .map_err(internal)?;
    Ok(found.into_iter().map(AuditEvent::from).collect())
}
