//! Tests of the gateway's steps against Kotohub's composed supergraph
//! (`schema/supergraph.graphql`), and the federation conformance suite against
//! supergraphs we did not write ([`conformance`]).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod conformance;
mod plans;
mod validation;

use std::sync::{Arc, OnceLock};

use kotohub_gateway::Supergraph;

/// The committed supergraph, loaded once for the whole binary.
pub fn supergraph() -> Arc<Supergraph> {
    static SUPERGRAPH: OnceLock<Arc<Supergraph>> = OnceLock::new();
    SUPERGRAPH
        .get_or_init(|| {
            let path = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../schema/supergraph.graphql"
            );
            let sdl = std::fs::read_to_string(path).expect("the composed supergraph is committed");
            Arc::new(Supergraph::parse(&sdl).expect("the composed supergraph loads"))
        })
        .clone()
}

#[test]
fn subgraph_urls_come_from_the_supergraph() {
    let supergraph = supergraph();
    let urls: Vec<(&str, &str)> = supergraph
        .subgraph_urls()
        .iter()
        .map(|(n, u)| (n.as_str(), u.as_str()))
        .collect();
    assert_eq!(
        urls,
        vec![
            ("audit", "http://127.0.0.1:4106/graphql"),
            ("culture", "http://127.0.0.1:4105/graphql"),
            ("education", "http://127.0.0.1:4103/graphql"),
            ("employment", "http://127.0.0.1:4102/graphql"),
            ("partners", "http://127.0.0.1:4108/graphql"),
            ("programme", "http://127.0.0.1:4101/graphql"),
            ("queries", "http://127.0.0.1:4107/graphql"),
            ("social", "http://127.0.0.1:4104/graphql"),
        ]
    );
}

#[test]
fn the_api_schema_hides_federation_internals() {
    let supergraph = supergraph();
    let api = supergraph.api_schema();
    assert!(api.types.contains_key("Measure") && api.types.contains_key("Client"));
    for internal in [
        "join__Graph",
        "link__Purpose",
        "_Any",
        "_Entity",
        "_Service",
    ] {
        assert!(
            !api.types.contains_key(internal),
            "{internal} leaks into the API schema"
        );
    }
    let query = api.get_object("Query").unwrap();
    assert!(!query.fields.contains_key("_entities") && !query.fields.contains_key("_service"));
    assert!(query.fields.contains_key("measures") && query.fields.contains_key("skillAssessments"));
}

#[test]
fn a_broken_supergraph_is_refused() {
    assert!(Supergraph::parse("type Query {").is_err());
    assert!(
        Supergraph::parse("type Query { a: Int }").is_err(),
        "no subgraphs"
    );
}
