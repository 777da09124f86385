//! One request through the gateway's steps, in order, each in a module of its own:
//! validate the operation (kept validated by text, [`crate::validate`]), coerce its
//! variables ([`crate::variables`]), decide what the caller may read
//! ([`crate::authorize`], a [`Verdict`]) — with the purpose the policy's purpose rules
//! ask for and the emergency access the caller names ([`crate::emergency`]) — take a
//! kept answer ([`crate::response_cache`]),
//! answer introspection from the API schema, plan the rest ([`crate::planning`]), execute
//! the plan with the caller's signed principal ([`crate::execute`]), and project the
//! answers onto the operation ([`crate::project`]). Each step can stop the request with
//! errors; only the field rules and execution produce partial data.
//!
//! Around those steps: a persisted operation is looked up by its id first, safelist mode
//! refuses anything but saved and persisted operations, and `runSavedQuery` reads the
//! saved query's definition as the caller and runs it through the same steps
//! ([`crate::saved`]).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use apollo_compiler::ExecutableDocument;
use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::OperationType;
use apollo_compiler::parser::Parser;
use apollo_compiler::schema::Implementers;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, ast};
use kotohub_auth::Principal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::answer::{Answers, Node};
use crate::audit::Facts;
use crate::authorize::{Access, Verdict, authorize};
use crate::errors::{Code, GraphQLError};
use crate::execute::{Executed, Forward, SignedCaller, Subgraphs, execute};
use crate::plan::{PlanError, QueryPlanner};
use crate::project::{Data, Projection};
use crate::saved;
use crate::supergraph::Supergraph;
use crate::validate::{Limits, ValidOperation, validate};
use crate::variables::Coerced;

/// A GraphQL request as the HTTP layer hands it over.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphQLRequest {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

/// A GraphQL response. `data` is absent when the request failed before execution.
#[derive(Debug, Clone, Serialize)]
pub struct GraphQLResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Data>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<GraphQLError>,
}

/// Who an operation runs as (when the gateway checks callers) and the request it belongs
/// to: the subgraphs get both, signed for each of them.
#[derive(Clone, Copy)]
pub struct Caller<'a> {
    pub principal: Option<&'a Principal>,
    pub request_id: &'a str,
    /// The purpose stated for the operation (`Kotohub-Purpose`), if any.
    pub purpose: Option<&'a str>,
    /// The emergency access the operation runs under (`Kotohub-Emergency-Access`).
    pub emergency: Option<&'a str>,
}

impl<'a> Caller<'a> {
    /// A caller that states neither a purpose nor an emergency access.
    pub fn new(principal: Option<&'a Principal>, request_id: &'a str) -> Self {
        Self {
            principal,
            request_id,
            purpose: None,
            emergency: None,
        }
    }

    /// What `request`'s extensions state (`purpose`, `emergencyAccess`) where the
    /// headers did not.
    fn with_extensions(mut self, request: &'a GraphQLRequest) -> Self {
        let stated = |name: &str| {
            request
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get(name))
                .and_then(Value::as_str)
        };
        self.purpose = self.purpose.or_else(|| stated("purpose"));
        self.emergency = self.emergency.or_else(|| stated("emergencyAccess"));
        self
    }
}

/// What the HTTP layer needs to know besides the response.
#[derive(Debug)]
pub struct Outcome {
    pub response: GraphQLResponse,
    /// The request was refused before execution (a request error in the spec's terms).
    pub refused: bool,
    /// The kind of the chosen operation, when one was chosen.
    pub kind: Option<OperationType>,
    /// Subgraphs called while executing.
    pub subgraphs: BTreeSet<String>,
    /// What the access log records of the operation.
    pub facts: Facts,
}

impl Outcome {
    pub(crate) fn refused(errors: Vec<GraphQLError>, kind: Option<OperationType>) -> Self {
        Self {
            response: GraphQLResponse { data: None, errors },
            refused: true,
            kind,
            subgraphs: BTreeSet::new(),
            facts: Facts::default(),
        }
    }

    pub(crate) fn with_facts(mut self, facts: Facts) -> Self {
        self.facts = facts;
        self
    }

    /// An answer with data, partial when `errors` are not empty.
    fn answered(
        data: Data,
        errors: Vec<GraphQLError>,
        subgraphs: BTreeSet<String>,
        kind: Option<OperationType>,
        facts: Facts,
    ) -> Self {
        Self {
            response: GraphQLResponse {
                data: Some(data),
                errors,
            },
            refused: false,
            kind,
            subgraphs,
            facts,
        }
    }
}

/// The gateway: the supergraph, its planner, the subgraphs and the request bounds.
pub struct Gateway {
    supergraph: Arc<Supergraph>,
    planner: Arc<dyn QueryPlanner>,
    subgraphs: Subgraphs,
    limits: Limits,
    implementers: HashMap<Name, Implementers>,
    access: Option<Arc<Access>>,
    audit: Option<Arc<dyn crate::audit::AuditSink>>,
    /// Registered persisted operations: document by SHA-256 (hex) of its text.
    persisted: std::collections::HashMap<String, Arc<str>>,
    /// Only saved queries and persisted operations run, except for admins.
    safelist: bool,
    /// Answers to aggregate-only callers, by scope, operation and variables.
    response_cache: Option<kotohub_cache::Cache>,
    /// Plans shared with the other replicas.
    plan_cache: Option<kotohub_cache::Cache>,
    rate_limits: Option<RateLimits>,
    /// The purposes a person-level read may state.
    purposes: std::collections::BTreeSet<String>,
    /// Where opened emergency accesses are looked up.
    emergency: Option<Arc<dyn crate::emergency::EmergencyAccesses>>,
    /// Operations validated before, by text and operation name.
    prepared: moka::sync::Cache<OperationKey, Arc<Prepared>>,
}

