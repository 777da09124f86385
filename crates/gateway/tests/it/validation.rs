//! The validation step: spec errors with locations, operation choice, and the bounds.

use kotohub_gateway::errors::Code;
use kotohub_gateway::validate::{Limits, Location, validate};

use crate::supergraph;

fn check(
    source: &str,
    operation_name: Option<&str>,
) -> Result<(), Vec<kotohub_gateway::validate::RequestError>> {
    validate(
        supergraph().api_schema(),
        source,
        operation_name,
        &Limits::default(),
    )
    .map(|_| ())
}

#[test]
fn a_valid_cross_subgraph_operation_passes() {
    let operation = validate(
        supergraph().api_schema(),
        r#"query Dashboard($id: ID!) { measure(id: $id) { id summary enrolments(first: 5) { programme client { name employmentOutcomes { kind } } } } }"#,
        None,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(operation.operation_name.as_deref(), Some("Dashboard"));
    assert_eq!(
        operation.operation().name.as_ref().unwrap().as_str(),
        "Dashboard"
    );
}

#[test]
fn unknown_fields_are_reported_where_they_stand() {
    let errors = check("{\n  measures {\n    id\n    budget\n  }\n}", None).unwrap_err();
    assert_eq!(errors[0].code, Code::ValidationFailed);
    assert!(errors[0].message.contains("budget"), "{:?}", errors[0]);
    assert_eq!(errors[0].locations, vec![Location { line: 4, column: 5 }]);
}

#[test]
fn syntax_errors_and_wrong_arguments() {
    let errors = check("{ measures { id ", None).unwrap_err();
    assert_eq!(errors[0].code, Code::ParseFailed);
    // An ID accepts an integer; a theme number does not accept a string.
    let errors = check(
        r#"{ measure(id: 11) { id } measures(theme: "one") { id } }"#,
        None,
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].code, Code::ValidationFailed);
    assert!(errors[0].message.contains("Int"), "{errors:?}");
    assert_eq!(
        errors[0].locations,
        vec![Location {
            line: 1,
            column: 42
        }]
    );
}

#[test]
fn the_operation_is_chosen_by_name() {
    let document = "query A { themes { id } } query B { measures { id } }";
    let chosen = validate(
        supergraph().api_schema(),
        document,
        Some("B"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(chosen.operation_name.as_deref(), Some("B"));
    let errors = check(document, None).unwrap_err();
    assert_eq!(errors[0].code, Code::UnknownOperation);
    let errors = check(document, Some("C")).unwrap_err();
    assert_eq!(errors[0].code, Code::UnknownOperation);
    assert!(errors[0].message.contains("\"C\""));
}

#[test]
fn depth_aliases_and_root_fields_are_bounded() {
    let limits = Limits {
        max_depth: 4,
        max_aliases: 2,
        max_root_fields: 3,
        ..Limits::default()
    };
    let schema = supergraph().api_schema().clone();
    let deep = "{ measures { enrolments { client { enrolments { client { id } } } } } }";
    let errors = validate(&schema, deep, None, &limits).unwrap_err();
    assert_eq!(errors[0].code, Code::TooDeep);
    let shallow = "{ measures { enrolments { id } } }";
    assert!(validate(&schema, shallow, None, &limits).is_ok());

    let aliased = "{ a: themes { id } b: themes { id } c: themes { id } }";
    assert_eq!(
        validate(&schema, aliased, None, &limits).unwrap_err()[0].code,
        Code::TooManyAliases
    );
    let wide = "{ themes { id } measures { id } divisions { id } indicators { id } }";
    assert_eq!(
        validate(&schema, wide, None, &limits).unwrap_err()[0].code,
        Code::TooManyRootFields
    );
    // Fragments count where they are spread.
    let via_fragment = "{ ...Q } fragment Q on Query { themes { id } measures { id } divisions { id } indicators { id } }";
    assert_eq!(
        validate(&schema, via_fragment, None, &limits).unwrap_err()[0].code,
        Code::TooManyRootFields
    );
}

#[test]
fn fragment_bombs_are_refused_quickly() {
    // Each level spreads the next twice: 2^20 alias uses if expanded naively.
    let mut document = String::from("{ ...F0 }\n");
    for n in 0..20 {
        document.push_str(&format!(
            "fragment F{n} on Query {{ ...F{} ...F{} }}\n",
            n + 1,
            n + 1
        ));
    }
    document.push_str("fragment F20 on Query { x: themes { id } }\n");
    let started = std::time::Instant::now();
    let errors = check(&document, None).unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    assert!(
        matches!(
            errors[0].code,
            Code::TooManyAliases | Code::TooManyRootFields | Code::ValidationFailed
        ),
        "{errors:?}"
    );
}

#[test]
fn huge_documents_are_refused_by_the_token_bound() {
    let fields = "id ".repeat(20_000);
    let errors = check(&format!("{{ themes {{ {fields} }} }}"), None).unwrap_err();
    assert_eq!(errors[0].code, Code::ParseFailed);
    assert!(
        errors[0].message.to_lowercase().contains("token"),
        "{:?}",
        errors[0]
    );
}
