//! The gateway's HTTP face, per the GraphQL-over-HTTP specification: `POST /graphql`
//! with a JSON body, `GET /graphql` for queries only (never mutations), responses as
//! `application/graphql-response+json` when the client accepts it and `application/json`
//! otherwise, with the status codes each media type calls for; a bounded body; a request
//! id on every response; `GET /health` (liveness) and `GET /ready` (readiness); and a
//! GraphiQL page for browsers, with its files ([`crate::graphiql`]). Besides:
//! `GET /q/{name}` runs a saved query as the caller (JSON or CSV), `GET /metrics` serves
//! the counters, and every request passes the rate limits (per client address — the
//! peer's, or the one a trusted proxy forwarded ([`crate::forwarded`]) — then per
//! principal) before anything else is read. Each request is served whole by the gateway
//! current when it came in ([`crate::live`]), so a supergraph reload never changes one
//! under way.
//!
//! Each request is one span ([`request_span`]) continuing the client's W3C trace, with a
//! child per pipeline step: authenticate, parse, validate, authorize, plan, execute (a
//! fetch per subgraph call), merge and audit.
//!
//! Every request to a GraphQL route starts and ends in one middleware
//! ([`logged_request`]): its span, id, time and address, then its metrics and, with an
//! access log, its record — answered, refused or failed — stored before its answer
//! leaves; when the record cannot be stored, the caller gets `503` and no data instead.
//! Each refusal's status comes from one code-to-status table ([`Code::status`]).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::audit::{Ending, Event, Operation, Seen};
use kotohub_auth::{AuthError, Principal};

use crate::errors::{Code, GraphQLError};
use crate::forwarded::TrustedProxies;
use crate::live::LiveGateway;
use crate::pipeline::{Caller, Gateway, GraphQLRequest, GraphQLResponse, Outcome};
use crate::project::Data;
use crate::saved::SavedVariables;

/// Largest request body accepted by default.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const REQUEST_ID: &str = "x-request-id";

/// How the gateway's HTTP face reads requests.
#[derive(Clone)]
pub struct HttpSettings {
    /// The largest request body read.
    pub max_body_bytes: usize,
    /// The proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// What all requests share: the gateway serving now, replaced whole when the supergraph
/// is reloaded, and how requests are read.
struct Shared {
    live: Arc<LiveGateway>,
    settings: HttpSettings,
}

/// What one request is served with: the gateway as it was when the request came in, so
/// that a reload under way changes nothing beneath it.
struct Http {
    gateway: Arc<Gateway>,
    max_body_bytes: usize,
}

/// The gateway's routes.
pub fn router(live: Arc<LiveGateway>, settings: HttpSettings) -> Router {
    let state = Arc::new(Shared { live, settings });
    // Every request to a GraphQL route starts and ends the same way (its span, id, time
    // and address; its access-log event), whichever handler serves it.
    let operations = Router::new()
        .route(
            "/graphql",
            get(get_graphql).post(post_graphql).fallback(other_method),
        )
        .route("/q/{name}", get(get_saved_query))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            logged_request,
        ));
    Router::new()
        .merge(operations)
        .route(
            "/metrics",
            get(|State(shared): State<Arc<Shared>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    shared.live.current().metrics_text(),
                )
            }),
        )
        // Liveness: the process answers. Readiness: it can serve a request now.
        .route(
            "/health",
            get(|| async { axum::Json(json!({ "status": "ok", "service": "gateway" })) }),
        )
        .route("/ready", get(ready))
        .route(crate::graphiql::ASSETS_ROUTE, get(crate::graphiql::asset))
        .with_state(state)
}

/// `GET /ready`: whether this gateway can serve a request now — its supergraph loaded
/// (named by fingerprint) and, with an access log, the log writable — for a load
/// balancer's or Kubernetes' readiness probe. `503` takes the replica out of rotation
/// without restarting it.
async fn ready(State(shared): State<Arc<Shared>>) -> Response {
    let gateway = shared.live.current();
    let audit = match gateway.audit() {
        Some(log) => log.ready().await,
        None => Ok(()),
    };
    let draining = shared.live.draining();
    let (status, state) = match (&audit, draining) {
        (_, true) => (StatusCode::SERVICE_UNAVAILABLE, "draining"),
        (Ok(()), false) => (StatusCode::OK, "ready"),
        (Err(_), false) => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
    };
    let body = json!({
        "status": state,
        "service": "gateway",
        "supergraph": gateway.supergraph().fingerprint(),
        "audit": audit.err().unwrap_or_else(|| "ok".to_owned()),
    });
    (status, axum::Json(body)).into_response()
}

