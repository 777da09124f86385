//! Execution, the step after planning: runs a query plan against the subgraphs over HTTP
//! and merges their answers into one response tree. Sequences run in order and parallel
//! nodes concurrently; an entity fetch gathers the objects at its flatten path, sends
//! their de-duplicated representations in one `_entities` call, and merges each answer
//! back into every object it represents. The tree sits behind a mutex that is never held
//! across a network call. A subgraph that fails, times out or answers garbage leaves its
//! fields empty and adds errors naming the service and the path; the rest of the plan
//! still runs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use hive_router_query_planner::planner::plan_nodes::{
    BatchFetchNode, FetchNode, FetchNodePathSegment, FetchRewrite, FlattenNodePathSegment,
    PlanNode, QueryPlan,
};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value, json};
use tracing::Instrument;

use crate::errors::GraphQLError;
use crate::project::{PathElement, merge_objects};
use kotohub_auth::internal::{CLIENTS_EXTENSION, SUPPRESSED_EXTENSION};

/// Error codes of this step.
pub mod code {
    pub const SUBGRAPH_UNAVAILABLE: &str = "SUBGRAPH_UNAVAILABLE";
    pub const SUBGRAPH_BAD_RESPONSE: &str = "SUBGRAPH_BAD_RESPONSE";
    pub const SUBGRAPH_ERROR: &str = "SUBGRAPH_ERROR";
    pub const UNSUPPORTED_PLAN: &str = "UNSUPPORTED_PLAN";
}

/// Where a subgraph is and how long it may take.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub timeout: Duration,
}

/// The subgraphs and one pooled HTTP client for all of them: connections are kept alive
/// and reused across requests, never created per request.
pub struct Subgraphs {
    http: reqwest::Client,
    endpoints: HashMap<String, Endpoint>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl Subgraphs {
    pub fn new(endpoints: HashMap<String, Endpoint>) -> Self {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .expect("an HTTP client without TLS or proxies always builds");
        Self {
            http,
            endpoints,
            metrics: Default::default(),
        }
    }

    /// What the gateway counts, fetches included.
    pub fn metrics(&self) -> &std::sync::Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// Posts a GraphQL request to `service`, timing it for the metrics.
    async fn post(
        &self,
        service: &str,
        body: &Value,
        forward: &Forward<'_>,
    ) -> Result<(Value, Vec<Value>, Reported), GraphQLError> {
        let started = std::time::Instant::now();
        let span = tracing::info_span!(
            "fetch",
            otel.name = %format_args!("fetch {service}"),
            otel.kind = "client",
            kotohub.subgraph = service,
        );
        let answer = self
            .post_untimed(service, body, forward)
            .instrument(span)
            .await;
        self.metrics
            .fetch(service, started.elapsed(), answer.is_err());
        answer
    }

    /// Posts a GraphQL request to `service`; the answer's `data` and `errors`, and the
    /// clients whose person-level data it holds, or why not.
    async fn post_untimed(
        &self,
        service: &str,
        body: &Value,
        forward: &Forward<'_>,
    ) -> Result<(Value, Vec<Value>, Reported), GraphQLError> {
        let Some(endpoint) = self.endpoints.get(service) else {
            return Err(GraphQLError::new(
                format!("the plan names an unknown service {service:?}"),
                code::SUBGRAPH_UNAVAILABLE,
            )
            .from_service(service));
        };
        let unavailable = |reason: String| {
            GraphQLError::new(
                format!("the {service} service did not answer: {reason}"),
                code::SUBGRAPH_UNAVAILABLE,
            )
            .from_service(service)
        };
        let mut headers = forward.headers.clone();
        if let Some(caller) = &forward.caller {
            headers.insert(kotohub_auth::internal::HEADER, caller.header_for(service));
        }
        // The subgraph's spans continue this fetch's.
        kotohub_telemetry::propagation::inject(&mut headers);
        let response = self
            .http
            .post(&endpoint.url)
            .timeout(endpoint.timeout)
            .headers(headers)
            .json(body)
            .send()
            .await
            .map_err(|e| {
                unavailable(if e.is_timeout() {
                    format!("no answer within {:?}", endpoint.timeout)
                } else {
                    "connection failed".to_owned()
                })
            })?;
        let bytes = response
            .bytes()
            .await
            .map_err(|_| unavailable("the answer was cut off".to_owned()))?;
        let bad = || {
            GraphQLError::new(
                format!(
                    "the {service} service answered with something that is not a GraphQL response"
                ),
                code::SUBGRAPH_BAD_RESPONSE,
            )
            .from_service(service)
        };
        let mut answer: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let Some(answer) = answer.as_object_mut() else {
            return Err(bad());
        };
        let data = answer.remove("data").unwrap_or(Value::Null);
        let errors = match answer.remove("errors") {
            Some(Value::Array(errors)) => errors,
            Some(Value::Null) | None => Vec::new(),
            Some(_) => return Err(bad()),
        };
        // Kotohub's subgraphs list the clients whose data they returned, for the access
        // log; other subgraphs list none.
        let extensions = answer.get("extensions");
        let reported = Reported {
            clients: extensions
                .and_then(|extensions| extensions.get(CLIENTS_EXTENSION))
                .and_then(Value::as_array)
                .map(|ids| {
                    ids.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            suppressed: extensions
                .and_then(|extensions| extensions.get(SUPPRESSED_EXTENSION))
                .and_then(Value::as_i64)
                .unwrap_or(0),
        };
        Ok((data, errors, reported))
    }
}

/// What a subgraph reports of its answer for the access log.
#[derive(Default)]
struct Reported {
    /// Clients whose person-level data it holds.
    clients: Vec<String>,
    /// Aggregate cells it suppressed.
    suppressed: i64,
}

/// The state of one plan's execution.
pub struct Execution<'a> {
    subgraphs: &'a Subgraphs,
    variables: &'a Map<String, Value>,
    /// Sent with every fetch.
    forward: &'a Forward<'a>,
    data: Mutex<Value>,
    errors: Mutex<Vec<GraphQLError>>,
    called: Mutex<BTreeSet<String>>,
    clients: Mutex<BTreeSet<String>>,
    suppressed: std::sync::atomic::AtomicI64,
}

/// What executing a plan produced, before projection.
pub struct Executed {
    pub data: Value,
    pub errors: Vec<GraphQLError>,
    /// The subgraphs the plan called.
    pub subgraphs: BTreeSet<String>,
    /// Clients whose person-level data the subgraphs returned.
    pub clients: BTreeSet<String>,
    /// Aggregate cells the subgraphs suppressed.
    pub suppressed_cells: i64,
}

/// What every fetch of one operation carries: headers, and who the operation runs as.
pub struct Forward<'a> {
    pub headers: HeaderMap,
    pub caller: Option<SignedCaller<'a>>,
}

/// The principal an operation runs as and its request, signed for each subgraph a fetch
/// goes to, so that no subgraph holds a header another would accept.
pub struct SignedCaller<'a> {
    key: &'a kotohub_auth::internal::InternalKey,
    principal: &'a kotohub_auth::Principal,
    request_id: &'a str,
    /// Headers already signed in this request: a plan fetches from one subgraph several
    /// times, and one signature serves them all.
    signed: Mutex<HashMap<String, HeaderValue>>,
}

