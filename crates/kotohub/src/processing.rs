//! The record of processing activities (GDPR art. 30), generated rather than written:
//! which person-level types and fields the hub holds, in which class each field is (the
//! mark the subgraph schemas give it or its type, `@tag(name: "class:…")`), which of them
//! each role may read under the Cedar policy, for which purposes, and how long the hub
//! keeps what. The same marks go into the policy as each field's `class` attribute
//! ([`field_classes`]), so the rules, this record and the completeness check read one
//! source. `kotohub processing-record` prints it; `docs/record-of-processing.md` is what
//! it prints for the built-in configuration, and a test keeps the two equal.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use apollo_compiler::Schema;
use apollo_compiler::schema::{Directive, ExtendedType};
use kotohub_auth::{Policy, Principal, Role};

/// The classes a field may be marked with.
pub const CLASSES: [(&str, &str); 5] = [
    ("identifying", "names a person directly"),
    (
        "pseudonymous",
        "the hub's pseudonymous ids, the same in every division",
    ),
    ("personal", "about a person who is not named in it"),
    (
        "special-category",
        "social-welfare data: confidential by law, for the serving officers alone",
    ),
    (
        "operational",
        "about events and services, not about a person",
    ),
];

/// The prefix of a class mark.
const MARK: &str = "class:";

/// The supergraph, parsed: the record reads its types, marks and owning subgraphs.
fn schema(supergraph_sdl: &str) -> Result<Schema, String> {
    Schema::parse(supergraph_sdl, "supergraph.graphql").map_err(|e| e.to_string())
}

/// The class marks among `directives`.
fn class_of<'a>(directives: impl Iterator<Item = &'a Directive>) -> Option<String> {
    directives
        .filter(|d| d.name == "tag")
        .filter_map(|d| d.specified_argument_by_name("name"))
        .filter_map(|value| value.as_str())
        .find_map(|name| name.strip_prefix(MARK).map(str::to_owned))
}

/// The subgraphs a type or field is joined to (`@join__type` / `@join__field`).
fn graphs<'a>(directives: impl Iterator<Item = &'a Directive>, join: &str) -> BTreeSet<String> {
    directives
        .filter(|d| d.name == join)
        .filter_map(|d| d.specified_argument_by_name("graph"))
        .filter_map(|value| {
            value
                .as_enum()
                .map(|name| name.as_str().to_ascii_lowercase())
        })
        .collect()
}

/// One field of a person-level type.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    /// Its class: its own mark, else its type's; `None` if neither is marked.
    pub class: Option<String>,
    /// It returns an object: its data is classed where that object's type is.
    pub reference: bool,
}

/// A type whose reads need a stated purpose: person-level data.
#[derive(Debug, Clone)]
pub struct PersonLevelType {
    pub name: String,
    pub subgraphs: BTreeSet<String>,
    pub fields: Vec<Field>,
}

/// An officer of one body: whom the policy is asked about person-level types.
fn officer() -> Principal {
    Principal::new(
        "record-officer",
        [Role::Officer],
        ["ohjaamo".to_owned()],
        None,
    )
}