/// The client's id for the request if it sent a sane one, else a new one.
fn request_id(headers: &HeaderMap) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or_default();
            format!("{nanos:016x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
        })
}

fn wants_graphql_response(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(GRAPHQL_RESPONSE_JSON))
}

/// The error codes of an answer, kept on the response for the access log.
#[derive(Clone)]
struct ErrorCodes(Vec<String>);

fn reply(status: StatusCode, body: GraphQLResponse, graphql_response: bool, id: &str) -> Response {
    let media = if graphql_response {
        GRAPHQL_RESPONSE_JSON
    } else {
        "application/json"
    };
    let codes = body
        .errors
        .iter()
        .filter_map(|e| e.code().map(str::to_owned))
        .collect();
    let text = encode(body);
    let mut response = (status, [(header::CONTENT_TYPE, media)], text).into_response();
    if let Ok(value) = HeaderValue::from_str(id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response.extensions_mut().insert(ErrorCodes(codes));
    response
}

/// The response as JSON: the data goes out as projection wrote it.
fn encode(body: GraphQLResponse) -> Vec<u8> {
    match body.data {
        Some(data) => data.into_response(&body.errors),
        None => serde_json::to_vec(&body).unwrap_or_else(|_| {
            br#"{"errors":[{"message":"the response could not be encoded"}]}"#.to_vec()
        }),
    }
}

/// A request the gateway could not even read or serve: one error, with the status its
/// code has in [`Code::status`].
fn unreadable(message: String, code: Code, headers: &HeaderMap, id: &str) -> Response {
    let body = GraphQLResponse {
        data: None,
        errors: vec![GraphQLError::new(message, code)],
    };
    reply(code.status(), body, wants_graphql_response(headers), id)
}

fn answer(outcome: Outcome, headers: &HeaderMap, id: &str) -> Response {
    let graphql_response = wants_graphql_response(headers);
    let status = if !outcome.refused {
        StatusCode::OK
    } else {
        let status = refusal_status(&outcome);
        if status.is_client_error() && status != StatusCode::METHOD_NOT_ALLOWED && !graphql_response
        {
            // application/json clients get request errors with 200, as the spec says
            // they expect.
            StatusCode::OK
        } else {
            status
        }
    };
    let mut response = reply(status, outcome.response, graphql_response, id);
    if status == StatusCode::METHOD_NOT_ALLOWED {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// The caller, when the gateway checks callers: `Ok(None)` when authentication is off,
/// `Err` with the 401 to send when the token is missing or does not verify.
async fn authenticate(
    http: &Http,
    headers: &HeaderMap,
    id: &str,
) -> Result<Option<Principal>, Response> {
    let Some(access) = http.gateway.access() else {
        return Ok(None);
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match access.authenticator.authenticate(authorization).await {
        Ok(principal) => Ok(Some(principal)),
        Err(error) => {
            let code = if error == AuthError::KeysUnavailable {
                Code::AuthenticationUnavailable
            } else {
                Code::Unauthenticated
            };
            let mut response = unreadable(error.to_string(), code, headers, id);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"kotohub\""),
            );
            Err(response)
        }
    }
}

/// Lets a request in: its client address within its rate limit, its caller
/// authenticated, and the caller within its own. `Err` holds the 429 or 401 to send.
async fn admit(
    http: &Http,
    address: Option<IpAddr>,
    headers: &HeaderMap,
    id: &str,
    seen: &mut Seen,
) -> Result<Option<Principal>, Response> {
    let limits = http.gateway.rate_limits();
    if let (Some(limits), Some(address)) = (limits, address)
        && let Some(limit) = limits.address
    {
        let key = format!("address:{address}");
        if let Some(refusal) = throttled(limits.limiter.take(&key, limit).await, headers, id) {
            return Err(refusal);
        }
    }
    let principal = authenticate(http, headers, id)
        .instrument(tracing::info_span!("authenticate"))
        .await?;
    // Known from here on, so that a refusal below is logged against the caller.
    seen.principal = principal.clone();
    if let (Some(limits), Some(principal)) = (limits, &principal)
        && let Some(limit) = limits.of(principal)
    {
        let key = format!("subject:{}", principal.subject);
        if let Some(refusal) = throttled(limits.limiter.take(&key, limit).await, headers, id) {
            return Err(refusal);
        }
    }
    Ok(principal)
}

/// The 429, with `Retry-After`, to send when the bucket said no.
fn throttled(
    verdict: kotohub_cache::rate::Verdict,
    headers: &HeaderMap,
    id: &str,
) -> Option<Response> {
    let kotohub_cache::rate::Verdict::Limited { retry_after } = verdict else {
        return None;
    };
    // Whole seconds, rounded up, as the header takes them.
    let seconds = retry_after.as_millis().div_ceil(1000).max(1);
    let mut response = unreadable(
        format!("too many requests; try again in {seconds} s"),
        Code::RateLimited,
        headers,
        id,
    );
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).expect("digits are a header value"),
    );
    Some(response)
}