/// An operation's text and the name of the operation chosen in it.
type OperationKey = (Arc<str>, Option<Arc<str>>);

/// Operations kept validated; as many as plans are kept.
const PREPARED_CAPACITY: u64 = 1_000;

/// An operation validated once and kept: its validation, its printed form and that
/// form's hash are the same for every request that sends the same text.
pub struct Prepared {
    pub operation: ValidOperation,
    /// The document as apollo-compiler prints it, what plans and answers are cached by.
    normalized: String,
    /// SHA-256 of `normalized`, for the access log.
    document_hash: String,
    /// How long its data was last time: the next answer's buffer is allocated that long.
    data_size: std::sync::atomic::AtomicUsize,
}

/// How many requests callers may make: per client address, and per principal by role.
#[derive(Clone)]
pub struct RateLimits {
    pub limiter: kotohub_cache::rate::RateLimiter,
    /// Every request from one address, signed in or not.
    pub address: Option<kotohub_cache::rate::Limit>,
    /// A principal's requests: the most generous limit among its roles applies; a
    /// principal of no listed role is limited by address only.
    pub roles: std::collections::HashMap<kotohub_auth::Role, kotohub_cache::rate::Limit>,
}

impl RateLimits {
    /// The limit of `principal`, if any of its roles has one.
    pub fn of(&self, principal: &Principal) -> Option<kotohub_cache::rate::Limit> {
        principal
            .roles
            .iter()
            .filter_map(|role| self.roles.get(role))
            .copied()
            .max_by(|a, b| a.per_second.total_cmp(&b.per_second))
    }
}

/// A document a request carries, or names by its persisted id.
struct Document<'a> {
    /// Borrowed from the request or the registry: never copied.
    text: &'a str,
    /// It is a registered persisted operation.
    registered: bool,
}

impl Gateway {
    /// The kind of the operation a request would run, when it is not a query; read from
    /// the parsed document alone, before validation.
    fn non_query_kind(&self, query: &str, operation_name: Option<&str>) -> Option<OperationType> {
        let ast = Parser::new()
            .token_limit(self.limits.max_tokens)
            .recursion_limit(self.limits.max_recursion)
            .parse_ast(query, "operation.graphql")
            .ok()?;
        ast.definitions
            .iter()
            .filter_map(|definition| match definition {
                ast::Definition::OperationDefinition(operation) => Some(operation),
                _ => None,
            })
            .find(|operation| {
                operation_name.is_none_or(|name| operation.name.as_deref() == Some(name))
            })
            .map(|operation| operation.operation_type)
            .filter(|kind| *kind != OperationType::Query)
    }

    pub fn new(
        supergraph: Arc<Supergraph>,
        planner: Arc<dyn QueryPlanner>,
        subgraphs: Subgraphs,
        limits: Limits,
    ) -> Self {
        let implementers = supergraph.api_schema().implementers_map();
        Self {
            supergraph,
            planner,
            subgraphs,
            limits,
            implementers,
            access: None,
            audit: None,
            persisted: std::collections::HashMap::new(),
            safelist: false,
            response_cache: None,
            plan_cache: None,
            rate_limits: None,
            purposes: std::collections::BTreeSet::new(),
            emergency: None,
            prepared: moka::sync::Cache::new(PREPARED_CAPACITY),
        }
    }

    /// This gateway on another supergraph, its planner and its subgraphs: the callers'
    /// checks, the access log, caches, rate limits and settings carried over, and only
    /// the operations validated before left behind, since they were validated against
    /// the old schema. Plans and answers shared in caches are keyed by the supergraph's
    /// fingerprint, so none made for the old one is taken for the new.
    pub fn reloaded(
        &self,
        supergraph: Arc<Supergraph>,
        planner: Arc<dyn QueryPlanner>,
        subgraphs: Subgraphs,
    ) -> Self {
        let subgraphs = subgraphs.with_metrics(self.subgraphs.metrics().clone());
        Self {
            access: self.access.clone(),
            audit: self.audit.clone(),
            persisted: self.persisted.clone(),
            safelist: self.safelist,
            response_cache: self.response_cache.clone(),
            plan_cache: self.plan_cache.clone(),
            rate_limits: self.rate_limits.clone(),
            purposes: self.purposes.clone(),
            emergency: self.emergency.clone(),
            ..Self::new(supergraph, planner, subgraphs, self.limits)
        }
    }

    /// The supergraph this gateway serves.
    pub fn supergraph(&self) -> &Supergraph {
        &self.supergraph
    }

