//! The programme catalog as the programme subgraph serves it.

use serde_json::json;

use crate::helpers::{Backend, Hub, ids};

crate::on_both_backends!(
    catalog_has_the_programmes_counts,
    catalog_filters_and_links,
    unknown_filter_values_are_refused
);

async fn catalog_has_the_programmes_counts(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let data = hub
        .data("programme", "{ measures { id } measureSets { id } themes { id } indicators(scope: PROGRAMME) { id } }", json!({}))
        .await;
    assert_eq!(data["measures"].as_array().unwrap().len(), 64);
    assert_eq!(data["measureSets"].as_array().unwrap().len(), 11);
    assert_eq!(data["themes"].as_array().unwrap().len(), 4);
    assert_eq!(data["indicators"].as_array().unwrap().len(), 8);
    let measure_ids = ids(&data["measures"]);
    assert_eq!(measure_ids.first().map(String::as_str), Some("1.1"));
    assert!(measure_ids.contains(&"4.28".to_owned()) && measure_ids.contains(&"11".to_owned()));
    hub.stop().await;
}

async fn catalog_filters_and_links(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let data = hub
        .data(
            "programme",
            r#"{
              ohjaamo: measures(responsibleBody: "ohjaamo") { id }
              theme1: measures(theme: 1) { id }
              culture: measures(division: "culture") { id }
              m: measure(id: "10.4") {
                responsibleBodies { id division { id } }
                indicators { id text target }
                theme { number }
                measureSet { id title }
              }
              m411: measure(id: "4.11") { group objectives indicators { id } }
              body: responsibleBody(id: "libraries") { name measures { id } }
            }"#,
            json!({}),
        )
        .await;
    assert_eq!(ids(&data["ohjaamo"]), vec!["1.3", "10.2"]);
    assert_eq!(
        ids(&data["theme1"]),
        vec!["1.1", "1.2", "1.3", "1.4", "1.5", "2", "3.1", "3.2"]
    );
    let culture = ids(&data["culture"]);
    assert!(culture.contains(&"7.5".to_owned()) && culture.contains(&"10.3".to_owned()));
    assert!(!culture.contains(&"1.1".to_owned()));
    let m = &data["m"];
    assert_eq!(m["theme"]["number"], 4);
    assert_eq!(m["measureSet"]["id"], "10");
    assert_eq!(
        ids(&m["responsibleBodies"]),
        vec!["migrant-youth-helsinki", "youth-services"]
    );
    let first = &m["indicators"][0];
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .contains("70,000 work hours")
    );
    assert_eq!(first["target"], 3000.0);
    // 4.11 has no indicator of its own: it gets its group's five and its set's two.
    assert_eq!(data["m411"]["group"], "Guidance, advice and transfers");
    assert_eq!(ids(&data["m411"]["indicators"]).len(), 7);
    assert!(
        data["m411"]["objectives"][0]
            .as_str()
            .unwrap()
            .starts_with("Communications will be clear")
    );
    assert_eq!(ids(&data["body"]["measures"]), vec!["7.5"]);
    hub.stop().await;
}

async fn unknown_filter_values_are_refused(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let body = hub
        .query(
            "programme",
            r#"{ measures(division: "nowhere") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("nowhere")
    );
    let body = hub
        .query("programme", r#"{ measure(id: "99.9") { id } }"#, json!({}))
        .await;
    assert_eq!(body["data"]["measure"], serde_json::Value::Null);
    hub.stop().await;
}
