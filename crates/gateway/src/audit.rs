//! What the gateway records of every request for the access log, and the sink it hands
//! each record to before answering. The gateway knows only this trait; Kotohub's
//! hash-chained log (`kotohub-audit`) implements it, and the gateway withholds an
//! answer whose record the sink could not store.

use std::time::Duration;

use futures_util::future::BoxFuture;

/// What became of an operation, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decision {
    /// Answered in full.
    #[default]
    Allowed,
    /// Answered without the fields the policy denied.
    Partial,
    /// Not run: unauthenticated, invalid, or nothing in it readable.
    Refused,
    /// Run, but a part of it failed (a subgraph error, a timeout).
    Failed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allowed => "allowed",
            Decision::Partial => "partial",
            Decision::Refused => "refused",
            Decision::Failed => "failed",
        }
    }
}

/// One operation as the gateway saw it. Lists are stored sorted and without repeats.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub request_id: String,
    pub trace_id: Option<String>,
    pub subject: Option<String>,
    pub roles: Vec<String>,
    pub bodies: Vec<String>,
    pub client_address: Option<String>,
    pub operation_type: Option<String>,
    pub operation_name: Option<String>,
    pub document_hash: Option<String>,
    pub saved_query: Option<(String, i32)>,
    pub variables_hash: Option<String>,
    pub subgraphs: Vec<String>,
    pub fields: Vec<String>,
    pub client_ids: Vec<String>,
    pub row_count: i64,
    pub suppressed_cells: i64,
    pub decision: Decision,
    pub policies: Vec<String>,
    pub status: u16,
    pub error_codes: Vec<String>,
    pub duration: Duration,
}

/// The log could not store an event; the operation's answer must not be sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the access log cannot be written")]
pub struct Unavailable;

/// Where the gateway's records go.
pub trait AuditSink: Send + Sync {
    /// Stores `event`, returning once it is durable.
    fn record(&self, event: Event) -> BoxFuture<'_, Result<(), Unavailable>>;

    /// Records waiting to be stored, for the metrics.
    fn queue_depth(&self) -> usize;
}

/// Hex SHA-256 of `bytes`: how documents, persisted operations and supergraphs are named.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
