//! A subgraph we did not write, as the conformance suite serves it: any subgraph SDL
//! (Federation 1 or 2) turned into an async-graphql dynamic schema whose fields read
//! static JSON data, served over HTTP on loopback. The gateway sees a real GraphQL server
//! that validates what it is sent and answers `_entities` like any federated subgraph.
//!
//! The data file (`<subgraph>.json` next to the SDL) holds:
//! - `"Query"` / `"Mutation"`: the root objects;
//! - `"entities"`: records by type name, found for a representation by any of the type's
//!   `@key`s; a representation without a record resolves to itself (what a subgraph that
//!   only extends a type does); one whose key is null fails the whole `_entities` call,
//!   as strict subgraph frameworks do;
//! - `"defaults"`: fields every entity of a type has, by type name (fields computed from
//!   `@requires`, typically).
//!
//! A field's value is the JSON under its name, with three forms computed per request:
//! `{"$tmpl": "…{path}…{$argument}…"}` renders the parent's fields (the representation's
//! too, for an entity) and the field's arguments into a string, read as a number or a
//! boolean when the field's type is one; `{"$args": [{"when": {…}, "value": …}, …]}`
//! picks the first value whose `when` the arguments match; `{"$counter": "name"}` counts
//! up per call (one count per name across the supergraph's subgraphs), so that mutations
//! show the order they ran in; `{"$error": "message"}` fails the field with that error.
//! Objects of an interface or union type name their type in `__typename`. A list item
//! of an object or list type cannot be null: async-graphql's dynamic schemas resolve
//! every item they are given.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use apollo_compiler::Schema;
use apollo_compiler::ast;
use apollo_compiler::schema::{ExtendedType, Type};
use async_graphql::dynamic::{
    Enum, Field, FieldFuture, FieldValue, InputObject, InputValue, Interface, InterfaceField,
    Object, ResolverContext, Scalar, Schema as DynamicSchema, TypeRef, Union,
};
use serde_json::{Map, Value};

/// The static data of one subgraph, shared by its resolvers.
struct Data {
    roots: Map<String, Value>,
    entities: HashMap<String, Vec<Map<String, Value>>>,
    defaults: HashMap<String, Map<String, Value>>,
    /// Each entity type's keys, as top-level field names.
    keys: HashMap<String, Vec<Vec<String>>>,
    /// The object types implementing each interface: an interface entity's
    /// representation is resolved to the one whose record it is.
    implementers: HashMap<String, Vec<String>>,
    counters: Counters,
}

/// The `$counter`s of a supergraph's subgraphs, shared so that the order of mutations
/// across subgraphs shows.
pub type Counters = Arc<std::sync::Mutex<HashMap<String, Arc<AtomicI64>>>>;

/// How a field's value is turned into a GraphQL output: its type in the subgraph.
#[derive(Clone)]
struct Output {
    ty: Type,
    /// Named types that are interfaces or unions: their objects carry `__typename`.
    abstract_: Arc<std::collections::HashSet<String>>,
    /// Named types that are leaves (scalars, enums): their values pass as they are.
    leaves: Arc<std::collections::HashSet<String>>,
}

