//! The access policy: Cedar rules under `schema/policies/`, validated against their Cedar
//! schema when loaded, and asked four kinds of question — may this principal read a
//! type, a field, which person-level rows, and over which rows it may count aggregates.
//! Deny is the default: a question no rule permits is answered no. Answers are cached per principal and resource, since the same
//! few questions recur on every request.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, Entity, EntityId, EntityTypeName,
    EntityUid, PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::principal::Principal;

/// The policy Kotohub ships with.
pub const POLICY: &str = include_str!("../../../schema/policies/kotohub.cedar");
/// The schema every policy is validated against.
pub const SCHEMA: &str = include_str!("../../../schema/policies/kotohub.cedarschema");

/// Why a policy could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy does not parse: {0}")]
    Parse(String),
    #[error("the policy schema does not parse: {0}")]
    Schema(String),
    #[error("the policy does not fit its schema: {0}")]
    Invalid(String),
}

/// An answer and the rules behind it, for the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Ids of the rules that decided: the permits that allowed, or the forbids that
    /// denied; empty when nothing matched and the default denied.
    pub policies: Arc<[String]>,
}

/// The person-level rows a principal may get from a subgraph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowScope {
    /// None at all.
    Nothing,
    /// Rows made by these responsible bodies, and the clients they serve.
    Bodies(Arc<[String]>),
}

impl RowScope {
    /// The bodies whose rows are visible; empty for [`RowScope::Nothing`].
    pub fn bodies(&self) -> &[String] {
        match self {
            RowScope::Nothing => &[],
            RowScope::Bodies(bodies) => bodies,
        }
    }
}

/// The rows a principal may count in aggregates (whose small cells are suppressed).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AggregateScope {
    /// None at all.
    Nothing,
    /// Records made by responsible bodies of these divisions.
    Divisions(Arc<[String]>),
    /// Every division's records.
    CityWide,
}

impl AggregateScope {
    /// Whether records of `division` may be counted.
    pub fn covers(&self, division: &str) -> bool {
        match self {
            AggregateScope::Nothing => false,
            AggregateScope::Divisions(divisions) => divisions.iter().any(|d| d == division),
            AggregateScope::CityWide => true,
        }
    }
}

/// Which saved queries a principal may read, or manage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SavedQueryScope {
    /// None at all.
    Nothing,
    /// Those of these responsible bodies (for reading: also those shared with them or
    /// with every officer).
    Bodies(Arc<[String]>),
    /// Every body's.
    All,
}

/// The division claim that stands for the whole city in the aggregate rules.
pub const CITY_WIDE: &str = "city";

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Action {
    Read,
    ReadRows,
    ReadAggregates,
    ReadSavedQueries,
    ManageSavedQueries,
    RecordIndicators,
    Import,
    OpenEmergencyAccess,
    ReviewEvents,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Read => "read",
            Action::ReadRows => "readRows",
            Action::ReadAggregates => "readAggregates",
            Action::ReadSavedQueries => "readSavedQueries",
            Action::ManageSavedQueries => "manageSavedQueries",
            Action::RecordIndicators => "recordIndicators",
            Action::Import => "import",
            Action::OpenEmergencyAccess => "openEmergencyAccess",
            Action::ReviewEvents => "reviewEvents",
        }
    }
}

/// What a question is about.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Resource {
    Type(String),
    Field { type_name: String, field: String },
    Rows(&'static str),
    Import { subgraph: String, owner: String },
}

type Question = (Principal, Action, Resource);

/// The loaded policy.
pub struct Policy {
    policies: PolicySet,
    authorizer: Authorizer,
    answers: moka::sync::Cache<Question, Decision>,
    /// `@id`s of the rules annotated `@purpose("required")`: what they allow is read
    /// only for a stated purpose.
    purpose_rules: HashSet<String>,
    /// The class each field is marked with in the schema (`Type.field` → class), given
    /// to rules as the field's `class` attribute.
    field_classes: HashMap<String, String>,
    /// The responsible bodies that are organisations outside the City, given to rules as
    /// the row sets' `partner_bodies` attribute.
    partner_bodies: Vec<String>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

impl Policy {
    /// The policy shipped in `schema/policies/`.
    pub fn embedded() -> Result<Self, PolicyError> {
        Self::from_text(POLICY)
    }