type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

async fn post_graphql(
    Extension(start): Extension<RequestStart>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let mut seen = Seen::default();
    let response = post_inner(
        &start.http,
        start.address,
        &headers,
        body,
        &start.id,
        &mut seen,
    )
    .await;
    with_seen(response, seen)
}

/// What every request to a GraphQL route starts with, for its handler.
#[derive(Clone)]
struct RequestStart {
    /// The request id, echoed in `x-request-id` and recorded in the access log.
    id: String,
    /// The client's address: the peer's, or the one a trusted proxy forwarded.
    address: Option<IpAddr>,
    http: Arc<Http>,
}

/// Leaves what the access log is to learn of the request on its response.
fn with_seen(mut response: Response, seen: Seen) -> Response {
    response.extensions_mut().insert(seen);
    response
}

/// The page GraphiQL is served as: it reads no data, so it is not an operation to log.
#[derive(Clone)]
struct NotAnOperation;

/// The shared start and end of every request to a GraphQL route: its span (continuing
/// the client's trace), its id, time and address for the handler, then the metrics and
/// the access-log event from what the handler saw.
async fn logged_request(
    State(shared): State<Arc<Shared>>,
    peer: Peer,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // The route, not the path: a saved query's name stays out of span names.
    let path = if request.uri().path().starts_with("/q/") {
        "/q/{name}"
    } else {
        "/graphql"
    };
    let method = request.method();
    let route = if method == Method::GET || method == Method::POST {
        format!("{method} {path}")
    } else {
        path.to_owned()
    };
    let headers = request.headers().clone();
    let span = request_span(&route, path, &headers);
    async move {
        let started = Instant::now();
        let id = request_id(&headers);
        let address = peer.map(|Extension(ConnectInfo(addr))| {
            shared
                .settings
                .trusted_proxies
                .client_of(addr.ip(), &headers)
        });
        let http = Arc::new(Http {
            gateway: shared.live.current(),
            max_body_bytes: shared.settings.max_body_bytes,
        });
        request.extensions_mut().insert(RequestStart {
            id: id.clone(),
            address,
            http: http.clone(),
        });
        let mut response = next.run(request).await;
        if response.extensions().get::<NotAnOperation>().is_some() {
            return response;
        }
        let seen = response
            .extensions_mut()
            .remove::<Seen>()
            .unwrap_or_default();
        audited(&http, response, seen, address, &headers, &id, started).await
    }
    .instrument(span)
    .await
}

