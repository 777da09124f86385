//! Projection, the last step of execution: the subgraph answers hold more than the
//! client asked for (keys and `__typename`s the plan needed for its joins) and in the
//! subgraphs' order. Walking the client's own operation over them writes the response
//! `data` the GraphQL spec defines straight into one buffer: only the requested response
//! keys, in the operation's order, fragments applied by concrete type, `@skip`/`@include`
//! honoured, a field the field rules denied as `null`, and a null in a non-null position
//! propagated to the nearest nullable parent with an error at its path. The fields that
//! apply to a selection on a concrete type are collected once per request and reused for
//! every object of that shape.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::rc::Rc;

use apollo_compiler::ast::Type;
use apollo_compiler::executable::{ExecutableDocument, Selection, SelectionSet};
use apollo_compiler::schema::{EnumType, ExtendedType};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use serde_json::{Map, Value, json};

use crate::answer::{self, Answers, FastHasher, Node, Object, write_string};
use crate::errors::{Code, GraphQLError};

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

/// A response's `data`, already written as JSON, and how many objects it holds below the
/// root (the rows the access log records). The text starts with the response's own
/// opening, `{"data":`, so that the response is finished in place, without a copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    text: String,
    rows: i64,
}

/// What a response body starts with when it has data.
const OPENING: &str = r#"{"data":"#;

impl Data {
    pub fn from_value(value: &Value) -> Self {
        fn count(value: &Value) -> i64 {
            match value {
                Value::Object(map) => 1 + map.values().map(count).sum::<i64>(),
                Value::Array(items) => items.iter().map(count).sum(),
                _ => 0,
            }
        }
        let rows = match value {
            Value::Object(root) => root.values().map(count).sum(),
            _ => 0,
        };
        Self::from_parts(&value.to_string(), rows)
    }

    /// Data kept earlier (in the response cache) as written.
    pub fn from_parts(json: &str, rows: i64) -> Self {
        Self {
            text: format!("{OPENING}{json}"),
            rows,
        }
    }

    pub fn json(&self) -> &str {
        &self.text[OPENING.len()..]
    }

    pub fn rows(&self) -> i64 {
        self.rows
    }

    /// The data as a `serde_json` value, for the few readers that need one (CSV, saved
    /// query definitions); the response itself goes out as written.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json()).unwrap_or(Value::Null)
    }

    /// This data under `key` of a new root object.
    pub fn nested_under(self, key: &str) -> Self {
        let mut json = Vec::with_capacity(self.text.len() + key.len() + 4);
        json.push(b'{');
        write_string(key, &mut json);
        json.push(b':');
        json.extend_from_slice(self.json().as_bytes());
        json.push(b'}');
        let rows = self.rows + i64::from(self.json() != "null");
        Self::from_parts(std::str::from_utf8(&json).unwrap_or("null"), rows)
    }

    /// The response body: this data and `errors`, written after it.
    pub fn into_response(self, errors: &[GraphQLError]) -> Vec<u8> {
        let mut body = self.text.into_bytes();
        if !errors.is_empty() {
            body.extend_from_slice(br#","errors":"#);
            if serde_json::to_writer(&mut body, errors).is_err() {
                return br#"{"errors":[{"message":"the response could not be encoded"}]}"#.to_vec();
            }
        }
        body.push(b'}');
        body
    }
}

impl serde::Serialize for Data {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_value().serialize(serializer)
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
    /// How long the data is likely to be (as long as last time), so that its buffer is
    /// allocated once.
    pub size_hint: usize,
}

/// A non-null position held null: the parent must become null in turn.
struct NullBubble;

/// What a collected field writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Typename,
    Denied,
    Value,
}