    /// A policy from Cedar text, validated against Kotohub's schema.
    pub fn from_text(text: &str) -> Result<Self, PolicyError> {
        let policies =
            PolicySet::from_str(text).map_err(|e| PolicyError::Parse(format!("{e:?}")))?;
        let (schema, _warnings) = Schema::from_cedarschema_str(SCHEMA)
            .map_err(|e| PolicyError::Schema(format!("{e:?}")))?;
        let result = Validator::new(schema).validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let errors: Vec<String> = result.validation_errors().map(|e| e.to_string()).collect();
            return Err(PolicyError::Invalid(errors.join("; ")));
        }
        let purpose_rules = policies
            .policies()
            .filter(|rule| rule.annotation("purpose") == Some("required"))
            .map(|rule| {
                rule.annotation("id")
                    .map_or_else(|| rule.id().to_string(), str::to_owned)
            })
            .collect();
        Ok(Self {
            field_classes: HashMap::new(),
            partner_bodies: Vec::new(),
            purpose_rules,
            policies,
            authorizer: Authorizer::new(),
            answers: moka::sync::Cache::new(100_000),
        })
    }

    /// The policy with the schema's class marks of fields (`Type.field` → class, e.g.
    /// `special-category`), which rules read as a field's `class` attribute.
    pub fn with_field_classes(mut self, classes: HashMap<String, String>) -> Self {
        self.field_classes = classes;
        self.answers.invalidate_all();
        self
    }

    /// The policy knowing which responsible bodies are partner organisations outside the
    /// City (the catalog's), which rules read as the row sets' `partner_bodies`
    /// attribute: a partner's rows are its organisation's only, and an officer acts for
    /// the City's bodies only.
    pub fn with_partner_bodies(mut self, bodies: impl IntoIterator<Item = String>) -> Self {
        self.partner_bodies = bodies.into_iter().collect();
        self.partner_bodies.sort();
        self.answers.invalidate_all();
        self
    }

    /// The class the schema marks `coordinate` (`Type.field`) with, if any.
    pub fn field_class(&self, coordinate: &str) -> Option<&str> {
        self.field_classes.get(coordinate).map(String::as_str)
    }

    /// May `principal` read values of the object type `type_name`?
    pub fn read_type(&self, principal: &Principal, type_name: &str) -> Decision {
        self.ask(
            principal,
            Action::Read,
            Resource::Type(type_name.to_owned()),
        )
    }

    /// May `principal` read the field `type_name.field`?
    pub fn read_field(&self, principal: &Principal, type_name: &str, field: &str) -> Decision {
        let resource = Resource::Field {
            type_name: type_name.to_owned(),
            field: field.to_owned(),
        };
        self.ask(principal, Action::Read, resource)
    }

    /// Whether what the rule `rule_id` (its `@id`) allows may be read only for a stated
    /// purpose: the rules annotated `@purpose("required")`, those of person-level data.
    pub fn requires_purpose(&self, rule_id: &str) -> bool {
        self.purpose_rules.contains(rule_id)
    }

    /// Whether `principal` may open an emergency access to one client outside its own
    /// bodies (it still reads only what its read rules allow).
    pub fn open_emergency_access(&self, principal: &Principal) -> Decision {
        self.ask(
            principal,
            Action::OpenEmergencyAccess,
            Resource::Rows("one-client"),
        )
    }

    /// Whether `principal` may mark events of the access log as reviewed.
    pub fn review_events(&self, principal: &Principal) -> Decision {
        self.ask(
            principal,
            Action::ReviewEvents,
            Resource::Rows("all-bodies"),
        )
    }