/// Any other method on `/graphql`: `405` with `Allow`, a GraphQL error saying which
/// methods serve GraphQL, and an access-log event like every request to the endpoint,
/// against the caller when the token says who that is.
async fn other_method(
    Extension(start): Extension<RequestStart>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let mut seen = Seen::default();
    let response = match admit(&start.http, start.address, &headers, &start.id, &mut seen).await {
        Err(refusal) => refusal,
        Ok(_) => {
            let mut response = unreadable(
                format!(
                    "{method} is not a GraphQL request method: send operations with POST, \
                     or queries with GET"
                ),
                Code::MethodNotAllowed,
                &headers,
                &start.id,
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
            response
        }
    };
    with_seen(response, seen)
}

/// The span of one request to the gateway: the root of its trace, or a child of the
/// client's when the client sent `traceparent`.
fn request_span(name: &str, route: &str, headers: &HeaderMap) -> tracing::Span {
    let span = tracing::info_span!(
        "gateway.request",
        otel.name = name,
        otel.kind = "server",
        http.route = route,
        graphql.operation.name = tracing::field::Empty,
        http.response.status_code = tracing::field::Empty,
        kotohub.outcome = tracing::field::Empty,
    );
    kotohub_telemetry::propagation::continue_trace(&span, headers);
    span
}

async fn post_inner(
    http: &Http,
    address: Option<IpAddr>,
    headers: &HeaderMap,
    body: Body,
    id: &str,
    seen: &mut Seen,
) -> Response {
    // Before the body is read: an unauthenticated caller gets nothing else of the gateway.
    let principal = match admit(http, address, headers, id, seen).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let bytes: Bytes = match read_body(body, http.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            let message = format!(
                "the request body is larger than {} bytes",
                http.max_body_bytes
            );
            return unreadable(message, Code::RequestTooLarge, headers, id);
        }
        Err(BodyError::Broken) => {
            let message = "the request body was cut off".to_owned();
            return unreadable(message, Code::BadRequest, headers, id);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") {
        let message = format!("send the request as application/json, not {content_type}");
        return unreadable(message, Code::UnsupportedMediaType, headers, id);
    }
    // A batch is a JSON array: told by its first character, so a single request is
    // parsed once, straight into its type.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        let message =
            "batched requests are not accepted: send one operation per request".to_owned();
        return unreadable(message, Code::BatchNotAccepted, headers, id);
    }
    let request: GraphQLRequest = match serde_json::from_slice(&bytes) {
        Ok(request) => request,
        Err(e) => {
            let message = if e.is_data() {
                format!("the body is not a GraphQL request: {e}")
            } else {
                format!("the body is not valid JSON: {e}")
            };
            return unreadable(message, Code::BadRequest, headers, id);
        }
    };
    run(http, &request, true, principal.as_ref(), headers, id, seen).await
}

/// Runs a readable request; one without a query is malformed whatever the media type.
async fn run(
    http: &Http,
    request: &GraphQLRequest,
    allow_mutations: bool,
    principal: Option<&Principal>,
    headers: &HeaderMap,
    id: &str,
    seen: &mut Seen,
) -> Response {
    let persisted = request
        .extensions
        .as_ref()
        .is_some_and(|extensions| extensions.contains_key("persistedQuery"));
    if request.query.as_deref().is_none_or(str::is_empty) && !persisted {
        return unreadable(
            "the request has no query".to_owned(),
            Code::MissingQuery,
            headers,
            id,
        );
    }
    let caller = stated(Caller::new(principal, id), headers);
    let run = std::panic::AssertUnwindSafe(http.gateway.run(request, allow_mutations, caller));
    match futures_util::FutureExt::catch_unwind(run).await {
        Ok(mut outcome) => {
            ran(seen, http, &mut outcome);
            answer(outcome, headers, id)
        }
        Err(_) => panicked(headers, id),
    }
}

/// The header a caller states the purpose of its person-level reads in.
pub const PURPOSE_HEADER: &str = "kotohub-purpose";
/// The header a caller names the emergency access it reads under in.
pub const EMERGENCY_HEADER: &str = "kotohub-emergency-access";

/// `caller` with the purpose and emergency access its request's headers state; an empty
/// header states nothing.
fn stated<'a>(mut caller: Caller<'a>, headers: &'a HeaderMap) -> Caller<'a> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    caller.purpose = header(PURPOSE_HEADER);
    caller.emergency = header(EMERGENCY_HEADER);
    caller
}

/// Keeps what the access log and the metrics record of `outcome` in `seen`. Counting
/// rows walks the whole answer: only done when there is a log.
fn ran(seen: &mut Seen, http: &Http, outcome: &mut Outcome) {
    let audited = http.gateway.audit().is_some();
    seen.operation = Some(Operation {
        kind: outcome.kind,
        refused: outcome.refused,
        facts: std::mem::take(&mut outcome.facts),
        subgraphs: std::mem::take(&mut outcome.subgraphs),
        rows: if audited {
            outcome.response.data.as_ref().map_or(0, Data::rows)
        } else {
            0
        },
    });
}