/// Builds the subgraph `name` from its SDL and data.
pub fn build(name: &str, sdl: &str, data: &Value, counters: Counters) -> DynamicSchema {
    let schema = Schema::builder()
        .adopt_orphan_extensions()
        .parse(sdl, format!("{name}.graphql"))
        .build()
        .unwrap_or_else(|errors| errors.partial);
    let data = Arc::new(Data {
        roots: ["Query", "Mutation"]
            .into_iter()
            .filter_map(|root| Some((root.to_owned(), data.get(root)?.clone())))
            .collect(),
        entities: data
            .get("entities")
            .and_then(Value::as_object)
            .map(|by_type| {
                by_type
                    .iter()
                    .map(|(ty, records)| {
                        let records = records
                            .as_array()
                            .expect("entities are lists of records")
                            .iter()
                            .map(|r| r.as_object().expect("a record is an object").clone())
                            .collect();
                        (ty.clone(), records)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        defaults: data
            .get("defaults")
            .and_then(Value::as_object)
            .map(|by_type| {
                by_type
                    .iter()
                    .map(|(ty, fields)| (ty.clone(), fields.as_object().expect("fields").clone()))
                    .collect()
            })
            .unwrap_or_default(),
        keys: keys_of(&schema),
        implementers: schema
            .types
            .iter()
            .filter_map(|(name, ty)| match ty {
                ExtendedType::Object(object) => Some((name, object)),
                _ => None,
            })
            .flat_map(|(name, object)| {
                object
                    .implements_interfaces
                    .iter()
                    .map(move |interface| (interface.name.to_string(), name.to_string()))
            })
            .fold(HashMap::new(), |mut by_interface, (interface, object)| {
                by_interface
                    .entry(interface)
                    .or_insert_with(Vec::new)
                    .push(object);
                by_interface
            }),
        counters,
    });

    let abstract_: Arc<std::collections::HashSet<String>> = Arc::new(
        schema
            .types
            .iter()
            .filter(|(_, ty)| ty.is_interface() || ty.is_union())
            .map(|(name, _)| name.to_string())
            .collect(),
    );
    let leaves: Arc<std::collections::HashSet<String>> = Arc::new(
        schema
            .types
            .iter()
            .filter(|(_, ty)| ty.is_leaf())
            .map(|(name, _)| name.to_string())
            .collect(),
    );
    let output = |ty: &Type| Output {
        ty: ty.clone(),
        abstract_: abstract_.clone(),
        leaves: leaves.clone(),
    };

    let query = schema
        .schema_definition
        .query
        .as_ref()
        .map_or("Query".to_owned(), |name| name.to_string());
    let mutation = schema
        .schema_definition
        .mutation
        .as_ref()
        .map(|name| name.to_string());
    let mut builder = DynamicSchema::build(&query, mutation.as_deref(), None).enable_federation();
    for (type_name, ty) in &schema.types {
        if ty.is_built_in() || is_federation_type(type_name) {
            continue;
        }
        match ty {
            ExtendedType::Object(object) => {
                let mut built = Object::new(type_name.as_str());
                for (field_name, field) in &object.fields {
                    if field_name.starts_with('_') && type_name.as_str() == query {
                        continue;
                    }
                    let resolve = resolver(
                        data.clone(),
                        type_name.to_string(),
                        field_name.to_string(),
                        output(&field.ty),
                    );
                    let mut built_field =
                        Field::new(field_name.as_str(), type_ref(&field.ty), resolve);
                    for argument in &field.arguments {
                        built_field = built_field.argument(input_value(argument));
                    }
                    built = built.field(built_field);
                }
                for interface in &object.implements_interfaces {
                    built = built.implement(interface.name.as_str());
                }
                for key in directive_arguments(&object.directives, "key", "fields") {
                    built = built.key(key);
                }
                builder = builder.register(built);
            }
            ExtendedType::Interface(interface) => {
                let mut built = Interface::new(type_name.as_str());
                for (field_name, field) in &interface.fields {
                    let mut built_field =
                        InterfaceField::new(field_name.as_str(), type_ref(&field.ty));
                    for argument in &field.arguments {
                        built_field = built_field.argument(input_value(argument));
                    }
                    built = built.field(built_field);
                }
                for parent in &interface.implements_interfaces {
                    built = built.implement(parent.name.as_str());
                }
                // No keys on the interface itself: `_Entity` is a union of objects, and
                // an interface entity's representation resolves to an implementing
                // object ([`Data::entity`]).
                builder = builder.register(built);
            }
            ExtendedType::Union(union_) => {
                let mut built = Union::new(type_name.as_str());
                for member in &union_.members {
                    built = built.possible_type(member.name.as_str());
                }
                builder = builder.register(built);
            }
            ExtendedType::Enum(enum_) => {
                let built = Enum::new(type_name.as_str())
                    .items(enum_.values.keys().map(|value| value.as_str()));
                builder = builder.register(built);
            }
            ExtendedType::InputObject(input) => {
                let mut built = InputObject::new(type_name.as_str());
                for field in input.fields.values() {
                    built = built.field(input_value(field));
                }
                builder = builder.register(built);
            }
            ExtendedType::Scalar(_) => {
                builder = builder.register(Scalar::new(type_name.as_str()));
            }
        }
    }
    if !schema.types.contains_key(query.as_str()) {
        // A subgraph that only adds fields to entities: federation gives its root
        // `_entities` and `_service`.
        builder = builder.register(Object::new(query.as_str()));
    }
    let entities = data.clone();
    builder
        .entity_resolver(move |ctx| {
            let data = entities.clone();
            FieldFuture::new(async move {
                let representations = ctx.args.try_get("representations")?.list()?;
                let mut resolved = Vec::new();
                for representation in representations.iter() {
                    let representation = representation.as_value().clone().into_json()?;
                    // Strict, as some subgraph frameworks are: one representation whose
                    // key is null fails the whole call.
                    if data.null_key(&representation) {
                        return Err(async_graphql::Error::new(
                            "a representation has a null key field",
                        ));
                    }
                    resolved.push(data.entity(representation));
                }
                Ok(Some(FieldValue::list(resolved)))
            })
        })
        .finish()
        .unwrap_or_else(|e| panic!("the {name} subgraph does not build: {e}"))
}

/// Types a subgraph SDL declares for federation itself: async-graphql adds its own.
fn is_federation_type(name: &str) -> bool {
    matches!(
        name,
        "_Any"
            | "_Entity"
            | "_Service"
            | "FieldSet"
            | "_FieldSet"
            | "link__Import"
            | "link__Purpose"
    ) || name.starts_with("federation__")
        || name.starts_with("link__")
}

/// The string arguments `argument` of the directives called `directive` (also under
/// the `federation__` prefix).
fn directive_arguments(
    directives: &apollo_compiler::schema::DirectiveList,
    directive: &str,
    argument: &str,
) -> Vec<String> {
    directives
        .iter()
        .filter(|d| d.name == directive || d.name == format!("federation__{directive}").as_str())
        .filter(|d| {
            // A key that is not resolvable here cannot be used to find an entity here.
            d.specified_argument_by_name("resolvable")
                .and_then(|v| v.to_bool())
                .unwrap_or(true)
        })
        .filter_map(|d| {
            d.specified_argument_by_name(argument)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// Each type's keys as their top-level field names.
fn keys_of(schema: &Schema) -> HashMap<String, Vec<Vec<String>>> {
    let mut keys = HashMap::new();
    for (name, ty) in &schema.types {
        let directives = match ty {
            ExtendedType::Object(object) => &object.directives,
            ExtendedType::Interface(interface) => &interface.directives,
            _ => continue,
        };
        let found: Vec<Vec<String>> = directive_arguments(directives, "key", "fields")
            .iter()
            .map(|fields| top_level_fields(fields))
            .collect();
        if !found.is_empty() {
            keys.insert(name.to_string(), found);
        }
    }
    keys
}

/// `"id org { id }"` → `["id", "org"]`.
fn top_level_fields(selection: &str) -> Vec<String> {
    let mut depth = 0;
    let mut fields = Vec::new();
    for token in selection
        .replace('{', " { ")
        .replace('}', " } ")
        .split_whitespace()
    {
        match token {
            "{" => depth += 1,
            "}" => depth -= 1,
            name if depth == 0 => fields.push(name.to_owned()),
            _ => {}
        }
    }
    fields
}

fn type_ref(ty: &Type) -> TypeRef {
    match ty {
        Type::Named(name) => TypeRef::Named(name.to_string().into()),
        Type::NonNullNamed(name) => {
            TypeRef::NonNull(Box::new(TypeRef::Named(name.to_string().into())))
        }
        Type::List(inner) => TypeRef::List(Box::new(type_ref(inner))),
        Type::NonNullList(inner) => {
            TypeRef::NonNull(Box::new(TypeRef::List(Box::new(type_ref(inner)))))
        }
    }
}

fn input_value(definition: &ast::InputValueDefinition) -> InputValue {
    let mut value = InputValue::new(definition.name.as_str(), type_ref(&definition.ty));
    if let Some(default) = &definition.default_value {
        value = value.default_value(graphql_value(default));
    }
    value
}

/// An SDL constant as async-graphql's value.
fn graphql_value(value: &ast::Value) -> async_graphql::Value {
    use async_graphql::{Name, Value as V};
    match value {
        ast::Value::Null | ast::Value::Variable(_) => V::Null,
        ast::Value::Enum(name) => V::Enum(Name::new(name.as_str())),
        ast::Value::String(s) => V::String(s.clone()),
        ast::Value::Boolean(b) => V::Boolean(*b),
        ast::Value::Int(i) => i
            .try_to_i32()
            .map(|i| V::Number(i.into()))
            .unwrap_or(V::Null),
        ast::Value::Float(f) => f
            .try_to_f64()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(V::Number)
            .unwrap_or(V::Null),
        ast::Value::List(items) => V::List(items.iter().map(|i| graphql_value(i)).collect()),
        ast::Value::Object(fields) => V::Object(
            fields
                .iter()
                .map(|(name, value)| (Name::new(name.as_str()), graphql_value(value)))
                .collect(),
        ),
    }
}

/// The resolver of `type_name.field_name`: reads the field from its parent's JSON (the
/// root object for root fields).
fn resolver(
    data: Arc<Data>,
    type_name: String,
    field_name: String,
    output: Output,
) -> impl for<'a> Fn(ResolverContext<'a>) -> FieldFuture<'a> + Send + Sync + 'static {
    move |ctx| {
        let data = data.clone();
        let type_name = type_name.clone();
        let field_name = field_name.clone();
        let output = output.clone();
        FieldFuture::new(async move {
            let arguments: Map<String, Value> = ctx
                .args
                .as_index_map()
                .iter()
                .map(|(name, value)| {
                    let json = value.clone().into_json().unwrap_or(Value::Null);
                    (name.to_string(), json)
                })
                .collect();
            let parent = match ctx.parent_value.downcast_ref::<Value>() {
                Some(Value::Object(parent)) => parent.clone(),
                _ => data
                    .roots
                    .get(&type_name)
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default(),
            };
            let raw = parent.get(&field_name).cloned().unwrap_or(Value::Null);
            if let Some(Value::String(message)) = raw.get("$error") {
                return Err(async_graphql::Error::new(message.clone()));
            }
            let value = data
                .evaluate(raw, &parent, &arguments, &output.ty)
                .map_err(async_graphql::Error::new)?;
            Ok(to_field_value(value, &output.ty, &output))
        })
    }
}

impl Data {
    /// The entity a representation stands for: its record merged with the
    /// representation (which carries the `@requires` fields), or the representation alone.
    fn entity(&self, representation: Value) -> FieldValue<'static> {
        let Value::Object(representation) = representation else {
            return FieldValue::NULL;
        };
        let typename = representation
            .get("__typename")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let keys = self.keys.get(&typename);
        let find = |ty: &str| {
            self.entities.get(ty).and_then(|records| {
                records.iter().find(|record| {
                    keys.into_iter().flatten().any(|key| {
                        key.iter().all(|field| {
                            representation
                                .get(field)
                                .is_some_and(|value| record.get(field) == Some(value))
                        })
                    })
                })
            })
        };
        let mut record = find(&typename);
        let mut typename = typename.clone();
        if let Some(objects) = self.implementers.get(&typename) {
            // An interface entity: the object type whose record this is.
            if let Some((object, found)) = objects
                .iter()
                .find_map(|object| Some((object.clone(), find(object)?)))
            {
                typename = object;
                record = Some(found);
            }
        }
        let mut entity = self.defaults.get(&typename).cloned().unwrap_or_default();
        if let Some(record) = record {
            entity.extend(record.clone());
        }
        entity.extend(representation);
        entity.insert("__typename".into(), Value::String(typename.clone()));
        FieldValue::owned_any(Value::Object(entity)).with_type(typename)
    }

    /// Whether a key field of `representation` is null (or missing) in every key of
    /// its type.
    fn null_key(&self, representation: &Value) -> bool {
        let typename = representation
            .get("__typename")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.keys.get(typename).is_some_and(|keys| {
            keys.iter().all(|key| {
                key.iter()
                    .any(|field| representation.get(field).is_none_or(Value::is_null))
            })
        })
    }

    /// The value of a field whose data is `raw`, computing the `$` forms; `Err` names the
    /// arguments no `$args` choice was written for, for whoever writes the data.
    fn evaluate(
        &self,
        raw: Value,
        parent: &Map<String, Value>,
        arguments: &Map<String, Value>,
        ty: &Type,
    ) -> Result<Value, String> {
        let Value::Object(form) = &raw else {
            return Ok(raw);
        };
        if let Some(Value::String(template)) = form.get("$tmpl") {
            let rendered = render(template, parent, arguments);
            let leaf = ty.inner_named_type().as_str();
            return Ok(match leaf {
                "Int" | "Float" | "Boolean" => {
                    serde_json::from_str(&rendered).unwrap_or(Value::Null)
                }
                _ => Value::String(rendered),
            });
        }
        if let Some(Value::Array(choices)) = form.get("$args") {
            for choice in choices {
                let matches = choice
                    .get("when")
                    .and_then(Value::as_object)
                    .is_none_or(|when| when.iter().all(|(k, v)| arguments.get(k) == Some(v)));
                if matches {
                    let value = choice.get("value").cloned().unwrap_or(Value::Null);
                    return self.evaluate(value, parent, arguments, ty);
                }
            }
            return Err(format!(
                "the data has no value for the arguments {}",
                Value::Object(arguments.clone())
            ));
        }
        if let Some(Value::String(counter)) = form.get("$counter") {
            let counter = self
                .counters
                .lock()
                .expect("no resolver panics holding the counters")
                .entry(counter.clone())
                .or_default()
                .clone();
            return Ok(Value::from(counter.fetch_add(1, Ordering::SeqCst) + 1));
        }
        Ok(raw)
    }
}

/// `template` with `{a.b}` replaced by the parent's field at that path and `{$x}` by the
/// argument `x`, each as JSON (strings without their quotes).
fn render(template: &str, parent: &Map<String, Value>, arguments: &Map<String, Value>) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let path = &rest[start + 1..start + end];
        let value = match path.strip_prefix('$') {
            Some(argument) => arguments.get(argument).cloned(),
            None => {
                let mut at = Some(Value::Object(parent.clone()));
                for part in path.split('.') {
                    at = at.and_then(|v| v.get(part).cloned());
                }
                at
            }
        };
        match value {
            Some(Value::String(s)) => out.push_str(&s),
            Some(other) => out.push_str(&other.to_string()),
            None => out.push_str("null"),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

/// `value` as the output of a field of type `ty`.
fn to_field_value(value: Value, ty: &Type, output: &Output) -> Option<FieldValue<'static>> {
    if value.is_null() {
        return None;
    }
    match ty {
        Type::List(inner) | Type::NonNullList(inner) => {
            let Value::Array(items) = value else {
                return None;
            };
            Some(FieldValue::list(items.into_iter().map(|item| {
                to_field_value(item, inner, output).unwrap_or(FieldValue::NULL)
            })))
        }
        Type::Named(name) | Type::NonNullNamed(name) => {
            if output.leaves.contains(name.as_str()) {
                return async_graphql::Value::from_json(value)
                    .ok()
                    .map(FieldValue::value);
            }
            if output.abstract_.contains(name.as_str()) {
                let typename = value
                    .get("__typename")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                return Some(FieldValue::owned_any(value).with_type(typename));
            }
            Some(FieldValue::owned_any(value))
        }
    }
}

/// Serves `schema` on a free loopback port: `POST /graphql`, as the gateway calls it.
pub async fn serve(schema: DynamicSchema) -> SocketAddr {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/graphql",
        post(
            move |axum::Json(request): axum::Json<async_graphql::Request>| {
                let schema = schema.clone();
                async move { axum::Json(schema.execute(request).await) }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free loopback port");
    let addr = listener.local_addr().expect("a bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
