//! Execution, the step after planning: runs a query plan against the subgraphs over HTTP
//! and keeps their answers for projection. Sequences run in order and parallel nodes
//! concurrently; an entity fetch gathers the objects at its flatten path, sends their
//! de-duplicated representations in one `_entities` call, and attaches each answer to
//! every object it represents ([`crate::answer::Answers`]: nothing is merged or copied).
//! The answers sit behind a mutex that is never held across a network call. A query's
//! fetch identical to one already on its way shares that one's answer. A subgraph that
//! fails, times out or answers garbage leaves its fields empty and adds errors naming the
//! service and the path; the rest of the plan still runs.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use hive_router_query_planner::ast::selection_item::SelectionItem;
use hive_router_query_planner::ast::selection_set::SelectionSet;
use hive_router_query_planner::planner::plan_nodes::{
    BatchFetchNode, FetchNode, FetchNodePathSegment, FetchRewrite, FlattenNodePathSegment,
    PlanNode, QueryPlan,
};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Map, Value};
use tracing::Instrument;

use crate::answer::{self, Answers, Node, Object, write_string};
use crate::errors::{Code, GraphQLError};
use crate::project::PathElement;
use crate::supergraph::{PossibleTypes, Supergraph};

/// Where a subgraph is and how long it may take.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: String,
    pub timeout: Duration,
}

/// Why a fetch got no answer from its subgraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportError {
    /// No answer within the endpoint's timeout.
    TimedOut,
    /// No connection, or it broke before an answer began.
    Failed,
    /// The answer began but was cut off.
    CutOff,
}

/// How fetches reach the subgraphs: HTTP in the gateway, canned answers in the
/// executor's unit tests.
pub trait Transport: Send + Sync {
    /// Posts `body` (JSON) with `headers` to `endpoint`; the answer's bytes.
    fn post<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<axum::body::Bytes, TransportError>>;
}

/// HTTP with one pooled client for every subgraph: connections are kept alive and
/// reused across requests, never created per request.
struct HttpTransport(reqwest::Client);

impl Transport for HttpTransport {
    fn post<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> BoxFuture<'a, Result<axum::body::Bytes, TransportError>> {
        Box::pin(async move {
            let response = self
                .0
                .post(&endpoint.url)
                .timeout(endpoint.timeout)
                .headers(headers)
                .body(body)
                .send()
                .await
                .map_err(|e| {
                    if e.is_timeout() {
                        TransportError::TimedOut
                    } else {
                        TransportError::Failed
                    }
                })?;
            response.bytes().await.map_err(|_| TransportError::CutOff)
        })
    }
}

/// Reads what a subgraph's answer reports of itself for the access log, in its response
/// `extensions`: the clients whose person-level data it holds and the aggregate cells it
/// suppressed. Kotohub's subgraphs report both (the `kotohub` crate reads them); a
/// subgraph the gateway has no collector for reports nothing.
pub trait PersonDataCollector: Send + Sync {
    fn collect(&self, extensions: &Map<String, Value>) -> Reported;
}

/// The subgraphs and how fetches reach them.
pub struct Subgraphs {
    transport: Arc<dyn Transport>,
    collector: Option<Arc<dyn PersonDataCollector>>,
    endpoints: HashMap<String, Endpoint>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Query fetches on their way, by what makes two of them the same: one request
    /// answers every identical fetch that starts before it ends.
    in_flight: Mutex<HashMap<Arc<FetchKey>, Arc<InFlight>>>,
}

/// Two fetches are the same when they go to the same subgraph with the same body for
/// the same principal: the subgraph would give both the same answer.
#[derive(PartialEq, Eq, Hash)]
struct FetchKey {
    service: String,
    body: Vec<u8>,
    principal: Option<kotohub_auth::Principal>,
}

/// A fetch's answer, as every fetch that waited for it gets it.
type InFlight = tokio::sync::OnceCell<Result<Arc<SubgraphAnswer>, GraphQLError>>;

impl Subgraphs {
    pub fn new(endpoints: HashMap<String, Endpoint>) -> Self {
        let http = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .expect("an HTTP client without TLS or proxies always builds");
        Self::with_transport(endpoints, Arc::new(HttpTransport(http)))
    }

