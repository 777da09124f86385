//! The officers' paths can be read by index, never only by scanning a person-level
//! table: every statement the subgraphs run for an officer's lookups and lists is
//! recorded and asked for its plan on PostgreSQL with sequential scans priced out of
//! reach, so a plan that still scans a client or record table has no index to use. A
//! point lookup that reads a whole table is fast on the test's few hundred clients and a
//! wait at a million.
//!
//! SQLite is not asked: on tables this small its planner rightly prefers to scan them,
//! so its plans here say nothing of a city's. What it does at a million clients is
//! measured in `docs/benchmarks.md` ("Officers' queries at a million clients").

use kotohub_auth::Role;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;

use crate::helpers::{Backend, Hub, principal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_lookups_and_lists_read_by_index_on_postgresql() {
    officers_lookups_and_lists_read_by_index(Backend::Postgres).await
}

/// The tables that hold people's data, whose full scans grow with the city.
fn person_tables() -> Vec<&'static str> {
    let mut tables = vec!["clients", "client_bodies"];
    for (_, records, events) in kotohub_migrations::DIVISION_TABLES {
        tables.extend(records.iter().copied());
        tables.push(events);
    }
    tables
}

async fn officers_lookups_and_lists_read_by_index(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let bodies = ["ohjaamo", "helsinki-skill-center"];
    let officer = principal(Role::Officer, &bodies);
    let served = hub.served_clients().await;
    let answer = hub
        .query_as(
            "gateway",
            &officer,
            "{ clients(first: 1) { id } }",
            json!({}),
        )
        .await;
    let own = answer["data"]["clients"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = served.iter().find(|id| **id != own).unwrap().clone();

    hub.record_statements();
    let operations = [
        (
            "query($id: ID!) { client(id: $id) { name district guidanceSessions { heldOn } \
             skillAssessments { level } employmentOutcomes { kind } enrolments { startedOn } } }",
            json!({ "id": own }),
        ),
        (
            "query($id: ID!) { client(id: $id) { name } }",
            json!({ "id": other }),
        ),
        ("{ clients(first: 100) { id birthYear } }", json!({})),
        (
            "{ measure(id: \"1.3\") { guidanceSessions(first: 50) { heldOn \
             client { id district motherTongue } } } }",
            json!({}),
        ),
        (
            "{ measure(id: \"1.1\") { skillAssessments(first: 50) { level \
             client { name employmentOutcomes { kind } } } } }",
            json!({}),
        ),
        (
            "{ skillAssessments(first: 50) { level client { name } } }",
            json!({}),
        ),
    ];
    for (query, variables) in operations {
        let answer = hub.query_as("gateway", &officer, query, variables).await;
        assert!(answer.get("errors").is_none(), "{query}: {answer}");
    }
    let recorded = hub.recorded_statements();

    let tables = person_tables();
    let mut explained = 0;
    let mut scanning = Vec::new();
    for (subgraph, statement) in recorded {
        let sql = statement.sql.trim_start();
        let reads_people = tables
            .iter()
            .any(|table| sql.contains(&format!("FROM \"{table}\"")));
        if !sql.starts_with("SELECT") || !reads_people {
            continue;
        }
        let db = hub.dbs.get(subgraph).unwrap();
        let plan = explain(db, &statement, &bodies).await;
        for table in &tables {
            if plan.contains(&format!("Seq Scan on {table} ")) {
                scanning.push(format!(
                    "{subgraph} scans {table}:\n{}\n{plan}",
                    statement.sql
                ));
            }
        }
        explained += 1;
    }
    assert!(scanning.is_empty(), "{}", scanning.join("\n\n"));
    assert!(
        explained >= 8,
        "only {explained} statements read person-level tables"
    );
    hub.stop().await;
}

/// The plan of `statement` on the PostgreSQL database `db`, as the subgraph would run
/// it for an officer of `bodies`, with sequential scans allowed only where no index can
/// serve.
async fn explain(
    db: &sea_orm::DatabaseConnection,
    statement: &Statement,
    bodies: &[&str],
) -> String {
    let txn = db.begin().await.unwrap();
    // The row-level security policies read the caller's bodies.
    txn.execute_unprepared(&format!(
        "SELECT set_config('kotohub.bodies', '{}', true); SET LOCAL enable_seqscan = off",
        bodies.join(",")
    ))
    .await
    .unwrap();
    let explain = Statement {
        sql: format!("EXPLAIN {}", statement.sql),
        ..statement.clone()
    };
    let rows = txn.query_all_raw(explain).await.unwrap();
    txn.rollback().await.unwrap();
    rows.iter()
        .map(|row| row.try_get::<String>("", "QUERY PLAN").unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}
