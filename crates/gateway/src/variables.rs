//! Variable coercion, the step between validation and authorization: the request's raw
//! variables checked against the operation's declarations and given their defaults, in
//! the two forms the later steps read (apollo-compiler's for introspection, `serde_json`'s
//! for plans, conditions and fetches). A variable that does not fit is a request error.

use apollo_compiler::executable::Operation;
use apollo_compiler::response::JsonMap;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Node, Schema};
use serde_json::{Map, Value};

use crate::errors::{Code, GraphQLError};
use crate::validate::ValidOperation;

/// An operation's variables once coerced.
pub struct Coerced {
    pub apollo: Valid<JsonMap>,
    pub json: Map<String, Value>,
}

/// Coerces `raw` for `operation` (one of `valid`'s operations) against `schema`.
pub fn coerce(
    schema: &Valid<Schema>,
    valid: &ValidOperation,
    operation: &Node<Operation>,
    raw: &Map<String, Value>,
) -> Result<Coerced, Box<GraphQLError>> {
    let as_bytes = match serde_json_bytes::Value::from(Value::Object(raw.clone())) {
        serde_json_bytes::Value::Object(map) => map,
        _ => Default::default(),
    };
    let apollo = apollo_compiler::request::coerce_variable_values(schema, operation, &as_bytes)
        .map_err(|error| {
            let json = error.to_graphql_error(&valid.document.sources);
            GraphQLError::new(json.message, Code::BadVariables)
        })?;
    let json = match serde_json::to_value(apollo.clone().into_inner()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Coerced { apollo, json })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supergraph::Supergraph;
    use crate::validate::{Limits, validate};

    const SUPERGRAPH: &str = include_str!("../../../schema/bench/supergraph.graphql");
    const QUERY: &str = "query Top($first: Int = 5) { topProducts(first: $first) { upc } }";

    fn coerce_raw(raw: Value) -> Result<Coerced, Box<GraphQLError>> {
        let supergraph = Supergraph::parse(SUPERGRAPH).expect("the bench supergraph");
        let schema = supergraph.api_schema();
        let valid = validate(schema, QUERY, None, &Limits::default()).expect("a valid query");
        let Value::Object(raw) = raw else {
            panic!("variables are an object")
        };
        coerce(schema, &valid, valid.operation(), &raw)
    }

    #[test]
    fn a_variable_left_out_takes_its_default() {
        let coerced = coerce_raw(serde_json::json!({})).expect("coerced");
        assert_eq!(coerced.json.get("first"), Some(&Value::from(5)));
    }

    #[test]
    fn a_variable_of_the_wrong_type_is_a_request_error() {
        let error = coerce_raw(serde_json::json!({ "first": "five" }))
            .err()
            .expect("refused");
        assert_eq!(error.gateway_code(), Some(Code::BadVariables));
        assert!(error.message.contains("first"), "{}", error.message);
    }
}