/// The types an officer reads only for a stated purpose (the rules annotated
/// `@purpose("required")`), with their fields and classes.
pub fn person_level_types(
    supergraph_sdl: &str,
    policy: &Policy,
) -> Result<Vec<PersonLevelType>, String> {
    let schema = schema(supergraph_sdl)?;
    let officer = officer();
    let mut found = Vec::new();
    for (name, ty) in &schema.types {
        let ExtendedType::Object(object) = ty else {
            continue;
        };
        let decision = policy.read_type(&officer, name);
        if !decision.allowed
            || !decision
                .policies
                .iter()
                .any(|rule| policy.requires_purpose(rule))
        {
            continue;
        }
        let type_class = class_of(object.directives.iter().map(|d| &***d));
        let fields = object
            .fields
            .iter()
            .filter(|(field, _)| !field.starts_with("__"))
            .map(|(field, definition)| {
                let returns = definition.ty.inner_named_type();
                Field {
                    name: field.to_string(),
                    class: class_of(definition.directives.iter().map(|d| &**d))
                        .or_else(|| type_class.clone()),
                    reference: matches!(schema.types.get(returns), Some(ExtendedType::Object(_))),
                }
            })
            .collect();
        found.push(PersonLevelType {
            name: name.to_string(),
            subgraphs: graphs(object.directives.iter().map(|d| &***d), "join__type"),
            fields,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// `Type.field` of every field of a person-level type that holds data (not an object)
/// and has no class, or a class that is not one of [`CLASSES`].
pub fn unclassified(types: &[PersonLevelType]) -> Vec<String> {
    let known: BTreeSet<&str> = CLASSES.iter().map(|(name, _)| *name).collect();
    types
        .iter()
        .flat_map(|ty| {
            ty.fields
                .iter()
                .filter(|f| !f.reference)
                .filter(|f| !f.class.as_deref().is_some_and(|c| known.contains(c)))
                .map(move |f| format!("{}.{}", ty.name, f.name))
        })
        .collect()
}

/// The class of every classed field of the supergraph (`Type.field` → class), for the
/// policy.
pub fn field_classes(supergraph_sdl: &str) -> Result<HashMap<String, String>, String> {
    let schema = schema(supergraph_sdl)?;
    let mut classes = HashMap::new();
    for (name, ty) in &schema.types {
        let ExtendedType::Object(object) = ty else {
            continue;
        };
        let type_class = class_of(object.directives.iter().map(|d| &***d));
        for (field, definition) in &object.fields {
            if let Some(class) =
                class_of(definition.directives.iter().map(|d| &**d)).or_else(|| type_class.clone())
            {
                classes.insert(format!("{name}.{field}"), class);
            }
        }
    }
    Ok(classes)
}

/// What the record says of the configuration.
pub struct Settings<'a> {
    pub purposes: &'a BTreeMap<String, String>,
    pub audit_retention_days: u32,
    pub emergency_minutes: u32,
}

/// The roles the record reports on, each as a principal the policy is asked about.
fn roles() -> Vec<(&'static str, Principal)> {
    vec![
        ("officer", officer()),
        (
            "partner",
            Principal::new(
                "record-partner",
                [Role::Partner],
                ["finnish-red-cross".to_owned()],
                None,
            ),
        ),
        (
            "analyst",
            Principal::new(
                "record-analyst",
                [Role::Analyst],
                [],
                Some("employment".to_owned()),
            ),
        ),
        (
            "auditor",
            Principal::new("record-auditor", [Role::Auditor], [], None),
        ),
        (
            "admin",
            Principal::new("record-admin", [Role::Admin], [], None),
        ),
        (
            "importer",
            Principal::new(
                "record-importer",
                [Role::Importer],
                [],
                Some("employment".to_owned()),
            ),
        ),
    ]
}

/// The record as Markdown.
pub fn record(
    supergraph_sdl: &str,
    policy: &Policy,
    settings: &Settings<'_>,
) -> Result<String, String> {
    let types = person_level_types(supergraph_sdl, policy)?;
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "# Record of processing activities (GDPR art. 30)\n");
    let _ = writeln!(
        w,
        "Generated by `kotohub processing-record` from the composed schema's class marks, the Cedar \
         policy (`schema/policies/kotohub.cedar`) and the built-in configuration; a test fails when \
         it is stale, and another when a field of a person-level type has no class.\n"
    );
    let _ = writeln!(w, "## Processing\n");
    let _ = writeln!(
        w,
        "- **Controller:** the city, for its Integration Programme; each division is responsible \
         for the records its systems hold and import.\n\
         - **Data subjects:** clients of the programme's measures — immigrants and their families \
         served by the responsible bodies — known in the hub by pseudonymous ids.\n\
         - **Recipients:** the officers of the responsible bodies that serve a client; no one \
         outside the city's divisions. Division dashboards get aggregates with small cells \
         suppressed, never person-level data.\n\
         - **Transfers outside the EU/EEA:** none.\n"
    );
    let _ = writeln!(w, "## Purposes\n");
    let _ = writeln!(
        w,
        "An officer states one of these for every read of person-level data (the rules marked \
         `@purpose(\"required\")`); the access log records it.\n"
    );
    let _ = writeln!(w, "| purpose | covers |\n|---|---|");
    for (id, text) in settings.purposes {
        let _ = writeln!(w, "| `{id}` | {text} |");
    }
    let _ = writeln!(w, "\n## Classes of data\n");
    let _ = writeln!(w, "| class | meaning |\n|---|---|");
    for (class, meaning) in CLASSES {
        let _ = writeln!(w, "| `{class}` | {meaning} |");
    }
    let _ = writeln!(w, "\n## Person-level types and their fields\n");
    let _ = writeln!(
        w,
        "Fields that return another type are links: their data is classed where that type is.\n"
    );
    let _ = writeln!(w, "| type | held by | fields by class |\n|---|---|---|");
    for ty in &types {
        let mut by_class: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for field in ty.fields.iter().filter(|f| !f.reference) {
            by_class
                .entry(field.class.as_deref().unwrap_or("(none)"))
                .or_default()
                .push(&field.name);
        }
        let classes: Vec<String> = by_class
            .iter()
            .map(|(class, fields)| format!("**{class}**: {}", fields.join(", ")))
            .collect();
        let held: Vec<&str> = ty.subgraphs.iter().map(String::as_str).collect();
        let _ = writeln!(
            w,
            "| `{}` | {} | {} |",
            ty.name,
            held.join(", "),
            classes.join("; ")
        );
    }
    let _ = writeln!(w, "\n## Who may read them\n");
    let _ = writeln!(
        w,
        "What the policy answers for each role, field by field (an officer of one body stands \
         for all officers: which rows it gets is the row rule below).\n"
    );
    let roles = roles();
    let header: Vec<&str> = roles.iter().map(|(name, _)| *name).collect();
    let _ = writeln!(w, "| type | {} |", header.join(" | "));
    let _ = writeln!(w, "|---|{}", "---|".repeat(header.len()));
    for ty in &types {
        let data: Vec<&Field> = ty.fields.iter().filter(|f| !f.reference).collect();
        let cells: Vec<String> = roles
            .iter()
            .map(|(_, principal)| {
                if !policy.read_type(principal, &ty.name).allowed {
                    return "—".to_owned();
                }
                let readable = data
                    .iter()
                    .filter(|f| policy.read_field(principal, &ty.name, &f.name).allowed)
                    .count();
                if readable == data.len() {
                    "all fields".to_owned()
                } else {
                    format!("{readable} of {} fields", data.len())
                }
            })
            .collect();
        let _ = writeln!(w, "| `{}` | {} |", ty.name, cells.join(" | "));
    }
    let _ = writeln!(
        w,
        "\n- **Rows:** an officer reads the rows its own bodies made and the clients those bodies \
         serve (rule `officer-rows`), in each subgraph's SQL and again by PostgreSQL's row-level \
         security; a partner organisation's staff read their organisation's rows and the \
         clients it serves the same way, and only when every body their token names is a partner \
         organisation (rule `partner-rows`).\n\
         - **Emergency access:** an officer may open one client outside its bodies for {} minutes \
         with a reason in words (rule `officer-emergency-access`); every read under it is queued \
         for review.\n\
         - **Identifying and special-category fields** are for officers alone, whatever another \
         rule permits (rule `classified-fields-officers-only`).\n",
        settings.emergency_minutes
    );
    let _ = writeln!(w, "## Retention\n");
    let _ = writeln!(
        w,
        "- **Access log:** {} days (`audit.retention_days`); `kotohub audit prune` removes older \
         events and leaves a checkpoint.\n\
         - **Person-level records:** kept as the divisions' systems report them. The hub does \
         not yet remove a record its source deleted, nor expire records on its own: retention \
         of person-level data is the source systems' until it does.\n\
         - **Emergency accesses and review marks:** kept with the access log, insert-only.\n",
        settings.audit_retention_days
    );
    let _ = writeln!(w, "## Security measures\n");
    let _ = writeln!(
        w,
        "Bearer tokens verified at the gateway; a principal signed for each subgraph and request; \
         field rules before planning and row rules in SQL and row-level security; a stated \
         purpose for person-level reads; every operation in a hash-chained, insert-only access \
         log whose head is signed with a key the database does not hold; review rules for \
         unusual access; client ids pseudonymised with a keyed hash on import."
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
schema @link(url: "https://specs.apollo.dev/link/v1.0") { query: Query }
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
type Query { client: Client }
type Client @tag(name: "class:personal") {
  id: ID! @tag(name: "class:pseudonymous")
  name: String! @tag(name: "class:identifying")
  birthYear: Int!
  socialCases: [SocialCase!]!
}
type SocialCase {
  kind: String!
  client: Client!
}
"#;

    #[test]
    fn a_fields_class_is_its_own_mark_else_its_types() {
        let classes = field_classes(SDL).unwrap();
        assert_eq!(classes["Client.id"], "pseudonymous");
        assert_eq!(classes["Client.name"], "identifying");
        assert_eq!(classes["Client.birthYear"], "personal");
        assert!(!classes.contains_key("SocialCase.kind"));
    }

    #[test]
    fn unmarked_data_fields_are_named_and_links_are_not() {
        let policy = Policy::embedded().unwrap();
        let types = person_level_types(SDL, &policy).unwrap();
        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Client", "SocialCase"]);
        assert_eq!(unclassified(&types), ["SocialCase.kind"]);
    }
}