/// One response key of an object: the fields selected under it (more than one when the
/// operation selects the key in several fragments), collected for one concrete type.
struct Collected<'a> {
    key: &'a str,
    /// `"key":`, ready to write.
    prefix: Vec<u8>,
    kind: FieldKind,
    ty: &'a Type,
    /// The selection sets of every field under this key, merged for its value.
    selections: Vec<&'a SelectionSet>,
    /// Its type is an interface or union: the concrete type comes from `__typename`.
    is_abstract: bool,
    /// What its values must be, when it is a leaf.
    leaf: Option<Leaf<'a>>,
}

/// The values a leaf may have, by its type in the API schema: a subgraph's value outside
/// them — an enum value the API schema hides or lacks, a string for an `Int` — is no
/// value of the field, so it is `null` with an error, never passed on.
#[derive(Clone, Copy)]
enum Leaf<'a> {
    Int,
    Float,
    String,
    Boolean,
    /// Serialised as a string; a subgraph may send an integer.
    Id,
    Enum(&'a EnumType),
    /// A custom scalar: whatever JSON the subgraph sends.
    Custom,
}

impl<'a> Leaf<'a> {
    fn of(schema: &'a Schema, name: &str) -> Leaf<'a> {
        match name {
            "Int" => Leaf::Int,
            "Float" => Leaf::Float,
            "String" => Leaf::String,
            "Boolean" => Leaf::Boolean,
            "ID" => Leaf::Id,
            _ => match schema.types.get(name) {
                Some(ExtendedType::Enum(enum_type)) => Leaf::Enum(enum_type),
                _ => Leaf::Custom,
            },
        }
    }

    /// Whether `node` is a value of this type.
    fn admits(self, node: &Node) -> bool {
        match (self, node) {
            (Leaf::Custom, _) | (Leaf::String, Node::String(_)) => true,
            (Leaf::Boolean, Node::Bool(_)) => true,
            (Leaf::Float, Node::Number(_)) => true,
            (Leaf::Int, Node::Number(n)) => n.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            (Leaf::Id, Node::String(_)) => true,
            (Leaf::Id, Node::Number(n)) => n.is_i64() || n.is_u64(),
            (Leaf::Enum(enum_type), Node::String(value)) => {
                enum_type.values.contains_key(value.as_ref())
            }
            _ => false,
        }
    }
}

/// Collected fields by the selection sets they came from (their addresses) and the
/// concrete type they apply to.
type Collections<'a> =
    HashMap<Vec<usize>, Vec<(&'a str, Rc<[Collected<'a>]>)>, BuildHasherDefault<FastHasher>>;

/// The state of one projection.
struct Writer<'p, 'a> {
    projection: &'p Projection<'a>,
    answers: &'a Answers,
    out: Vec<u8>,
    rows: i64,
    path: Vec<Step<'a>>,
    errors: &'p mut Vec<GraphQLError>,
    collections: Collections<'a>,
    key: Vec<usize>,
    /// Buffers of field values and views, reused down the tree.
    values: Vec<Vec<&'a Node>>,
    views: Vec<Vec<&'a Object>>,
}

