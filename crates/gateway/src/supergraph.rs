//! The composed supergraph: where each subgraph lives, the API schema clients see (the
//! supergraph without federation's own types and directives, and without what is
//! `@inaccessible`), and the planner built from it. Everything here is computed once when
//! the gateway starts, never per request.

use std::collections::{BTreeMap, HashMap, HashSet};

use apollo_compiler::validation::Valid;
use apollo_compiler::{Schema, ast};
use hive_router_query_planner::planner::{Planner, QueryPlannerOptions};
use hive_router_query_planner::utils::parsing::safe_parse_schema;

/// Why a supergraph could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SupergraphError {
    #[error("the supergraph SDL does not parse: {0}")]
    Parse(String),
    #[error("the supergraph cannot be planned over: {0}")]
    Planner(String),
    #[error("the API schema derived from the supergraph is invalid: {0}")]
    ApiSchema(String),
    #[error("the supergraph names no subgraphs")]
    NoSubgraphs,
}

pub struct Supergraph {
    pub(crate) planner: Planner,
    api_schema: Valid<Schema>,
    possible_types: PossibleTypes,
    subgraph_urls: BTreeMap<String, String>,
    fingerprint: String,
}

impl Supergraph {
    /// Loads a supergraph SDL as composed by Federation v2 composition.
    pub fn parse(sdl: &str) -> Result<Self, SupergraphError> {
        let document = safe_parse_schema(sdl).map_err(|e| SupergraphError::Parse(e.to_string()))?;
        let planner = Planner::new_from_supergraph(&document, QueryPlannerOptions::default())
            .map_err(|e| SupergraphError::Planner(e.to_string()))?;
        let api_schema = api_schema(&planner.consumer_schema.document.to_string())?;
        let subgraph_urls: BTreeMap<String, String> = planner
            .supergraph
            .subgraph_endpoint_map
            .iter()
            .map(|(name, url)| (name.clone(), url.clone()))
            .collect();
        if subgraph_urls.is_empty() {
            return Err(SupergraphError::NoSubgraphs);
        }
        Ok(Self {
            planner,
            possible_types: PossibleTypes::of(&api_schema),
            api_schema,
            subgraph_urls,
            fingerprint: crate::audit::sha256_hex(sdl.as_bytes()),
        })
    }

    /// SHA-256 of the SDL: plans shared between gateways are valid only for the same one,
    /// so replicas of two releases never run each other's plans.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The schema clients query and introspect.
    pub fn api_schema(&self) -> &Valid<Schema> {
        &self.api_schema
    }

    /// The object types each interface and union may be.
    pub fn possible_types(&self) -> &PossibleTypes {
        &self.possible_types
    }

    /// Each subgraph's name and the URL the supergraph gives it (`@join__graph(url:)`).
    pub fn subgraph_urls(&self) -> &BTreeMap<String, String> {
        &self.subgraph_urls
    }
}

/// The object types each abstract type may be: what decides whether a type condition in
/// a plan (`... on Media` in an entity fetch's `requires`) applies to an object whose
/// `__typename` is a concrete type (`Book`).
#[derive(Debug, Default)]
pub struct PossibleTypes(HashMap<String, HashSet<String>>);

impl PossibleTypes {
    fn of(schema: &Schema) -> Self {
        let mut possible: HashMap<String, HashSet<String>> = HashMap::new();
        for (name, ty) in &schema.types {
            match ty {
                apollo_compiler::schema::ExtendedType::Object(object) => {
                    for interface in &object.implements_interfaces {
                        possible
                            .entry(interface.name.to_string())
                            .or_default()
                            .insert(name.to_string());
                    }
                }
                apollo_compiler::schema::ExtendedType::Union(union_) => {
                    possible
                        .entry(name.to_string())
                        .or_default()
                        .extend(union_.members.iter().map(|member| member.name.to_string()));
                }
                _ => {}
            }
        }
        Self(possible)
    }

    /// Whether an object of type `typename` matches the type condition `condition`.
    pub fn matches(&self, condition: &str, typename: &str) -> bool {
        condition == typename
            || self
                .0
                .get(condition)
                .is_some_and(|objects| objects.contains(typename))
    }
}

/// Scalars and directives every GraphQL schema has; apollo-compiler supplies them itself.
const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];
const BUILT_IN_DIRECTIVES: [&str; 5] = ["skip", "include", "deprecated", "specifiedBy", "oneOf"];

/// Builds the API schema from the planner's consumer schema, which spells out what the
/// GraphQL spec makes implicit (introspection types and fields, built-in scalars and
/// directives); those are dropped so that apollo-compiler supplies its own.
fn api_schema(consumer_sdl: &str) -> Result<Valid<Schema>, SupergraphError> {
    let invalid = |errors: &dyn std::fmt::Display| SupergraphError::ApiSchema(errors.to_string());
    let mut document =
        ast::Document::parse(consumer_sdl, "api-schema.graphql").map_err(|e| invalid(&e.errors))?;
    document.definitions.retain(|definition| match definition {
        ast::Definition::ScalarTypeDefinition(scalar) => {
            !BUILT_IN_SCALARS.contains(&scalar.name.as_str())
        }
        ast::Definition::DirectiveDefinition(directive) => {
            !BUILT_IN_DIRECTIVES.contains(&directive.name.as_str())
        }
        other => other
            .name()
            .is_none_or(|name| !name.as_str().starts_with("__")),
    });
    for definition in &mut document.definitions {
        if let ast::Definition::ObjectTypeDefinition(object) = definition {
            object
                .make_mut()
                .fields
                .retain(|field| !field.name.as_str().starts_with("__"));
        }
    }
    document
        .to_schema_validate()
        .map_err(|e| invalid(&e.errors))
}
