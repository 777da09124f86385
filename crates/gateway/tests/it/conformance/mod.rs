//! The federation conformance suite: the gateway in front of supergraphs we did not write.
//! Each directory under `tests/conformance/` is one supergraph: its subgraphs' SDLs
//! (`<name>.graphql`) and static data (`<name>.json`, see [`subgraph`]; `{"$down": true}`
//! for a subgraph that is not running), the supergraph
//! composed from them by `schema/compose` (`node compose.mjs --conformance`, committed
//! as `supergraph.graphql`), and its cases (`cases.json`): an operation, its variables,
//! the exact `data` expected — compared as text, so order counts — and whether errors
//! are expected. Every subgraph is served over HTTP on loopback; the gateway runs with
//! authentication off, as `kotohub gateway` runs a foreign supergraph.

mod subgraph;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kotohub_gateway::execute::{Endpoint, Subgraphs};
use kotohub_gateway::pipeline::Caller;
use kotohub_gateway::plan::{HivePlanner, PlannerSettings, QueryPlanner};
use kotohub_gateway::validate::Limits;
use kotohub_gateway::{Gateway, GraphQLRequest, Supergraph};
use serde::Deserialize;
use serde_json::{Map, Value};

/// One case of a supergraph.
#[derive(Deserialize)]
struct Case {
    name: String,
    query: String,
    #[serde(default)]
    variables: Option<Map<String, Value>>,
    #[serde(default, rename = "operationName")]
    operation_name: Option<String>,
    /// The exact `data`; `null` when the request must fail before execution.
    data: Value,
    /// Whether the answer has errors.
    #[serde(default)]
    errors: bool,
}

fn directory(supergraph: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance")
        .join(supergraph)
}

/// Serves the subgraphs of `supergraph`, runs every case through the gateway, and fails
/// with every case that did not answer as expected.
async fn run(supergraph: &str) {
    let dir = directory(supergraph);
    let read = |file: &str| {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{supergraph}/{file}: {e}"))
    };
    let composed = Supergraph::parse(&read("supergraph.graphql"))
        .unwrap_or_else(|e| panic!("{supergraph}: the supergraph does not load: {e}"));
    let mut endpoints = HashMap::new();
    let counters = subgraph::Counters::default();
    for name in composed.subgraph_urls().keys() {
        let sdl = read(&format!("{name}.graphql"));
        let data: Value = match std::fs::read_to_string(dir.join(format!("{name}.json"))) {
            Ok(text) => serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{supergraph}/{name}.json: {e}")),
            Err(_) => Value::Object(Map::new()),
        };
        let addr = if data.get("$down") == Some(&Value::Bool(true)) {
            // A subgraph that is down: a port nothing listens on any more.
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            listener.local_addr().expect("a bound address")
        } else {
            subgraph::serve(subgraph::build(name, &sdl, &data, counters.clone())).await
        };
        endpoints.insert(
            name.clone(),
            Endpoint {
                url: format!("http://{addr}/graphql"),
                timeout: Duration::from_secs(5),
            },
        );
    }
    let composed = Arc::new(composed);
    let planner = Arc::new(HivePlanner::new(
        composed.clone(),
        PlannerSettings::default(),
    ));
    let gateway = Gateway::new(
        composed,
        planner.clone(),
        Subgraphs::new(endpoints),
        Limits::default(),
    );
    let cases: Vec<Case> = serde_json::from_str(&read("cases.json"))
        .unwrap_or_else(|e| panic!("{supergraph}/cases.json: {e}"));
    assert!(!cases.is_empty(), "{supergraph} has no cases");
    let mut failures = Vec::new();
    for case in &cases {
        let request = GraphQLRequest {
            query: Some(case.query.clone()),
            operation_name: case.operation_name.clone(),
            variables: case.variables.clone(),
            extensions: None,
        };
        let caller = Caller::new(None, "conformance");
        let outcome = gateway.run(&request, true, caller).await;
        let data = outcome
            .response
            .data
            .as_ref()
            .map_or_else(|| "null".to_owned(), |data| data.json().to_owned());
        let expected = serde_json::to_string(&case.data).expect("JSON");
        let errors = &outcome.response.errors;
        if data != expected || errors.is_empty() == case.errors {
            // The plan, for whoever reads the failure; its JSON shows what the text
            // leaves out (rewrites, batch aliases).
            let plan = planner
                .plan(&case.query, case.operation_name.as_deref())
                .map_or_else(
                    |e| e.to_string(),
                    |plan| {
                        let json = serde_json::to_string(&*plan).expect("a plan is JSON");
                        format!("{plan}\n  plan as JSON {json}")
                    },
                );
            failures.push(format!(
                "{supergraph} / {}:\n  expected data {expected}{}\n  got      data {data}\n  errors {}\n  plan {plan}",
                case.name,
                if case.errors { " with errors" } else { "" },
                serde_json::to_string(errors).expect("JSON"),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// One test per supergraph directory.
macro_rules! supergraphs {
    ($($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                run(stringify!($name)).await;
            }
        )*

        #[test]
        fn every_supergraph_directory_is_tested() {
            let listed: std::collections::BTreeSet<&str> = [$(stringify!($name)),*].into();
            let found: std::collections::BTreeSet<String> =
                std::fs::read_dir(directory(""))
                    .expect("tests/conformance")
                    .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
                    .collect();
            let found: std::collections::BTreeSet<&str> = found.iter().map(String::as_str).collect();
            assert_eq!(listed, found);
        }
    };
}

supergraphs! {
    abstract_shapes,
    aliases_conflicts,
    batched_entities,
    compound_keys,
    custom_scalars,
    deep_chain,
    enum_values,
    fed1_mixed,
    inaccessible_fields,
    interface_entities,
    interface_object,
    interface_object_requires,
    interfaces_across,
    lists_nested,
    mutations_in_order,
    null_keys,
    null_propagation,
    overridden_fields,
    provides_abstract,
    provides_nested,
    reference_only,
    requires_arguments,
    requires_chain,
    shareable_roots,
    shareable_value_types,
    simple_entities,
    skip_include,
    subgraph_down,
    typename_introspection,
    unions_across,
    unsupported_operations,
    variables_and_arguments,
}
