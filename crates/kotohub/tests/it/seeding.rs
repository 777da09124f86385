//! The synthetic data: the same seed gives the same data on every backend, and the
//! programme's indicators can be computed from it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(same_seed_same_data_as_sqlite, indicators_are_computable);

const SAMPLE: &str = r#"{ clients(first: 300) { id name birthYear gender motherTongue district background arrivalYear entryRoute } }"#;
const RECORDS: &str = r#"{ skillAssessments(first: 1000) { id assessedOn skillArea level client { id } } networkingEvents(first: 200) { title heldOn district languages participantCount } }"#;

async fn same_seed_same_data_as_sqlite(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let reference = Hub::start_with(Backend::Sqlite, 300).await.unwrap();
    let sample = hub.data("programme", SAMPLE, json!({})).await;
    assert_eq!(sample, reference.data("programme", SAMPLE, json!({})).await);
    // Immigrants, and only they, came by an entry route, stored and read back.
    let clients = sample["clients"].as_array().unwrap();
    assert!(
        clients
            .iter()
            .all(|c| { (c["background"] == "IMMIGRANT") == c["entryRoute"].is_string() })
    );
    let routes: HashSet<&str> = clients
        .iter()
        .filter_map(|c| c["entryRoute"].as_str())
        .collect();
    assert!(routes.len() >= 5, "{routes:?}");
    assert_eq!(
        hub.data("employment", RECORDS, json!({})).await,
        reference.data("employment", RECORDS, json!({})).await
    );
    hub.stop().await;
    reference.stop().await;
}

fn date(value: &Value) -> NaiveDate {
    value.as_str().unwrap().parse().unwrap()
}

async fn indicators_are_computable(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };

    // 1.2: the share of guided clients who continue to education or employment.
    let data = hub
        .data(
            "employment",
            r#"{ _entities(representations: [{__typename: "Measure", id: "1.2"}]) { ... on Measure {
                guidanceSessions(first: 1000) { client { id } language }
                employmentOutcomes(first: 1000) { kind client { id } } } } }"#,
            json!({}),
        )
        .await;
    let measure = &data["_entities"][0];
    let guided: HashSet<&str> = measure["guidanceSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["client"]["id"].as_str().unwrap())
        .collect();
    let continued: HashSet<&str> = measure["employmentOutcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "VOCATIONAL_EDUCATION" || o["kind"] == "EMPLOYED")
        .map(|o| o["client"]["id"].as_str().unwrap())
        .collect();
    assert!(guided.len() > 30, "enough guided clients: {}", guided.len());
    assert!(continued.is_subset(&guided));
    let share = continued.len() as f64 / guided.len() as f64;
    assert!(
        (0.4..0.8).contains(&share),
        "share continuing after guidance: {share}"
    );

    // 1.3: events for people speaking a language other than Finnish or Swedish.
    let events = hub
        .data(
            "employment",
            r#"{ networkingEvents(measure: "1.3", first: 1000) { languages } }"#,
            json!({}),
        )
        .await;
    let events = events["networkingEvents"].as_array().unwrap();
    assert!(
        events.len() >= 8 * 8,
        "at least eight a year over 2018–2025"
    );
    assert!(events.iter().all(|e| {
        e["languages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l != "fi" && l != "sv")
    }));

    // Helmi: child-welfare client status ending within six months after support.
    let data = hub
        .data(
            "social",
            r#"{ _entities(representations: [{__typename: "Measure", id: "9.5"}]) { ... on Measure {
                supportPeriods(first: 1000) { service endedOn client { id } }
                socialOutcomes(first: 1000) { kind occurredOn client { id } } } } }"#,
            json!({}),
        )
        .await;
    let measure = &data["_entities"][0];
    let helmi_ends: HashMap<&str, NaiveDate> = measure["supportPeriods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["service"] == "HELMI" && !p["endedOn"].is_null())
        .map(|p| (p["client"]["id"].as_str().unwrap(), date(&p["endedOn"])))
        .collect();
    let ended_within_six_months = measure["socialOutcomes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "CHILD_WELFARE_ENDED")
        .filter(|o| {
            helmi_ends
                .get(o["client"]["id"].as_str().unwrap())
                .is_some_and(|end| (date(&o["occurredOn"]) - *end).num_days() <= 183)
        })
        .count();
    assert!(ended_within_six_months > 0, "Helmi outcomes exist");
    hub.stop().await;
}
