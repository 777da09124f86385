//! The HTTP service of a subgraph: `POST /graphql` for the gateway, `GET /health` and
//! `GET /ready` for orchestrators. A subgraph runs an operation only for a principal the
//! gateway signed ([`Guard`]); the principal's row scope goes into the request for the
//! resolvers ([`crate::access`]). It answers every request with a GraphQL response —
//! malformed bodies, missing signatures and even resolver panics become GraphQL errors —
//! so the gateway can always merge what it gets back.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, ObjectType, Request, Schema, SchemaBuilder};
pub use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::FutureExt;
use kotohub_auth::Policy;
use kotohub_auth::internal::{self, CLIENTS_EXTENSION, InternalKey, SUPPRESSED_EXTENSION};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::access::RowAccess;
use tokio::net::TcpListener;
use tracing::Instrument;

/// Largest request body a subgraph accepts. Operations come from the gateway, which has
/// its own limits; this only stops a runaway client that reaches the port directly.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The schema type a subgraph serves: queries, and mutations where the subgraph owns
/// data its callers change (saved queries); never subscriptions.
pub type SubgraphSchema<Q, M = EmptyMutation> = Schema<Q, M, EmptySubscription>;

/// Applies the operation bounds every subgraph enforces, whatever the gateway does, and
/// the spans every subgraph leaves in traces.
pub fn with_limits<Q: ObjectType + 'static, M: ObjectType + 'static>(
    builder: SchemaBuilder<Q, M, EmptySubscription>,
) -> SchemaBuilder<Q, M, EmptySubscription> {
    builder
        .limit_depth(16)
        .limit_recursive_depth(32)
        .limit_directives(8)
        .limit_complexity(20_000)
        .extension(crate::spans::Spans)
}

/// A Federation v2 schema builder for `query`, with the subgraph limits applied.
pub fn federated<Q: ObjectType + 'static>(
    query: Q,
) -> SchemaBuilder<Q, EmptyMutation, EmptySubscription> {
    federated_with(query, EmptyMutation)
}

/// A Federation v2 schema builder for `query` and `mutation`, with the subgraph limits.
pub fn federated_with<Q: ObjectType + 'static, M: ObjectType + 'static>(
    query: Q,
    mutation: M,
) -> SchemaBuilder<Q, M, EmptySubscription> {
    with_limits(Schema::build(query, mutation, EmptySubscription)).enable_federation()
}

/// What a subgraph checks before it runs anything: the gateway's signature on the
/// principal, and the policy that says which rows that principal may see.
#[derive(Clone)]
pub struct Guard {
    key: Arc<InternalKey>,
    policy: Arc<Policy>,
}

impl Guard {
    pub fn new(key: InternalKey, policy: Arc<Policy>) -> Self {
        Self {
            key: Arc::new(key),
            policy,
        }
    }

    /// The access policy, for resolvers that ask it more than which rows to read.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.clone()
    }
}

/// The routes of a division subgraph: its schema over `db`, with a record loader per request.
pub fn division_router<Q: ObjectType + 'static>(
    name: &'static str,
    query: Q,
    db: DatabaseConnection,
    guard: Guard,
) -> Router {
    let schema = federated(query).finish();
    router(name, schema, db, guard, crate::records::attach_loader)
}

type PerRequest = dyn Fn(Request, &RowAccess) -> Request + Send + Sync;

struct Service<Q: ObjectType + 'static, M: ObjectType + 'static> {
    name: &'static str,
    schema: SubgraphSchema<Q, M>,
    db: DatabaseConnection,
    guard: Guard,
    per_request: Box<PerRequest>,
}

