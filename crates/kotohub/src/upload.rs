//! The import upload, `POST /import/{subgraph}/{kind}`: a division's system sends its
//! file to the hub instead of an operator running `kotohub import` on it. It sits beside
//! the gateway's GraphQL routes on the same listener and goes the same way: the bearer
//! token is verified, the policy decides (only the owning division's importer role may
//! load a division's kinds; every division's importer may bring clients), the file is
//! checked and written by the same [`Importer`] as the command's, the hub's access log
//! records the upload — refused ones too — and kept answers are dropped when rows were
//! written.
//!
//! The file is the request body, raw (`Content-Type: text/csv` or
//! `application/x-ndjson`, or `?format=csv|jsonl`) or as the one file part of a
//! `multipart/form-data` body; `?dryRun=true` checks it and writes nothing. The answer
//! is the import's summary as JSON, with every rejected row's line, column and reason.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kotohub_auth::{Authenticator, Policy, Principal};
use kotohub_gateway::audit::{AuditSink, Decision, Event};
use serde_json::json;

use crate::import::identity::Pseudonymiser;
use crate::import::table::Format;
use crate::import::{ImportError, Importer, Target};
use crate::seed::Databases;

/// Everything an upload needs, shared by every request.
pub struct Uploads {
    pub authenticator: Authenticator,
    pub policy: Arc<Policy>,
    pub dbs: Databases,
    pub pseudonymiser: Pseudonymiser,
    pub audit: Arc<dyn AuditSink>,
    /// The gateway's kept answers, dropped after an upload that wrote rows.
    pub answers: Option<kotohub_cache::Cache>,
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
    /// One upload writes at a time: two writers of one SQLite file would make one of
    /// them fail half-way for nothing.
    pub writing: tokio::sync::Mutex<()>,
}

impl Uploads {
    pub fn new(
        authenticator: Authenticator,
        policy: Arc<Policy>,
        dbs: Databases,
        pseudonymiser: Pseudonymiser,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        Self {
            authenticator,
            policy,
            dbs,
            pseudonymiser,
            audit,
            answers: None,
            max_bytes: DEFAULT_MAX_BYTES,
            writing: tokio::sync::Mutex::new(()),
        }
    }
}

/// 512 MiB: a division's yearly file of a million rows is well under it.
pub const DEFAULT_MAX_BYTES: usize = 512 * 1024 * 1024;

/// The upload route.
pub fn router(uploads: Arc<Uploads>) -> Router {
    let limit = uploads.max_bytes;
    Router::new()
        .route("/import/{subgraph}/{kind}", post(upload))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(uploads)
}

/// A refused or failed upload: its status, code and message.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{ "message": self.message, "extensions": { "code": self.code } }]
        });
        (self.status, axum::Json(body)).into_response()
    }
}

async fn upload(
    State(uploads): State<Arc<Uploads>>,
    Path((subgraph, kind)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let headers = request.headers().clone();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let mut event = UploadEvent {
        principal: None,
        kind: kind.clone(),
        policies: Vec::new(),
    };
    let principal = match uploads.authenticator.authenticate(authorization).await {
        Ok(principal) => principal,
        Err(error) => {
            let refusal = Refusal::new(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                error.to_string(),
            );
            return event.refused(&uploads, refusal, started).await;
        }
    };
    event.principal = Some(&principal);
    let target = match Target::of(&subgraph, &kind) {
        Ok(target) => target,
        Err(unknown) => {
            let refusal =
                Refusal::new(StatusCode::NOT_FOUND, "UNKNOWN_IMPORT", unknown.to_string());
            return event.refused(&uploads, refusal, started).await;
        }
    };
    let owner = target.division().unwrap_or("*");
    let decision = uploads.policy.import(&principal, &subgraph, owner);
    event.policies = decision.policies.to_vec();
    if !decision.allowed {
        let refusal = Refusal::new(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("you may not import {} into {subgraph}", target.kind()),
        );
        return event.refused(&uploads, refusal, started).await;
    }
    let dry_run = params
        .get("dryRun")
        .is_some_and(|value| value == "true" || value == "1");
    let (bytes, format) = match file_of(request, &headers, &params, uploads.max_bytes).await {
        Ok(file) => file,
        Err(refusal) => return event.refused(&uploads, refusal, started).await,
    };
    let importer = Importer {
        pseudonymiser: &uploads.pseudonymiser,
        subject: &principal.subject,
        dry_run,
        today: chrono::Utc::now().date_naive(),
    };
    let division = target.division().and_then(|name| uploads.dbs.get(name));
    let imported = {
        let _writing = uploads.writing.lock().await;
        importer
            .import(
                target,
                &uploads.dbs.programme,
                division,
                &bytes,
                format,
                |_, _| {},
            )
            .await
    };
    let imported = match imported {
        Ok(imported) => imported,
        Err(error) => {
            let mut logged = error.access_log_event(
                &principal.subject,
                target.kind(),
                &bytes,
                started.elapsed(),
            );
            event.fill(&mut logged);
            let refusal = match &error {
                ImportError::Unreadable(unreadable) => Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "IMPORT_FILE_UNREADABLE",
                    unreadable.to_string(),
                ),
                ImportError::Database(cause) => {
                    // The database's words stay in the hub's log.
                    tracing::error!(error = %cause, kind = target.kind(), "an upload failed");
                    Refusal::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "IMPORT_FAILED",
                        "the import failed; batches written before the failure stand, and \
                         uploading the file again completes it",
                    )
                }
            };
            return match uploads.audit.record(logged).await {
                Ok(()) => refusal.into_response(),
                Err(_) => unlogged(),
            };
        }
    };
    let mut logged = imported.access_log_event(
        &principal.subject,
        target.kind(),
        dry_run,
        started.elapsed(),
    );
    event.fill(&mut logged);
    if uploads.audit.record(logged).await.is_err() {
        return unlogged();
    }
    let counts = imported.counts;
    if counts.inserted + counts.updated > 0
        && let Some(answers) = &uploads.answers
        && !answers.invalidate().await
    {
        tracing::warn!("kept answers could not be dropped after an upload");
    }
    let rejects: Vec<serde_json::Value> = imported
        .rejected
        .iter()
        .map(|r| json!({ "line": r.line, "column": r.column, "reason": r.reason }))
        .collect();
    let mut summary = imported.summary(target.kind(), dry_run, started.elapsed());
    summary.insert("rejects".to_owned(), rejects.into());
    axum::Json(summary).into_response()
}