    /// Which person-level rows `principal` may get.
    pub fn row_scope(&self, principal: &Principal) -> RowScope {
        let own = self.ask(principal, Action::ReadRows, Resource::Rows("own-bodies"));
        if own.allowed && !principal.bodies.is_empty() {
            RowScope::Bodies(principal.bodies.clone().into())
        } else {
            RowScope::Nothing
        }
    }

    /// Which saved queries `principal` may read (see their definitions and run them).
    pub fn saved_query_read_scope(&self, principal: &Principal) -> SavedQueryScope {
        self.saved_query_scope(principal, Action::ReadSavedQueries)
    }

    /// Which saved queries `principal` may save, share and archive.
    pub fn saved_query_manage_scope(&self, principal: &Principal) -> SavedQueryScope {
        self.saved_query_scope(principal, Action::ManageSavedQueries)
    }

    fn saved_query_scope(&self, principal: &Principal, action: Action) -> SavedQueryScope {
        if self
            .ask(principal, action, Resource::Rows("all-bodies"))
            .allowed
        {
            return SavedQueryScope::All;
        }
        let own = self.ask(principal, action, Resource::Rows("own-bodies"));
        if own.allowed && !principal.bodies.is_empty() {
            SavedQueryScope::Bodies(principal.bodies.clone().into())
        } else {
            SavedQueryScope::Nothing
        }
    }

    /// The bodies for which `principal` may record indicator values: its own, when the
    /// policy lets it record any; none otherwise.
    pub fn indicator_record_bodies(&self, principal: &Principal) -> Vec<String> {
        let own = self.ask(
            principal,
            Action::RecordIndicators,
            Resource::Rows("own-bodies"),
        );
        if own.allowed {
            principal.bodies.clone()
        } else {
            Vec::new()
        }
    }

    /// Whether `principal` may import files into `subgraph`, whose data `owner` owns
    /// (a division, or `*` for the client core every division brings clients to).
    pub fn import(&self, principal: &Principal, subgraph: &str, owner: &str) -> Decision {
        self.ask(
            principal,
            Action::Import,
            Resource::Import {
                subgraph: subgraph.to_owned(),
                owner: owner.to_owned(),
            },
        )
    }

    /// Over which rows `principal` may count aggregates.
    pub fn aggregate_scope(&self, principal: &Principal) -> AggregateScope {
        let city = self.ask(
            principal,
            Action::ReadAggregates,
            Resource::Rows("city-wide"),
        );
        if city.allowed {
            return AggregateScope::CityWide;
        }
        let own = self.ask(
            principal,
            Action::ReadAggregates,
            Resource::Rows("own-division"),
        );
        match &principal.division {
            Some(division) if own.allowed => {
                AggregateScope::Divisions(Arc::from([division.clone()]))
            }
            _ => AggregateScope::Nothing,
        }
    }

    fn ask(&self, principal: &Principal, action: Action, resource: Resource) -> Decision {
        let question = (principal.clone(), action, resource);
        if let Some(decision) = self.answers.get(&question) {
            return decision;
        }
        let decision = self.evaluate(&question.0, action, &question.2);
        self.answers.insert(question, decision.clone());
        decision
    }

    fn evaluate(&self, principal: &Principal, action: Action, resource: &Resource) -> Decision {
        let deny = Decision {
            allowed: false,
            policies: Arc::from([]),
        };
        let Some((request, entities)) = request_for(principal, action, resource, self) else {
            // A question that cannot even be put (an id Cedar cannot hold) is answered no.
            return deny;
        };
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let errors: Vec<String> = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        if !errors.is_empty() {
            // An erroring rule is skipped by Cedar; say so, because it may be a rule that
            // should have denied.
            tracing::warn!(?errors, "access policy rules failed to evaluate");
        }
        Decision {
            allowed: response.decision() == CedarDecision::Allow,
            policies: response
                .diagnostics()
                .reason()
                .map(|id| {
                    // Rules are known by their `@id` annotation, which stays stable when
                    // rules are reordered; Cedar's own ids are positions.
                    self.policies
                        .policy(id)
                        .and_then(|rule| rule.annotation("id"))
                        .map_or_else(|| id.to_string(), str::to_owned)
                })
                .collect(),
        }
    }
}