impl<'a> SignedCaller<'a> {
    pub fn new(
        key: &'a kotohub_auth::internal::InternalKey,
        principal: &'a kotohub_auth::Principal,
        request_id: &'a str,
    ) -> Self {
        Self {
            key,
            principal,
            request_id,
            signed: Mutex::new(HashMap::new()),
        }
    }

    fn header_for(&self, service: &str) -> HeaderValue {
        let mut signed = self.signed.lock().unwrap_or_else(|e| e.into_inner());
        signed
            .entry(service.to_owned())
            .or_insert_with(|| {
                HeaderValue::from_str(&self.key.sign(self.principal, service, self.request_id))
                    .expect("a signed JWT is printable ASCII")
            })
            .clone()
    }
}

/// Runs `plan` with the operation's coerced `variables`, sending what `forward` says
/// with each fetch.
pub async fn execute(
    subgraphs: &Subgraphs,
    plan: &QueryPlan,
    variables: &Map<String, Value>,
    forward: &Forward<'_>,
) -> Executed {
    let execution = Execution {
        subgraphs,
        variables,
        forward,
        data: Mutex::new(Value::Object(Map::new())),
        errors: Mutex::new(Vec::new()),
        called: Mutex::new(BTreeSet::new()),
        clients: Mutex::new(BTreeSet::new()),
        suppressed: std::sync::atomic::AtomicI64::new(0),
    };
    if let Some(node) = &plan.node {
        execution.run(node).await;
    }
    Executed {
        data: execution
            .data
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        errors: execution
            .errors
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        subgraphs: execution
            .called
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        clients: execution
            .clients
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
        suppressed_cells: execution.suppressed.into_inner(),
    }
}