    /// The operation `query` names, validated now or taken from the operations validated
    /// before: validation depends only on the text, the name and the schema.
    fn prepare(
        &self,
        query: &str,
        operation_name: Option<&str>,
    ) -> Result<Arc<Prepared>, Vec<GraphQLError>> {
        let key = (Arc::from(query), operation_name.map(Arc::from));
        if let Some(prepared) = self.prepared.get(&key) {
            return Ok(prepared);
        }
        let operation = validate(
            self.supergraph.api_schema(),
            query,
            operation_name,
            &self.limits,
        )
        .map_err(|errors| {
            errors
                .into_iter()
                .map(GraphQLError::from)
                .collect::<Vec<_>>()
        })?;
        let normalized = operation.document.serialize().no_indent().to_string();
        let prepared = Arc::new(Prepared {
            document_hash: crate::audit::sha256_hex(normalized.as_bytes()),
            normalized,
            operation,
            data_size: Default::default(),
        });
        self.prepared.insert(key, prepared.clone());
        Ok(prepared)
    }

    /// Shares plans with the other replicas through `cache` (Redis): a replica that has
    /// not planned an operation yet takes the plan another made.
    pub fn with_plan_cache(mut self, cache: kotohub_cache::Cache) -> Self {
        self.plan_cache = Some(cache);
        self
    }

    /// The purposes a caller may state for reading what the policy's purpose rules
    /// allow (person-level data); without one of them, such reads are refused.
    pub fn with_purposes(mut self, purposes: impl IntoIterator<Item = String>) -> Self {
        self.purposes = purposes.into_iter().collect();
        self
    }

    /// Looks emergency accesses up in `accesses`; without it none is accepted.
    pub fn with_emergency_accesses(
        mut self,
        accesses: Arc<dyn crate::emergency::EmergencyAccesses>,
    ) -> Self {
        self.emergency = Some(accesses);
        self
    }

    /// Limits how many requests each client address and each principal may make.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// The response cache, when aggregate answers are kept.
    pub(crate) fn response_cache(&self) -> Option<&kotohub_cache::Cache> {
        self.response_cache.as_ref()
    }