    /// Subgraphs reached through `transport` instead of HTTP.
    pub fn with_transport(
        endpoints: HashMap<String, Endpoint>,
        transport: Arc<dyn Transport>,
    ) -> Self {
        Self {
            transport,
            collector: None,
            endpoints,
            metrics: Default::default(),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Counts into `metrics`, which another set of subgraphs counted into before: the
    /// gateway's counters go on across a supergraph reload.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Reads what the subgraphs' answers report for the access log with `collector`.
    pub fn with_collector(mut self, collector: Arc<dyn PersonDataCollector>) -> Self {
        self.collector = Some(collector);
        self
    }

    /// Posts `body` to `service`, or waits for an identical query fetch already on its
    /// way. Only reads are shared: a mutation's fetch always goes out on its own.
    async fn fetch(
        &self,
        service: &str,
        body: Vec<u8>,
        forward: &Forward<'_>,
    ) -> Result<Arc<SubgraphAnswer>, GraphQLError> {
        if !forward.share_reads || !forward.headers.is_empty() {
            return self.post(service, body, forward).await.map(Arc::new);
        }
        let key = Arc::new(FetchKey {
            service: service.to_owned(),
            body: body.clone(),
            principal: forward.caller.as_ref().map(|c| c.principal.clone()),
        });
        let cell = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.clone())
            .or_default()
            .clone();
        // The first fetch to get here sends the request; should it be dropped halfway
        // (its client went away), the next one waiting sends its own.
        let answer = cell
            .get_or_init(|| async { self.post(service, body, forward).await.map(Arc::new) })
            .await
            .clone();
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if in_flight.get(&*key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            in_flight.remove(&*key);
        }
        answer
    }

    /// What the gateway counts, fetches included.
    pub fn metrics(&self) -> &std::sync::Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// Posts a GraphQL request (`body`, JSON) to `service`, timing it for the metrics.
    async fn post(
        &self,
        service: &str,
        body: Vec<u8>,
        forward: &Forward<'_>,
    ) -> Result<SubgraphAnswer, GraphQLError> {
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
        body: Vec<u8>,
        forward: &Forward<'_>,
    ) -> Result<SubgraphAnswer, GraphQLError> {
        let Some(endpoint) = self.endpoints.get(service) else {
            return Err(GraphQLError::new(
                format!("the plan names an unknown service {service:?}"),
                Code::SubgraphUnavailable,
            )
            .from_service(service));
        };
        let unavailable = |reason: String| {
            GraphQLError::new(
                format!("the {service} service did not answer: {reason}"),
                Code::SubgraphUnavailable,
            )
            .from_service(service)
        };
        let mut headers = forward.headers.clone();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(caller) = &forward.caller {
            headers.insert(kotohub_auth::internal::HEADER, caller.header_for(service));
        }
        // The subgraph's spans continue this fetch's.
        kotohub_telemetry::propagation::inject(&mut headers);
        let bytes = self
            .transport
            .post(endpoint, headers, body)
            .await
            .map_err(|e| {
                unavailable(match e {
                    TransportError::TimedOut => format!("no answer within {:?}", endpoint.timeout),
                    TransportError::Failed => "connection failed".to_owned(),
                    TransportError::CutOff => "the answer was cut off".to_owned(),
                })
            })?;
        let bad = || {
            GraphQLError::new(
                format!(
                    "the {service} service answered with something that is not a GraphQL response"
                ),
                Code::SubgraphBadResponse,
            )
            .from_service(service)
        };
        let answer: WireAnswer = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let reported = match (&self.collector, &answer.extensions) {
            (Some(collector), Some(extensions)) => collector.collect(extensions),
            _ => Reported::default(),
        };
        Ok(SubgraphAnswer {
            data: Arc::new(answer.data),
            errors: answer.errors.unwrap_or_default(),
            reported,
        })
    }
}

/// A subgraph's answer as it comes over the wire; anything else in it is ignored.
#[derive(serde::Deserialize)]
struct WireAnswer {
    #[serde(default)]
    data: Node,
    #[serde(default)]
    errors: Option<Vec<Value>>,
    #[serde(default)]
    extensions: Option<Map<String, Value>>,
}

/// A subgraph's answer, parsed.
struct SubgraphAnswer {
    data: Arc<Node>,
    errors: Vec<Value>,
    reported: Reported,
}

/// What a subgraph reports of its answer for the access log.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reported {
    /// Clients whose person-level data it holds.
    pub clients: Vec<String>,
    /// Aggregate cells it suppressed.
    pub suppressed: i64,
}

