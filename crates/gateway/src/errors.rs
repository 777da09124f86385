//! The pipeline's one error type: errors as they go into a GraphQL response — message,
//! locations, path and a stable `extensions.code` (plus `extensions.service` when a
//! subgraph is to blame) — and [`Code`], every code the gateway gives with the HTTP
//! status a request refused with it gets. Internal details never go in; they go to the
//! log.

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::validate::{Location, RequestError};

/// Every error code the gateway gives. The strings are part of the API: clients and
/// the access log's readers match on them, so they never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    // The request could not be read.
    BadRequest,
    MissingQuery,
    BatchNotAccepted,
    RequestTooLarge,
    UnsupportedMediaType,
    MethodNotAllowed,
    // Who is asking, and how often.
    Unauthenticated,
    AuthenticationUnavailable,
    RateLimited,
    // The document.
    ParseFailed,
    ValidationFailed,
    UnknownOperation,
    TooDeep,
    TooManyAliases,
    TooManyRootFields,
    BadVariables,
    PersistedNotFound,
    PersistedMismatch,
    NotInSafelist,
    // The field rules.
    Forbidden,
    // Planning and execution.
    /// A subscription: the gateway answers queries and mutations over HTTP only.
    SubscriptionsNotSupported,
    PlanningFailed,
    IntrospectionFailed,
    UnsupportedPlan,
    SubgraphUnavailable,
    SubgraphBadResponse,
    SubgraphError,
    NullInNonNullField,
    /// A subgraph's leaf value that is no value of the field's type in the API schema.
    InvalidValue,
    // Saved queries and their exports.
    SavedQueryNotFound,
    SavedQueryArchived,
    SavedQueriesUnavailable,
    SavedQueryRunNotAlone,
    CsvTooLarge,
    // The gateway failed, not the request.
    AuditUnavailable,
    Internal,
}

impl Code {
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::BadRequest => "BAD_REQUEST",
            Code::MissingQuery => "MISSING_QUERY",
            Code::BatchNotAccepted => "BATCH_NOT_ACCEPTED",
            Code::RequestTooLarge => "REQUEST_TOO_LARGE",
            Code::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            Code::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::AuthenticationUnavailable => "AUTHENTICATION_UNAVAILABLE",
            Code::RateLimited => "RATE_LIMITED",
            Code::ParseFailed => "GRAPHQL_PARSE_FAILED",
            Code::ValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Code::UnknownOperation => "OPERATION_NOT_FOUND",
            Code::TooDeep => "MAX_DEPTH_EXCEEDED",
            Code::TooManyAliases => "MAX_ALIASES_EXCEEDED",
            Code::TooManyRootFields => "MAX_ROOT_FIELDS_EXCEEDED",
            Code::BadVariables => "BAD_VARIABLE_VALUES",
            Code::PersistedNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::PersistedMismatch => "PERSISTED_QUERY_HASH_MISMATCH",
            Code::NotInSafelist => "OPERATION_NOT_IN_SAFELIST",
            Code::Forbidden => "FORBIDDEN",
            Code::SubscriptionsNotSupported => "SUBSCRIPTIONS_NOT_SUPPORTED",
            Code::PlanningFailed => "PLANNING_FAILED",
            Code::IntrospectionFailed => "INTROSPECTION_FAILED",
            Code::UnsupportedPlan => "UNSUPPORTED_PLAN",
            Code::SubgraphUnavailable => "SUBGRAPH_UNAVAILABLE",
            Code::SubgraphBadResponse => "SUBGRAPH_BAD_RESPONSE",
            Code::SubgraphError => "SUBGRAPH_ERROR",
            Code::NullInNonNullField => "NULL_IN_NON_NULL_FIELD",
            Code::InvalidValue => "SUBGRAPH_INVALID_VALUE",
            Code::SavedQueryNotFound => "SAVED_QUERY_NOT_FOUND",
            Code::SavedQueryArchived => "SAVED_QUERY_ARCHIVED",
            Code::SavedQueriesUnavailable => "SAVED_QUERIES_UNAVAILABLE",
            Code::SavedQueryRunNotAlone => "SAVED_QUERY_RUN_NOT_ALONE",
            Code::CsvTooLarge => "CSV_TOO_LARGE",
            Code::AuditUnavailable => "AUDIT_UNAVAILABLE",
            Code::Internal => "INTERNAL_SERVER_ERROR",
        }
    }

    /// The one table from a code to the HTTP status of a request refused with it. Codes
    /// that fall through are request errors the GraphQL-over-HTTP spec answers with 400
    /// (200 for `application/json` clients: the HTTP layer decides that). Codes of
    /// errors inside a partial answer never set a status: such answers are 200.
    pub fn status(self) -> StatusCode {
        match self {
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::Forbidden => StatusCode::FORBIDDEN,
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

/// Every code, for [`Code::parse`].
const ALL: [Code; 36] = [
    Code::BadRequest,
    Code::MissingQuery,
    Code::BatchNotAccepted,
    Code::RequestTooLarge,
    Code::UnsupportedMediaType,
    Code::MethodNotAllowed,
    Code::Unauthenticated,
    Code::AuthenticationUnavailable,
    Code::RateLimited,
    Code::ParseFailed,
    Code::ValidationFailed,
    Code::UnknownOperation,
    Code::TooDeep,
    Code::TooManyAliases,
    Code::TooManyRootFields,
    Code::BadVariables,
    Code::PersistedNotFound,
    Code::PersistedMismatch,
    Code::NotInSafelist,
    Code::Forbidden,
    Code::SubscriptionsNotSupported,
    Code::PlanningFailed,
    Code::IntrospectionFailed,
    Code::UnsupportedPlan,
    Code::SubgraphUnavailable,
    Code::SubgraphBadResponse,
    Code::SubgraphError,
    Code::NullInNonNullField,
    Code::InvalidValue,
    Code::SavedQueryNotFound,
    Code::SavedQueryArchived,
    Code::SavedQueriesUnavailable,
    Code::SavedQueryRunNotAlone,
    Code::CsvTooLarge,
    Code::AuditUnavailable,
    Code::Internal,
];

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
        for code in ALL {
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
            .into_iter()
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
