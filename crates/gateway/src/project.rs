//! Projection, the last step of execution: the merged subgraph answers hold more than the
//! client asked for (keys and `__typename`s the plan needed for its joins) and in the
//! subgraphs' order. Walking the client's own operation over them gives the response the
//! GraphQL spec defines: only the requested response keys, in the operation's order,
//! fragments applied by concrete type, `@skip`/`@include` honoured, and a null in a
//! non-null position propagated to the nearest nullable parent with an error at its path.

use std::collections::HashSet;

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use serde_json::{Map, Value, json};

use crate::errors::GraphQLError;

/// One element of a response path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathElement {
    Key(String),
    Index(usize),
}

impl PathElement {
    pub fn to_json(&self) -> Value {
        match self {
            PathElement::Key(key) => Value::String(key.clone()),
            PathElement::Index(index) => json!(index),
        }
    }
}

/// What the projection reads besides the data.
pub struct Projection<'a> {
    pub schema: &'a Valid<Schema>,
    /// The client's own operation, as it asked it.
    pub document: &'a ExecutableDocument,
    pub variables: &'a Map<String, Value>,
    /// (parent type, field) of the fields the field rules denied: `null` in the answer,
    /// their `FORBIDDEN` errors already reported.
    pub denied: &'a HashSet<(Name, Name)>,
}

/// A non-null position held null: the parent must become null in turn.
struct NullBubble;