/// The state of one plan's execution.
pub struct Execution<'a> {
    subgraphs: &'a Subgraphs,
    supergraph: &'a Supergraph,
    variables: &'a Map<String, Value>,
    /// Sent with every fetch.
    forward: &'a Forward<'a>,
    answers: Mutex<Answers>,
    errors: Mutex<Vec<GraphQLError>>,
    called: Mutex<BTreeSet<String>>,
    clients: Mutex<BTreeSet<String>>,
    suppressed: std::sync::atomic::AtomicI64,
}

/// What executing a plan produced, before projection.
#[derive(Default)]
pub struct Executed {
    pub answers: Answers,
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
    /// The operation only reads (a query): its fetches may share an identical fetch's
    /// answer that is already on its way.
    pub share_reads: bool,
}

/// The principal an operation runs as and its request, signed for each subgraph a fetch
/// goes to, so that no subgraph holds a header another would accept.
pub struct SignedCaller<'a> {
    key: &'a kotohub_auth::internal::InternalKey,
    principal: &'a kotohub_auth::Principal,
    request_id: &'a str,
    /// The client an emergency access opens in this request.
    emergency_client: Option<String>,
    /// Headers already signed in this request: a plan fetches from one subgraph several
    /// times, and one signature serves them all.
    signed: Mutex<HashMap<String, HeaderValue>>,
}

impl<'a> SignedCaller<'a> {
    pub fn new(
        key: &'a kotohub_auth::internal::InternalKey,
        principal: &'a kotohub_auth::Principal,
        request_id: &'a str,
        emergency_client: Option<String>,
    ) -> Self {
        Self {
            key,
            principal,
            request_id,
            emergency_client,
            signed: Mutex::new(HashMap::new()),
        }
    }

    fn header_for(&self, service: &str) -> HeaderValue {
        let mut signed = self.signed.lock().unwrap_or_else(|e| e.into_inner());
        signed
            .entry(service.to_owned())
            .or_insert_with(|| {
                HeaderValue::from_str(&self.key.sign_with_emergency(
                    self.principal,
                    service,
                    self.request_id,
                    self.emergency_client.as_deref(),
                ))
                .expect("a signed JWT is printable ASCII")
            })
            .clone()
    }
}