    /// What the gateway counts.
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        self.subgraphs.metrics()
    }

    /// The rate limits, when requests are limited.
    pub fn rate_limits(&self) -> Option<&RateLimits> {
        self.rate_limits.as_ref()
    }

    /// Keeps the answers of callers who read aggregates only (analysts: no person-level
    /// row scope) in `cache`, keyed by their aggregate scope, roles, the operation as
    /// authorised and its variables, so a caller of another scope never gets them.
    /// Person-level answers are never kept.
    pub fn with_response_cache(mut self, cache: kotohub_cache::Cache) -> Self {
        self.response_cache = Some(cache);
        self
    }

    /// Registers persisted operations (document by the SHA-256 of its text), which
    /// clients may send by id (`extensions.persistedQuery.sha256Hash`) instead of text.
    pub fn with_persisted_operations(
        mut self,
        operations: std::collections::HashMap<String, String>,
    ) -> Self {
        self.persisted = operations
            .into_iter()
            .map(|(id, text)| (id.to_ascii_lowercase(), Arc::from(text)))
            .collect();
        self
    }

    /// In safelist mode, callers other than admins may run only saved queries and
    /// registered persisted operations; any other document is refused.
    pub fn with_safelist(mut self, safelist: bool) -> Self {
        self.safelist = safelist;
        self
    }

    /// The document `request` carries or names; `Err` refuses the request.
    fn document<'a>(
        &'a self,
        request: &'a GraphQLRequest,
    ) -> Result<Document<'a>, Box<GraphQLError>> {
        let persisted_id = request
            .extensions
            .as_ref()
            .and_then(|extensions| extensions.get("persistedQuery"))
            .and_then(|persisted| persisted.get("sha256Hash"))
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        let text = request.query.as_deref().filter(|q| !q.is_empty());
        match (persisted_id, text) {
            (Some(id), None) => match self.persisted.get(&id) {
                Some(text) => Ok(Document {
                    text,
                    registered: true,
                }),
                None => Err(Box::new(GraphQLError::new(
                    format!("no persisted operation is registered with the id {id}"),
                    Code::PersistedNotFound,
                ))),
            },
            (Some(id), Some(text)) => {
                if crate::audit::sha256_hex(text.as_bytes()) != id {
                    return Err(Box::new(GraphQLError::new(
                        "the query's SHA-256 is not the persisted id sent with it",
                        Code::PersistedMismatch,
                    )));
                }
                Ok(Document {
                    registered: self.persisted.contains_key(&id),
                    text,
                })
            }
            (None, Some(text)) => Ok(Document {
                registered: !self.persisted.is_empty()
                    && self
                        .persisted
                        .contains_key(&crate::audit::sha256_hex(text.as_bytes())),
                text,
            }),
            (None, None) => Err(Box::new(GraphQLError::new(
                "the request has no query",
                Code::MissingQuery,
            ))),
        }
    }

    /// Requires a verified caller on every request and applies the access policy. A
    /// gateway without it serves anyone: only for development and conformance testing.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = Some(Arc::new(access));
        self
    }

    /// The API schema operations are validated against.
    pub fn api_schema(&self) -> &apollo_compiler::validation::Valid<apollo_compiler::Schema> {
        self.supergraph.api_schema()
    }

    /// How callers are checked, unless authentication is switched off.
    pub fn access(&self) -> Option<&Access> {
        self.access.as_deref()
    }

    /// Records every operation in `log` before answering it; an operation whose record
    /// cannot be stored is answered with no data.
    pub fn with_audit(mut self, log: Arc<dyn crate::audit::AuditSink>) -> Self {
        self.audit = Some(log);
        self
    }

    /// The access log, when operations are recorded.
    pub fn audit(&self) -> Option<&dyn crate::audit::AuditSink> {
        self.audit.as_deref()
    }

    /// Runs `request` as `principal`, who must be given when the gateway has [`Access`].
    /// `allow_mutations` is false for GET requests, which must not change anything.
    pub async fn run(
        &self,
        request: &GraphQLRequest,
        allow_mutations: bool,
        caller: Caller<'_>,
    ) -> Outcome {
        let caller = caller.with_extensions(request);
        let principal = caller.principal;
        let document = match self.document(request) {
            Ok(document) => document,
            Err(error) => return Outcome::refused(vec![*error], None),
        };
        let query = document.text;
        if !allow_mutations
            && let Some(kind) = self.non_query_kind(query, request.operation_name.as_deref())
        {
            // GET never changes anything: refuse before spending validation on it.
            let message = "only queries may be sent with GET; send mutations with POST";
            return Outcome::refused(
                vec![GraphQLError::new(message, Code::MethodNotAllowed)],
                Some(kind),
            );
        }
        let prepared = match self.prepare(query, request.operation_name.as_deref()) {
            Ok(prepared) => prepared,
            Err(errors) => return Outcome::refused(errors, None),
        };
        let operation = &prepared.operation;
        if operation.kind == OperationType::Subscription {
            let message = "subscriptions are not supported: this gateway answers queries and mutations over HTTP";
            return Outcome::refused(
                vec![GraphQLError::new(message, Code::SubscriptionsNotSupported)],
                Some(operation.kind),
            );
        }
        let empty = Map::new();
        let raw_variables = request.variables.as_ref().unwrap_or(&empty);
        let runs_saved = operation
            .operation()
            .root_fields(&operation.document)
            .any(|field| field.name == saved::RUN_FIELD);
        if runs_saved {
            return self.run_saved_field(operation, raw_variables, caller).await;
        }
        let admin = principal.is_some_and(|p| p.has_role(kotohub_auth::Role::Admin));
        if self.safelist && !admin && !document.registered {
            let message = "this hub runs only saved queries and registered persisted operations: run a saved query by name (runSavedQuery, or GET /q/{name}) or send a registered operation's id in extensions.persistedQuery.sha256Hash";
            return Outcome::refused(
                vec![GraphQLError::new(message, Code::NotInSafelist)],
                Some(operation.kind),
            );
        }
        self.run_validated(&prepared, raw_variables, caller).await
    }

    /// Validates and runs `query` as `principal`, with no safelist: for the documents the
    /// gateway itself runs (saved queries and their definitions). Only queries run.
    pub(crate) async fn run_document(
        &self,
        query: &str,
        raw_variables: &Map<String, Value>,
        caller: Caller<'_>,
    ) -> Outcome {
        let prepared = match self.prepare(query, None) {
            Ok(prepared) => prepared,
            Err(errors) => return Outcome::refused(errors, None),
        };
        if prepared.operation.kind != OperationType::Query {
            return Outcome::refused(
                vec![GraphQLError::new(
                    "a saved query must be a query",
                    Code::SavedQueriesUnavailable,
                )],
                Some(prepared.operation.kind),
            );
        }
        self.run_validated(&prepared, raw_variables, caller).await
    }

    /// Runs a validated operation as the caller, one typed step after the other:
    /// variables ([`Coerced`](crate::variables::Coerced)), the field rules
    /// ([`Cleared`]), a kept answer, fetching ([`Executed`]) and projection
    /// ([`Data`]). A step that stops the request hands back its [`Outcome`].
    async fn run_validated(
        &self,
        prepared: &Prepared,
        raw_variables: &Map<String, Value>,
        caller: Caller<'_>,
    ) -> Outcome {
        let operation = &prepared.operation;
        let kind = Some(operation.kind);
        let mut facts = self.facts_of(prepared, raw_variables);
        let coerced = match crate::variables::coerce(
            self.supergraph.api_schema(),
            operation,
            operation.operation(),
            raw_variables,
        ) {
            Ok(coerced) => coerced,
            Err(error) => return Outcome::refused(vec![*error], kind).with_facts(facts),
        };
        let emergency = match (caller.emergency, caller.principal, &self.access) {
            (Some(id), Some(principal), Some(_)) => {
                match crate::emergency::client_opened(self.emergency.as_deref(), id, principal)
                    .await
                {
                    Ok(access) => {
                        facts.emergency_access = Some(access.id.clone());
                        Some(access)
                    }
                    Err(error) => return Outcome::refused(vec![error], kind).with_facts(facts),
                }
            }
            _ => None,
        };
        let mut cleared = match self.clear(prepared, &coerced, caller, emergency, &mut facts) {
            Ok(cleared) => cleared,
            Err(stopped) => return (*stopped).with_facts(facts),
        };
        let document = cleared.document(prepared);
        // Planned from the operation as apollo-compiler prints it, so that the same
        // operation written with other spacing or comments hits the same cached plan (and
        // the same cached answer).
        let pruned_text;
        let normalized: &str = if cleared.pruned.is_none() {
            &prepared.normalized
        } else {
            pruned_text = document.serialize().no_indent().to_string();
            &pruned_text
        };
        let mut errors = std::mem::take(&mut cleared.errors);
        let cache_slot = (operation.kind == OperationType::Query)
            .then(|| {
                crate::response_cache::slot(
                    self.response_cache.as_ref(),
                    self.access.as_deref(),
                    caller.principal,
                    self.supergraph.fingerprint(),
                    normalized,
                    &coerced.json,
                )
            })
            .flatten();
        if let Some(slot) = &cache_slot
            && let Some(cached) = slot.get().await
        {
            facts.suppressed_cells = cached.suppressed_cells;
            return Outcome::answered(cached.data, errors, BTreeSet::new(), kind, facts);
        }
        let executed = match self.fetch(prepared, &cleared, normalized, &coerced).await {
            Ok(executed) => executed,
            Err(stopped) => return (*stopped).with_facts(facts),
        };
        let errors_before_execution = errors.len();
        errors.extend(executed.errors);
        facts.clients = executed.clients;
        facts.suppressed_cells = executed.suppressed_cells;
        let projected = self.project(prepared, &cleared, &coerced, &executed.answers, &mut errors);
        if let Some(slot) = &cache_slot
            && errors.len() == errors_before_execution
            && facts.clients.is_empty()
        {
            slot.set(&projected, facts.suppressed_cells).await;
        }
        Outcome::answered(projected, errors, executed.subgraphs, kind, facts)
    }

    /// What the access log learns of the operation before it runs. Hashing costs a
    /// serialisation of the variables: only done for the log.
    fn facts_of(&self, prepared: &Prepared, raw_variables: &Map<String, Value>) -> Facts {
        let operation = &prepared.operation;
        let audited = self.audit.is_some();
        Facts {
            operation_name: operation.operation_name.as_ref().map(|n| n.to_string()),
            document_hash: audited.then(|| prepared.document_hash.clone()),
            variables_hash: (audited && !raw_variables.is_empty()).then(|| {
                crate::audit::sha256_hex(
                    Value::Object(raw_variables.clone()).to_string().as_bytes(),
                )
            }),
            ..Facts::default()
        }
    }

    /// The field rules, when the gateway checks callers: what of the operation the
    /// caller may read, and the signed caller its fetches carry. `Err` answers the
    /// request without running it — no verified caller, or nothing left to read.
    fn clear<'a>(
        &'a self,
        prepared: &Prepared,
        coerced: &Coerced,
        caller: Caller<'a>,
        emergency: Option<crate::emergency::EmergencyAccess>,
        facts: &mut Facts,
    ) -> Result<Cleared<'a>, Box<Outcome>> {
        let operation = &prepared.operation;
        let mut cleared = Cleared {
            pruned: None,
            denied: HashSet::new(),
            errors: Vec::new(),
            forward: Forward {
                headers: reqwest::header::HeaderMap::new(),
                caller: None,
                share_reads: operation.kind == OperationType::Query,
            },
        };
        let Some(access) = &self.access else {
            return Ok(cleared);
        };
        let Some(principal) = caller.principal else {
            return Err(Box::new(Outcome::refused(
                vec![GraphQLError::new(
                    "the request has no verified caller",
                    Code::Unauthenticated,
                )],
                Some(operation.kind),
            )));
        };
        let authorized = tracing::info_span!("authorize").in_scope(|| {
            authorize(
                self.supergraph.api_schema(),
                &operation.document,
                operation.operation_name.as_deref(),
                access.policy.as_ref(),
                principal,
            )
        });
        cleared.errors = authorized.denied.iter().map(|d| d.to_error()).collect();
        cleared.denied = authorized.denied_fields;
        // Only the access log reads them.
        if self.audit.is_some() {
            facts.classes = authorized
                .fields
                .iter()
                .filter_map(|coordinate| access.policy.field_class(coordinate))
                .collect();
        }
        facts.fields = authorized.fields;
        facts.policies = authorized.policies;
        facts.denied = authorized
            .denied
            .iter()
            .map(|denied| denied.coordinate.clone())
            .collect();
        match self.purpose_of(caller.purpose, &facts.policies, access.policy.as_ref()) {
            Ok(purpose) => facts.purpose = purpose,
            Err(error) => {
                return Err(Box::new(Outcome::refused(
                    vec![*error],
                    Some(operation.kind),
                )));
            }
        }
        match authorized.verdict {
            Verdict::Everything => {}
            Verdict::Part(pruned) => cleared.pruned = Some(pruned),
            Verdict::Nothing => {
                // Nothing runs; the client still gets the shape it asked for, in nulls.
                let mut errors = std::mem::take(&mut cleared.errors);
                let data = self.project(
                    prepared,
                    &cleared,
                    coerced,
                    &Answers::default(),
                    &mut errors,
                );
                return Err(Box::new(Outcome::answered(
                    data,
                    errors,
                    BTreeSet::new(),
                    Some(operation.kind),
                    Facts::default(),
                )));
            }
        }
        cleared.forward.caller = Some(SignedCaller::new(
            &access.internal,
            principal,
            caller.request_id,
            emergency.map(|access| access.client_id),
        ));
        Ok(cleared)
    }

    /// The purpose an operation runs for: the one `stated`, which must be one of the
    /// hub's; none when none is stated and none of the rules that allowed its fields
    /// (`allowed_by`) asks for one. `Err` refuses the operation.
    fn purpose_of(
        &self,
        stated: Option<&str>,
        allowed_by: &BTreeSet<String>,
        policy: &dyn crate::authorize::AccessPolicy,
    ) -> Result<Option<String>, Box<GraphQLError>> {
        let known = || {
            self.purposes
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match stated {
            Some(purpose) if self.purposes.contains(purpose) => Ok(Some(purpose.to_owned())),
            Some(purpose) => Err(Box::new(GraphQLError::new(
                format!(
                    "{purpose:?} is not a purpose of this hub; state one of: {}",
                    known()
                ),
                Code::UnknownPurpose,
            ))),
            None if allowed_by.iter().any(|rule| policy.requires_purpose(rule)) => {
                Err(Box::new(GraphQLError::new(
                    format!(
                        "this operation reads person-level data: state why in the Kotohub-Purpose header or extensions.purpose, one of: {}",
                        known()
                    ),
                    Code::PurposeRequired,
                )))
            }
            None => Ok(None),
        }
    }

    /// Introspection answered from the API schema, the rest planned and executed: the
    /// answers to project. `Err` when the operation cannot be introspected or planned.
    async fn fetch(
        &self,
        prepared: &Prepared,
        cleared: &Cleared<'_>,
        normalized: &str,
        coerced: &Coerced,
    ) -> Result<Executed, Box<Outcome>> {
        let operation = &prepared.operation;
        let kind = Some(operation.kind);
        let document = cleared.document(prepared);
        let selected = document
            .operations
            .get(operation.operation_name.as_deref())
            .expect("the operation was chosen when validated");
        let root_fields: Vec<&str> = selected
            .root_fields(document)
            .map(|field| field.name.as_str())
            .collect();
        let introspects = root_fields
            .iter()
            .any(|name| matches!(*name, "__schema" | "__type"));
        let concrete = root_fields.iter().any(|name| !name.starts_with("__"));

        let mut answers = Answers::default();
        if introspects {
            let introspected = apollo_compiler::introspection::partial_execute(
                self.supergraph.api_schema(),
                &self.implementers,
                document,
                selected,
                &coerced.apollo,
            );
            match introspected {
                Ok(response) => {
                    if let Some(Ok(part)) = response.data.map(serde_json::to_value) {
                        let kept = answers.keep(Arc::new(Node::from_value(part)));
                        answers.extend_root(kept);
                    }
                }
                Err(error) => {
                    let json = error.to_graphql_error(&document.sources);
                    let error = GraphQLError::new(json.message, Code::IntrospectionFailed);
                    return Err(Box::new(Outcome::refused(vec![error], kind)));
                }
            }
        }
        if !concrete {
            return Ok(Executed {
                answers,
                ..Executed::default()
            });
        }
        // The planner knows no introspection: what it plans is the rest.
        let without_introspection;
        let to_plan = if introspects {
            without_introspection =
                Self::without_introspection(document, operation.operation_name.as_deref());
            &without_introspection
        } else {
            normalized
        };
        let planning = crate::planning::Planning {
            planner: &self.planner,
            shared: self.plan_cache.as_ref(),
            fingerprint: self.supergraph.fingerprint(),
        };
        let plan = match planning
            .plan(to_plan, operation.operation_name.as_deref())
            .await
        {
            Ok(plan) => plan,
            // An operation too complex to plan in time is the client's to change.
            Err(timed_out @ PlanError::TimedOut(_)) => {
                let error = GraphQLError::new(timed_out.to_string(), Code::PlanningFailed);
                return Err(Box::new(Outcome::refused(vec![error], kind)));
            }
            // A valid operation the planner cannot plan is the gateway's failure: its
            // detail (the supergraph's internals) stays in the log.
            Err(PlanError::Failed(detail)) => {
                tracing::error!(%detail, "a valid operation could not be planned");
                let error = GraphQLError::new(
                    "internal error; the details are in the gateway's log",
                    Code::Internal,
                );
                return Err(Box::new(Outcome::refused(vec![error], kind)));
            }
        };
        Ok(execute(
            &self.subgraphs,
            &self.supergraph,
            &plan,
            &coerced.json,
            &cleared.forward,
            answers,
        )
        .instrument(tracing::info_span!("execute"))
        .await)
    }

    /// `document` as text without the introspection root fields of its operation `name`
    /// (`__schema`, `__type`), which the gateway answers from the API schema itself.
    fn without_introspection(document: &ExecutableDocument, name: Option<&str>) -> String {
        fn strip(selections: &mut Vec<apollo_compiler::executable::Selection>) {
            use apollo_compiler::executable::Selection;
            selections.retain(|selection| {
                !matches!(selection, Selection::Field(field)
                    if matches!(field.name.as_str(), "__schema" | "__type"))
            });
            for selection in selections {
                if let Selection::InlineFragment(fragment) = selection {
                    strip(&mut fragment.make_mut().selection_set.selections);
                }
            }
        }
        let mut stripped = document.clone();
        if let Ok(operation) = stripped.operations.get_mut(name) {
            strip(&mut operation.selection_set.selections);
        }
        stripped.serialize().no_indent().to_string()
    }

    /// The answers projected onto the operation the client sent — not the pruned one —
    /// with the denied fields as nulls.
    fn project(
        &self,
        prepared: &Prepared,
        cleared: &Cleared<'_>,
        coerced: &Coerced,
        answers: &Answers,
        errors: &mut Vec<GraphQLError>,
    ) -> Data {
        let operation = &prepared.operation;
        let asked = operation
            .document
            .operations
            .get(operation.operation_name.as_deref())
            .expect("the operation was chosen when validated");
        let projection = Projection {
            schema: self.supergraph.api_schema(),
            document: &operation.document,
            variables: &coerced.json,
            denied: &cleared.denied,
            size_hint: prepared.data_size.load(Ordering::Relaxed),
        };
        let projected = tracing::info_span!("merge")
            .in_scope(|| projection.project_root(&asked.selection_set, answers, errors));
        prepared
            .data_size
            .store(projected.json().len() + 16, Ordering::Relaxed);
        projected
    }
}