/// A bug must not cost the client its answer or the connection: a panic becomes a 500
/// with a GraphQL error, and the details go to the log.
fn panicked(headers: &HeaderMap, id: &str) -> Response {
    tracing::error!(
        request_id = id,
        "the gateway panicked while running a request"
    );
    let message = "internal error; the details are in the gateway's log".to_owned();
    unreadable(message, Code::Internal, headers, id)
}

/// How much of an oversized body the gateway reads and discards so that the client, still
/// sending, receives the 413 instead of a reset connection. Beyond this it stops reading.
const DRAIN_LIMIT: usize = 32 * 1024 * 1024;

enum BodyError {
    TooLarge,
    Broken,
}

/// Reads at most `limit` bytes of `body`; a longer body is drained (up to [`DRAIN_LIMIT`])
/// and refused.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            return Err(BodyError::TooLarge);
        }
    }
    if seen > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(Bytes::from(kept))
}

async fn get_graphql(
    Extension(start): Extension<RequestStart>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if browser && !params.contains_key("query") {
        let mut page = crate::graphiql::page();
        page.extensions_mut().insert(NotAnOperation);
        return page;
    }
    let mut seen = Seen::default();
    let response = get_inner(
        &start.http,
        start.address,
        &headers,
        &params,
        &start.id,
        &mut seen,
    )
    .await;
    with_seen(response, seen)
}

async fn get_inner(
    http: &Http,
    address: Option<IpAddr>,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    id: &str,
    seen: &mut Seen,
) -> Response {
    let principal = match admit(http, address, headers, id, seen).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let variables = match params
        .get("variables")
        .map(|text| serde_json::from_str::<Value>(text))
    {
        None => None,
        Some(Ok(Value::Object(map))) => Some(map),
        Some(Ok(Value::Null)) => None,
        Some(_) => {
            return unreadable(
                "`variables` must be a JSON object".to_owned(),
                Code::BadRequest,
                headers,
                id,
            );
        }
    };
    let extensions = match params
        .get("extensions")
        .map(|text| serde_json::from_str::<Value>(text))
    {
        None | Some(Ok(Value::Null)) => None,
        Some(Ok(Value::Object(map))) => Some(map),
        Some(_) => {
            return unreadable(
                "`extensions` must be a JSON object".to_owned(),
                Code::BadRequest,
                headers,
                id,
            );
        }
    };
    let request = GraphQLRequest {
        query: params.get("query").cloned(),
        operation_name: params.get("operationName").cloned(),
        variables,
        extensions,
    };
    run(http, &request, false, principal.as_ref(), headers, id, seen).await
}

/// Counts the request for the metrics: its operation and how it ended.
fn observe(http: &Http, response: &Response, seen: &Seen, started: Instant) {
    let status = response.status();
    let codes = response.extensions().get::<ErrorCodes>();
    let has = |code: Code| codes.is_some_and(|codes| codes.0.iter().any(|c| c == code.as_str()));
    let refused = seen.operation.as_ref().is_some_and(|ran| ran.refused);
    let outcome = if status == StatusCode::TOO_MANY_REQUESTS {
        "rate_limited"
    } else if status.is_server_error() {
        "failed"
    } else if status.is_client_error() || refused {
        "refused"
    } else if has(Code::Forbidden) {
        "partial"
    } else if codes.is_some_and(|codes| !codes.0.is_empty()) {
        "error"
    } else {
        "ok"
    };
    let operation = seen
        .operation
        .as_ref()
        .and_then(|ran| ran.facts.operation_name.as_deref());
    let elapsed = started.elapsed();
    http.gateway.metrics().request(operation, outcome, elapsed);
    let span = tracing::Span::current();
    span.record("http.response.status_code", status.as_u16());
    span.record("kotohub.outcome", outcome);
    if let Some(operation) = operation {
        span.record("graphql.operation.name", operation);
    }
    tracing::debug!(
        operation,
        outcome,
        status = status.as_u16(),
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "answered"
    );
}

