//! Field rules, the step between validation and planning: every field the operation
//! selects is put to the access policy — the field itself, the type it is on, and the
//! type it returns — and a denied field is cut from the operation before it is planned,
//! so it never reaches a subgraph. Each cut leaves a `FORBIDDEN` error at the field's
//! path (response keys, without list indices, which are not known before execution);
//! the rest of the operation runs.
//!
//! Decisions depend only on the field and the principal, not on where the field sits, so
//! a fragment is pruned once for all the places it is spread; paths are collected by
//! walking the operation through its spreads. The answer still has the shape the client
//! asked for: projection walks the client's own operation and puts `null` where a denied
//! field was ([`Authorized::denied_fields`]), and a field left with nothing readable
//! below it is still fetched, for its `__typename` only, so that it is an object (or
//! null) as it would have been.

use std::collections::{BTreeSet, HashMap, HashSet};

use apollo_compiler::executable::{ExecutableDocument, Selection, SelectionSet};
use apollo_compiler::validation::Valid;
use apollo_compiler::{Name, Schema};
use kotohub_auth::{AggregateScope, Decision, Principal, RowScope};
use serde_json::Value;

use crate::errors::{Code, GraphQLError};

/// The access policy as the gateway asks it: may a principal read a type or a field, and
/// which person-level rows and aggregates may its answers hold (what keeps one caller's
/// cached answer from another). Deny by default: a type or field the policy does not
/// know is denied. Kotohub's Cedar policy is one (in the `kotohub` crate); the gateway
/// knows only this.
pub trait AccessPolicy: Send + Sync {
    fn read_type(&self, principal: &Principal, type_name: &str) -> Decision;
    fn read_field(&self, principal: &Principal, type_name: &str, field: &str) -> Decision;
    fn row_scope(&self, principal: &Principal) -> RowScope;
    fn aggregate_scope(&self, principal: &Principal) -> AggregateScope;
    /// Whether what the rule `rule_id` allows may be read only for a stated purpose.
    fn requires_purpose(&self, rule_id: &str) -> bool;
    /// The class of data the schema marks the field `coordinate` (`Type.field`) with.
    fn field_class(&self, coordinate: &str) -> Option<String>;
}

/// How the gateway knows its callers and what they may read.
pub struct Access {
    /// Turns bearer tokens into principals.
    pub authenticator: kotohub_auth::Authenticator,
    /// The access policy.
    pub policy: std::sync::Arc<dyn AccessPolicy>,
    /// Signs the principal forwarded to subgraphs.
    pub internal: kotohub_auth::internal::InternalKey,
}

/// A field the policy denied.
#[derive(Debug, Clone)]
pub struct Denied {
    /// Response keys from the root to the field.
    pub path: Vec<String>,
    /// `Type.field`.
    pub coordinate: String,
}

impl Denied {
    pub fn to_error(&self) -> GraphQLError {
        GraphQLError::at_path(
            format!("not allowed to read {}", self.coordinate),
            Code::Forbidden,
            self.path.iter().cloned().map(Value::String).collect(),
        )
    }
}

/// What of an operation the principal may read.
pub enum Verdict {
    /// All of it: the validated document runs as it is.
    Everything,
    /// What is left in this document once the denied fields are removed.
    Part(Valid<ExecutableDocument>),
    /// Nothing readable is left: the operation must not run.
    Nothing,
}

/// The authorization step's decision on an operation, and what it was based on.
pub struct Authorized {
    pub verdict: Verdict,
    pub denied: Vec<Denied>,
    /// `Type.field` of every field left in the operation, for the access log.
    pub fields: BTreeSet<String>,
    /// Ids of the policy rules that allowed what was left.
    pub policies: BTreeSet<String>,
    /// (parent type, field) of every denied field: projection answers them with `null`.
    pub denied_fields: HashSet<(Name, Name)>,
}

/// Asks the policy about each (type, field) once per request.
struct Rules<'a> {
    schema: &'a Schema,
    policy: &'a dyn AccessPolicy,
    principal: &'a Principal,
    answers: HashMap<(Name, Name), bool>,
    policies: BTreeSet<String>,
}

impl Rules<'_> {
    fn allows(&mut self, parent: &Name, field: &Name) -> bool {
        // Meta-fields (__typename, __schema, __type) and the introspection types are open
        // to every signed-in caller: they describe the schema, not anyone's data.
        if field.starts_with("__") || parent.starts_with("__") {
            return true;
        }
        if let Some(answer) = self.answers.get(&(parent.clone(), field.clone())) {
            return *answer;
        }
        let returns = self
            .schema
            .type_field(parent, field)
            .ok()
            .map(|definition| definition.ty.inner_named_type().clone());
        let answer = match returns {
            // A field the schema lacks cannot be in a validated operation; deny if it is.
            None => false,
            Some(returns) => {
                let leaf = self
                    .schema
                    .types
                    .get(&returns)
                    .is_some_and(|ty| ty.is_leaf());
                let mut decisions = vec![
                    self.policy.read_type(self.principal, parent),
                    self.policy.read_field(self.principal, parent, field),
                ];
                if !leaf {
                    decisions.push(self.policy.read_type(self.principal, &returns));
                }
                let allowed = decisions.iter().all(|decision| decision.allowed);
                if allowed {
                    for decision in decisions {
                        self.policies.extend(decision.policies.iter().cloned());
                    }
                }
                allowed
            }
        };
        self.answers.insert((parent.clone(), field.clone()), answer);
        answer
    }
}