/// The rows may be written, but the access log could not record it: the caller is
/// told, as the gateway tells a reader whose answer it withholds.
fn unlogged() -> Response {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "AUDIT_UNAVAILABLE",
        "the access log cannot record the upload; it is refused until it can",
    )
    .into_response()
}

/// Who uploads what, for the access-log event.
struct UploadEvent<'a> {
    /// The caller, once the token is verified.
    principal: Option<&'a Principal>,
    /// The kind as the path names it.
    kind: String,
    /// The rules that decided.
    policies: Vec<String>,
}

impl UploadEvent<'_> {
    /// Puts the caller and the rules that decided into `event`.
    fn fill(&self, event: &mut Event) {
        if let Some(principal) = self.principal {
            event.subject = Some(principal.subject.clone());
            event.roles = principal
                .roles
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect();
            event.bodies = principal.bodies.clone();
        }
        event.policies = self.policies.clone();
    }

    /// Records a refused upload and answers with `refusal`.
    async fn refused(&self, uploads: &Uploads, refusal: Refusal, started: Instant) -> Response {
        let mut event = Event {
            request_id: format!("upload-{}", uuid_like()),
            operation_type: Some("import".to_owned()),
            operation_name: Some(self.kind.chars().take(64).collect()),
            subgraphs: Vec::new(),
            decision: Decision::Refused,
            status: refusal.status.as_u16(),
            error_codes: vec![refusal.code.to_owned()],
            duration: started.elapsed(),
            ..Event::default()
        };
        self.fill(&mut event);
        match uploads.audit.record(event).await {
            Ok(()) => refusal.into_response(),
            Err(_) => unlogged(),
        }
    }
}

/// A random request id for an upload that has no run.
fn uuid_like() -> String {
    kotohub_auth::keys::random_key()
        .map(|key| key.chars().take(16).collect())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The uploaded file and its format, from a raw body or a multipart one.
async fn file_of(
    request: Request,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
    max_bytes: usize,
) -> Result<(Vec<u8>, Format), Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let named = match params.get("format").map(String::as_str) {
        Some("csv") => Some(Format::Csv),
        Some("jsonl") => Some(Format::JsonLines),
        Some(other) => {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "IMPORT_FORMAT",
                format!("{other:?} is not a format; use csv or jsonl"),
            ));
        }
        None => None,
    };
    let too_large = |_| {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "IMPORT_TOO_LARGE",
            "the file is larger than the hub accepts; split it",
        )
    };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &())
            .await
            .map_err(|rejection| {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "IMPORT_MULTIPART",
                    rejection.body_text(),
                )
            })?;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "IMPORT_MULTIPART", e.body_text()))?
        {
            let Some(file_name) = field.file_name().map(str::to_owned) else {
                continue;
            };
            let format = named
                .or_else(|| Format::of_name(&file_name))
                .ok_or_else(|| {
                    Refusal::new(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "IMPORT_FORMAT",
                        format!("{file_name}: name a .csv or a .jsonl file, or add ?format="),
                    )
                })?;
            let bytes = field.bytes().await.map_err(|e| {
                Refusal::new(StatusCode::BAD_REQUEST, "IMPORT_MULTIPART", e.body_text())
            })?;
            return Ok((bytes.to_vec(), format));
        }
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "IMPORT_MULTIPART",
            "the form has no file part",
        ));
    }
    let format = named
        .or(if content_type.starts_with("text/csv") {
            Some(Format::Csv)
        } else if content_type.starts_with("application/x-ndjson")
            || content_type.starts_with("application/jsonl")
        {
            Some(Format::JsonLines)
        } else {
            None
        })
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "IMPORT_FORMAT",
                "send Content-Type: text/csv or application/x-ndjson, or add ?format=csv|jsonl",
            )
        })?;
    let bytes = axum::body::to_bytes(request.into_body(), max_bytes)
        .await
        .map_err(too_large)?;
    Ok((bytes.to_vec(), format))
}