impl Execution<'_> {
    fn returned(&self, reported: Reported) {
        if !reported.clients.is_empty() {
            self.clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(reported.clients);
        }
        self.suppressed
            .fetch_add(reported.suppressed, std::sync::atomic::Ordering::Relaxed);
    }

    fn run<'s>(&'s self, node: &'s PlanNode) -> BoxFuture<'s, ()> {
        Box::pin(async move {
            match node {
                PlanNode::Sequence(sequence) => {
                    for node in &sequence.nodes {
                        self.run(node).await;
                    }
                }
                PlanNode::Parallel(parallel) => {
                    join_all(parallel.nodes.iter().map(|node| self.run(node))).await;
                }
                PlanNode::Fetch(fetch) => self.fetch(fetch, &[]).await,
                PlanNode::Flatten(flatten) => match flatten.node.as_ref() {
                    PlanNode::Fetch(fetch) => self.fetch(fetch, flatten.path.as_slice()).await,
                    _ => self.fail(GraphQLError::new("a flatten node holds something other than a fetch", code::UNSUPPORTED_PLAN)),
                },
                PlanNode::Condition(condition) => {
                    let holds = self.variables.get(&condition.condition).and_then(Value::as_bool).unwrap_or(false);
                    let branch = if holds { &condition.if_clause } else { &condition.else_clause };
                    if let Some(node) = branch {
                        self.run(node).await;
                    }
                }
                PlanNode::BatchFetch(batch) => self.batch_fetch(batch).await,
                PlanNode::Defer(_) | PlanNode::Subscription(_) => self.fail(GraphQLError::new(
                    "this operation needs @defer or a subscription, which the gateway does not run yet",
                    code::UNSUPPORTED_PLAN,
                )),
            }
        })
    }

    fn fail(&self, error: GraphQLError) {
        self.errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(error);
    }

    async fn fetch(&self, fetch: &FetchNode, path: &[FlattenNodePathSegment]) {
        self.called
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(fetch.service_name.clone());
        match &fetch.requires {
            None => self.root_fetch(fetch).await,
            Some(requires) => {
                let group = EntityGroup {
                    paths: vec![path],
                    requires,
                    input_rewrites: fetch.input_rewrites.as_deref(),
                    output_rewrites: fetch.output_rewrites.as_deref(),
                    variable: "representations",
                    response_key: "_entities",
                };
                self.entity_fetch(
                    &fetch.service_name,
                    &fetch.operation.document_str,
                    fetch.variable_usages.as_ref(),
                    &[group],
                )
                .await
            }
        }
    }

    /// Several entity fetches to one subgraph that the planner merged into one request,
    /// each under its own alias with its own representations.
    async fn batch_fetch(&self, batch: &BatchFetchNode) {
        self.called
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(batch.service_name.clone());
        let groups: Vec<EntityGroup<'_>> = batch
            .entity_batch
            .aliases
            .iter()
            .map(|alias| EntityGroup {
                paths: alias
                    .merge_paths
                    .iter()
                    .map(|path| path.as_slice())
                    .collect(),
                requires: &alias.requires,
                input_rewrites: alias.input_rewrites.as_deref(),
                output_rewrites: alias.output_rewrites.as_deref(),
                variable: &alias.representations_variable_name,
                response_key: &alias.alias,
            })
            .collect();
        self.entity_fetch(
            &batch.service_name,
            &batch.operation.document_str,
            batch.variable_usages.as_ref(),
            &groups,
        )
        .await
    }

    fn usages(&self, names: Option<&BTreeSet<String>>) -> Map<String, Value> {
        let mut variables = Map::new();
        for name in names.into_iter().flatten() {
            if let Some(value) = self.variables.get(name) {
                variables.insert(name.clone(), value.clone());
            }
        }
        variables
    }

    async fn root_fetch(&self, fetch: &FetchNode) {
        let body = json!({ "query": fetch.operation.document_str, "variables": self.usages(fetch.variable_usages.as_ref()) });
        match self
            .subgraphs
            .post(&fetch.service_name, &body, self.forward)
            .await
        {
            Ok((data, errors, reported)) => {
                self.returned(reported);
                let mut merged = self.data.lock().unwrap_or_else(|e| e.into_inner());
                if let (Value::Object(target), Value::Object(data)) = (&mut *merged, data) {
                    merge_objects(target, data);
                }
                drop(merged);
                for error in errors {
                    self.fail(subgraph_error(
                        &fetch.service_name,
                        &error,
                        error.get("path").and_then(Value::as_array).cloned(),
                    ));
                }
            }
            Err(error) => {
                // One error for each root field the fetch would have filled, at its path.
                let keys: Vec<&str> = fetch
                    .operation
                    .document
                    .operation
                    .selection_set
                    .items
                    .iter()
                    .filter_map(|item| match item {
                        SelectionItem::Field(field) => Some(field.selection_identifier()),
                        _ => None,
                    })
                    .collect();
                if keys.is_empty() {
                    self.fail(error.clone());
                }
                for key in keys {
                    self.fail(GraphQLError {
                        path: Some(vec![Value::String(key.to_owned())]),
                        ..error.clone()
                    });
                }
            }
        }
    }

    async fn entity_fetch(
        &self,
        service: &str,
        document: &str,
        usages: Option<&BTreeSet<String>>,
        groups: &[EntityGroup<'_>],
    ) {
        let gathered: Vec<Gathered> = {
            let data = self.data.lock().unwrap_or_else(|e| e.into_inner());
            groups.iter().map(|group| group.gather(&data)).collect()
        };
        if gathered.iter().all(|g| g.representations.is_empty()) {
            return;
        }
        let mut variables = self.usages(usages);
        for (group, found) in groups.iter().zip(&gathered) {
            variables.insert(
                group.variable.to_owned(),
                Value::Array(found.representations.clone()),
            );
        }
        let body = json!({ "query": document, "variables": variables });
        let at = |location: &[PathElement]| {
            location
                .iter()
                .map(PathElement::to_json)
                .collect::<Vec<_>>()
        };
        match self.subgraphs.post(service, &body, self.forward).await {
            Ok((mut data, errors, reported)) => {
                self.returned(reported);
                {
                    let mut merged = self.data.lock().unwrap_or_else(|e| e.into_inner());
                    for (group, found) in groups.iter().zip(&gathered) {
                        let mut entities = match data.get_mut(group.response_key).map(Value::take) {
                            Some(Value::Array(entities)) => entities,
                            _ => Vec::new(),
                        };
                        for entity in &mut entities {
                            for rewrite in group.output_rewrites.into_iter().flatten() {
                                apply_rewrite(entity, rewrite);
                            }
                        }
                        // An answer that fills several objects is copied into all but the
                        // last, which takes it.
                        let mut uses = vec![0usize; entities.len()];
                        for &index in &found.representation_of {
                            if let Some(count) = uses.get_mut(index) {
                                *count += 1;
                            }
                        }
                        for (location, &index) in
                            found.locations.iter().zip(&found.representation_of)
                        {
                            let Some(Value::Object(target)) =
                                location.resolve_mut(&mut merged, &group.paths)
                            else {
                                continue;
                            };
                            let Some(count) = uses.get_mut(index) else {
                                continue;
                            };
                            *count -= 1;
                            let entity = if *count == 0 {
                                entities[index].take()
                            } else {
                                entities[index].clone()
                            };
                            if let Value::Object(entity) = entity {
                                merge_objects(target, entity);
                            }
                        }
                    }
                }
                for error in errors {
                    // An entity error's path starts with [alias, n]: re-path it onto every
                    // object that representation n of that alias stands for.
                    let rest = error.get("path").and_then(Value::as_array);
                    let key = rest.and_then(|p| p.first()).and_then(Value::as_str);
                    let index = rest
                        .and_then(|p| p.get(1))
                        .and_then(Value::as_u64)
                        .map(|n| n as usize);
                    let group = groups.iter().position(|g| Some(g.response_key) == key);
                    let targets: Vec<Vec<PathElement>> = match (group, index) {
                        (Some(g), Some(n)) => gathered[g]
                            .locations
                            .iter()
                            .zip(&gathered[g].representation_of)
                            .filter(|(_, i)| **i == n)
                            .map(|(l, _)| l.path(&groups[g].paths))
                            .collect(),
                        _ => groups
                            .iter()
                            .zip(&gathered)
                            .find_map(|(g, found)| {
                                found.locations.first().map(|l| l.path(&g.paths))
                            })
                            .into_iter()
                            .collect(),
                    };
                    for target in &targets {
                        let mut path = at(target);
                        path.extend(rest.into_iter().flatten().skip(2).cloned());
                        self.fail(subgraph_error(service, &error, Some(path)));
                    }
                }
            }
            Err(error) => {
                let path = groups
                    .iter()
                    .zip(&gathered)
                    .find_map(|(g, found)| found.locations.first().map(|l| l.path(&g.paths)))
                    .map(|location| at(&location));
                self.fail(GraphQLError { path, ..error });
            }
        }
    }
}

