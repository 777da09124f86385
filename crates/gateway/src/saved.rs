//! Saved queries in the gateway: checking a document before it is saved, and running a
//! saved query by name. The gateway stores none: a supergraph that offers saved queries
//! has `Query.savedQuery(name, version)` (the definition, readable only by those who may
//! run it) and `Query.runSavedQuery(name, version, variables)`, which the gateway answers
//! itself — it reads the definition as the runner, then runs the document as any other
//! operation of the runner, so a shared query never shows its runner more than the
//! runner's own rules allow.

use apollo_compiler::ast;
use apollo_compiler::executable::{ExecutableDocument, OperationType, Selection, SelectionSet};
use kotohub_auth::Principal;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

use crate::audit::Facts;
use crate::authorize::authorize;
use crate::errors::{Code, GraphQLError};
use crate::pipeline::{Caller, Gateway, Outcome};
use crate::project::Data;
use crate::supergraph::Supergraph;
use crate::validate::{Limits, ValidOperation, validate};

/// The root field the gateway answers by running a saved query.
pub const RUN_FIELD: &str = "runSavedQuery";

/// `GET /q/{name}` parameters that are not variables of the query.
pub const RESERVED_PARAMETERS: [&str; 3] = ["format", "version", "bom"];

/// How the gateway reads a definition, as the runner.
pub const DEFINITION_QUERY: &str = "query KotohubSavedQueryDefinition($name: String!, $version: Int) { savedQuery(name: $name, version: $version) { id name version archived document purpose variables { name type defaultValue } } }";

/// A variable of a checked or stored document.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VariableShape {
    pub name: String,
    /// The type as the document writes it.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(rename = "defaultValue", default)]
    pub default: Option<Value>,
}

/// A saved query as the gateway runs it.
#[derive(Debug, Clone, Deserialize)]
pub struct Definition {
    pub id: String,
    pub name: String,
    pub version: i32,
    pub archived: bool,
    pub document: String,
    /// The purpose its runs state when the runner states none.
    #[serde(default)]
    pub purpose: Option<String>,
    pub variables: Vec<VariableShape>,
}

/// A document that may be saved for a body: its normalised text and its variables.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    pub normalized: String,
    pub variables: Vec<VariableShape>,
}

/// Checks `document` as a saved query that `owner` (an officer of the owning body) will
/// run: one query operation, valid against the API schema and within the limits, not
/// itself running saved queries, with no variable named like a `/q` parameter, and every
/// field of it readable by `owner`. `Err` lists every reason.
pub fn check_document(
    supergraph: &Supergraph,
    limits: &Limits,
    policy: &dyn crate::authorize::AccessPolicy,
    document: &str,
    owner: &Principal,
) -> Result<CheckedDocument, Vec<String>> {
    let schema = supergraph.api_schema();
    let operation = validate(schema, document, None, limits).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| match e.locations.first() {
                // The runner cannot choose among several operations: there must be one.
                _ if e.code == Code::UnknownOperation => {
                    "a saved query holds exactly one operation".to_owned()
                }
                Some(at) => format!("{} (line {}, column {})", e.message, at.line, at.column),
                None => e.message,
            })
            .collect::<Vec<_>>()
    })?;
    let mut reasons = Vec::new();
    let operations = operation.document.operations.iter().count();
    if operations != 1 {
        reasons.push(format!(
            "a saved query holds exactly one operation, not {operations}"
        ));
    }
    if operation.kind != OperationType::Query {
        reasons.push(format!(
            "a saved query only reads: it must be a query, not a {}",
            operation.kind
        ));
    }
    let selected = operation.operation();
    if selected
        .root_fields(&operation.document)
        .any(|field| field.name == RUN_FIELD)
    {
        reasons.push(format!("a saved query cannot call {RUN_FIELD}"));
    }
    for variable in &selected.variables {
        if RESERVED_PARAMETERS.contains(&variable.name.as_str()) {
            reasons.push(format!(
                "the variable ${} would clash with the /q parameter of that name; rename it",
                variable.name
            ));
        }
    }
    let authorized = authorize(
        schema,
        &operation.document,
        operation.operation_name.as_deref(),
        policy,
        owner,
    );
    let body = owner.bodies.join(", ");
    for denied in &authorized.denied {
        reasons.push(format!(
            "officers of {body} may not read {} (at {})",
            denied.coordinate,
            denied.path.join(".")
        ));
    }
    if !reasons.is_empty() {
        return Err(reasons);
    }
    let variables = selected
        .variables
        .iter()
        .map(|variable| VariableShape {
            name: variable.name.to_string(),
            type_: variable.ty.to_string(),
            default: variable
                .default_value
                .as_ref()
                .map(|value| value_to_json(value, &Map::new())),
        })
        .collect();
    Ok(CheckedDocument {
        normalized: operation.document.serialize().no_indent().to_string(),
        variables,
    })
}

