//! The HTTP service of a subgraph: `POST /graphql` for the gateway and `GET /health` for
//! orchestrators. A subgraph answers every request with a GraphQL response — malformed
//! bodies and even resolver panics become GraphQL errors — so the gateway can always
//! merge what it gets back.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, ObjectType, Request, Schema, SchemaBuilder};
pub use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::FutureExt;
use serde_json::json;
use tokio::net::TcpListener;

/// Largest request body a subgraph accepts. Operations come from the gateway, which has
/// its own limits; this only stops a runaway client that reaches the port directly.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The schema type every subgraph serves: queries only, mutations arrive with their issues.
pub type SubgraphSchema<Q> = Schema<Q, EmptyMutation, EmptySubscription>;

/// Applies the operation bounds every subgraph enforces, whatever the gateway does.
pub fn with_limits<Q: ObjectType + 'static>(
    builder: SchemaBuilder<Q, EmptyMutation, EmptySubscription>,
) -> SchemaBuilder<Q, EmptyMutation, EmptySubscription> {
    builder
        .limit_depth(16)
        .limit_recursive_depth(32)
        .limit_directives(8)
        .limit_complexity(20_000)
}

/// A Federation v2 schema builder for `query`, with the subgraph limits applied.
pub fn federated<Q: ObjectType + 'static>(
    query: Q,
) -> SchemaBuilder<Q, EmptyMutation, EmptySubscription> {
    with_limits(Schema::build(query, EmptyMutation, EmptySubscription)).enable_federation()
}

/// The routes of a division subgraph: its schema over `db`, with a record loader per request.
pub fn division_router<Q: ObjectType + 'static>(
    name: &'static str,
    query: Q,
    db: sea_orm::DatabaseConnection,
) -> Router {
    let schema = federated(query).data(db.clone()).finish();
    router(name, schema, crate::records::attach_loader(db))
}

type PerRequest = dyn Fn(Request) -> Request + Send + Sync;

struct Service<Q: ObjectType + 'static> {
    name: &'static str,
    schema: SubgraphSchema<Q>,
    per_request: Box<PerRequest>,
}

/// Routes of one subgraph. `per_request` attaches what lives for one request only, such
/// as DataLoaders, whose batches must not mix requests.
pub fn router<Q: ObjectType + 'static>(
    name: &'static str,
    schema: SubgraphSchema<Q>,
    per_request: impl Fn(Request) -> Request + Send + Sync + 'static,
) -> Router {
    let service = Arc::new(Service {
        name,
        schema,
        per_request: Box::new(per_request),
    });
    Router::new()
        .route("/graphql", post(graphql::<Q>))
        .route("/health", get(health::<Q>))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(service)
}

async fn graphql<Q: ObjectType + 'static>(
    State(service): State<Arc<Service<Q>>>,
    body: Bytes,
) -> Response {
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
    let request = (service.per_request)(request);
    match AssertUnwindSafe(service.schema.execute(request))
        .catch_unwind()
        .await
    {
        Ok(response) => (
            [(header::CONTENT_TYPE, "application/json")],
            axum::Json(response),
        )
            .into_response(),
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

async fn health<Q: ObjectType + 'static>(State(service): State<Arc<Service<Q>>>) -> Response {
    axum::Json(json!({ "status": "ok", "service": service.name })).into_response()
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
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
