//! Validation, the first step of a request: parse the operation under token and recursion
//! bounds, validate it against the API schema, pick the operation to run, and refuse it
//! when it is deeper, more aliased or wider at the root than the configured limits —
//! before any planning or fetching is spent on it. Errors follow the GraphQL spec (message
//! and locations) and carry a stable `extensions.code`.

use apollo_compiler::executable::{
    ExecutableDocument, Operation, OperationType, Selection, SelectionSet,
};
use apollo_compiler::parser::Parser;
use apollo_compiler::validation::Valid;
use std::collections::HashMap;

use crate::errors::Code;
use apollo_compiler::{Name, Node, Schema};
use serde::Serialize;

/// Bounds on an operation, checked before it is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Lexical tokens in the document.
    pub max_tokens: usize,
    /// Nesting the parser follows before it gives up.
    pub max_recursion: usize,
    /// Depth of nested selection sets in the chosen operation, fragments expanded.
    pub max_depth: usize,
    /// Aliased fields in the chosen operation.
    pub max_aliases: usize,
    /// Fields selected on the root type.
    pub max_root_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_tokens: 15_000,
            max_recursion: 200,
            max_depth: 15,
            max_aliases: 30,
            max_root_fields: 20,
        }
    }
}

/// A 1-based position in the operation text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// An error in the client's request, as it goes into the response's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestError {
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
    pub code: Code,
}

/// An operation that passed this step.
#[derive(Debug)]
pub struct ValidOperation {
    pub document: Valid<ExecutableDocument>,
    /// The name of the chosen operation, if it has one.
    pub operation_name: Option<String>,
    pub kind: OperationType,
}

impl ValidOperation {
    pub fn operation(&self) -> &Node<Operation> {
        self.document
            .operations
            .get(self.operation_name.as_deref())
            .expect("the operation was chosen when validated")
    }
}

/// Validates `source` against `schema` and chooses the operation `operation_name`.
pub fn validate(
    schema: &Valid<Schema>,
    source: &str,
    operation_name: Option<&str>,
    limits: &Limits,
) -> Result<ValidOperation, Vec<RequestError>> {
    let ast = tracing::info_span!("parse").in_scope(|| {
        Parser::new()
            .token_limit(limits.max_tokens)
            .recursion_limit(limits.max_recursion)
            .parse_ast(source, "operation.graphql")
            .map_err(|with_errors| diagnostics(&with_errors.errors, Code::ParseFailed))
    })?;
    let _validating = tracing::info_span!("validate").entered();
    let document = ast
        .to_executable_validate(schema)
        .map_err(|with_errors| diagnostics(&with_errors.errors, Code::ValidationFailed))?;
    let operation = document.operations.get(operation_name).map_err(|_| {
        let message = match operation_name {
            Some(name) => format!("the document has no operation named \"{name}\""),
            None => "the document has several operations: say which to run with operationName"
                .to_owned(),
        };
        vec![RequestError {
            message,
            locations: Vec::new(),
            code: Code::UnknownOperation,
        }]
    })?;
    check_limits(&document, operation, limits)?;
    Ok(ValidOperation {
        operation_name: operation.name.as_ref().map(|name| name.to_string()),
        kind: operation.operation_type,
        document,
    })
}

fn diagnostics(
    errors: &apollo_compiler::validation::DiagnosticList,
    code: Code,
) -> Vec<RequestError> {
    errors
        .iter()
        .map(|diagnostic| {
            let json = diagnostic.to_json();
            RequestError {
                message: json.message,
                locations: json
                    .locations
                    .into_iter()
                    .map(|l| Location {
                        line: l.line,
                        column: l.column,
                    })
                    .collect(),
                code,
            }
        })
        .collect()
}

/// How deep a selection set goes (1 for a set of leaves) and how many aliases it uses,
/// with fragments expanded.
#[derive(Clone, Copy, Default)]
struct Shape {
    depth: usize,
    aliases: usize,
}

fn check_limits(
    document: &ExecutableDocument,
    operation: &Operation,
    limits: &Limits,
) -> Result<(), Vec<RequestError>> {
    let refuse = |message: String, code: Code| {
        Err(vec![RequestError {
            message,
            locations: Vec::new(),
            code,
        }])
    };
    let root_fields = count_root_fields(document, &operation.selection_set, &mut HashMap::new());
    if root_fields > limits.max_root_fields {
        return refuse(
            format!(
                "the operation selects {root_fields} root fields; the limit is {}",
                limits.max_root_fields
            ),
            Code::TooManyRootFields,
        );
    }
    let shape = shape_of(document, &operation.selection_set, &mut HashMap::new());
    if shape.depth > limits.max_depth {
        return refuse(
            format!(
                "the operation is {} levels deep; the limit is {}",
                shape.depth, limits.max_depth
            ),
            Code::TooDeep,
        );
    }
    if shape.aliases > limits.max_aliases {
        return refuse(
            format!(
                "the operation uses {} aliases; the limit is {}",
                shape.aliases, limits.max_aliases
            ),
            Code::TooManyAliases,
        );
    }
    Ok(())
}

/// Fields on the root type, fragments expanded, each fragment counted once and reused.
fn count_root_fields(
    document: &ExecutableDocument,
    set: &SelectionSet,
    fragments: &mut HashMap<Name, usize>,
) -> usize {
    let mut count: usize = 0;
    for selection in &set.selections {
        let inner = match selection {
            Selection::Field(_) => 1,
            Selection::InlineFragment(inline) => {
                count_root_fields(document, &inline.selection_set, fragments)
            }
            Selection::FragmentSpread(spread) => match fragments.get(&spread.fragment_name) {
                Some(known) => *known,
                None => {
                    let computed = document
                        .fragments
                        .get(&spread.fragment_name)
                        .map_or(0, |fragment| {
                            count_root_fields(document, &fragment.selection_set, fragments)
                        });
                    fragments.insert(spread.fragment_name.clone(), computed);
                    computed
                }
            },
        };
        count = count.saturating_add(inner);
    }
    count
}

/// The shape of `set`. Each fragment's shape is computed once, so fragments that spread
/// each other many times cannot make this step exponential; counts saturate instead of
/// overflowing (validation has ruled out fragment cycles).
fn shape_of(
    document: &ExecutableDocument,
    set: &SelectionSet,
    fragments: &mut HashMap<Name, Shape>,
) -> Shape {
    let mut shape = Shape {
        depth: 1,
        aliases: 0,
    };
    for selection in &set.selections {
        let inner = match selection {
            Selection::Field(field) => {
                if field.alias.is_some() {
                    shape.aliases = shape.aliases.saturating_add(1);
                }
                if field.selection_set.selections.is_empty() {
                    continue;
                }
                let child = shape_of(document, &field.selection_set, fragments);
                Shape {
                    depth: child.depth + 1,
                    aliases: child.aliases,
                }
            }
            Selection::InlineFragment(inline) => {
                shape_of(document, &inline.selection_set, fragments)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(known) = fragments.get(&spread.fragment_name) {
                    *known
                } else if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    let computed = shape_of(document, &fragment.selection_set, fragments);
                    fragments.insert(spread.fragment_name.clone(), computed);
                    computed
                } else {
                    continue;
                }
            }
        };
        shape.depth = shape.depth.max(inner.depth);
        shape.aliases = shape.aliases.saturating_add(inner.aliases);
    }
    shape
}