/// A GraphQL value as JSON, with variables replaced by their (coerced) values.
pub fn value_to_json(value: &ast::Value, variables: &Map<String, Value>) -> Value {
    match value {
        ast::Value::Null => Value::Null,
        ast::Value::Enum(name) => Value::String(name.to_string()),
        ast::Value::Variable(name) => variables.get(name.as_str()).cloned().unwrap_or(Value::Null),
        ast::Value::String(text) => Value::String(text.clone()),
        ast::Value::Float(float) => float
            .try_to_f64()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        ast::Value::Int(int) => int
            .try_to_i32()
            .map(|i| Value::Number(i.into()))
            .unwrap_or_else(|_| {
                int.try_to_f64()
                    .ok()
                    .and_then(Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }),
        ast::Value::Boolean(b) => Value::Bool(*b),
        ast::Value::List(items) => Value::Array(
            items
                .iter()
                .map(|item| value_to_json(item, variables))
                .collect(),
        ),
        ast::Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.to_string(), value_to_json(value, variables)))
                .collect(),
        ),
    }
}

/// Turns `GET /q/{name}` parameters into variables by the types the query declares:
/// numbers and booleans are parsed, lists take the parameter repeated (or one value of
/// comma-separated items), input objects take JSON. Every problem is listed.
pub fn variables_from_text(
    declared: &[VariableShape],
    parameters: &[(String, String)],
) -> Result<Map<String, Value>, Vec<String>> {
    let mut variables = Map::new();
    let mut problems = Vec::new();
    for (name, _) in parameters {
        if !declared.iter().any(|v| &v.name == name) {
            let known: Vec<&str> = declared.iter().map(|v| v.name.as_str()).collect();
            problems.push(format!(
                "the saved query has no variable {name:?} (its variables: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ));
        }
    }
    for variable in declared {
        let given: Vec<&str> = parameters
            .iter()
            .filter(|(name, _)| *name == variable.name)
            .map(|(_, value)| value.as_str())
            .collect();
        if given.is_empty() {
            continue;
        }
        let ty = variable.type_.trim_end_matches('!');
        let parsed = if let Some(inner) = ty.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            let items: Vec<&str> = if given.len() == 1 {
                given[0]
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            } else {
                given
            };
            items
                .into_iter()
                .map(|item| scalar_from_text(inner.trim_end_matches('!'), item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        } else if given.len() > 1 {
            Err(format!(
                "is given {} times but takes one value",
                given.len()
            ))
        } else {
            scalar_from_text(ty, given[0])
        };
        match parsed {
            Ok(value) => {
                variables.insert(variable.name.clone(), value);
            }
            Err(problem) => problems.push(format!(
                "the variable {} ({}) {problem}",
                variable.name, variable.type_
            )),
        }
    }
    if problems.is_empty() {
        Ok(variables)
    } else {
        Err(problems)
    }
}

fn scalar_from_text(type_name: &str, text: &str) -> Result<Value, String> {
    match type_name {
        "Int" => text
            .parse::<i32>()
            .map(|i| Value::Number(i.into()))
            .map_err(|_| format!("takes a whole number, not {text:?}")),
        "Float" => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("takes a number, not {text:?}")),
        "Boolean" => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("takes true or false, not {text:?}")),
        },
        // Enums, ids, strings and custom scalars: the text itself, checked when the
        // variables are coerced against the operation.
        _ if text.starts_with('{') => {
            serde_json::from_str(text).map_err(|_| format!("takes a JSON object, not {text:?}"))
        }
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// Column names of the CSV form of an answer to `document`'s operation: the dotted
/// response-key path of every leaf field, in the order the operation selects them.
pub fn leaf_columns(document: &ExecutableDocument, operation_name: Option<&str>) -> Vec<String> {
    fn walk(
        document: &ExecutableDocument,
        set: &SelectionSet,
        prefix: &str,
        columns: &mut Vec<String>,
        depth: usize,
    ) {
        // Validation bounds depth; this bound only keeps a fragment cycle from looping.
        if depth > 64 {
            return;
        }
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    let path = if prefix.is_empty() {
                        field.response_key().to_string()
                    } else {
                        format!("{prefix}.{}", field.response_key())
                    };
                    if field.selection_set.selections.is_empty() {
                        if !columns.contains(&path) {
                            columns.push(path);
                        }
                    } else {
                        walk(document, &field.selection_set, &path, columns, depth + 1);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                        walk(
                            document,
                            &fragment.selection_set,
                            prefix,
                            columns,
                            depth + 1,
                        );
                    }
                }
                Selection::InlineFragment(inline) => {
                    walk(document, &inline.selection_set, prefix, columns, depth + 1);
                }
            }
        }
    }
    let mut columns = Vec::new();
    if let Ok(operation) = document.operations.get(operation_name) {
        walk(document, &operation.selection_set, "", &mut columns, 0);
    }
    columns
}

