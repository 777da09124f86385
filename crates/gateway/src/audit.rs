//! The audit step, last in the request flow: what the gateway learns of a request for
//! the access log while handling it ([`Seen`], the pipeline's [`Facts`]), the one place
//! that turns it into the record ([`Event::of`], with its [`Decision`]), and the sink it
//! hands each record to before answering. The gateway knows only the [`AuditSink`]
//! trait; Kotohub's hash-chained log (`kotohub-audit`) implements it, and the gateway
//! withholds an answer whose record the sink could not store.

use std::collections::BTreeSet;
use std::time::Duration;

use apollo_compiler::executable::OperationType;
use futures_util::future::BoxFuture;
use kotohub_auth::Principal;

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
    /// `Type.field` of the fields the policy cut from the operation.
    pub denied_fields: Vec<String>,
    /// The answer left as a file (a CSV export) rather than as a GraphQL response.
    pub as_file: bool,
    /// The purpose the caller stated.
    pub purpose: Option<String>,
    /// The emergency access the operation ran under.
    pub emergency_access: Option<String>,
    /// The classes of data (the schema's marks) of the fields it was allowed to read.
    pub classes: Vec<String>,
}

/// What the pipeline learns of an operation for the access log, besides its answer.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub operation_name: Option<String>,
    /// SHA-256 of the operation as apollo-compiler prints it.
    pub document_hash: Option<String>,
    /// SHA-256 of the variables as sent; their values are never kept.
    pub variables_hash: Option<String>,
    /// `Type.field` of every field the caller was allowed to read.
    pub fields: BTreeSet<String>,
    /// Ids of the policy rules that allowed them.
    pub policies: BTreeSet<String>,
    /// `Type.field` of the fields the policy cut.
    pub denied: BTreeSet<String>,
    /// Clients whose person-level data the subgraphs returned.
    pub clients: BTreeSet<String>,
    /// Aggregate cells the subgraphs suppressed.
    pub suppressed_cells: i64,
    /// The saved query run, and its version.
    pub saved_query: Option<(String, i32)>,
    /// The purpose the caller stated (or the saved query's default).
    pub purpose: Option<String>,
    /// The emergency access the operation ran under.
    pub emergency_access: Option<String>,
    /// The classes of data of the fields the caller was allowed to read.
    pub classes: BTreeSet<String>,
}

/// An operation the gateway read (and ran, unless it refused it), as the log sees it.
#[derive(Debug, Clone, Default)]
pub struct Operation {
    /// The kind of the chosen operation, when one was chosen.
    pub kind: Option<OperationType>,
    /// Refused before execution (a request error in the spec's terms).
    pub refused: bool,
    pub facts: Facts,
    /// Subgraphs called while executing.
    pub subgraphs: BTreeSet<String>,
    /// Rows of person-level data in the answer.
    pub rows: i64,
}

/// What the access log learns of a request while it is handled.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    /// The verified caller, once authenticated.
    pub principal: Option<Principal>,
    /// The operation, once the request was read as one.
    pub operation: Option<Operation>,
}

/// How a request ended, as the HTTP layer knows it.
#[derive(Debug, Clone, Default)]
pub struct Ending {
    pub request_id: String,
    pub trace_id: Option<String>,
    pub client_address: Option<String>,
    pub status: u16,
    /// The codes of the answer's errors, in order.
    pub error_codes: Vec<String>,
    pub duration: Duration,
    /// The answer left as a file (a CSV export).
    pub as_file: bool,
}

impl Event {
    /// The record of a request: made here and nowhere else.
    pub fn of(ending: Ending, seen: Seen) -> Event {
        let decision = decide(ending.status, seen.operation.as_ref(), &ending.error_codes);
        let mut event = Event {
            request_id: ending.request_id,
            trace_id: ending.trace_id,
            client_address: ending.client_address,
            status: ending.status,
            duration: ending.duration,
            error_codes: ending.error_codes,
            as_file: ending.as_file,
            decision,
            ..Event::default()
        };
        if let Some(principal) = seen.principal {
            event.subject = Some(principal.subject);
            event.roles = principal
                .roles
                .iter()
                .map(|role| role.as_str().to_owned())
                .collect();
            event.bodies = principal.bodies;
        }
        if let Some(operation) = seen.operation {
            let facts = operation.facts;
            event.operation_type = operation.kind.map(|kind| kind.to_string());
            event.operation_name = facts.operation_name;
            event.document_hash = facts.document_hash;
            event.variables_hash = facts.variables_hash;
            event.fields = facts.fields.into_iter().collect();
            event.denied_fields = facts.denied.into_iter().collect();
            event.policies = facts.policies.into_iter().collect();
            event.subgraphs = operation.subgraphs.into_iter().collect();
            event.client_ids = facts.clients.into_iter().collect();
            event.suppressed_cells = facts.suppressed_cells;
            event.saved_query = facts.saved_query;
            event.purpose = facts.purpose;
            event.emergency_access = facts.emergency_access;
            event.classes = facts.classes.into_iter().collect();
            event.row_count = operation.rows;
        }
        event
    }
}

