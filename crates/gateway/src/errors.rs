//! The pipeline's one error type: errors as they go into a GraphQL response — message,
//! locations, path and a stable `extensions.code` (plus `extensions.service` when a
//! subgraph is to blame) — and [`Code`], every code the gateway gives with the HTTP
//! status a request refused with it gets. Internal details never go in; they go to the
//! log.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::validate::{Location, RequestError};

/// Declares [`Code`], its strings and [`ALL`] from one list, so that no code lacks a
/// string or is missing from the list [`Code::parse`] reads.
macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident => $text:literal,)*) => {
        /// Every error code the gateway gives. The strings are part of the API: clients
        /// and the access log's readers match on them, so they never change.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        /// Every code, for [`Code::parse`].
        const ALL: &[Code] = &[$(Code::$name,)*];

        impl Code {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $text,)*
                }
            }
        }
    };
}

codes! {
    // The request could not be read.
    BadRequest => "BAD_REQUEST",
    MissingQuery => "MISSING_QUERY",
    BatchNotAccepted => "BATCH_NOT_ACCEPTED",
    RequestTooLarge => "REQUEST_TOO_LARGE",
    UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
    MethodNotAllowed => "METHOD_NOT_ALLOWED",
    // Who is asking, and how often.
    Unauthenticated => "UNAUTHENTICATED",
    AuthenticationUnavailable => "AUTHENTICATION_UNAVAILABLE",
    RateLimited => "RATE_LIMITED",
    // The document.
    ParseFailed => "GRAPHQL_PARSE_FAILED",
    ValidationFailed => "GRAPHQL_VALIDATION_FAILED",
    UnknownOperation => "OPERATION_NOT_FOUND",
    TooDeep => "MAX_DEPTH_EXCEEDED",
    TooManyAliases => "MAX_ALIASES_EXCEEDED",
    TooManyRootFields => "MAX_ROOT_FIELDS_EXCEEDED",
    BadVariables => "BAD_VARIABLE_VALUES",
    PersistedNotFound => "PERSISTED_QUERY_NOT_FOUND",
    PersistedMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
    NotInSafelist => "OPERATION_NOT_IN_SAFELIST",
    // The field rules, and what a person-level read must state.
    Forbidden => "FORBIDDEN",
    /// Person-level data was asked for without a stated purpose.
    PurposeRequired => "PURPOSE_REQUIRED",
    /// The stated purpose is not one of the configured purposes.
    UnknownPurpose => "UNKNOWN_PURPOSE",
    /// The emergency access named is unknown, expired, or another officer's.
    EmergencyAccessInvalid => "EMERGENCY_ACCESS_INVALID",
    // Planning and execution.
    /// A subscription: the gateway answers queries and mutations over HTTP only.
    SubscriptionsNotSupported => "SUBSCRIPTIONS_NOT_SUPPORTED",
    PlanningFailed => "PLANNING_FAILED",
    IntrospectionFailed => "INTROSPECTION_FAILED",
    UnsupportedPlan => "UNSUPPORTED_PLAN",
    SubgraphUnavailable => "SUBGRAPH_UNAVAILABLE",
    SubgraphBadResponse => "SUBGRAPH_BAD_RESPONSE",
    SubgraphError => "SUBGRAPH_ERROR",
    NullInNonNullField => "NULL_IN_NON_NULL_FIELD",
    /// A subgraph's leaf value that is no value of the field's type in the API schema.
    InvalidValue => "SUBGRAPH_INVALID_VALUE",
    // Saved queries and their exports.
    SavedQueryNotFound => "SAVED_QUERY_NOT_FOUND",
    SavedQueryArchived => "SAVED_QUERY_ARCHIVED",
    SavedQueriesUnavailable => "SAVED_QUERIES_UNAVAILABLE",
    SavedQueryRunNotAlone => "SAVED_QUERY_RUN_NOT_ALONE",
    CsvTooLarge => "CSV_TOO_LARGE",
    // The gateway failed, not the request.
    AuditUnavailable => "AUDIT_UNAVAILABLE",
    Internal => "INTERNAL_SERVER_ERROR",
}