/// Applies the field rules to the operation `operation_name` of `document`.
pub fn authorize(
    schema: &Valid<Schema>,
    document: &Valid<ExecutableDocument>,
    operation_name: Option<&str>,
    policy: &dyn AccessPolicy,
    principal: &Principal,
) -> Authorized {
    let mut rules = Rules {
        schema,
        policy,
        principal,
        answers: HashMap::new(),
        policies: BTreeSet::new(),
    };
    let operation = document
        .operations
        .get(operation_name)
        .expect("the operation was chosen when validated");
    let mut walk = Walk {
        denied: Vec::new(),
        seen: HashSet::new(),
        fields: BTreeSet::new(),
    };
    collect(
        document,
        &operation.selection_set,
        &mut Vec::new(),
        &mut rules,
        &mut walk,
    );
    let Walk { denied, fields, .. } = walk;
    if denied.is_empty() {
        return Authorized {
            verdict: Verdict::Everything,
            denied,
            fields,
            policies: rules.policies,
            denied_fields: HashSet::new(),
        };
    }

    let mut pruned: ExecutableDocument = document.clone().into_inner();
    // Fragments first, innermost first: a fragment that ends up empty is dropped with
    // every spread of it. Fragments cannot spread each other in cycles (validation), so
    // this settles.
    let mut empty_fragments: HashSet<Name> = HashSet::new();
    loop {
        let mut changed = false;
        for (name, fragment) in pruned.fragments.iter_mut() {
            if empty_fragments.contains(name) {
                continue;
            }
            let set = &mut fragment.make_mut().selection_set;
            prune(set, &mut rules, &empty_fragments);
            if set.selections.is_empty() {
                empty_fragments.insert(name.clone());
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    pruned
        .fragments
        .retain(|name, _| !empty_fragments.contains(name));
    let operation = pruned
        .operations
        .get_mut(operation_name)
        .expect("the operation was chosen when validated");
    prune(&mut operation.selection_set, &mut rules, &empty_fragments);
    let nothing_left = operation.selection_set.selections.is_empty();
    let denied_fields = rules
        .answers
        .iter()
        .filter(|(_, allowed)| !**allowed)
        .map(|(coordinate, _)| coordinate.clone())
        .collect();
    Authorized {
        verdict: if nothing_left {
            Verdict::Nothing
        } else {
            // Removing selections from a valid document leaves it valid: no selection set
            // is left empty (a field's emptied one holds `__typename`), and every
            // remaining field, argument and spread was already checked.
            Verdict::Part(Valid::assume_valid(pruned))
        },
        denied,
        fields,
        policies: rules.policies,
        denied_fields,
    }
}

/// What walking the operation finds.
struct Walk {
    denied: Vec<Denied>,
    /// Paths already reported, so a fragment spread twice is reported once.
    seen: HashSet<Vec<String>>,
    fields: BTreeSet<String>,
}

/// Records every denied field reachable from `set`, with its path, and every allowed one.
fn collect(
    document: &ExecutableDocument,
    set: &SelectionSet,
    path: &mut Vec<String>,
    rules: &mut Rules<'_>,
    walk: &mut Walk,
) {
    for selection in &set.selections {
        match selection {
            Selection::Field(field) => {
                path.push(field.response_key().to_string());
                let coordinate = format!("{}.{}", set.ty, field.name);
                if !rules.allows(&set.ty, &field.name) {
                    if walk.seen.insert(path.clone()) {
                        walk.denied.push(Denied {
                            path: path.clone(),
                            coordinate,
                        });
                    }
                } else {
                    if !field.name.starts_with("__") {
                        walk.fields.insert(coordinate);
                    }
                    collect(document, &field.selection_set, path, rules, walk);
                }
                path.pop();
            }
            Selection::InlineFragment(inline) => {
                collect(document, &inline.selection_set, path, rules, walk)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.fragment_name) {
                    collect(document, &fragment.selection_set, path, rules, walk)
                }
            }
        }
    }
}

/// Removes denied fields from `set`, then fragments left empty. An allowed field left
/// with nothing below it keeps `__typename`, so that it is still fetched.
fn prune(set: &mut SelectionSet, rules: &mut Rules<'_>, empty_fragments: &HashSet<Name>) {
    let parent = set.ty.clone();
    set.selections.retain_mut(|selection| match selection {
        Selection::Field(field) => {
            if !rules.allows(&parent, &field.name) {
                return false;
            }
            if field.selection_set.selections.is_empty() {
                return true;
            }
            let field = field.make_mut();
            prune(&mut field.selection_set, rules, empty_fragments);
            if field.selection_set.selections.is_empty() {
                // Every type has `__typename`; were it somehow missing, the field goes.
                match field
                    .selection_set
                    .new_field(rules.schema, apollo_compiler::name!("__typename"))
                {
                    Ok(typename) => field.selection_set.push(typename),
                    Err(_) => return false,
                }
            }
            true
        }
        Selection::InlineFragment(inline) => {
            let inline = inline.make_mut();
            prune(&mut inline.selection_set, rules, empty_fragments);
            !inline.selection_set.selections.is_empty()
        }
        Selection::FragmentSpread(spread) => !empty_fragments.contains(&spread.fragment_name),
    });
}
