//! The committed subgraph SDLs are what the code produces: composition reads the files,
//! so a stale file would compose a supergraph the subgraphs do not serve. The same holds
//! for the list of indicators in `docs/indicators.md` and the record of processing in
//! `docs/record-of-processing.md`, and every field of a person-level type is classed.

use std::path::PathBuf;

#[test]
fn committed_sdl_matches_the_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schema");
    for name in kotohub::ALL_SUBGRAPHS {
        let path = dir.join(kotohub::sdl::file_name(name));
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{} is missing ({e}); run `cargo run -- sdl`",
                path.display()
            )
        });
        let produced = kotohub::sdl::sdl(name).unwrap();
        assert!(
            committed == produced,
            "{} is stale; run `cargo run -- sdl`",
            path.display()
        );
    }
}

#[test]
fn every_division_extends_the_shared_entities() {
    for name in ["employment", "education", "social", "culture", "partners"] {
        let sdl = kotohub::sdl::sdl(name).unwrap();
        assert!(sdl.contains("type Client @key(fields: \"id\")"), "{name}");
        assert!(sdl.contains("type Measure @key(fields: \"id\")"), "{name}");
        assert!(
            sdl.contains("type ResponsibleBody @key(fields: \"id\", resolvable: false)"),
            "{name}"
        );
    }
    let programme = kotohub::sdl::sdl("programme").unwrap();
    assert!(programme.contains("type ResponsibleBody @key(fields: \"id\")"));
}

#[test]
fn the_indicator_list_matches_the_catalog() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/indicators.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let catalog = kotohub_programme::catalog::Catalog::embedded().unwrap();
    let produced = kotohub_programme::indicator_values::catalog_markdown(&catalog);
    assert!(
        committed == produced,
        "{} is stale; run `cargo run -- indicators > docs/indicators.md`",
        path.display()
    );
    assert_eq!(
        produced.lines().filter(|l| l.starts_with("| ")).count(),
        83 + 1
    );
}

#[test]
fn the_record_of_processing_is_what_the_schema_and_policy_say() {
    let config = kotohub_config::Config::load_from(None, std::iter::empty()).unwrap();
    let policy = kotohub::access::policy().unwrap();
    let settings = kotohub::processing::Settings {
        purposes: &config.access.purposes,
        audit_retention_days: config.audit.retention_days,
        emergency_minutes: config.access.emergency_minutes,
    };
    let produced =
        kotohub::processing::record(kotohub::services::SUPERGRAPH, &policy, &settings).unwrap();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/record-of-processing.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == produced,
        "{} is stale; run `cargo run -- processing-record > docs/record-of-processing.md`",
        path.display()
    );
}

#[test]
fn every_field_of_a_person_level_type_has_a_class() {
    let policy = kotohub::access::policy().unwrap();
    let types =
        kotohub::processing::person_level_types(kotohub::services::SUPERGRAPH, &policy).unwrap();
    assert_eq!(
        types.len(),
        26,
        "the types of the rule officer-person-level"
    );
    let missing = kotohub::processing::unclassified(&types);
    assert!(
        missing.is_empty(),
        "mark these fields or their types with @tag(name: \"class:…\") in their subgraph: {missing:?}"
    );
}

/// The class marks reach the policy: a rule that opened social-welfare cases to auditors
/// would still not open their special-category fields, nor a client's name, while the
/// fields of other classes it would.
#[test]
fn the_policy_reads_the_schemas_class_marks() {
    use kotohub_auth::{Principal, Role};
    let opening = r#"
@id("too-wide")
permit (principal in Kotohub::Role::"auditor", action == Kotohub::Action::"read", resource)
when { resource in [Kotohub::Type::"SocialCase", Kotohub::Type::"Client"] };
"#;
    let classes = kotohub::processing::field_classes(kotohub::services::SUPERGRAPH).unwrap();
    assert_eq!(classes["SocialCase.kind"], "special-category");
    let policy =
        kotohub_auth::Policy::from_text(&format!("{}\n{opening}", kotohub_auth::policy::POLICY))
            .unwrap()
            .with_field_classes(classes);
    let auditor = Principal::new("a", [Role::Auditor], [], None);
    assert!(!policy.read_field(&auditor, "SocialCase", "kind").allowed);
    assert!(!policy.read_field(&auditor, "Client", "name").allowed);
    assert!(policy.read_field(&auditor, "Client", "birthYear").allowed);
    let officer = Principal::new("o", [Role::Officer], ["helmi".to_owned()], None);
    assert!(policy.read_field(&officer, "SocialCase", "kind").allowed);
    assert!(policy.read_field(&officer, "Client", "name").allowed);
}