/// Routes of one subgraph over `db`. `per_request` attaches what lives for one request
/// only, such as DataLoaders, whose batches must not mix requests or callers.
pub fn router<Q: ObjectType + 'static, M: ObjectType + 'static>(
    name: &'static str,
    schema: SubgraphSchema<Q, M>,
    db: DatabaseConnection,
    guard: Guard,
    per_request: impl Fn(Request, &RowAccess) -> Request + Send + Sync + 'static,
) -> Router {
    let service = Arc::new(Service {
        name,
        schema,
        db,
        guard,
        per_request: Box::new(per_request),
    });
    Router::new()
        .route("/graphql", post(graphql::<Q, M>))
        .route("/health", get(health::<Q, M>))
        .route("/ready", get(ready::<Q, M>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

async fn graphql<Q: ObjectType + 'static, M: ObjectType + 'static>(
    State(service): State<Arc<Service<Q, M>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // The gateway's fetch is this request's parent: one trace from client to SQL.
    let span = tracing::info_span!(
        "subgraph.request",
        otel.name = %format_args!("{} graphql", service.name),
        otel.kind = "server",
        kotohub.subgraph = service.name,
        kotohub.request_id = tracing::field::Empty,
    );
    kotohub_telemetry::propagation::continue_trace(&span, &headers);
    answer(&service, &headers, body).instrument(span).await
}

/// Checks the gateway's signature, reads the request and runs it as the signed principal.
async fn answer<Q: ObjectType + 'static, M: ObjectType + 'static>(
    service: &Service<Q, M>,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let signed = headers
        .get(internal::HEADER)
        .and_then(|value| value.to_str().ok());
    // Signed for this subgraph only: a header another subgraph was sent is refused here.
    let (principal, emergency_client) = match service.guard.key.verify(signed, service.name) {
        Ok(verified) => {
            tracing::Span::current().record("kotohub.request_id", verified.request_id.as_str());
            (verified.principal, verified.emergency_client)
        }
        Err(_) => {
            return error_response(
                StatusCode::UNAUTHORIZED,
                "this service answers only the gateway: the request carries no valid principal",
                "UNAUTHENTICATED",
            );
        }
    };
    let rows = RowAccess::with_emergency_client(
        service.guard.policy.row_scope(&principal),
        service.guard.policy.aggregate_scope(&principal),
        service.db.clone(),
        emergency_client,
    );
    let request: Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!("the body is not a GraphQL request: {err}"),
                "BAD_REQUEST",
            );
        }
    };
    let request = (service.per_request)(request.data(principal).data(rows.clone()), &rows);
    let executed = AssertUnwindSafe(service.schema.execute(request))
        .catch_unwind()
        .await;
    let clients = rows.returned_clients();
    let suppressed = rows.suppressed_cells();
    rows.finish().await;
    match executed {
        Ok(mut response) => {
            // The gateway's access log records whose person-level data was returned,
            // whether or not the operation selected their ids.
            if suppressed > 0 {
                response.extensions.insert(
                    SUPPRESSED_EXTENSION.to_owned(),
                    async_graphql::Value::from(suppressed),
                );
            }
            if !clients.is_empty() {
                response.extensions.insert(
                    CLIENTS_EXTENSION.to_owned(),
                    async_graphql::Value::List(
                        clients
                            .into_iter()
                            .map(async_graphql::Value::String)
                            .collect(),
                    ),
                );
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                axum::Json(response),
            )
                .into_response()
        }
        Err(_) => {
            tracing::error!(subgraph = service.name, "resolver panicked");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; the details are in the service log",
                crate::error::INTERNAL_ERROR,
            )
        }
    }
}

async fn health<Q: ObjectType + 'static, M: ObjectType + 'static>(
    State(service): State<Arc<Service<Q, M>>>,
) -> Response {
    axum::Json(json!({ "status": "ok", "service": service.name })).into_response()
}

/// `GET /ready`: whether the subgraph's database answers now, for the readiness probe.
/// Liveness (`/health`) stays apart: a database away is a reason to send no requests
/// here, not to restart the process.
async fn ready<Q: ObjectType + 'static, M: ObjectType + 'static>(
    State(service): State<Arc<Service<Q, M>>>,
) -> Response {
    let answered = tokio::time::timeout(READY_WAIT, service.db.ping()).await;
    match answered {
        Ok(Ok(())) => {
            axum::Json(json!({ "status": "ready", "service": service.name })).into_response()
        }
        Ok(Err(error)) => {
            tracing::warn!(subgraph = service.name, %error, "not ready: the database does not answer");
            not_ready(service.name)
        }
        Err(_) => not_ready(service.name),
    }
}

/// How long the readiness probe waits for the database.
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

fn not_ready(name: &str) -> Response {
    let body = json!({
        "status": "not ready",
        "service": name,
        "database": "does not answer",
    });
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

fn error_response(status: StatusCode, message: &str, code: &str) -> Response {
    let body = json!({ "errors": [{ "message": message, "extensions": { "code": code } }] });
    (status, axum::Json(body)).into_response()
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The peer's address goes with each request, for the gateway's access log.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
