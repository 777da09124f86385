//! Entity batches as the gateway sends them: a thousand `Client` representations cost a
//! constant number of SQL statements, and the answers match the stored rows.

use kotohub::seed::population::client_id;
use kotohub_employment::entity::{employment_outcome, skill_assessment};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(
    client_batches_cost_constant_statements,
    programme_resolves_client_batches
);

fn representations(count: u32) -> Value {
    Value::Array(
        (0..count)
            .map(|n| json!({ "__typename": "Client", "id": client_id(n) }))
            .collect(),
    )
}

const EMPLOYMENT_CLIENTS: &str = r#"query($reps: [_Any!]!) {
  _entities(representations: $reps) {
    ... on Client { id skillAssessments { id } guidanceSessions { id } servicePaths { id } employmentOutcomes { id kind } }
  }
}"#;

async fn client_batches_cost_constant_statements(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let mut statements = Vec::new();
    // On PostgreSQL a request's queries run in one transaction that sets its row scope.
    let extra = if backend == Backend::Postgres { 3 } else { 0 };
    for count in [10, 100, 1000] {
        hub.take_statements("employment");
        let data = hub
            .data(
                "employment",
                EMPLOYMENT_CLIENTS,
                json!({ "reps": representations(count) }),
            )
            .await;
        statements.push(hub.take_statements("employment"));
        let entities = data["_entities"].as_array().unwrap();
        assert_eq!(entities.len(), count as usize);
        // In the order of the representations, as the federation spec requires.
        assert!(
            entities
                .iter()
                .enumerate()
                .all(|(n, e)| e["id"] == client_id(n as u32))
        );
        if count == 1000 {
            let assessments: usize = entities
                .iter()
                .map(|e| e["skillAssessments"].as_array().unwrap().len())
                .sum();
            let outcomes: usize = entities
                .iter()
                .map(|e| e["employmentOutcomes"].as_array().unwrap().len())
                .sum();
            let last = client_id(999);
            let all_rows = kotohub::seed::unrestricted(&hub.dbs.employment)
                .await
                .unwrap();
            let stored_assessments = skill_assessment::Entity::find()
                .filter(skill_assessment::Column::ClientId.lte(last.as_str()))
                .count(&all_rows)
                .await
                .unwrap();
            let stored_outcomes = employment_outcome::Entity::find()
                .filter(employment_outcome::Column::ClientId.lte(last.as_str()))
                .count(&all_rows)
                .await
                .unwrap();
            assert!(assessments > 0 && outcomes > 0);
            assert_eq!(assessments as u64, stored_assessments);
            assert_eq!(outcomes as u64, stored_outcomes);
        }
    }
    // Four list fields, at most two statements each (batches of 500 keys), whatever the batch.
    assert!(
        statements.iter().all(|n| (4..=extra + 8).contains(n)),
        "statements per batch: {statements:?}"
    );
    hub.stop().await;
}

async fn programme_resolves_client_batches(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    hub.take_statements("programme");
    let mut reps = representations(1000);
    reps.as_array_mut()
        .unwrap()
        .push(json!({ "__typename": "Client", "id": "c9999999" }));
    let data = hub
        .data(
            "programme",
            r#"query($reps: [_Any!]!) { _entities(representations: $reps) { ... on Client { id name district motherTongue } } }"#,
            json!({ "reps": reps }),
        )
        .await;
    let statements = hub.take_statements("programme");
    let entities = data["_entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1001);
    // Only clients some body serves are visible, even to an officer of every body.
    let served: std::collections::HashSet<String> =
        hub.served_clients().await.into_iter().collect();
    let visible = entities[..1000].iter().filter(|e| !e.is_null()).count();
    assert_eq!(
        visible,
        reps.as_array().unwrap()[..1000]
            .iter()
            .filter(|r| served.contains(r["id"].as_str().unwrap()))
            .count()
    );
    assert!(visible > 500, "only {visible} of 1,000 clients are served");
    assert!(
        entities[..1000]
            .iter()
            .filter(|e| !e.is_null())
            .all(|e| e["name"].as_str().is_some_and(|n| !n.is_empty()))
    );
    assert_eq!(
        entities[1000],
        Value::Null,
        "an unknown client resolves to null"
    );
    // One statement per 500 ids, plus the request's transaction on PostgreSQL (begin,
    // setting the row scope, end).
    let allowed = if backend == Backend::Postgres { 6 } else { 3 };
    assert!(statements <= allowed, "{statements} statements");
    hub.stop().await;
}