/// A response path step borrowed from the operation.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Projection<'a> {
    /// The response `data` for `selection` (the operation's root selection set) over
    /// `answers`, adding an error for every null that reached a non-null position.
    pub fn project_root(
        &self,
        selection: &'a SelectionSet,
        answers: &'a Answers,
        errors: &mut Vec<GraphQLError>,
    ) -> Data {
        let mut out = Vec::with_capacity(self.size_hint.max(1024));
        out.extend_from_slice(OPENING.as_bytes());
        let mut writer = Writer {
            projection: self,
            answers,
            out,
            rows: 0,
            path: Vec::new(),
            errors,
            collections: HashMap::default(),
            key: Vec::new(),
            values: Vec::new(),
            views: Vec::new(),
        };
        let root = answers.root();
        if writer
            .object(&[selection], &root, selection.ty.as_str())
            .is_err()
        {
            writer.out.truncate(OPENING.len());
            writer.out.extend_from_slice(b"null");
            writer.rows = 0;
        }
        Data {
            // Written from text and JSON punctuation only.
            text: String::from_utf8(writer.out).unwrap_or_else(|_| format!("{OPENING}null")),
            rows: writer.rows,
        }
    }

    /// The fields of `selections` that apply to `concrete_type`, grouped by response key
    /// in the order the operation asks them.
    fn collect(&self, selections: &[&'a SelectionSet], concrete_type: &str) -> Vec<Collected<'a>> {
        let mut out = Vec::new();
        for selection in selections {
            self.collect_into(selection, concrete_type, &mut out);
        }
        out
    }

    fn collect_into(
        &self,
        selection: &'a SelectionSet,
        concrete_type: &str,
        out: &mut Vec<Collected<'a>>,
    ) {
        for item in &selection.selections {
            match item {
                Selection::Field(field) => {
                    if !self.included(&field.directives) {
                        continue;
                    }
                    let key = field.response_key().as_str();
                    if let Some(existing) = out.iter_mut().find(|c| c.key == key) {
                        existing.selections.push(&field.selection_set);
                        continue;
                    }
                    let kind = if field.name == "__typename" {
                        FieldKind::Typename
                    } else if !self.denied.is_empty()
                        && self
                            .denied
                            .contains(&(selection.ty.clone(), field.name.clone()))
                    {
                        FieldKind::Denied
                    } else {
                        FieldKind::Value
                    };
                    let mut prefix = Vec::with_capacity(key.len() + 3);
                    write_string(key, &mut prefix);
                    prefix.push(b':');
                    let ty = &field.definition.ty;
                    out.push(Collected {
                        key,
                        prefix,
                        kind,
                        ty,
                        selections: vec![&field.selection_set],
                        is_abstract: matches!(
                            self.schema.types.get(ty.inner_named_type()),
                            Some(ExtendedType::Interface(_) | ExtendedType::Union(_))
                        ),
                        leaf: field
                            .selection_set
                            .selections
                            .is_empty()
                            .then(|| Leaf::of(self.schema, ty.inner_named_type())),
                    });
                }
                Selection::InlineFragment(inline) => {
                    let applies = inline
                        .type_condition
                        .as_ref()
                        .is_none_or(|t| self.applies(t, concrete_type));
                    if applies && self.included(&inline.directives) {
                        self.collect_into(&inline.selection_set, concrete_type, out);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if !self.included(&spread.directives) {
                        continue;
                    }
                    if let Some(fragment) = self.document.fragments.get(&spread.fragment_name)
                        && self.applies(fragment.type_condition(), concrete_type)
                    {
                        self.collect_into(&fragment.selection_set, concrete_type, out);
                    }
                }
            }
        }
    }

    /// Whether a fragment on `condition` applies to an object of `concrete_type`.
    fn applies(&self, condition: &Name, concrete_type: &str) -> bool {
        condition == concrete_type || self.schema.is_subtype(condition, concrete_type)
    }

    /// `@skip(if:)` and `@include(if:)` with literal or variable conditions.
    fn included(&self, directives: &apollo_compiler::ast::DirectiveList) -> bool {
        if directives.is_empty() {
            return true;
        }
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

impl<'a> Writer<'_, 'a> {
    /// The collected fields of `selections` on `concrete_type`, collected on first use.
    fn collected(
        &mut self,
        selections: &[&'a SelectionSet],
        concrete_type: &str,
    ) -> Rc<[Collected<'a>]> {
        self.key.clear();
        self.key
            .extend(selections.iter().map(|s| std::ptr::from_ref(*s) as usize));
        if let Some(found) = self
            .collections
            .get(self.key.as_slice())
            .and_then(|by_type| by_type.iter().find(|(t, _)| *t == concrete_type))
        {
            return found.1.clone();
        }
        let collected: Rc<[Collected<'a>]> =
            self.projection.collect(selections, concrete_type).into();
        // The type's name as the schema spells it, so the entry borrows nothing of the data.
        let name = self
            .projection
            .schema
            .types
            .get_key_value(concrete_type)
            .map_or("", |(name, _)| name.as_str());
        self.collections
            .entry(self.key.clone())
            .or_default()
            .push((name, collected.clone()));
        collected
    }

    /// Writes the object `view` as `selections` on `concrete_type` select it.
    fn object(
        &mut self,
        selections: &[&'a SelectionSet],
        view: &[&'a Object],
        concrete_type: &str,
    ) -> Result<(), NullBubble> {
        let fields = self.collected(selections, concrete_type);
        self.out.push(b'{');
        let mut values = self.values.pop().unwrap_or_default();
        let mut result = Ok(());
        for (index, field) in fields.iter().enumerate() {
            if index > 0 {
                self.out.push(b',');
            }
            self.out.extend_from_slice(&field.prefix);
            match field.kind {
                FieldKind::Typename => write_string(concrete_type, &mut self.out),
                FieldKind::Denied => {
                    // A field error, like any other: null, and a null in a non-null
                    // position takes its parent with it.
                    if field.ty.is_non_null() {
                        result = Err(NullBubble);
                        break;
                    }
                    self.out.extend_from_slice(b"null");
                }
                FieldKind::Value => {
                    answer::lookup(view, field.key, &mut values);
                    self.path.push(Step::Key(field.key));
                    let completed = self.complete(field, field.ty, &values);
                    self.path.pop();
                    if completed.is_err() {
                        result = Err(NullBubble);
                        break;
                    }
                }
            }
        }
        values.clear();
        self.values.push(values);
        self.out.push(b'}');
        result
    }

    /// Writes `candidates` (one position's values) as a value of type `ty`, per the
    /// spec's CompleteValue; `Ok(true)` when it wrote null.
    fn complete(
        &mut self,
        field: &Collected<'a>,
        ty: &Type,
        candidates: &[&'a Node],
    ) -> Result<bool, NullBubble> {
        let wrote_null = match ty {
            Type::Named(name) => return Ok(self.complete_named(field, name, candidates)),
            Type::List(item) => return Ok(self.complete_list(field, item, candidates)),
            Type::NonNullNamed(name) => self.complete_named(field, name, candidates),
            Type::NonNullList(item) => self.complete_list(field, item, candidates),
        };
        if !wrote_null {
            return Ok(false);
        }
        // Report only where the null appeared, not at every parent it bubbles through.
        if answer::settled(candidates).is_none_or(Node::is_null) {
            self.errors.push(GraphQLError::at_path(
                format!("a non-null field has no value: {}", self.describe()),
                Code::NullInNonNullField,
                self.path_json(),
            ));
        }
        Err(NullBubble)
    }

    /// Writes a list; true when it wrote null (a non-null item held null).
    fn complete_list(
        &mut self,
        field: &Collected<'a>,
        item_type: &Type,
        candidates: &[&'a Node],
    ) -> bool {
        let Some((len, lists)) = answer::list_items(candidates) else {
            self.out.extend_from_slice(b"null");
            return true;
        };
        let (start, rows) = (self.out.len(), self.rows);
        self.out.push(b'[');
        let mut items = self.values.pop().unwrap_or_default();
        let mut bubbled = false;
        for index in 0..len {
            if index > 0 {
                self.out.push(b',');
            }
            items.clear();
            items.extend(lists.iter().filter_map(|list| list.get(index)));
            self.path.push(Step::Index(index));
            let completed = self.complete(field, item_type, &items);
            self.path.pop();
            if completed.is_err() {
                bubbled = true;
                break;
            }
        }
        items.clear();
        self.values.push(items);
        if bubbled {
            self.out.truncate(start);
            self.rows = rows;
            self.out.extend_from_slice(b"null");
            return true;
        }
        self.out.push(b']');
        false
    }

    /// Writes a leaf or an object; true when it wrote null.
    fn complete_named(
        &mut self,
        field: &Collected<'a>,
        name: &Name,
        candidates: &[&'a Node],
    ) -> bool {
        match answer::settled(candidates) {
            None | Some(Node::Null) => {
                self.out.extend_from_slice(b"null");
                true
            }
            Some(value) if field.leaf.is_some() => {
                let leaf = field.leaf.expect("matched as a leaf");
                if !leaf.admits(value) {
                    self.errors.push(GraphQLError::at_path(
                        format!(
                            "a subgraph answered {} with a value that is not a {name}",
                            self.describe()
                        ),
                        Code::InvalidValue,
                        self.path_json(),
                    ));
                    self.out.extend_from_slice(b"null");
                    return true;
                }
                match (leaf, value) {
                    (Leaf::Id, Node::Number(number)) => {
                        write_string(&number.to_string(), &mut self.out)
                    }
                    _ => value.write_json(&mut self.out),
                }
                false
            }
            Some(Node::Object(_)) => {
                let mut view = self.views.pop().unwrap_or_default();
                view.clear();
                for candidate in candidates {
                    if let Node::Object(object) = candidate {
                        self.answers.expand(object, &mut view);
                    }
                }
                let concrete: &str = if field.is_abstract {
                    answer::typename(&view).unwrap_or(name.as_str())
                } else {
                    name.as_str()
                };
                let (start, rows) = (self.out.len(), self.rows);
                self.rows += 1;
                let written = self.object(&field.selections, &view, concrete);
                view.clear();
                self.views.push(view);
                if written.is_err() {
                    // A non-null field inside was null: this object, nullable here, is
                    // null instead.
                    self.out.truncate(start);
                    self.rows = rows;
                    self.out.extend_from_slice(b"null");
                    return true;
                }
                false
            }
            Some(_) => {
                // A list or scalar where an object belongs is no value of the type.
                self.out.extend_from_slice(b"null");
                true
            }
        }
    }

    fn path_json(&self) -> Vec<Value> {
        self.path
            .iter()
            .map(|step| match step {
                Step::Key(key) => Value::String((*key).to_owned()),
                Step::Index(index) => json!(index),
            })
            .collect()
    }

    fn describe(&self) -> String {
        self.path
            .iter()
            .map(|step| match step {
                Step::Key(key) => (*key).to_owned(),
                Step::Index(index) => index.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"
        type Query { measure: Measure  themes: [Theme!]!  maybeThemes: [Theme!] }
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
            size_hint: 0,
        };
        let operation = document.operations.get(None).unwrap();
        let mut answers = Answers::default();
        let kept = answers.keep(std::sync::Arc::new(Node::from_value(data)));
        answers.extend_root(kept);
        let mut errors = Vec::new();
        let answer = projection.project_root(&operation.selection_set, &answers, &mut errors);
        let written: Value = serde_json::from_str(answer.json()).unwrap();
        assert_eq!(written, answer.to_value());
        (written, errors.len())
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
        // Its Code::Forbidden error is the field rules'; projection adds none.
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

    #[test]
    fn a_null_item_of_a_nullable_list_nulls_the_list_and_not_its_parent() {
        let (answer, errors) = project(
            "{ maybeThemes { id } measure { summary } }",
            json!({ "maybeThemes": [{ "id": "1" }, null], "measure": { "summary": "S" } }),
            &[],
        );
        assert_eq!(
            answer,
            json!({ "maybeThemes": null, "measure": { "summary": "S" } })
        );
        assert_eq!(errors, 1, "one error where the null appeared");
    }

    #[test]
    fn the_same_key_selected_twice_merges_both_selections() {
        let (answer, _) = project(
            "{ measure { records { id } } ... on Query { measure { summary records { id } } } }",
            json!({ "measure": { "summary": "S", "records": [{ "id": "r" }] } }),
            &[],
        );
        assert_eq!(
            serde_json::to_string(&answer).unwrap(),
            r#"{"measure":{"records":[{"id":"r"}],"summary":"S"}}"#
        );
    }
}