/// Records the request in the access log, if there is one, and lets the answer go only
/// once the record is stored.
async fn audited(
    http: &Http,
    mut response: Response,
    seen: Seen,
    address: Option<IpAddr>,
    headers: &HeaderMap,
    id: &str,
    started: Instant,
) -> Response {
    observe(http, &response, &seen, started);
    let Some(log) = http.gateway.audit() else {
        return response;
    };
    let status = response.status();
    let error_codes = response
        .extensions_mut()
        .remove::<ErrorCodes>()
        .map(|codes| codes.0)
        .unwrap_or_default();
    let ending = Ending {
        request_id: id.to_owned(),
        // The request's trace when the gateway traces, so that an auditor can find its
        // spans; else the one the client named.
        trace_id: kotohub_telemetry::propagation::current_trace_id().or_else(|| {
            headers
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split('-').nth(1))
                .filter(|v| v.len() == 32 && v.chars().all(|c| c.is_ascii_hexdigit()))
                .map(str::to_owned)
        }),
        client_address: address.map(|ip| ip.to_string()),
        status: status.as_u16(),
        error_codes,
        duration: started.elapsed(),
        as_file: response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/csv")),
    };
    let event = Event::of(ending, seen);
    match log
        .record(event)
        .instrument(tracing::info_span!("audit"))
        .await
    {
        Ok(()) => response,
        Err(error) => {
            tracing::error!(request_id = id, %error, "answer withheld: the access log is not written");
            unreadable(
                "the access log cannot be written, so no data is returned; try again later"
                    .to_owned(),
                Code::AuditUnavailable,
                headers,
                id,
            )
        }
    }
}

/// `GET /q/{name}?variable=value&format=json|csv&version=N&bom=true`: runs a saved query
/// as the caller and answers its data as a GraphQL response (JSON) or as CSV. A CSV
/// export is all or nothing: an answer with errors comes back as JSON with an error
/// status, so a spreadsheet never holds a silently partial table.
async fn get_saved_query(
    Extension(start): Extension<RequestStart>,
    Path(name): Path<String>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let mut seen = Seen::default();
    let response = saved_query_inner(
        &start.http,
        start.address,
        &name,
        &params,
        &headers,
        &start.id,
        &mut seen,
    )
    .await;
    with_seen(response, seen)
}

/// How `GET /q/{name}` answers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Csv { bom: bool },
}