/// An operation past the field rules: what runs, what is answered with `null` instead,
/// and what its fetches carry.
struct Cleared<'a> {
    /// What is left of the operation once the denied fields are cut, when any were.
    pruned: Option<Valid<ExecutableDocument>>,
    /// (parent type, field) of the denied fields.
    denied: HashSet<(Name, Name)>,
    /// The denied fields' `FORBIDDEN` errors.
    errors: Vec<GraphQLError>,
    forward: Forward<'a>,
}

impl Cleared<'_> {
    /// The document that runs: the pruned one, or the operation as validated.
    fn document<'d>(&'d self, prepared: &'d Prepared) -> &'d Valid<ExecutableDocument> {
        self.pruned.as_ref().unwrap_or(&prepared.operation.document)
    }
}

#[cfg(test)]
mod tests {
    //! The pipeline's steps, one rule per test, on Kotohub's supergraph with no subgraph
    //! behind it: every request here is answered, or its step inspected, before anything
    //! is fetched — a fetch would show as a `SUBGRAPH_UNAVAILABLE` error.

    use kotohub_auth::internal::InternalKey;
    use kotohub_auth::{AggregateScope, Authenticator, Decision, Role, RowScope};

    use super::*;
    use crate::authorize::AccessPolicy;
    use crate::plan::{HivePlanner, PlannerSettings};

