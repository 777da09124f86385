//! What the gateway records of every request for the access log, and the sink it hands
//! each record to before answering. The gateway knows only this trait; Kotohub's
//! hash-chained log (`kotohub-audit`) implements it, and the gateway withholds an
//! answer whose record the sink could not store.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::errors::Code;

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

/// What the decision needs of an operation that was read.
#[derive(Debug, Clone, Copy)]
pub struct Ran {
    /// Refused before execution (a request error).
    pub refused: bool,
    /// The field rules left no field to read.
    pub read_nothing: bool,
}

/// What became of a request, from its status, its operation when one was read, and the
/// error codes of its answer.
pub fn decide(status: u16, ran: Option<Ran>, error_codes: &[String]) -> Decision {
    let server_error = (500..600).contains(&status);
    let Some(ran) = ran else {
        return if server_error {
            Decision::Failed
        } else {
            Decision::Refused
        };
    };
    let forbidden = error_codes
        .iter()
        .any(|code| code == Code::Forbidden.as_str());
    if server_error {
        // The gateway failed, not the request.
        Decision::Failed
    } else if ran.refused || !(200..300).contains(&status) || (ran.read_nothing && forbidden) {
        Decision::Refused
    } else if forbidden {
        Decision::Partial
    } else if !error_codes.is_empty() {
        Decision::Failed
    } else {
        Decision::Allowed
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const READ: Ran = Ran {
        refused: false,
        read_nothing: false,
    };

    fn codes(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn an_answer_without_errors_is_allowed() {
        assert_eq!(decide(200, Some(READ), &[]), Decision::Allowed);
    }

    #[test]
    fn an_answer_without_the_denied_fields_is_partial() {
        assert_eq!(
            decide(200, Some(READ), &codes(&["FORBIDDEN"])),
            Decision::Partial
        );
    }

    #[test]
    fn an_operation_left_with_nothing_to_read_is_refused() {
        let nothing = Ran {
            read_nothing: true,
            ..READ
        };
        assert_eq!(
            decide(200, Some(nothing), &codes(&["FORBIDDEN"])),
            Decision::Refused
        );
    }

    #[test]
    fn a_request_error_is_refused_even_with_status_200() {
        let refused = Ran {
            refused: true,
            ..READ
        };
        let bad = codes(&["GRAPHQL_VALIDATION_FAILED"]);
        assert_eq!(decide(200, Some(refused), &bad), Decision::Refused);
    }

    #[test]
    fn a_subgraph_failure_in_an_answer_is_failed() {
        let failed = codes(&["SUBGRAPH_UNAVAILABLE"]);
        assert_eq!(decide(200, Some(READ), &failed), Decision::Failed);
    }

    #[test]
    fn the_gateway_failing_is_failed_not_refused() {
        assert_eq!(decide(500, Some(READ), &[]), Decision::Failed);
        assert_eq!(decide(500, None, &[]), Decision::Failed);
    }

    #[test]
    fn a_request_never_read_as_an_operation_is_refused() {
        assert_eq!(
            decide(401, None, &codes(&["UNAUTHENTICATED"])),
            Decision::Refused
        );
    }
}