async fn saved_query_inner(
    http: &Http,
    address: Option<IpAddr>,
    name: &str,
    params: &[(String, String)],
    headers: &HeaderMap,
    id: &str,
    seen: &mut Seen,
) -> Response {
    let principal = match admit(http, address, headers, id, seen).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    let setting = |key: &str| {
        params
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    let bad = |message: String| unreadable(message, Code::BadRequest, headers, id);
    let bom = match setting("bom") {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return bad(format!("bom takes true or false, not {other:?}")),
    };
    let format = match setting("format") {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv { bom },
        Some(other) => return bad(format!("format takes json or csv, not {other:?}")),
    };
    let version = match setting("version").map(str::parse::<i32>) {
        None => None,
        Some(Ok(version)) if version > 0 => Some(version),
        Some(_) => return bad("version takes a version number (1, 2, …)".to_owned()),
    };
    let variables: Vec<(String, String)> = params
        .iter()
        .filter(|(key, _)| !crate::saved::RESERVED_PARAMETERS.contains(&key.as_str()))
        .cloned()
        .collect();
    let run = std::panic::AssertUnwindSafe(http.gateway.run_saved(
        name,
        version,
        SavedVariables::Text(&variables),
        stated(Caller::new(principal.as_ref(), id), headers),
    ));
    let (mut outcome, definition) = match futures_util::FutureExt::catch_unwind(run).await {
        Ok(ran) => ran,
        Err(_) => return panicked(headers, id),
    };
    ran(seen, http, &mut outcome);
    let csv = match (format, &definition) {
        (Format::Csv { bom }, Some(definition)) if outcome.response.errors.is_empty() => {
            let columns = http.gateway.csv_columns(&definition.document);
            let data = outcome
                .response
                .data
                .as_ref()
                .map_or(Value::Null, Data::to_value);
            match crate::csv::to_csv(&data, &columns, bom) {
                Ok(text) => Some(text),
                Err(too_many) => {
                    return unreadable(too_many.to_string(), Code::CsvTooLarge, headers, id);
                }
            }
        }
        _ => None,
    };
    match csv {
        Some(text) => {
            let disposition = format!("attachment; filename=\"{name}.csv\"");
            let mut response = (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-8; header=present",
                )],
                text,
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&disposition) {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            if let Ok(value) = HeaderValue::from_str(id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            response
        }
        None => {
            let status = saved_query_status(&outcome, format);
            reply(
                status,
                outcome.response,
                wants_graphql_response(headers),
                id,
            )
        }
    }
}

/// The status of a saved-query answer sent as JSON. A CSV request that got errors
/// instead of a table always gets an error status.
fn saved_query_status(outcome: &Outcome, format: Format) -> StatusCode {
    if outcome.response.errors.is_empty() {
        return StatusCode::OK;
    }
    if !outcome.refused && format == Format::Json {
        // Data with errors, as GraphQL answers it.
        return StatusCode::OK;
    }
    match refusal_status(outcome) {
        StatusCode::BAD_REQUEST if !outcome.refused => {
            // Errors while the data was fetched: the export could not be made whole.
            StatusCode::BAD_GATEWAY
        }
        status => status,
    }
}

/// The status of the first error whose code has its own in [`Code::status`], else 400.
fn refusal_status(outcome: &Outcome) -> StatusCode {
    outcome
        .response
        .errors
        .iter()
        .filter_map(GraphQLError::gateway_code)
        .map(Code::status)
        .find(|status| *status != StatusCode::BAD_REQUEST)
        .unwrap_or(StatusCode::BAD_REQUEST)
}

impl Gateway {
    /// The CSV columns of an answer to `document`: empty when it does not parse.
    fn csv_columns(&self, document: &str) -> Vec<String> {
        match apollo_compiler::ExecutableDocument::parse(
            self.api_schema(),
            document,
            "saved-query.graphql",
        ) {
            Ok(parsed) => crate::saved::leaf_columns(&parsed, None),
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The HTTP rules, one per test, through the router alone: no socket, no database,
    //! no subgraph (every request here is answered before anything is fetched).

    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode, header};
    use tower::ServiceExt;

    use super::*;
    use crate::execute::Subgraphs;
    use crate::plan::{HivePlanner, PlanError, PlannerSettings, QueryPlanner};
    use crate::supergraph::Supergraph;
    use crate::validate::Limits;

    const SUPERGRAPH: &str = include_str!("../../../schema/bench/supergraph.graphql");
    const MAX_BODY: usize = 4096;

    fn app() -> Router {
        let supergraph = Arc::new(Supergraph::parse(SUPERGRAPH).expect("the bench supergraph"));
        let planner = Arc::new(HivePlanner::new(
            supergraph.clone(),
            PlannerSettings::default(),
        ));
        app_with(supergraph, planner)
    }

    fn app_with(supergraph: Arc<Supergraph>, planner: Arc<dyn QueryPlanner>) -> Router {
        let gateway = Gateway::new(
            supergraph,
            planner,
            Subgraphs::new(std::collections::HashMap::new()),
            Limits::default(),
        );
        router(
            LiveGateway::new(gateway),
            HttpSettings {
                max_body_bytes: MAX_BODY,
                ..HttpSettings::default()
            },
        )
    }

    /// Sends `request` and returns the status, the headers and the JSON body.
    async fn send(request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let response = app().oneshot(request).await.expect("the router answers");
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .expect("the body is read");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, parts.headers, json)
    }

    /// A JSON POST to `/graphql`, its body still to be given.
    fn post() -> axum::http::request::Builder {
        Request::post("/graphql").header(header::CONTENT_TYPE, "application/json")
    }

    /// The gateway's code of the first error; `None` when there is none or it is not one.
    fn code(body: &Value) -> Option<Code> {
        body["errors"][0]["extensions"]["code"]
            .as_str()
            .and_then(Code::parse)
    }

    /// A planner that fails every operation with a detail no client may see.
    struct BrokenPlanner;

    impl QueryPlanner for BrokenPlanner {
        fn cached(&self, _: &str, _: Option<&str>) -> Option<Arc<crate::plan::QueryPlan>> {
            None
        }
        fn plan(&self, _: &str, _: Option<&str>) -> Result<Arc<crate::plan::QueryPlan>, PlanError> {
            Err(PlanError::Failed("join__Graph INTERNAL_DETAIL".to_owned()))
        }
        fn adopt(&self, _: &str, _: Option<&str>, _: Arc<crate::plan::QueryPlan>) {}
    }

    #[tokio::test]
    async fn a_planner_failure_is_a_500_with_its_detail_kept_in_the_log() {
        let supergraph = Arc::new(Supergraph::parse(SUPERGRAPH).expect("the bench supergraph"));
        let response = app_with(supergraph, Arc::new(BrokenPlanner))
            .oneshot(
                post()
                    .body(Body::from(r#"{"query":"{ topProducts { upc } }"}"#))
                    .expect("a request"),
            )
            .await
            .expect("the router answers");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body is read");
        let body: Value = serde_json::from_slice(&bytes).expect("a GraphQL response");
        assert_eq!(code(&body), Some(Code::Internal));
        assert!(
            !String::from_utf8_lossy(&bytes).contains("INTERNAL_DETAIL"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn other_methods_get_405_with_allow_and_a_graphql_error() {
        for method in [Method::PUT, Method::DELETE, Method::PATCH] {
            let request = Request::builder()
                .method(method.clone())
                .uri("/graphql")
                .body(Body::empty())
                .expect("a request");
            let (status, headers, body) = send(request).await;
            assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(headers[header::ALLOW], "GET, POST", "{method}");
            assert_eq!(
                code(&body),
                Some(Code::MethodNotAllowed),
                "{method}: {body}"
            );
        }
    }

    #[tokio::test]
    async fn a_mutation_over_get_is_405_allowing_post() {
        let request = Request::get("/graphql?query=mutation%20%7B%20x%20%7D")
            .body(Body::empty())
            .expect("a request");
        let (status, headers, body) = send(request).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(headers[header::ALLOW], "POST");
        assert_eq!(code(&body), Some(Code::MethodNotAllowed), "{body}");
    }

    #[tokio::test]
    async fn a_batch_is_refused() {
        let text = r#"[{"query":"{ me { id } }"},{"query":"{ me { id } }"}]"#;
        let request = post().body(Body::from(text)).expect("a request");
        let (status, _, body) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&body), Some(Code::BatchNotAccepted), "{body}");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_413() {
        let text = format!(r#"{{"query":"{}"}}"#, " ".repeat(MAX_BODY));
        let request = post().body(Body::from(text)).expect("a request");
        let (status, _, body) = send(request).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(code(&body), Some(Code::RequestTooLarge), "{body}");
    }

    #[tokio::test]
    async fn a_body_that_is_not_json_is_400() {
        let request = post().body(Body::from("{")).expect("a request");
        let (status, _, body) = send(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&body), Some(Code::BadRequest), "{body}");
    }

    #[tokio::test]
    async fn another_media_type_is_415() {
        let request = Request::post("/graphql")
            .header(header::CONTENT_TYPE, "text/plain")
            .body(Body::from("{ me { id } }"))
            .expect("a request");
        let (status, _, body) = send(request).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(code(&body), Some(Code::UnsupportedMediaType), "{body}");
    }

    #[tokio::test]
    async fn a_request_without_a_query_is_400_whatever_the_media_type() {
        for accept in [GRAPHQL_RESPONSE_JSON, "application/json"] {
            let text = r#"{"variables":{}}"#;
            let request = post()
                .header(header::ACCEPT, accept)
                .body(Body::from(text))
                .expect("a request");
            let (status, headers, body) = send(request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{accept}");
            assert_eq!(headers[header::CONTENT_TYPE], accept, "{accept}");
            assert_eq!(code(&body), Some(Code::MissingQuery), "{body}");
        }
    }

    #[tokio::test]
    async fn an_invalid_operation_is_400_for_graphql_response_clients_and_200_for_json_ones() {
        for (accept, expected) in [
            (GRAPHQL_RESPONSE_JSON, StatusCode::BAD_REQUEST),
            ("application/json", StatusCode::OK),
        ] {
            let text = r#"{"query":"{ nothing }"}"#;
            let request = post()
                .header(header::ACCEPT, accept)
                .body(Body::from(text))
                .expect("a request");
            let (status, _, body) = send(request).await;
            assert_eq!(status, expected, "{accept}: {body}");
            assert!(body["data"].is_null(), "{body}");
            assert!(!body["errors"][0]["message"].is_null(), "{body}");
        }
    }

    #[tokio::test]
    async fn every_answer_carries_the_request_id_it_was_given() {
        let request = Request::get("/graphql?query=%7B%20nothing%20%7D")
            .header("x-request-id", "abc-123")
            .body(Body::empty())
            .expect("a request");
        let (_, headers, _) = send(request).await;
        assert_eq!(headers["x-request-id"], "abc-123");
    }
}