/// Variables of a saved-query run: JSON from a GraphQL request, or text from `GET /q`,
/// converted by the types the saved query declares.
pub enum SavedVariables<'a> {
    Json(&'a Map<String, Value>),
    Text(&'a [(String, String)]),
}

/// Running saved queries: the definition read as the runner, then its document run as
/// any other operation of the runner's.
impl Gateway {
    /// Runs the saved query `name` (at `version`, the latest when `None`) as `principal`:
    /// reads its definition as the runner — so only a query the runner may see runs —
    /// then runs its document under the runner's own rules. Also returns the definition
    /// when it was found.
    pub async fn run_saved(
        &self,
        name: &str,
        version: Option<i32>,
        variables: SavedVariables<'_>,
        caller: Caller<'_>,
    ) -> (Outcome, Option<Definition>) {
        let mut asked = Map::new();
        asked.insert("name".to_owned(), Value::String(name.to_owned()));
        if let Some(version) = version {
            asked.insert("version".to_owned(), Value::from(version));
        }
        // A definition is no one's personal data: it is read without the purpose or the
        // emergency access, which are for the document's own run.
        let reader = Caller::new(caller.principal, caller.request_id);
        let fetched = Box::pin(self.run_document(DEFINITION_QUERY, &asked, reader)).await;
        let facts = fetched.facts.clone();
        let refuse = |message: String, code: Code, facts: &Facts| {
            Outcome::refused(
                vec![GraphQLError::new(message, code)],
                Some(OperationType::Query),
            )
            .with_facts(facts.clone())
        };
        if fetched.refused {
            tracing::warn!(errors = ?fetched.response.errors, "the supergraph cannot give saved-query definitions");
            let message = "saved queries are not available from this gateway".to_owned();
            return (refuse(message, Code::SavedQueriesUnavailable, &facts), None);
        }
        if fetched
            .response
            .errors
            .iter()
            .any(|e| e.gateway_code() == Some(Code::Forbidden))
        {
            let message = "you may not run saved queries".to_owned();
            return (refuse(message, Code::Forbidden, &facts), None);
        }
        let found = fetched
            .response
            .data
            .as_ref()
            .map(Data::to_value)
            .and_then(|mut data| data.get_mut("savedQuery").map(Value::take))
            .filter(|definition| !definition.is_null())
            .and_then(|definition| serde_json::from_value::<Definition>(definition).ok());
        let Some(definition) = found else {
            if !fetched.response.errors.is_empty() {
                // The definition could not be read (a subgraph failed): say so as it was said.
                let mut outcome =
                    Outcome::refused(fetched.response.errors, Some(OperationType::Query));
                outcome.facts = facts;
                return (outcome, None);
            }
            let which = version.map_or_else(String::new, |v| format!(" at version {v}"));
            let message = format!("there is no saved query {name:?}{which} that you may run");
            return (refuse(message, Code::SavedQueryNotFound, &facts), None);
        };
        let mut facts = facts;
        facts.saved_query = Some((definition.id.clone(), definition.version));
        if definition.archived {
            let message = format!("the saved query {name:?} is archived and no longer runs");
            return (
                refuse(message, Code::SavedQueryArchived, &facts),
                Some(definition),
            );
        }
        let variables = match variables {
            SavedVariables::Json(map) => map.clone(),
            SavedVariables::Text(parameters) => {
                match variables_from_text(&definition.variables, parameters) {
                    Ok(map) => map,
                    Err(problems) => {
                        return (
                            refuse(problems.join("; "), Code::BadVariables, &facts),
                            Some(definition),
                        );
                    }
                }
            }
        };
        let runner = Caller {
            purpose: caller.purpose.or(definition.purpose.as_deref()),
            ..caller
        };
        let mut outcome =
            Box::pin(self.run_document(&definition.document, &variables, runner)).await;
        outcome.facts.fields.extend(facts.fields);
        outcome.facts.policies.extend(facts.policies);
        outcome.facts.saved_query = facts.saved_query;
        outcome.subgraphs.extend(fetched.subgraphs);
        (outcome, Some(definition))
    }

    /// Answers an operation whose root field is `runSavedQuery`: the saved query's data
    /// goes under the field's response key.
    pub(crate) async fn run_saved_field(
        &self,
        operation: &ValidOperation,
        raw_variables: &Map<String, Value>,
        caller: Caller<'_>,
    ) -> Outcome {
        let kind = Some(operation.kind);
        let selected = operation.operation();
        let fields: Vec<_> = selected.root_fields(&operation.document).collect();
        let [field] = fields.as_slice() else {
            let message = format!("{} must be the only field of its operation", RUN_FIELD);
            return Outcome::refused(
                vec![GraphQLError::new(message, Code::SavedQueryRunNotAlone)],
                kind,
            );
        };
        if operation.kind != OperationType::Query {
            let message = format!("{} is a query field", RUN_FIELD);
            return Outcome::refused(
                vec![GraphQLError::new(message, Code::SavedQueryRunNotAlone)],
                kind,
            );
        }
        let coerced =
            match crate::variables::coerce(self.api_schema(), operation, selected, raw_variables) {
                Ok(coerced) => coerced.json,
                Err(error) => return Outcome::refused(vec![*error], kind),
            };
        let argument = |name: &str| {
            field
                .arguments
                .iter()
                .find(|argument| argument.name == name)
                .map(|argument| value_to_json(&argument.value, &coerced))
                .unwrap_or(Value::Null)
        };
        let name = argument("name");
        let version = argument("version");
        let variables = argument("variables");
        let (Some(name), Some(version), Some(variables)) = (
            name.as_str(),
            match &version {
                Value::Null => Some(None),
                other => other.as_i64().and_then(|v| i32::try_from(v).ok()).map(Some),
            },
            match &variables {
                Value::Null => Some(Map::new()),
                Value::Object(map) => Some(map.clone()),
                _ => None,
            },
        ) else {
            let message = format!(
                "{} takes a name, an optional version number and variables as a JSON object",
                RUN_FIELD
            );
            return Outcome::refused(vec![GraphQLError::new(message, Code::BadVariables)], kind);
        };
        let (mut outcome, _) = self
            .run_saved(name, version, SavedVariables::Json(&variables), caller)
            .await;
        let key = field.response_key().to_string();
        for error in &mut outcome.response.errors {
            match &mut error.path {
                Some(path) => path.insert(0, Value::String(key.clone())),
                // A refusal of the run itself is the field's.
                None => error.path = Some(vec![Value::String(key.clone())]),
            }
        }
        if outcome.refused {
            return outcome;
        }
        let data = outcome
            .response
            .data
            .take()
            .unwrap_or_else(|| Data::from_value(&Value::Null));
        outcome.response.data = Some(data.nested_under(&key));
        outcome
    }
}