/// One `_entities` call of a request: the objects it fills and how to represent them.
struct EntityGroup<'p> {
    paths: Vec<&'p [FlattenNodePathSegment]>,
    requires: &'p SelectionSet,
    input_rewrites: Option<&'p [FetchRewrite]>,
    output_rewrites: Option<&'p [FetchRewrite]>,
    /// The variable its representations go in.
    variable: &'p str,
    /// The response key its answers come back under.
    response_key: &'p str,
}

/// The objects an entity group fills and their de-duplicated representations.
struct Gathered {
    locations: Vec<Location>,
    representations: Vec<Value>,
    /// For each location, the index of its representation.
    representation_of: Vec<usize>,
}

/// Where an object an entity group fills lies: which of the group's flatten paths led to
/// it, and the list index taken at each list on the way. The keys are the plan's own, so
/// recording an object copies no strings, and finding it again compares no keys it need
/// not.
struct Location {
    path: usize,
    indices: Vec<usize>,
}

impl Location {
    /// The object in `data`, walked the way it was found.
    fn resolve_mut<'v>(
        &self,
        data: &'v mut Value,
        paths: &[&[FlattenNodePathSegment]],
    ) -> Option<&'v mut Value> {
        let mut indices = self.indices.iter();
        let mut value = data;
        for segment in paths.get(self.path)?.iter() {
            value = match segment {
                FlattenNodePathSegment::Field(key) => value.get_mut(key.as_str())?,
                FlattenNodePathSegment::List => value.get_mut(*indices.next()?)?,
                FlattenNodePathSegment::TypeCondition(_) => value,
            };
        }
        // A list where the path ends holds the objects themselves.
        for &index in indices {
            value = value.get_mut(index)?;
        }
        Some(value)
    }

    /// The response path of the object, for errors.
    fn path(&self, paths: &[&[FlattenNodePathSegment]]) -> Vec<PathElement> {
        let mut indices = self.indices.iter();
        let mut path = Vec::new();
        for segment in paths.get(self.path).copied().unwrap_or_default() {
            match segment {
                FlattenNodePathSegment::Field(key) => path.push(PathElement::Key(key.clone())),
                FlattenNodePathSegment::List => {
                    if let Some(&index) = indices.next() {
                        path.push(PathElement::Index(index));
                    }
                }
                FlattenNodePathSegment::TypeCondition(_) => {}
            }
        }
        path.extend(indices.map(|&index| PathElement::Index(index)));
        path
    }
}

