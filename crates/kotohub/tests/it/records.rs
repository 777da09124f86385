//! Division records as the division subgraphs serve them: links, paging, and the
//! measure-side view agreeing with the root lists.

use serde_json::json;

use crate::helpers::{Backend, Hub, ids};

crate::on_both_backends!(
    records_link_to_programme_entities,
    keyset_paging_is_complete_and_disjoint,
    every_service_reports_health
);

async fn records_link_to_programme_entities(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let data = hub
        .data(
            "employment",
            r#"{ skillAssessments(measure: "1.1", first: 50) { id measure { id } responsibleBody { id } client { id } assessedOn level } }"#,
            json!({}),
        )
        .await;
    let rows = data["skillAssessments"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row["measure"]["id"], "1.1");
        assert_eq!(row["responsibleBody"]["id"], "helsinki-skill-center");
        assert!(row["client"]["id"].as_str().unwrap().starts_with('c'));
    }
    // The same rows through the Measure entity, as the gateway will fetch them.
    let entity = hub
        .data(
            "employment",
            r#"{ _entities(representations: [{__typename: "Measure", id: "1.1"}]) { ... on Measure { skillAssessments(first: 50) { id } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(
        ids(&entity["_entities"][0]["skillAssessments"]),
        ids(&data["skillAssessments"])
    );

    let culture = hub
        .data("culture", r#"{ participations(measure: "7.5", first: 20) { activity event { measure { id } languages participantCount } } }"#, json!({}))
        .await;
    for row in culture["participations"].as_array().unwrap() {
        assert_eq!(row["activity"], "READING_CIRCLE");
        assert_eq!(row["event"]["measure"]["id"], "7.5");
    }
    hub.stop().await;
}

async fn keyset_paging_is_complete_and_disjoint(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let all = hub
        .data("education", "{ enrolments(first: 1000) { id } }", json!({}))
        .await;
    let all = ids(&all["enrolments"]);
    assert!(
        all.len() > 60,
        "the seed gives enough enrolments to page through"
    );
    let mut paged = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = hub
            .data(
                "education",
                "query($after: ID) { enrolments(first: 25, after: $after) { id } }",
                json!({ "after": after }),
            )
            .await;
        let page = ids(&page["enrolments"]);
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        paged.extend(page);
        if paged.len() >= all.len() {
            break;
        }
    }
    assert_eq!(paged, all);
    let numbers: Vec<i64> = paged.iter().map(|id| id.parse().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]));
    hub.stop().await;
}

async fn every_service_reports_health(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    for subgraph in kotohub::SUBGRAPHS {
        let response = reqwest::get(hub.url(subgraph, "/health")).await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["service"], subgraph);
    }
    hub.stop().await;
}
