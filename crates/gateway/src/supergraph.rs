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
    entity_keys: EntityKeys,
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
        let possible_types = PossibleTypes::of(&api_schema);
        let entity_keys = EntityKeys::of(sdl, &possible_types)?;
        Ok(Self {
            planner,
            possible_types,
            entity_keys,
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

    /// The keys by which each subgraph finds its entities.
    pub fn entity_keys(&self) -> &EntityKeys {
        &self.entity_keys
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

    /// The object types of the abstract type `name` (none for an object type).
    pub fn objects_of(&self, name: &str) -> impl Iterator<Item = String> + '_ {
        self.0.get(name).into_iter().flatten().cloned()
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

/// The keys by which each subgraph finds each entity type (`@join__type(graph:, key:)`),
/// as their top-level fields; an interface's keys count for its object types too. An
/// entity none of whose keys is whole (a key field null or missing) cannot be found, so
/// it is not sent: one such representation can fail a strict subgraph's whole call.
#[derive(Debug, Default)]
pub struct EntityKeys(HashMap<String, HashMap<String, Vec<Vec<String>>>>);

impl EntityKeys {
    fn of(sdl: &str, possible_types: &PossibleTypes) -> Result<Self, SupergraphError> {
        let document = ast::Document::parse(sdl, "supergraph.graphql")
            .map_err(|e| SupergraphError::Parse(e.errors.to_string()))?;
        let string = |directive: &ast::Directive, name: &str| {
            directive
                .specified_argument_by_name(name)
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        };
        // join__Graph's values name the subgraphs.
        let mut graphs = HashMap::new();
        for definition in &document.definitions {
            if let ast::Definition::EnumTypeDefinition(graph_enum) = definition
                && graph_enum.name == "join__Graph"
            {
                for value in &graph_enum.values {
                    if let Some(name) = value
                        .directives
                        .get("join__graph")
                        .and_then(|d| string(d, "name"))
                    {
                        graphs.insert(value.value.to_string(), name);
                    }
                }
            }
        }
        // By subgraph, then by type: looked up per entity without building a key.
        let mut keys: HashMap<String, HashMap<String, Vec<Vec<String>>>> = HashMap::new();
        for definition in &document.definitions {
            let (name, directives) = match definition {
                ast::Definition::ObjectTypeDefinition(object) => (&object.name, &object.directives),
                ast::Definition::InterfaceTypeDefinition(interface) => {
                    (&interface.name, &interface.directives)
                }
                _ => continue,
            };
            for join in directives.get_all("join__type") {
                let graph = join
                    .specified_argument_by_name("graph")
                    .and_then(|value| value.as_enum())
                    .and_then(|value| graphs.get(value.as_str()));
                let (Some(graph), Some(key)) = (graph, string(join, "key")) else {
                    continue;
                };
                let fields = top_level_fields(&key);
                let mut types = vec![name.to_string()];
                types.extend(possible_types.objects_of(name));
                let of_graph = keys.entry(graph.clone()).or_default();
                for ty in types {
                    of_graph.entry(ty).or_default().push(fields.clone());
                }
            }
        }
        Ok(Self(keys))
    }

    /// Whether an entity of `typename` cannot be found in `graph` by any of its keys:
    /// `is_null` tells whether a top-level field is null or missing. False when the
    /// type has no keys there (nothing to check against).
    pub fn unfindable(&self, typename: &str, graph: &str, is_null: impl Fn(&str) -> bool) -> bool {
        self.0
            .get(graph)
            .and_then(|types| types.get(typename))
            .is_some_and(|keys| {
                keys.iter()
                    .all(|key| key.iter().any(|field| is_null(field)))
            })
    }
}

/// `"id org { id }"` → `["id", "org"]`.
fn top_level_fields(selection: &str) -> Vec<String> {
    let mut depth = 0usize;
    let mut fields = Vec::new();
    let spaced = selection.replace('{', " { ").replace('}', " } ");
    for token in spaced.split_whitespace() {
        match token {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            // An argument list cannot be in a key; a stray token is no field.
            name if depth == 0 => fields.push(name.to_owned()),
            _ => {}
        }
    }
    fields
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