impl EntityGroup<'_> {
    /// Walks `data` once along the group's paths, building each object's representation
    /// where it is found.
    fn gather(&self, data: &Value) -> Gathered {
        let mut gathered = Gathered {
            locations: Vec::new(),
            representations: Vec::new(),
            representation_of: Vec::new(),
        };
        // Representations are told apart by their JSON text, written into one buffer.
        let mut index_of: HashMap<String, usize> = HashMap::new();
        let mut text = String::new();
        for (path_index, path) in self.paths.iter().enumerate() {
            let mut visit = |object: &Map<String, Value>, indices: &[usize]| {
                let mut representation = Value::Object(select(object, self.requires));
                for rewrite in self.input_rewrites.into_iter().flatten() {
                    apply_rewrite(&mut representation, rewrite);
                }
                text.clear();
                // Writing a `Value` into a `String` cannot fail.
                let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{representation}"));
                let index = match index_of.get(text.as_str()) {
                    Some(&index) => index,
                    None => {
                        let index = gathered.representations.len();
                        index_of.insert(text.clone(), index);
                        gathered.representations.push(representation);
                        index
                    }
                };
                gathered.locations.push(Location {
                    path: path_index,
                    indices: indices.to_vec(),
                });
                gathered.representation_of.push(index);
            };
            gather(data, path, &mut Vec::new(), &mut visit);
        }
        gathered
    }
}

