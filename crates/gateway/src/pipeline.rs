//! One request through the gateway's steps, in order: validate the operation, coerce its
//! variables, cut what the caller may not read ([`crate::authorize`]), answer
//! introspection from the API schema, plan the rest, execute the plan with the caller's
//! signed principal, and project the merged answers onto the operation. Each step can
//! stop the request with errors; only the field rules and execution produce partial data.

use std::collections::BTreeSet;
use std::sync::Arc;

use apollo_compiler::collections::HashMap;
use apollo_compiler::executable::OperationType;
use apollo_compiler::parser::Parser;
use apollo_compiler::schema::Implementers;
use apollo_compiler::{Name, ast};
use kotohub_auth::Principal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::authorize::{Access, authorize};
use crate::errors::GraphQLError;
use crate::execute::{Subgraphs, execute};
use crate::plan::{PlanError, QueryPlanner};
use crate::project::{Projection, merge_objects};
use crate::supergraph::Supergraph;
use crate::validate::{Limits, validate};

/// Codes of this step.
pub mod code {
    pub const MISSING_QUERY: &str = "MISSING_QUERY";
    pub const BAD_VARIABLES: &str = "BAD_VARIABLE_VALUES";
    pub const PLANNING_FAILED: &str = "PLANNING_FAILED";
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
}

/// A GraphQL request as the HTTP layer hands it over.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphQLRequest {
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Map<String, Value>>,
    #[serde(default)]
    pub extensions: Option<Map<String, Value>>,
}

/// A GraphQL response. `data` is absent when the request failed before execution.
#[derive(Debug, Clone, Serialize)]
pub struct GraphQLResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<GraphQLError>,
}

/// What the HTTP layer needs to know besides the response.
#[derive(Debug)]
pub struct Outcome {
    pub response: GraphQLResponse,
    /// The request was refused before execution (a request error in the spec's terms).
    pub refused: bool,
    /// The kind of the chosen operation, when one was chosen.
    pub kind: Option<OperationType>,
    /// Subgraphs called while executing.
    pub subgraphs: BTreeSet<String>,
    /// What the access log records of the operation.
    pub facts: Facts,
}

/// What the access log needs to know of an operation, besides its answer.
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
    /// Fields the policy cut.
    pub denied: usize,
    /// Clients whose person-level data the subgraphs returned.
    pub clients: BTreeSet<String>,
    /// Aggregate cells the subgraphs suppressed.
    pub suppressed_cells: i64,
}

impl Outcome {
    fn refused(errors: Vec<GraphQLError>, kind: Option<OperationType>) -> Self {
        Self {
            response: GraphQLResponse { data: None, errors },
            refused: true,
            kind,
            subgraphs: BTreeSet::new(),
            facts: Facts::default(),
        }
    }

    fn with_facts(mut self, facts: &Facts) -> Self {
        self.facts = facts.clone();
        self
    }
}

/// The gateway: the supergraph, its planner, the subgraphs and the request bounds.
pub struct Gateway {
    supergraph: Arc<Supergraph>,
    planner: Arc<dyn QueryPlanner>,
    subgraphs: Subgraphs,
    limits: Limits,
    implementers: HashMap<Name, Implementers>,
    access: Option<Access>,
    audit: Option<kotohub_audit::AuditLog>,
}

impl Gateway {
    /// The kind of the operation a request would run, when it is not a query; read from
    /// the parsed document alone, before validation.
    fn non_query_kind(&self, query: &str, operation_name: Option<&str>) -> Option<OperationType> {
        let ast = Parser::new()
            .token_limit(self.limits.max_tokens)
            .recursion_limit(self.limits.max_recursion)
            .parse_ast(query, "operation.graphql")
            .ok()?;
        ast.definitions
            .iter()
            .filter_map(|definition| match definition {
                ast::Definition::OperationDefinition(operation) => Some(operation),
                _ => None,
            })
            .find(|operation| {
                operation_name.is_none_or(|name| operation.name.as_deref() == Some(name))
            })
            .map(|operation| operation.operation_type)
            .filter(|kind| *kind != OperationType::Query)
    }