    /// A policy that lets every caller read the programme's measures and nothing else.
    struct MeasuresOnly;

    impl AccessPolicy for MeasuresOnly {
        fn read_type(&self, _: &Principal, type_name: &str) -> Decision {
            Decision {
                allowed: matches!(type_name, "Query" | "Measure"),
                policies: Arc::from(["measures-only".to_owned()]),
            }
        }

        fn read_field(&self, principal: &Principal, type_name: &str, _: &str) -> Decision {
            self.read_type(principal, type_name)
        }

        fn row_scope(&self, _: &Principal) -> RowScope {
            RowScope::Nothing
        }

        fn aggregate_scope(&self, _: &Principal) -> AggregateScope {
            AggregateScope::Nothing
        }

        fn requires_purpose(&self, _: &str) -> bool {
            false
        }

        fn field_class(&self, _: &str) -> Option<String> {
            None
        }
    }

    const SUPERGRAPH: &str = include_str!("../../../schema/supergraph.graphql");

    fn gateway() -> Gateway {
        let supergraph = Arc::new(Supergraph::parse(SUPERGRAPH).expect("Kotohub's supergraph"));
        let planner = Arc::new(HivePlanner::new(
            supergraph.clone(),
            PlannerSettings::default(),
        ));
        Gateway::new(
            supergraph,
            planner,
            Subgraphs::new(std::collections::HashMap::new()),
            Limits::default(),
        )
    }