fn uid(type_name: &str, id: &str) -> Option<EntityUid> {
    let type_name = EntityTypeName::from_str(&format!("Kotohub::{type_name}")).ok()?;
    Some(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}

fn request_for(
    principal: &Principal,
    action: Action,
    resource: &Resource,
    known: &Policy,
) -> Option<(Request, Entities)> {
    let user = uid("User", &principal.subject)?;
    let roles: HashSet<EntityUid> = principal
        .roles
        .iter()
        .filter_map(|role| uid("Role", role.as_str()))
        .collect();
    let mut attrs = HashMap::from([(
        "bodies".to_owned(),
        RestrictedExpression::new_set(
            principal
                .bodies
                .iter()
                .map(|b| RestrictedExpression::new_string(b.clone())),
        ),
    )]);
    if let Some(division) = &principal.division {
        attrs.insert(
            "division".to_owned(),
            RestrictedExpression::new_string(division.clone()),
        );
    }
    let mut entities = vec![Entity::new(user.clone(), attrs, roles).ok()?];
    let resource_uid = match resource {
        Resource::Type(name) => uid("Type", name)?,
        Resource::Field { type_name, field } => {
            let coordinate = format!("{type_name}.{field}");
            let field_uid = uid("Field", &coordinate)?;
            let mut attrs = HashMap::from([
                (
                    "type".to_owned(),
                    RestrictedExpression::new_string(type_name.clone()),
                ),
                (
                    "name".to_owned(),
                    RestrictedExpression::new_string(field.clone()),
                ),
            ]);
            if let Some(class) = known.field_classes.get(&coordinate) {
                attrs.insert(
                    "class".to_owned(),
                    RestrictedExpression::new_string(class.clone()),
                );
            }
            let parent = uid("Type", type_name)?;
            entities.push(Entity::new(field_uid.clone(), attrs, HashSet::from([parent])).ok()?);
            field_uid
        }
        Resource::Rows(name) => {
            let rows_uid = uid("Rows", name)?;
            let attrs = HashMap::from([(
                "partner_bodies".to_owned(),
                RestrictedExpression::new_set(
                    known
                        .partner_bodies
                        .iter()
                        .map(|b| RestrictedExpression::new_string(b.clone())),
                ),
            )]);
            entities.push(Entity::new(rows_uid.clone(), attrs, HashSet::new()).ok()?);
            rows_uid
        }
        Resource::Import { subgraph, owner } => {
            let import_uid = uid("Import", subgraph)?;
            let attrs = HashMap::from([
                (
                    "subgraph".to_owned(),
                    RestrictedExpression::new_string(subgraph.clone()),
                ),
                (
                    "owner".to_owned(),
                    RestrictedExpression::new_string(owner.clone()),
                ),
            ]);
            entities.push(Entity::new(import_uid.clone(), attrs, HashSet::new()).ok()?);
            import_uid
        }
    };
    let action = uid("Action", action.name())?;
    let request = Request::new(user, action, resource_uid, Context::empty(), None).ok()?;
    let entities = Entities::from_entities(entities, None).ok()?;
    Some((request, entities))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::Role;

    fn principal(roles: &[Role], bodies: &[&str]) -> Principal {
        Principal::new(
            "someone",
            roles.iter().copied(),
            bodies.iter().map(|b| b.to_string()),
            None,
        )
    }

    #[test]
    fn only_a_divisions_importer_imports_into_its_division() {
        let policy = Policy::embedded().unwrap();
        let importer = |division: &str| {
            Principal::new("feed", [Role::Importer], [], Some(division.to_owned()))
        };
        let education = importer("education");
        assert!(policy.import(&education, "education", "education").allowed);
        assert!(!policy.import(&education, "social", "social").allowed);
        assert!(policy.import(&education, "programme", "*").allowed);
        let without_division = Principal::new("feed", [Role::Importer], [], None);
        assert!(!policy.import(&without_division, "programme", "*").allowed);
        for role in [Role::Officer, Role::Analyst, Role::Auditor, Role::Admin] {
            let other = Principal::new(
                "x",
                [role],
                ["education-division".to_owned()],
                Some("education".to_owned()),
            );
            assert!(
                !policy.import(&other, "education", "education").allowed,
                "{role}"
            );
            assert!(!policy.import(&other, "programme", "*").allowed, "{role}");
        }
        assert_eq!(
            &*policy.import(&education, "education", "education").policies,
            ["division-importer"]
        );
    }

    #[test]
    fn the_shipped_policy_validates_against_its_schema() {
        Policy::embedded().unwrap();
    }

    #[test]
    fn a_policy_naming_an_unknown_attribute_is_refused() {
        let text = r#"permit (principal, action == Kotohub::Action::"read", resource)
            when { principal.clearance == "high" };"#;
        assert!(matches!(
            Policy::from_text(text),
            Err(PolicyError::Invalid(_))
        ));
        assert!(matches!(
            Policy::from_text("permit ("),
            Err(PolicyError::Parse(_))
        ));
    }

    #[test]
    fn catalog_is_for_every_role_and_person_data_for_officers_and_partners_only() {
        let policy = Policy::embedded().unwrap();
        for role in Role::ALL {
            let p = principal(&[role], &["ohjaamo"]);
            if role == Role::Importer {
                // An importer's token loads files and reads nothing, the catalog neither.
                assert!(!policy.read_type(&p, "Measure").allowed);
                assert!(!policy.read_type(&p, "Client").allowed);
                continue;
            }
            assert!(
                policy.read_type(&p, "Measure").allowed,
                "{role} reads Measure"
            );
            assert!(policy.read_field(&p, "Measure", "title").allowed);
            let person = matches!(role, Role::Officer | Role::Partner);
            assert_eq!(
                policy.read_type(&p, "Client").allowed,
                person,
                "{role} reads Client"
            );
            assert_eq!(policy.read_field(&p, "Client", "birthYear").allowed, person);
            // A division's records are the City's officers' alone.
            assert_eq!(
                policy.read_type(&p, "SocialCase").allowed,
                role == Role::Officer,
                "{role} reads SocialCase"
            );
        }
        let decision = policy.read_type(&principal(&[Role::Officer], &[]), "Enrolment");
        assert_eq!(&*decision.policies, ["officer-person-level".to_owned()]);
    }

    #[test]
    fn a_partners_rows_are_its_organisations_and_an_officers_the_citys() {
        let unaware = Policy::embedded().unwrap();
        let policy = Policy::embedded()
            .unwrap()
            .with_partner_bodies(["finnish-red-cross".to_owned()]);
        let red_cross = principal(&[Role::Partner], &["finnish-red-cross"]);
        assert_eq!(
            policy.row_scope(&red_cross),
            RowScope::Bodies(vec!["finnish-red-cross".to_owned()].into())
        );
        // Deny by default: a policy told of no partner organisation gives a partner none.
        assert_eq!(unaware.row_scope(&red_cross), RowScope::Nothing);
        for (roles, bodies) in [
            (&[Role::Partner][..], &["finnish-red-cross", "ohjaamo"][..]),
            (&[Role::Partner], &["ohjaamo"]),
            (&[Role::Partner], &[]),
            (&[Role::Officer], &["finnish-red-cross"]),
            (&[Role::Officer], &["ohjaamo", "finnish-red-cross"]),
        ] {
            assert_eq!(
                policy.row_scope(&principal(roles, bodies)),
                RowScope::Nothing,
                "{roles:?} of {bodies:?}"
            );
        }
        let officer = principal(&[Role::Officer], &["ohjaamo"]);
        assert_eq!(
            policy.row_scope(&officer),
            RowScope::Bodies(vec!["ohjaamo".to_owned()].into())
        );
        // What a partner reads of a client: never what identifies, never a referral.
        let classed = policy.with_field_classes(HashMap::from([(
            "Client.name".to_owned(),
            "identifying".to_owned(),
        )]));
        assert!(!classed.read_field(&red_cross, "Client", "name").allowed);
        assert!(
            classed
                .read_field(&red_cross, "Client", "birthYear")
                .allowed
        );
        assert!(!classed.read_type(&red_cross, "Referral").allowed);
        assert!(classed.read_type(&red_cross, "Sponsorship").allowed);
        assert!(!classed.open_emergency_access(&red_cross).allowed);
    }

    #[test]
    fn nothing_is_allowed_by_default() {
        let policy = Policy::embedded().unwrap();
        let nobody = principal(&[], &["ohjaamo"]);
        assert!(!policy.read_type(&nobody, "Measure").allowed);
        let officer = principal(&[Role::Officer], &["ohjaamo"]);
        assert!(!policy.read_type(&officer, "SomeNewType").allowed);
        assert!(
            policy
                .read_type(&officer, "SomeNewType")
                .policies
                .is_empty()
        );
        assert_eq!(policy.row_scope(&nobody), RowScope::Nothing);
    }

    #[test]
    fn rows_are_scoped_to_an_officers_bodies() {
        let policy = Policy::embedded().unwrap();
        let officer = principal(&[Role::Officer], &["ohjaamo", "helmi"]);
        assert_eq!(
            policy.row_scope(&officer).bodies(),
            ["helmi".to_owned(), "ohjaamo".to_owned()]
        );
        for role in [Role::Analyst, Role::Auditor, Role::Admin] {
            assert_eq!(
                policy.row_scope(&principal(&[role], &["ohjaamo"])),
                RowScope::Nothing
            );
        }
        // An officer acting for no body sees no rows.
        assert_eq!(
            policy.row_scope(&principal(&[Role::Officer], &[])),
            RowScope::Nothing
        );
    }

    fn in_division(roles: &[Role], division: Option<&str>) -> Principal {
        Principal::new(
            "someone",
            roles.iter().copied(),
            [],
            division.map(str::to_owned),
        )
    }

    #[test]
    fn aggregates_are_for_analysts_of_their_division_or_the_city() {
        let policy = Policy::embedded().unwrap();
        let analyst = in_division(&[Role::Analyst], Some("employment"));
        assert_eq!(
            policy.aggregate_scope(&analyst),
            AggregateScope::Divisions(Arc::from(["employment".to_owned()]))
        );
        assert!(policy.aggregate_scope(&analyst).covers("employment"));
        assert!(!policy.aggregate_scope(&analyst).covers("social"));
        assert_eq!(
            policy.aggregate_scope(&in_division(&[Role::Analyst], Some(CITY_WIDE))),
            AggregateScope::CityWide
        );
        // An analyst of no division counts nothing; other roles count nothing.
        assert_eq!(
            policy.aggregate_scope(&in_division(&[Role::Analyst], None)),
            AggregateScope::Nothing
        );
        for role in [Role::Officer, Role::Auditor, Role::Admin] {
            assert_eq!(
                policy.aggregate_scope(&in_division(&[role], Some(CITY_WIDE))),
                AggregateScope::Nothing,
                "{role}"
            );
        }
        assert!(policy.read_type(&analyst, "ClientStatistics").allowed);
        assert!(!policy.read_type(&analyst, "Client").allowed);
        let officer = in_division(&[Role::Officer], Some("employment"));
        assert!(!policy.read_type(&officer, "ClientStatistics").allowed);
    }
}