impl Projection<'_> {
    /// The response `data` for `selection` (the operation's root selection set) over the
    /// merged `data`, adding an error for every null that reached a non-null position.
    pub fn project_root(
        &self,
        selection: &SelectionSet,
        data: &Value,
        errors: &mut Vec<GraphQLError>,
    ) -> Value {
        let empty = Map::new();
        let source = data.as_object().unwrap_or(&empty);
        let mut path = Vec::new();
        match self.object(selection, source, selection.ty.as_str(), &mut path, errors) {
            Ok(object) => Value::Object(object),
            Err(NullBubble) => Value::Null,
        }
    }

    fn object(
        &self,
        selection: &SelectionSet,
        source: &Map<String, Value>,
        concrete_type: &str,
        path: &mut Vec<PathElement>,
        errors: &mut Vec<GraphQLError>,
    ) -> Result<Map<String, Value>, NullBubble> {
        let mut out = Map::new();
        self.collect(selection, source, concrete_type, path, errors, &mut out)?;
        Ok(out)
    }

    /// Adds the fields of `selection` that apply to `concrete_type` to `out`.
    fn collect(
        &self,
        selection: &SelectionSet,
        source: &Map<String, Value>,
        concrete_type: &str,
        path: &mut Vec<PathElement>,
        errors: &mut Vec<GraphQLError>,
        out: &mut Map<String, Value>,
    ) -> Result<(), NullBubble> {
        for item in &selection.selections {
            match item {
                Selection::Field(field) => {
                    if !self.included(&field.directives) {
                        continue;
                    }
                    let key = field.response_key().as_str();
                    if field.name == "__typename" {
                        out.insert(key.to_owned(), Value::String(concrete_type.to_owned()));
                        continue;
                    }
                    if self
                        .denied
                        .contains(&(selection.ty.clone(), field.name.clone()))
                    {
                        // A field error, like any other: null, and a null in a non-null
                        // position takes its parent with it.
                        if field.definition.ty.is_non_null() {
                            return Err(NullBubble);
                        }
                        out.insert(key.to_owned(), Value::Null);
                        continue;
                    }
                    path.push(PathElement::Key(key.to_owned()));
                    let value = source.get(key).unwrap_or(&Value::Null);
                    let completed = self.complete(
                        &field.definition.ty,
                        &field.selection_set,
                        value,
                        path,
                        errors,
                    );
                    path.pop();
                    let completed = completed?;
                    match (out.get_mut(key), completed) {
                        // The same response key selected twice (directly and in a fragment):
                        // both selections' fields belong in the one object.
                        (Some(Value::Object(existing)), Value::Object(more)) => {
                            merge_objects(existing, more)
                        }
                        (_, completed) => {
                            out.insert(key.to_owned(), completed);
                        }
                    }
                }
                Selection::InlineFragment(inline) => {
                    if !self.included(&inline.directives) {
                        continue;
                    }
                    let applies = inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|t| self.applies(t, concrete_type));
                    if applies {
                        self.collect(
                            &inline.selection_set,
                            source,
                            concrete_type,
                            path,
                            errors,
                            out,
                        )?;
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.directives) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                        && self.applies(fragment.type_condition(), concrete_type)
                    {
                        self.collect(
                            &fragment.selection_set,
                            source,
                            concrete_type,
                            path,
                            errors,
                            out,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Completes `value` as a value of type `ty`, per the spec's CompleteValue.
    fn complete(
        &self,
        ty: &Type,
        selection: &SelectionSet,
        value: &Value,
        path: &mut Vec<PathElement>,
        errors: &mut Vec<GraphQLError>,
    ) -> Result<Value, NullBubble> {
        match ty {
            Type::NonNullNamed(_) | Type::NonNullList(_) => {
                let inner = ty.clone().nullable();
                match self.complete(&inner, selection, value, path, errors) {
                    Ok(Value::Null) | Err(NullBubble) => {
                        // Report only where the null appeared, not at every parent it bubbles through.
                        if value.is_null() {
                            errors.push(GraphQLError::at_path(
                                format!("a non-null field has no value: {}", describe(path)),
                                "NULL_IN_NON_NULL_FIELD",
                                path.iter().map(PathElement::to_json).collect(),
                            ));
                        }
                        Err(NullBubble)
                    }
                    Ok(completed) => Ok(completed),
                }
            }
            Type::List(item_type) => match value {
                Value::Null => Ok(Value::Null),
                Value::Array(items) => {
                    let mut completed = Vec::with_capacity(items.len());
                    for (index, item) in items.iter().enumerate() {
                        path.push(PathElement::Index(index));
                        let result = self.complete(item_type, selection, item, path, errors);
                        path.pop();
                        // A null bubbling out of an item nulls the list (the item was non-null).
                        completed.push(result?);
                    }
                    Ok(Value::Array(completed))
                }
                _ => Ok(Value::Null),
            },
            Type::Named(name) => match value {
                Value::Null => Ok(Value::Null),
                Value::Object(source) => {
                    let concrete = source
                        .get("__typename")
                        .and_then(Value::as_str)
                        .unwrap_or(name.as_str())
                        .to_owned();
                    match self.object(selection, source, &concrete, path, errors) {
                        Ok(object) => Ok(Value::Object(object)),
                        Err(NullBubble) => Ok(Value::Null),
                    }
                }
                leaf if self.is_leaf(name) => Ok(leaf.clone()),
                _ => Ok(Value::Null),
            },
        }
    }

    fn is_leaf(&self, name: &Name) -> bool {
        matches!(
            self.schema.types.get(name),
            Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
        )
    }

    /// Whether a fragment on `condition` applies to an object of `concrete_type`.
    fn applies(&self, condition: &Name, concrete_type: &str) -> bool {
        condition == concrete_type || self.schema.is_subtype(condition, concrete_type)
    }

    /// `@skip(if:)` and `@include(if:)` with literal or variable conditions.
    fn included(&self, directives: &apollo_compiler::ast::DirectiveList) -> bool {
        let condition = |name: &str| {
            directives
                .get(name)
                .and_then(|d| d.specified_argument_by_name("if"))
                .map(|value| match value.as_ref() {
                    apollo_compiler::ast::Value::Boolean(b) => *b,
                    apollo_compiler::ast::Value::Variable(var) => self
                        .variables
                        .get(var.as_str())
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                    _ => false,
                })
        };
        !condition("skip").unwrap_or(false) && condition("include").unwrap_or(true)
    }
}

/// Merges `more` into `existing`, recursing into objects held under the same key.
pub fn merge_objects(existing: &mut Map<String, Value>, more: Map<String, Value>) {
    for (key, value) in more {
        match (existing.get_mut(&key), value) {
            (Some(Value::Object(a)), Value::Object(b)) => merge_objects(a, b),
            (Some(Value::Array(a)), Value::Array(b)) if a.len() == b.len() => {
                for (left, right) in a.iter_mut().zip(b) {
                    match (left, right) {
                        (Value::Object(l), Value::Object(r)) => merge_objects(l, r),
                        (left, right) => *left = right,
                    }
                }
            }
            (Some(slot), value) if !value.is_null() || slot.is_null() => *slot = value,
            (Some(_), _) => {}
            (None, value) => {
                existing.insert(key, value);
            }
        }
    }
}

fn describe(path: &[PathElement]) -> String {
    path.iter()
        .map(|element| match element {
            PathElement::Key(key) => key.clone(),
            PathElement::Index(index) => index.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"
        type Query { measure: Measure  themes: [Theme!]! }
        type Measure { summary: String  secret: String  records: [Record!]! }
        type Record { id: ID! }
        type Theme { id: ID! }
    "#;

    /// Projects `query` over `data` with `denied` coordinates; the answer and its errors.
    fn project(query: &str, data: Value, denied: &[(&str, &str)]) -> (Value, usize) {
        let schema = Schema::parse_and_validate(SCHEMA, "schema.graphql").unwrap();
        let document =
            ExecutableDocument::parse_and_validate(&schema, query, "query.graphql").unwrap();
        let denied: HashSet<(Name, Name)> = denied
            .iter()
            .map(|(ty, field)| (Name::new(ty).unwrap(), Name::new(field).unwrap()))
            .collect();
        let variables = Map::new();
        let projection = Projection {
            schema: &schema,
            document: &document,
            variables: &variables,
            denied: &denied,
        };
        let operation = document.operations.get(None).unwrap();
        let mut errors = Vec::new();
        let answer = projection.project_root(&operation.selection_set, &data, &mut errors);
        (answer, errors.len())
    }

    #[test]
    fn a_denied_nullable_field_is_null_at_its_place_in_the_order_asked() {
        let (answer, errors) = project(
            "{ measure { secret summary } }",
            json!({ "measure": { "summary": "S" } }),
            &[("Measure", "secret")],
        );
        assert_eq!(
            answer,
            json!({ "measure": { "secret": null, "summary": "S" } })
        );
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"measure":{"secret":null,"summary":"S"}}"#
        );
        // Its FORBIDDEN error is the field rules'; projection adds none.
        assert_eq!(errors, 0);
    }

    #[test]
    fn a_denied_non_null_field_takes_its_nullable_parent_with_it() {
        let (answer, _) = project(
            "{ measure { summary records { id } } themes { id } }",
            json!({ "measure": { "summary": "S" }, "themes": [{ "id": "1" }] }),
            &[("Measure", "records")],
        );
        assert_eq!(
            answer,
            json!({ "measure": null, "themes": [{ "id": "1" }] })
        );
    }

    #[test]
    fn a_denied_non_null_root_field_nulls_the_data() {
        let (answer, _) = project(
            "{ t: themes { id } measure { summary } }",
            json!({ "measure": { "summary": "S" } }),
            &[("Query", "themes")],
        );
        assert_eq!(answer, Value::Null);
    }

    #[test]
    fn denials_apply_inside_fragments_by_the_type_they_are_on() {
        let (answer, _) = project(
            "{ measure { ...M ... on Measure { summary } } } fragment M on Measure { secret }",
            json!({ "measure": { "summary": "S" } }),
            &[("Measure", "secret")],
        );
        assert_eq!(
            answer,
            json!({ "measure": { "secret": null, "summary": "S" } })
        );
    }
}