    fn checked() -> Gateway {
        gateway().with_access(Access {
            authenticator: Authenticator::shared_secret("test-secret", "test", "kotohub"),
            policy: Arc::new(MeasuresOnly),
            internal: InternalKey::new("internal-test-secret"),
        })
    }

    fn analyst() -> Principal {
        Principal::new("analyst-1", [Role::Analyst], [], Some("education".into()))
    }

    fn request(query: &str) -> GraphQLRequest {
        GraphQLRequest {
            query: Some(query.to_owned()),
            ..GraphQLRequest::default()
        }
    }

    fn as_caller(principal: Option<&Principal>) -> Caller<'_> {
        Caller::new(principal, "test")
    }

    fn codes(outcome: &Outcome) -> Vec<&str> {
        let errors = &outcome.response.errors;
        errors.iter().filter_map(GraphQLError::code).collect()
    }

    #[tokio::test]
    async fn a_checking_gateway_refuses_an_operation_without_a_verified_caller() {
        let outcome = checked()
            .run(&request("{ measures { id } }"), true, as_caller(None))
            .await;
        assert!(outcome.refused);
        assert_eq!(codes(&outcome), ["UNAUTHENTICATED"]);
        assert!(outcome.response.data.is_none());
    }

    #[tokio::test]
    async fn an_operation_with_nothing_readable_runs_nothing_and_answers_its_shape_in_nulls() {
        let analyst = analyst();
        let outcome = checked()
            .run(
                &request(r#"{ client(id: "c-1") { name } }"#),
                true,
                as_caller(Some(&analyst)),
            )
            .await;
        assert!(!outcome.refused);
        assert_eq!(codes(&outcome), ["FORBIDDEN"]);
        let error = &outcome.response.errors[0];
        assert_eq!(error.path, Some(vec![Value::from("client")]));
        let data = outcome
            .response
            .data
            .expect("the shape the client asked for");
        assert_eq!(data.json(), r#"{"client":null}"#);
        assert!(outcome.subgraphs.is_empty());
        assert!(outcome.facts.fields.is_empty());
    }

    #[tokio::test]
    async fn the_field_rules_cut_the_denied_fields_from_what_runs() {
        let gateway = checked();
        let analyst = analyst();
        let query = r#"{ measures { id } client(id: "c-1") { name } }"#;
        let prepared = gateway.prepare(query, None).expect("a valid operation");
        let coerced = crate::variables::coerce(
            gateway.api_schema(),
            &prepared.operation,
            prepared.operation.operation(),
            &Map::new(),
        )
        .expect("no variables");
        let mut facts = Facts::default();
        let cleared = gateway
            .clear(
                &prepared,
                &coerced,
                as_caller(Some(&analyst)),
                None,
                &mut facts,
            )
            .unwrap_or_else(|_| panic!("the measures are readable"));
        let runs = cleared
            .document(&prepared)
            .serialize()
            .no_indent()
            .to_string();
        assert!(runs.contains("measures"), "{runs}");
        assert!(!runs.contains("client"), "{runs}");
        assert_eq!(cleared.errors.len(), 1);
        assert_eq!(cleared.errors[0].gateway_code(), Some(Code::Forbidden));
        assert!(cleared.forward.caller.is_some(), "fetches carry the caller");
        assert!(facts.fields.contains("Query.measures"));
        assert!(!facts.fields.contains("Query.client"));
        assert_eq!(facts.denied.len(), 1);
    }

    #[tokio::test]
    async fn a_gateway_that_checks_no_callers_runs_the_operation_as_validated() {
        let gateway = gateway();
        let prepared = gateway
            .prepare(r#"{ client(id: "c-1") { name } }"#, None)
            .expect("a valid operation");
        let coerced = crate::variables::coerce(
            gateway.api_schema(),
            &prepared.operation,
            prepared.operation.operation(),
            &Map::new(),
        )
        .expect("no variables");
        let mut facts = Facts::default();
        let cleared = gateway
            .clear(&prepared, &coerced, as_caller(None), None, &mut facts)
            .unwrap_or_else(|_| panic!("nothing is checked"));
        assert!(cleared.pruned.is_none());
        assert!(cleared.errors.is_empty());
        assert!(cleared.forward.caller.is_none());
    }

    #[tokio::test]
    async fn introspection_is_answered_from_the_api_schema_alone() {
        let analyst = analyst();
        let outcome = checked()
            .run(
                &request("{ __schema { queryType { name } } }"),
                true,
                as_caller(Some(&analyst)),
            )
            .await;
        assert!(outcome.response.errors.is_empty(), "{:?}", codes(&outcome));
        let data = outcome.response.data.expect("data");
        assert_eq!(
            data.json(),
            r#"{"__schema":{"queryType":{"name":"Query"}}}"#
        );
        assert!(outcome.subgraphs.is_empty());
    }

    #[tokio::test]
    async fn variables_that_do_not_fit_are_refused_before_anything_runs() {
        let mut sent = request("query($id: ID!) { measure(id: $id) { id } }");
        sent.variables = Some(Map::from_iter([("id".into(), Value::from(true))]));
        let outcome = gateway().run(&sent, true, as_caller(None)).await;
        assert!(outcome.refused);
        assert_eq!(codes(&outcome), ["BAD_VARIABLE_VALUES"]);
    }

    #[tokio::test]
    async fn an_unknown_persisted_id_is_refused() {
        let sent = GraphQLRequest {
            extensions: Some(Map::from_iter([(
                "persistedQuery".into(),
                serde_json::json!({ "version": 1, "sha256Hash": "ab".repeat(32) }),
            )])),
            ..GraphQLRequest::default()
        };
        let outcome = gateway().run(&sent, true, as_caller(None)).await;
        assert_eq!(codes(&outcome), ["PERSISTED_QUERY_NOT_FOUND"]);
    }

    #[tokio::test]
    async fn a_query_sent_with_another_documents_persisted_id_is_refused() {
        let mut sent = request("{ measures { id } }");
        sent.extensions = Some(Map::from_iter([(
            "persistedQuery".into(),
            serde_json::json!({ "version": 1, "sha256Hash": "ab".repeat(32) }),
        )]));
        let outcome = gateway().run(&sent, true, as_caller(None)).await;
        assert_eq!(codes(&outcome), ["PERSISTED_QUERY_HASH_MISMATCH"]);
    }

    #[tokio::test]
    async fn a_safelist_refuses_a_document_that_is_not_registered() {
        let analyst = analyst();
        let outcome = checked()
            .with_safelist(true)
            .run(
                &request("{ measures { id } }"),
                true,
                as_caller(Some(&analyst)),
            )
            .await;
        assert!(outcome.refused);
        assert_eq!(codes(&outcome), ["OPERATION_NOT_IN_SAFELIST"]);
    }

    #[tokio::test]
    async fn a_mutation_is_refused_where_only_reads_are_allowed() {
        let outcome = gateway()
            .run(
                &request("mutation { archiveQuery(name: \"x\") { id } }"),
                false,
                as_caller(None),
            )
            .await;
        assert!(outcome.refused);
        assert_eq!(codes(&outcome), ["METHOD_NOT_ALLOWED"]);
        assert_eq!(outcome.kind, Some(OperationType::Mutation));
    }
}