impl Code {
    /// The one table from a code to the HTTP status of a request refused with it. Codes
    /// that fall through are request errors the GraphQL-over-HTTP spec answers with 400
    /// (200 for `application/json` clients: the HTTP layer decides that). Codes of
    /// errors inside a partial answer never set a status: such answers are 200.
    pub fn status(self) -> StatusCode {
        match self {
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::Forbidden | Code::PurposeRequired | Code::EmergencyAccessInvalid => {
                StatusCode::FORBIDDEN
            }
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::RequestTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::CsvTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::SavedQueryNotFound => StatusCode::NOT_FOUND,
            Code::SavedQueryArchived => StatusCode::GONE,
            Code::AuthenticationUnavailable
            | Code::AuditUnavailable
            | Code::SavedQueriesUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Code::BadRequest
            | Code::MissingQuery
            | Code::BatchNotAccepted
            | Code::ParseFailed
            | Code::ValidationFailed
            | Code::UnknownOperation
            | Code::TooDeep
            | Code::TooManyAliases
            | Code::TooManyRootFields
            | Code::BadVariables
            | Code::PersistedNotFound
            | Code::PersistedMismatch
            | Code::NotInSafelist
            | Code::UnknownPurpose
            | Code::SubscriptionsNotSupported
            | Code::PlanningFailed
            | Code::IntrospectionFailed
            | Code::UnsupportedPlan
            | Code::SubgraphUnavailable
            | Code::SubgraphBadResponse
            | Code::SubgraphError
            | Code::NullInNonNullField
            | Code::InvalidValue
            | Code::SavedQueryRunNotAlone => StatusCode::BAD_REQUEST,
        }
    }

    /// The code named `text`, when the gateway gives it; a subgraph's own codes are not.
    pub fn parse(text: &str) -> Option<Code> {
        ALL.iter().copied().find(|code| code.as_str() == text)
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphQLError {
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<Vec<Value>>,
    pub extensions: Map<String, Value>,
}

impl GraphQLError {
    pub fn new(message: impl Into<String>, code: Code) -> Self {
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::String(code.as_str().to_owned()));
        Self {
            message: message.into(),
            locations: Vec::new(),
            path: None,
            extensions,
        }
    }

    pub fn at_path(message: impl Into<String>, code: Code, path: Vec<Value>) -> Self {
        Self {
            path: Some(path),
            ..Self::new(message, code)
        }
    }

    /// Names the subgraph the error came from.
    pub fn from_service(mut self, service: &str) -> Self {
        self.extensions
            .insert("service".into(), Value::String(service.to_owned()));
        self
    }

    pub fn code(&self) -> Option<&str> {
        self.extensions.get("code").and_then(Value::as_str)
    }

    /// The gateway's code of the error, when the gateway gave it.
    pub fn gateway_code(&self) -> Option<Code> {
        self.code().and_then(Code::parse)
    }
}

impl From<RequestError> for GraphQLError {
    fn from(error: RequestError) -> Self {
        Self {
            locations: error.locations,
            ..Self::new(error.message, error.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_as_itself() {
        for &code in ALL {
            assert_eq!(Code::parse(code.as_str()), Some(code));
        }
        let mut texts: Vec<&str> = ALL.iter().map(|code| code.as_str()).collect();
        texts.sort_unstable();
        texts.dedup();
        assert_eq!(texts.len(), ALL.len(), "two codes share a string");
    }

    #[test]
    fn a_subgraphs_own_code_is_not_the_gateways() {
        assert_eq!(Code::parse("DIVISION_OFFLINE"), None);
    }

    #[test]
    fn only_the_gateways_failures_are_server_errors() {
        let server: Vec<Code> = ALL
            .iter()
            .copied()
            .filter(|code| code.status().is_server_error())
            .collect();
        assert_eq!(
            server,
            [
                Code::AuthenticationUnavailable,
                Code::SavedQueriesUnavailable,
                Code::AuditUnavailable,
                Code::Internal
            ]
        );
    }

    #[test]
    fn the_code_goes_into_the_extensions() {
        let error = GraphQLError::new("no", Code::Forbidden);
        assert_eq!(error.code(), Some("FORBIDDEN"));
        assert_eq!(error.gateway_code(), Some(Code::Forbidden));
    }
}