/// A subgraph's error as the gateway passes it on: its message, at `path`, naming the service.
fn subgraph_error(service: &str, error: &Value, path: Option<Vec<Value>>) -> GraphQLError {
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the subgraph reported an error");
    let code = error
        .pointer("/extensions/code")
        .and_then(Value::as_str)
        .unwrap_or(code::SUBGRAPH_ERROR);
    let mut converted = GraphQLError::new(message, code).from_service(service);
    converted.path = path;
    // Of a subgraph's own extensions only the reasons of a refusal pass, and only as
    // text: anything else a subgraph adds stays with it.
    if let Some(reasons) = error
        .pointer("/extensions/reasons")
        .and_then(Value::as_array)
        .filter(|reasons| reasons.iter().all(Value::is_string))
    {
        converted
            .extensions
            .insert("reasons".into(), Value::Array(reasons.clone()));
    }
    converted
}

/// Visits every object at `path` below `value` (`@` steps into every list item) with the
/// list indices taken to reach it.
fn gather(
    value: &Value,
    path: &[FlattenNodePathSegment],
    indices: &mut Vec<usize>,
    visit: &mut impl FnMut(&Map<String, Value>, &[usize]),
) {
    match (path.first(), value) {
        (_, Value::Null) => {}
        (None, Value::Object(object)) => visit(object, indices),
        (None, Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                indices.push(index);
                gather(item, path, indices, visit);
                indices.pop();
            }
        }
        (Some(FlattenNodePathSegment::List), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                indices.push(index);
                gather(item, &path[1..], indices, visit);
                indices.pop();
            }
        }
        (Some(FlattenNodePathSegment::Field(key)), Value::Object(object)) => {
            if let Some(child) = object.get(key.as_str()) {
                gather(child, &path[1..], indices, visit);
            }
        }
        (Some(FlattenNodePathSegment::TypeCondition(types)), Value::Object(object)) => {
            let matches = object
                .get("__typename")
                .and_then(Value::as_str)
                .is_some_and(|t| types.contains(t));
            if matches {
                gather(value, &path[1..], indices, visit);
            }
        }
        _ => {}
    }
}

/// The fields of `object` that `selection` names (a representation built from `requires`).
fn select(object: &Map<String, Value>, selection: &SelectionSet) -> Map<String, Value> {
    let mut out = Map::new();
    for item in &selection.items {
        match item {
            SelectionItem::Field(field) => {
                let key = field.alias.as_deref().unwrap_or(&field.name);
                let Some(value) = object.get(key) else {
                    continue;
                };
                let value = if field.selections.items.is_empty() {
                    value.clone()
                } else {
                    select_value(value, &field.selections)
                };
                out.insert(field.name.clone(), value);
            }
            SelectionItem::InlineFragment(fragment) => {
                let typename = object.get("__typename").and_then(Value::as_str);
                if typename.is_none_or(|t| t == fragment.type_condition) {
                    merge_objects(&mut out, select(object, &fragment.selections));
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
    out
}

fn select_value(value: &Value, selection: &SelectionSet) -> Value {
    match value {
        Value::Object(object) => Value::Object(select(object, selection)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| select_value(item, selection))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Applies a planner rewrite (typename setters and key renames for `@interfaceObject`).
fn apply_rewrite(value: &mut Value, rewrite: &FetchRewrite) {
    let path = match rewrite {
        FetchRewrite::ValueSetter(setter) => &setter.path,
        FetchRewrite::KeyRenamer(renamer) => &renamer.path,
    };
    rewrite_at(value, path, rewrite);
}

fn rewrite_at(value: &mut Value, path: &[FetchNodePathSegment], rewrite: &FetchRewrite) {
    if let Value::Array(items) = value {
        for item in items {
            rewrite_at(item, path, rewrite);
        }
        return;
    }
    let Value::Object(object) = value else { return };
    match path {
        [] => {}
        [FetchNodePathSegment::TypenameEquals(types), rest @ ..] => {
            if object
                .get("__typename")
                .and_then(Value::as_str)
                .is_some_and(|t| types.contains(t))
            {
                rewrite_at(value, rest, rewrite);
            }
        }
        [FetchNodePathSegment::Key(key)] => match rewrite {
            FetchRewrite::ValueSetter(setter) => {
                object.insert(key.clone(), Value::String(setter.set_value_to.clone()));
            }
            FetchRewrite::KeyRenamer(renamer) => {
                if let Some(moved) = object.remove(key) {
                    object.insert(renamer.rename_key_to.clone(), moved);
                }
            }
        },
        [FetchNodePathSegment::Key(key), rest @ ..] => {
            if let Some(child) = object.get_mut(key) {
                rewrite_at(child, rest, rewrite);
            }
        }
    }
}