/// Runs `plan` with the operation's coerced `variables`, sending what `forward` says
/// with each fetch, on top of `answers` (introspection's, when the operation has some).
pub async fn execute(
    subgraphs: &Subgraphs,
    supergraph: &Supergraph,
    plan: &QueryPlan,
    variables: &Map<String, Value>,
    forward: &Forward<'_>,
    answers: Answers,
) -> Executed {
    let execution = Execution {
        subgraphs,
        supergraph,
        variables,
        forward,
        answers: Mutex::new(answers),
        errors: Mutex::new(Vec::new()),
        called: Mutex::new(BTreeSet::new()),
        clients: Mutex::new(BTreeSet::new()),
        suppressed: std::sync::atomic::AtomicI64::new(0),
    };
    if let Some(node) = &plan.node {
        execution.run(node).await;
    }
    Executed {
        answers: execution
            .answers
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
    fn returned(&self, reported: &Reported) {
        if !reported.clients.is_empty() {
            self.clients
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(reported.clients.iter().cloned());
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
                    _ => self.fail(GraphQLError::new("a flatten node holds something other than a fetch", Code::UnsupportedPlan)),
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
                    Code::UnsupportedPlan,
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
                    supergraph: self.supergraph,
                    service: &fetch.service_name,
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
                supergraph: self.supergraph,
                service: &batch.service_name,
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

    /// The request body of a fetch: its document and the variables it uses, then
    /// `more` variables already written as `"name":value` pairs.
    fn body(&self, document: &str, usages: Option<&BTreeSet<String>>, more: &[u8]) -> Vec<u8> {
        let mut body = Vec::with_capacity(document.len() + more.len() + 64);
        body.extend_from_slice(br#"{"query":"#);
        write_string(document, &mut body);
        body.extend_from_slice(br#","variables":{"#);
        let mut first = true;
        for name in usages.into_iter().flatten() {
            if let Some(value) = self.variables.get(name) {
                if !first {
                    body.push(b',');
                }
                first = false;
                write_string(name, &mut body);
                body.push(b':');
                // Writing a value into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut body, value);
            }
        }
        if !more.is_empty() {
            if !first {
                body.push(b',');
            }
            body.extend_from_slice(more);
        }
        body.extend_from_slice(b"}}");
        body
    }

    async fn root_fetch(&self, fetch: &FetchNode) {
        let body = self.body(
            &fetch.operation.document_str,
            fetch.variable_usages.as_ref(),
            b"",
        );
        match self
            .subgraphs
            .fetch(&fetch.service_name, body, self.forward)
            .await
        {
            Ok(answer) => {
                self.returned(&answer.reported);
                {
                    let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
                    let kept = answers.keep(answer.data.clone());
                    answers.extend_root(kept);
                }
                for error in &answer.errors {
                    self.fail(subgraph_error(
                        &fetch.service_name,
                        error,
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
            let answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            groups.iter().map(|group| group.gather(&answers)).collect()
        };
        if gathered.iter().all(|g| g.count == 0) {
            return;
        }
        let mut representations = Vec::new();
        for (group, found) in groups.iter().zip(&gathered) {
            if !representations.is_empty() {
                representations.push(b',');
            }
            write_string(group.variable, &mut representations);
            representations.extend_from_slice(b":[");
            representations.extend_from_slice(&found.text);
            representations.push(b']');
        }
        let body = self.body(document, usages, &representations);
        let at = |location: &[PathElement]| {
            location
                .iter()
                .map(PathElement::to_json)
                .collect::<Vec<_>>()
        };
        match self.subgraphs.fetch(service, body, self.forward).await {
            Ok(answer) => {
                self.returned(&answer.reported);
                let mut data = answer.data.clone();
                if groups.iter().any(|group| group.output_rewrites.is_some()) {
                    data = Arc::new(rewritten(&data, groups));
                }
                {
                    let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
                    let kept = answers.keep(data);
                    for (group, found) in groups.iter().zip(&gathered) {
                        for (location, &index) in
                            found.locations.iter().zip(&found.representation_of)
                        {
                            answers.extend(location.identity, kept, group.response_key, index);
                        }
                    }
                }
                for error in &answer.errors {
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
                            .map(|(l, _)| gathered[g].path_of(l, &groups[g].paths))
                            .collect(),
                        _ => groups
                            .iter()
                            .zip(&gathered)
                            .find_map(|(g, found)| {
                                found.locations.first().map(|l| found.path_of(l, &g.paths))
                            })
                            .into_iter()
                            .collect(),
                    };
                    for target in &targets {
                        let mut path = at(target);
                        path.extend(rest.into_iter().flatten().skip(2).cloned());
                        self.fail(subgraph_error(service, error, Some(path)));
                    }
                }
            }
            Err(error) => {
                let path = groups
                    .iter()
                    .zip(&gathered)
                    .find_map(|(g, found)| {
                        found.locations.first().map(|l| found.path_of(l, &g.paths))
                    })
                    .map(|location| at(&location));
                self.fail(GraphQLError { path, ..error });
            }
        }
    }
}

/// An entity answer with the planner's output rewrites applied to each group's entities
/// (`@interfaceObject` answers only, so the detour through `serde_json` is rare).
fn rewritten(data: &Node, groups: &[EntityGroup<'_>]) -> Node {
    let mut value = data.to_value();
    for group in groups {
        if let Some(Value::Array(entities)) = value.get_mut(group.response_key) {
            for entity in entities {
                for rewrite in group.output_rewrites.into_iter().flatten() {
                    apply_rewrite(entity, rewrite, group.supergraph.possible_types());
                }
            }
        }
    }
    Node::from_value(value)
}

/// One `_entities` call of a request: the objects it fills and how to represent them.
struct EntityGroup<'p> {
    supergraph: &'p Supergraph,
    /// The subgraph it goes to.
    service: &'p str,
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
    /// The list indices of every location, one after another.
    indices: Vec<u32>,
    /// The representations as JSON, comma-separated, ready for the request body.
    text: Vec<u8>,
    /// How many representations `text` holds.
    count: usize,
    /// For each location, the index of its representation.
    representation_of: Vec<usize>,
}

/// An object an entity group fills: its identity in the answers, and for errors where it
/// lies — which of the group's flatten paths led to it and the list indices taken on the
/// way (a range of [`Gathered::indices`]).
struct Location {
    identity: usize,
    path: usize,
    indices: std::ops::Range<usize>,
}

impl Gathered {
    /// The response path of a location, for errors.
    fn path_of(
        &self,
        location: &Location,
        paths: &[&[FlattenNodePathSegment]],
    ) -> Vec<PathElement> {
        let mut indices = self
            .indices
            .get(location.indices.clone())
            .unwrap_or_default()
            .iter();
        let mut path = Vec::new();
        for segment in paths.get(location.path).copied().unwrap_or_default() {
            match segment {
                FlattenNodePathSegment::Field(key) => path.push(PathElement::Key(key.clone())),
                FlattenNodePathSegment::List => {
                    if let Some(&index) = indices.next() {
                        path.push(PathElement::Index(index as usize));
                    }
                }
                FlattenNodePathSegment::TypeCondition(_) => {}
            }
        }
        path.extend(indices.map(|&index| PathElement::Index(index as usize)));
        path
    }
}

impl EntityGroup<'_> {
    /// Walks the answers once along the group's paths, writing each object's
    /// representation where it is found.
    fn gather(&self, answers: &Answers) -> Gathered {
        let mut gathered = Gathered {
            locations: Vec::new(),
            indices: Vec::new(),
            text: Vec::new(),
            count: 0,
            representation_of: Vec::new(),
        };
        // Representations are told apart by their JSON text: its hash, then the text.
        let mut index_of: HashMap<
            u64,
            (usize, std::ops::Range<usize>),
            std::hash::BuildHasherDefault<answer::FastHasher>,
        > = HashMap::default();
        let mut by_identity: HashMap<
            usize,
            usize,
            std::hash::BuildHasherDefault<answer::FastHasher>,
        > = HashMap::default();
        let mut representation = Vec::new();
        let root = answers.root();
        let mut walker = Walker::new(answers);
        for (path_index, path) in self.paths.iter().enumerate() {
            let mut visit = |view: &[&Object], indices: &[u32]| {
                let Some(identity) = answer::identity(view) else {
                    return;
                };
                // One object reached along several paths (an entity answer shared by
                // equal representations) is represented once.
                if let Some(&index) = by_identity.get(&identity) {
                    let start = gathered.indices.len();
                    gathered.indices.extend_from_slice(indices);
                    gathered.locations.push(Location {
                        identity,
                        path: path_index,
                        indices: start..gathered.indices.len(),
                    });
                    gathered.representation_of.push(index);
                    return;
                }
                let keys = self.supergraph.entity_keys();
                if let Some(typename) = answer::typename(view)
                    && keys.unfindable(typename, self.service, |field| answer::is_null(view, field))
                {
                    // Its fields from this subgraph stay null.
                    return;
                }
                let types = self.supergraph.possible_types();
                representation.clear();
                write_selection(answers, types, view, self.requires, &mut representation);
                if let Some(rewrites) = self.input_rewrites.filter(|r| !r.is_empty()) {
                    representation = rewrite_representation(&representation, rewrites, types);
                }
                let hash = answer::fast_hash(&representation);
                let known = index_of
                    .get(&hash)
                    .filter(|(_, range)| {
                        gathered.text.get(range.clone()) == Some(&representation[..])
                    })
                    .map(|(index, _)| *index);
                let index = match known {
                    Some(index) => index,
                    None => {
                        if gathered.count > 0 {
                            gathered.text.push(b',');
                        }
                        let start = gathered.text.len();
                        gathered.text.extend_from_slice(&representation);
                        let index = gathered.count;
                        gathered.count += 1;
                        index_of
                            .entry(hash)
                            .or_insert((index, start..gathered.text.len()));
                        index
                    }
                };
                by_identity.insert(identity, index);
                let start = gathered.indices.len();
                gathered.indices.extend_from_slice(indices);
                gathered.locations.push(Location {
                    identity,
                    path: path_index,
                    indices: start..gathered.indices.len(),
                });
                gathered.representation_of.push(index);
            };
            walker.walk_view(&root, path, &mut visit);
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
    let mut converted = GraphQLError::new(message, Code::SubgraphError).from_service(service);
    converted.path = path;
    // The subgraph's own code, when it gave one, is what its clients match on.
    if let Some(code) = error.pointer("/extensions/code").and_then(Value::as_str) {
        converted
            .extensions
            .insert("code".into(), Value::String(code.to_owned()));
    }
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

/// Walks the answers along a flatten path, reusing its buffers of values and views
/// down the tree instead of allocating for every object.
struct Walker<'a> {
    answers: &'a Answers,
    indices: Vec<u32>,
    values: Vec<Vec<&'a Node>>,
    views: Vec<Vec<&'a Object>>,
}

impl<'a> Walker<'a> {
    fn new(answers: &'a Answers) -> Self {
        Self {
            answers,
            indices: Vec::new(),
            values: Vec::new(),
            views: Vec::new(),
        }
    }

    /// Visits every object at `path` below the object `view` (`@` steps into every list
    /// item) with the list indices taken to reach it.
    fn walk_view(
        &mut self,
        view: &[&'a Object],
        path: &[FlattenNodePathSegment],
        visit: &mut impl FnMut(&[&'a Object], &[u32]),
    ) {
        match path.first() {
            None => visit(view, &self.indices),
            Some(FlattenNodePathSegment::Field(key)) => {
                let mut found = self.values.pop().unwrap_or_default();
                answer::lookup(view, key, &mut found);
                self.walk(&found, &path[1..], visit);
                found.clear();
                self.values.push(found);
            }
            Some(FlattenNodePathSegment::TypeCondition(types)) => {
                if answer::typename(view).is_some_and(|t| types.contains(t)) {
                    self.walk_view(view, &path[1..], visit);
                }
            }
            Some(FlattenNodePathSegment::List) => {}
        }
    }

    /// [`Walker::walk_view`] from a position's values rather than an object.
    fn walk(
        &mut self,
        candidates: &[&'a Node],
        path: &[FlattenNodePathSegment],
        visit: &mut impl FnMut(&[&'a Object], &[u32]),
    ) {
        match answer::settled(candidates) {
            Some(Node::Object(_)) => {
                let mut view = self.views.pop().unwrap_or_default();
                view.clear();
                for candidate in candidates {
                    if let Node::Object(object) = candidate {
                        self.answers.expand(object, &mut view);
                    }
                }
                self.walk_view(&view, path, visit);
                view.clear();
                self.views.push(view);
            }
            Some(Node::List(_)) => {
                // A list where the path ends holds the objects themselves.
                let rest = match path.first() {
                    Some(FlattenNodePathSegment::List) => &path[1..],
                    None => path,
                    _ => return,
                };
                let Some((len, lists)) = answer::list_items(candidates) else {
                    return;
                };
                let mut items = self.values.pop().unwrap_or_default();
                for index in 0..len {
                    items.clear();
                    items.extend(lists.iter().filter_map(|list| list.get(index)));
                    self.indices.push(index as u32);
                    self.walk(&items, rest, visit);
                    self.indices.pop();
                }
                items.clear();
                self.values.push(items);
            }
            _ => {}
        }
    }
}

/// Writes the fields of the object `view` that `selection` names: a representation
/// built from `requires`, keyed by field name.
fn write_selection(
    answers: &Answers,
    types: &PossibleTypes,
    view: &[&Object],
    selection: &SelectionSet,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let mut written: Vec<&str> = Vec::new();
    write_fields(answers, types, view, selection, out, &mut written);
    out.push(b'}');
}

fn write_fields<'s>(
    answers: &Answers,
    types: &PossibleTypes,
    view: &[&Object],
    selection: &'s SelectionSet,
    out: &mut Vec<u8>,
    written: &mut Vec<&'s str>,
) {
    let mut found = Vec::new();
    for item in &selection.items {
        match item {
            SelectionItem::Field(field) => {
                // The planner reads a required field whose arguments clash with the
                // client's under an alias of its own (`_internal_qp_alias_0: price(…)`)
                // and names it so here: `name` is where the value is in the answers,
                // `alias` the field the subgraph expects in the representation.
                let output = field.alias.as_deref().unwrap_or(&field.name);
                answer::lookup(view, &field.name, &mut found);
                if found.is_empty() || written.contains(&output) {
                    continue;
                }
                if !written.is_empty() {
                    out.push(b',');
                }
                written.push(output);
                write_string(output, out);
                out.push(b':');
                write_selected(answers, types, &found, &field.selections, out);
            }
            SelectionItem::InlineFragment(fragment) => {
                let typename = answer::typename(view);
                if typename.is_none_or(|t| types.matches(&fragment.type_condition, t)) {
                    write_fields(answers, types, view, &fragment.selections, out, written);
                }
            }
            SelectionItem::FragmentSpread(_) => {}
        }
    }
}

/// Writes one position's value, selecting from objects when `selection` has fields.
fn write_selected(
    answers: &Answers,
    types: &PossibleTypes,
    candidates: &[&Node],
    selection: &SelectionSet,
    out: &mut Vec<u8>,
) {
    match answer::settled(candidates) {
        None => out.extend_from_slice(b"null"),
        Some(Node::Object(_)) if !selection.items.is_empty() => {
            write_selection(answers, types, &answers.view_of(candidates), selection, out)
        }
        Some(Node::List(_)) if !selection.items.is_empty() => {
            let Some((len, lists)) = answer::list_items(candidates) else {
                return out.extend_from_slice(b"null");
            };
            out.push(b'[');
            let mut items = Vec::with_capacity(lists.len());
            for index in 0..len {
                if index > 0 {
                    out.push(b',');
                }
                items.clear();
                items.extend(lists.iter().filter_map(|list| list.get(index)));
                write_selected(answers, types, &items, selection, out);
            }
            out.push(b']');
        }
        Some(leaf) => leaf.write_json(out),
    }
}

/// A representation with the planner's input rewrites applied (`@interfaceObject`).
fn rewrite_representation(
    text: &[u8],
    rewrites: &[FetchRewrite],
    types: &PossibleTypes,
) -> Vec<u8> {
    let Ok(mut value) = serde_json::from_slice::<Value>(text) else {
        return text.to_vec();
    };
    for rewrite in rewrites {
        apply_rewrite(&mut value, rewrite, types);
    }
    serde_json::to_vec(&value).unwrap_or_else(|_| text.to_vec())
}

/// Applies a planner rewrite (typename setters and key renames for `@interfaceObject`).
fn apply_rewrite(value: &mut Value, rewrite: &FetchRewrite, types: &PossibleTypes) {
    let path = match rewrite {
        FetchRewrite::ValueSetter(setter) => &setter.path,
        FetchRewrite::KeyRenamer(renamer) => &renamer.path,
    };
    rewrite_at(value, path, rewrite, types);
}

/// A `TypenameEquals` step matches an object whose `__typename` is one of its types or
/// an object type of one of them: the planner names the interface an `@interfaceObject`
/// subgraph knows (`Media`), the answers hold the concrete type (`Book`).
fn rewrite_at(
    value: &mut Value,
    path: &[FetchNodePathSegment],
    rewrite: &FetchRewrite,
    types: &PossibleTypes,
) {
    if let Value::Array(items) = value {
        for item in items {
            rewrite_at(item, path, rewrite, types);
        }
        return;
    }
    let Value::Object(object) = value else { return };
    match path {
        [] => {}
        [FetchNodePathSegment::TypenameEquals(names), rest @ ..] => {
            if object
                .get("__typename")
                .and_then(Value::as_str)
                .is_some_and(|t| names.iter().any(|name| types.matches(name, t)))
            {
                rewrite_at(value, rest, rewrite, types);
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
                rewrite_at(child, rest, rewrite, types);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! The executor over canned subgraphs: no socket. The products subgraph knows two
    //! products; the inventory's shipping estimate is price × weight, so an answer shows
    //! whether the representations carried the fields `@requires` asks for.

    use std::collections::HashSet;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::plan::{HivePlanner, PlannerSettings, QueryPlanner};
    use crate::project::Projection;
    use crate::supergraph::Supergraph;
    use crate::validate::{Limits, validate};

    const SUPERGRAPH: &str = include_str!("../../../schema/bench/supergraph.graphql");

    #[derive(Default)]
    struct Canned {
        calls: AtomicUsize,
        /// An error the inventory reports on its second entity.
        inventory_error: bool,
    }

    impl Canned {
        fn answer(&self, url: &str, body: &[u8]) -> Value {
            let body: Value = serde_json::from_slice(body).expect("a JSON request");
            if url.contains(":4202") {
                return serde_json::json!({ "data": { "topProducts": [
                    { "__typename": "Product", "upc": "1", "name": "A", "price": 10, "weight": 2 },
                    { "__typename": "Product", "upc": "2", "name": "B", "price": 20, "weight": 3 },
                ] } });
            }
            let entities: Vec<Value> = body["variables"]["representations"]
                .as_array()
                .expect("an entity fetch")
                .iter()
                .map(|r| {
                    let estimate = r["price"]
                        .as_i64()
                        .and_then(|p| Some(p * r["weight"].as_i64()?));
                    serde_json::json!({ "__typename": "Product", "shippingEstimate": estimate })
                })
                .collect();
            let mut answer = serde_json::json!({ "data": { "_entities": entities } });
            if self.inventory_error {
                answer["errors"] = serde_json::json!([{
                    "message": "no estimate",
                    "path": ["_entities", 1, "shippingEstimate"],
                }]);
            }
            answer
        }
    }

    impl Transport for Canned {
        fn post<'a>(
            &'a self,
            endpoint: &'a Endpoint,
            _: HeaderMap,
            body: Vec<u8>,
        ) -> BoxFuture<'a, Result<axum::body::Bytes, TransportError>> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                // Long enough for fetches started together to meet in flight.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let answer = self.answer(&endpoint.url, &body);
                Ok(serde_json::to_vec(&answer).expect("JSON").into())
            })
        }
    }

    /// The bench supergraph's subgraphs, reached through `canned`.
    fn canned_subgraphs(supergraph: &Supergraph, canned: &Arc<Canned>) -> Subgraphs {
        let endpoints = supergraph
            .subgraph_urls()
            .iter()
            .map(|(name, url)| {
                let endpoint = Endpoint {
                    url: url.clone(),
                    timeout: Duration::from_secs(1),
                };
                (name.clone(), endpoint)
            })
            .collect();
        Subgraphs::with_transport(endpoints, canned.clone())
    }

    fn supergraph() -> Arc<Supergraph> {
        Arc::new(Supergraph::parse(SUPERGRAPH).expect("the bench supergraph"))
    }

    /// Runs `query` over `subgraphs`: the response data and its errors.
    async fn run(
        query: &str,
        supergraph: &Arc<Supergraph>,
        subgraphs: &Subgraphs,
    ) -> (Value, Vec<GraphQLError>) {
        let schema = supergraph.api_schema();
        let valid = validate(schema, query, None, &Limits::default()).expect("a valid query");
        let planner = HivePlanner::new(supergraph.clone(), PlannerSettings::default());
        let normalized = valid.document.serialize().no_indent().to_string();
        let plan = planner.plan(&normalized, None).expect("a plan");
        let forward = Forward {
            headers: HeaderMap::new(),
            caller: None,
            share_reads: true,
        };
        let variables = Map::new();
        let executed = execute(
            subgraphs,
            supergraph,
            &plan,
            &variables,
            &forward,
            Answers::default(),
        )
        .await;
        let denied = HashSet::new();
        let projection = Projection {
            schema,
            document: &valid.document,
            variables: &variables,
            denied: &denied,
            size_hint: 0,
        };
        let mut errors = executed.errors;
        let data = projection.project_root(
            &valid.operation().selection_set,
            &executed.answers,
            &mut errors,
        );
        (data.to_value(), errors)
    }

    const QUERY: &str = "{ topProducts { upc name shippingEstimate } }";

    #[tokio::test]
    async fn an_entity_fetch_carries_what_requires_asks_and_extends_each_object() {
        let (supergraph, canned) = (supergraph(), Arc::new(Canned::default()));
        let subgraphs = canned_subgraphs(&supergraph, &canned);
        let (data, errors) = run(QUERY, &supergraph, &subgraphs).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            data,
            serde_json::json!({ "topProducts": [
                { "upc": "1", "name": "A", "shippingEstimate": 20 },
                { "upc": "2", "name": "B", "shippingEstimate": 60 },
            ] })
        );
        assert_eq!(canned.calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_entity_error_is_placed_on_the_object_it_belongs_to() {
        let canned = Arc::new(Canned {
            inventory_error: true,
            ..Canned::default()
        });
        let supergraph = supergraph();
        let subgraphs = canned_subgraphs(&supergraph, &canned);
        let (_, errors) = run(QUERY, &supergraph, &subgraphs).await;
        let error = errors
            .iter()
            .find(|e| e.message == "no estimate")
            .expect("the subgraph's error is passed on");
        assert_eq!(
            error.path,
            Some(vec![
                Value::from("topProducts"),
                Value::from(1),
                Value::from("shippingEstimate"),
            ])
        );
        assert_eq!(error.extensions["service"], "inventory");
    }

    #[tokio::test]
    async fn identical_reads_at_once_share_each_fetch() {
        let (supergraph, canned) = (supergraph(), Arc::new(Canned::default()));
        let subgraphs = canned_subgraphs(&supergraph, &canned);
        let (first, second) = futures_util::join!(
            run(QUERY, &supergraph, &subgraphs),
            run(QUERY, &supergraph, &subgraphs)
        );
        assert_eq!(first.0, second.0);
        assert_eq!(
            canned.calls.load(Ordering::SeqCst),
            2,
            "one products and one inventory fetch"
        );
    }
}
