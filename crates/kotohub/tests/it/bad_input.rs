//! Bad input to any subgraph gets a GraphQL error, never a panic, never database text.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(
    bad_requests_get_graphql_errors,
    database_failures_are_masked
);

async fn bad_requests_get_graphql_errors(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    for subgraph in kotohub::SUBGRAPHS {
        let (status, body) = hub.post_raw(subgraph, "{not json").await;
        assert_eq!(status, 400);
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("not a GraphQL request")
        );

        let body = hub.query(subgraph, "{ noSuchField }", json!({})).await;
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("noSuchField")
        );

        let body = hub.query(subgraph, "{ _service { sdl", json!({})).await;
        assert!(
            body["errors"][0]["message"].as_str().is_some(),
            "a syntax error is reported"
        );
    }
    let body = hub
        .query(
            "employment",
            "query($n: Int) { skillAssessments(first: $n) { id } }",
            json!({ "n": "many" }),
        )
        .await;
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Int"),
        "{body}"
    );

    for (subgraph, field) in [
        ("employment", "skillAssessments"),
        ("education", "enrolments"),
        ("social", "socialCases"),
        ("culture", "participations"),
        ("programme", "clients"),
    ] {
        let body = hub
            .query(
                subgraph,
                &format!("{{ {field}(first: 1000000) {{ id }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{subgraph}: {body}"
        );
    }
    let body = hub
        .query("social", r#"{ _entities(representations: [{__typename: "Client", id: "c1' OR '1'='1"}]) { ... on Client { id } } }"#, json!({}))
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );
    hub.stop().await;
}

async fn database_failures_are_masked(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    hub.dbs
        .social
        .execute_unprepared("DROP TABLE social_cases")
        .await
        .unwrap();
    let body = hub
        .query("social", "{ socialCases { id } }", json!({}))
        .await;
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("internal error"), "{message}");
    let text = body.to_string().to_lowercase();
    for leak in ["social_cases", "no such table", "relation", "sql"] {
        assert!(
            !text.contains(leak),
            "database text reached the client: {body}"
        );
    }
    // The service keeps answering.
    let data = hub
        .data("social", "{ socialEvents(first: 1) { id } }", json!({}))
        .await;
    assert_eq!(data["socialEvents"].as_array().unwrap().len(), 1);
    hub.stop().await;
}