/// The log could not store an event; the operation's answer must not be sent.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the access log cannot be written")]
pub struct Unavailable;

/// What became of a request, from its status, its operation when one was read, and the
/// error codes of its answer.
fn decide(status: u16, operation: Option<&Operation>, error_codes: &[String]) -> Decision {
    let server_error = (500..600).contains(&status);
    let Some(operation) = operation else {
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
    } else if operation.refused
        || !(200..300).contains(&status)
        || (operation.facts.fields.is_empty() && forbidden)
    {
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

    /// Whether a record could be stored now, for the readiness probe; `Err` says why not,
    /// in words fit for a probe's answer (no database's own message).
    fn ready(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
}

/// Hex SHA-256 of `bytes`: how documents, persisted operations and supergraphs are named.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An operation that read one field.
    fn read() -> Operation {
        Operation {
            kind: Some(OperationType::Query),
            facts: Facts {
                fields: BTreeSet::from(["Query.client".to_owned()]),
                ..Facts::default()
            },
            ..Operation::default()
        }
    }

    fn codes(codes: &[&str]) -> Vec<String> {
        codes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn an_answer_without_errors_is_allowed() {
        assert_eq!(decide(200, Some(&read()), &[]), Decision::Allowed);
    }

    #[test]
    fn an_answer_without_the_denied_fields_is_partial() {
        assert_eq!(
            decide(200, Some(&read()), &codes(&["FORBIDDEN"])),
            Decision::Partial
        );
    }

    #[test]
    fn an_operation_left_with_nothing_to_read_is_refused() {
        let nothing = Operation {
            facts: Facts::default(),
            ..read()
        };
        assert_eq!(
            decide(200, Some(&nothing), &codes(&["FORBIDDEN"])),
            Decision::Refused
        );
    }

    #[test]
    fn a_request_error_is_refused_even_with_status_200() {
        let refused = Operation {
            refused: true,
            ..read()
        };
        let bad = codes(&["GRAPHQL_VALIDATION_FAILED"]);
        assert_eq!(decide(200, Some(&refused), &bad), Decision::Refused);
    }

    #[test]
    fn a_subgraph_failure_in_an_answer_is_failed() {
        let failed = codes(&["SUBGRAPH_UNAVAILABLE"]);
        assert_eq!(decide(200, Some(&read()), &failed), Decision::Failed);
    }

    #[test]
    fn the_gateway_failing_is_failed_not_refused() {
        assert_eq!(decide(500, Some(&read()), &[]), Decision::Failed);
        assert_eq!(decide(500, None, &[]), Decision::Failed);
    }

    #[test]
    fn a_request_never_read_as_an_operation_is_refused() {
        assert_eq!(
            decide(401, None, &codes(&["UNAUTHENTICATED"])),
            Decision::Refused
        );
    }

    fn ending(status: u16) -> Ending {
        Ending {
            request_id: "r-1".into(),
            status,
            duration: Duration::from_millis(3),
            ..Ending::default()
        }
    }

    #[test]
    fn a_request_never_read_keeps_only_who_asked_and_how_it_ended() {
        let seen = Seen {
            principal: Some(Principal::new(
                "officer-7",
                [kotohub_auth::Role::Officer],
                ["ohjaamo".to_owned()],
                None,
            )),
            operation: None,
        };
        let mut ended = ending(413);
        ended.error_codes = codes(&["REQUEST_TOO_LARGE"]);
        let event = Event::of(ended, seen);
        assert_eq!(event.subject.as_deref(), Some("officer-7"));
        assert_eq!(event.roles, ["officer"]);
        assert_eq!(event.bodies, ["ohjaamo"]);
        assert_eq!(event.operation_type, None);
        assert!(event.fields.is_empty());
        assert_eq!(event.error_codes, ["REQUEST_TOO_LARGE"]);
        assert_eq!(event.decision, Decision::Refused);
    }

    #[test]
    fn an_operation_record_carries_what_it_read_sorted() {
        let mut operation = read();
        operation.facts.operation_name = Some("Clients".into());
        operation.facts.fields.insert("Client.name".into());
        operation.facts.clients = BTreeSet::from(["c-2".to_owned(), "c-1".to_owned()]);
        operation.subgraphs = BTreeSet::from(["social".to_owned(), "education".to_owned()]);
        operation.rows = 2;
        let seen = Seen {
            principal: None,
            operation: Some(operation),
        };
        let event = Event::of(ending(200), seen);
        assert_eq!(event.operation_type.as_deref(), Some("query"));
        assert_eq!(event.operation_name.as_deref(), Some("Clients"));
        assert_eq!(event.fields, ["Client.name", "Query.client"]);
        assert_eq!(event.client_ids, ["c-1", "c-2"]);
        assert_eq!(event.subgraphs, ["education", "social"]);
        assert_eq!(event.row_count, 2);
        assert_eq!(event.decision, Decision::Allowed);
        assert_eq!(event.subject, None);
    }
}
