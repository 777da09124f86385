//! Errors as they go into a GraphQL response: message, locations, path and a stable
//! `extensions.code` (plus `extensions.service` when a subgraph is to blame). Internal
//! details never go in; they go to the log.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::validate::{Location, RequestError};

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
    pub fn new(message: impl Into<String>, code: &str) -> Self {
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::String(code.to_owned()));
        Self {
            message: message.into(),
            locations: Vec::new(),
            path: None,
            extensions,
        }
    }

    pub fn at_path(message: impl Into<String>, code: &str, path: Vec<Value>) -> Self {
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
}

impl From<RequestError> for GraphQLError {
    fn from(error: RequestError) -> Self {
        Self {
            locations: error.locations,
            ..Self::new(error.message, error.code)
        }
    }
}