    pub fn new(
        supergraph: Arc<Supergraph>,
        planner: Arc<dyn QueryPlanner>,
        subgraphs: Subgraphs,
        limits: Limits,
    ) -> Self {
        let implementers = supergraph.api_schema().implementers_map();
        Self {
            supergraph,
            planner,
            subgraphs,
            limits,
            implementers,
            access: None,
            audit: None,
        }
    }

    /// Requires a verified caller on every request and applies the access policy. A
    /// gateway without it serves anyone: only for development and conformance testing.
    pub fn with_access(mut self, access: Access) -> Self {
        self.access = Some(access);
        self
    }

    /// How callers are checked, unless authentication is switched off.
    pub fn access(&self) -> Option<&Access> {
        self.access.as_ref()
    }

    /// Records every operation in `log` before answering it; an operation whose record
    /// cannot be stored is answered with no data.
    pub fn with_audit(mut self, log: kotohub_audit::AuditLog) -> Self {
        self.audit = Some(log);
        self
    }

    /// The access log, when operations are recorded.
    pub fn audit(&self) -> Option<&kotohub_audit::AuditLog> {
        self.audit.as_ref()
    }

    /// Runs `request` as `principal`, who must be given when the gateway has [`Access`].
    /// `allow_mutations` is false for GET requests, which must not change anything.
    pub async fn run(
        &self,
        request: &GraphQLRequest,
        allow_mutations: bool,
        principal: Option<&Principal>,
    ) -> Outcome {
        let Some(query) = request.query.as_deref() else {
            return Outcome::refused(
                vec![GraphQLError::new(
                    "the request has no query",
                    code::MISSING_QUERY,
                )],
                None,
            );
        };
        let schema = self.supergraph.api_schema();
        if !allow_mutations
            && let Some(kind) = self.non_query_kind(query, request.operation_name.as_deref())
        {
            // GET never changes anything: refuse before spending validation on it.
            let message = "only queries may be sent with GET; send mutations with POST";
            return Outcome::refused(
                vec![GraphQLError::new(message, "METHOD_NOT_ALLOWED")],
                Some(kind),
            );
        }
        let operation = match validate(
            schema,
            query,
            request.operation_name.as_deref(),
            &self.limits,
        ) {
            Ok(operation) => operation,
            Err(errors) => {
                return Outcome::refused(
                    errors.into_iter().map(GraphQLError::from).collect(),
                    None,
                );
            }
        };
        let kind = Some(operation.kind);
        let empty = Map::new();
        let raw_variables = request.variables.as_ref().unwrap_or(&empty);
        // Hashing costs a serialisation of the operation: only for the access log.
        let audited = self.audit.is_some();
        let mut facts = Facts {
            operation_name: operation.operation_name.as_ref().map(|n| n.to_string()),
            document_hash: audited.then(|| {
                kotohub_audit::chain::sha256_hex(
                    operation
                        .document
                        .serialize()
                        .no_indent()
                        .to_string()
                        .as_bytes(),
                )
            }),
            variables_hash: (audited && !raw_variables.is_empty()).then(|| {
                kotohub_audit::chain::sha256_hex(
                    Value::Object(raw_variables.clone()).to_string().as_bytes(),
                )
            }),
            ..Facts::default()
        };
        let as_bytes = match serde_json_bytes::Value::from(Value::Object(raw_variables.clone())) {
            serde_json_bytes::Value::Object(map) => map,
            _ => Default::default(),
        };
        let coerced = match apollo_compiler::request::coerce_variable_values(
            schema,
            operation.operation(),
            &as_bytes,
        ) {
            Ok(coerced) => coerced,
            Err(error) => {
                let json = error.to_graphql_error(&operation.document.sources);
                return Outcome::refused(
                    vec![GraphQLError::new(json.message, code::BAD_VARIABLES)],
                    kind,
                )
                .with_facts(&facts);
            }
        };
        let variables: Map<String, Value> = match serde_json::to_value(coerced.clone().into_inner())
        {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };

        let mut errors = Vec::new();
        let mut forwarded = reqwest::header::HeaderMap::new();
        let mut document = &operation.document;
        let mut authorized;
        if let Some(access) = &self.access {
            let Some(principal) = principal else {
                return Outcome::refused(
                    vec![GraphQLError::new(
                        "the request has no verified caller",
                        code::UNAUTHENTICATED,
                    )],
                    kind,
                )
                .with_facts(&facts);
            };
            authorized = authorize(
                schema,
                &operation.document,
                operation.operation_name.as_deref(),
                &access.policy,
                principal,
            );
            errors.extend(authorized.denied.iter().map(|denied| denied.to_error()));
            facts.fields = std::mem::take(&mut authorized.fields);
            facts.policies = std::mem::take(&mut authorized.policies);
            facts.denied = authorized.denied.len();
            if authorized.empty {
                return Outcome {
                    response: GraphQLResponse {
                        data: Some(Value::Null),
                        errors,
                    },
                    refused: false,
                    kind,
                    subgraphs: BTreeSet::new(),
                    facts,
                };
            }
            if let Some(pruned) = &authorized.document {
                document = pruned;
            }
            let signed = access.internal.sign(principal);
            forwarded.insert(
                kotohub_auth::internal::HEADER,
                reqwest::header::HeaderValue::from_str(&signed)
                    .expect("a signed JWT is printable ASCII"),
            );
        }
        let selected = document
            .operations
            .get(operation.operation_name.as_deref())
            .expect("the operation was chosen when validated");

        let root_fields: Vec<&str> = selected
            .root_fields(document)
            .map(|field| field.name.as_str())
            .collect();
        let introspects = root_fields
            .iter()
            .any(|name| matches!(*name, "__schema" | "__type"));
        let concrete = root_fields.iter().any(|name| !name.starts_with("__"));

        let mut data = Value::Object(Map::new());
        let mut subgraphs = BTreeSet::new();
        if introspects {
            match apollo_compiler::introspection::partial_execute(
                schema,
                &self.implementers,
                document,
                selected,
                &coerced,
            ) {
                Ok(response) => {
                    if let (Value::Object(target), Some(Ok(Value::Object(part)))) =
                        (&mut data, response.data.map(serde_json::to_value))
                    {
                        merge_objects(target, part);
                    }
                }
                Err(error) => {
                    let json = error.to_graphql_error(&document.sources);
                    return Outcome::refused(
                        vec![GraphQLError::new(json.message, "INTROSPECTION_FAILED")],
                        kind,
                    )
                    .with_facts(&facts);
                }
            }
        }
        if concrete {
            // Planned from the operation as apollo-compiler prints it, so that the same
            // operation written with other spacing or comments hits the same cached plan.
            let normalized = document.serialize().no_indent().to_string();
            let name = operation.operation_name.clone();
            let plan = match self.planner.cached(&normalized, name.as_deref()) {
                Some(plan) => Ok(plan),
                None => {
                    // Planning is CPU work: keep it off the workers that serve requests.
                    let planner = self.planner.clone();
                    tokio::task::spawn_blocking(move || planner.plan(&normalized, name.as_deref()))
                        .await
                        .unwrap_or_else(|_| {
                            Err(PlanError::Failed(
                                "the planner stopped unexpectedly".to_owned(),
                            ))
                        })
                }
            };
            let plan = match plan {
                Ok(plan) => plan,
                Err(error) => {
                    return Outcome::refused(
                        vec![GraphQLError::new(error.to_string(), code::PLANNING_FAILED)],
                        kind,
                    )
                    .with_facts(&facts);
                }
            };
            let executed = execute(&self.subgraphs, &plan, &variables, &forwarded).await;
            if let (Value::Object(target), Value::Object(part)) = (&mut data, executed.data) {
                merge_objects(target, part);
            }
            errors.extend(executed.errors);
            subgraphs = executed.subgraphs;
            facts.clients = executed.clients;
            facts.suppressed_cells = executed.suppressed_cells;
        }
        let projection = Projection {
            schema,
            document,
            variables: &variables,
        };
        let projected = projection.project_root(&selected.selection_set, &data, &mut errors);
        Outcome {
            response: GraphQLResponse {
                data: Some(projected),
                errors,
            },
            refused: false,
            kind,
            subgraphs,
            facts,
        }
    }
}
