//! The access log end to end: one event per request through the gateway, whatever became
//! of it, also under 1,000 concurrent requests; the hash chain finds a changed byte in any
//! column, a deleted event and two swapped events, naming the event; and a gateway whose
//! log cannot be written answers with no data until it can.

use kotohub_audit::chain::{Verdict, verify};
use kotohub_auth::Role;
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value as SqlValue};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, event_of, principal};

crate::on_both_backends!(
    every_request_is_one_event,
    a_thousand_concurrent_requests_are_a_thousand_events,
    any_change_breaks_the_chain_at_the_changed_event,
    an_unwritable_log_withholds_every_answer,
    the_clients_whose_data_was_returned_are_logged_without_their_ids_selected,
    auditors_read_the_log_and_everyone_else_is_refused_on_the_record,
    pruning_keeps_the_rest_of_the_chain_verifiable,
    auditors_ask_the_api_whether_the_chain_holds,
    a_chain_rewritten_whole_fails_against_its_seals,
    auditors_review_what_the_rules_flag,
    writers_beside_each_other_keep_one_chain,
    seals_are_time_stamped_by_an_outside_authority,
);

async fn events(hub: &Hub) -> i64 {
    let row = hub
        .audit
        .query_one_raw(Statement::from_string(
            hub.audit.get_database_backend(),
            "SELECT COUNT(*) AS n FROM audit_events",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn every_request_is_one_event(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 200).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let analyst = principal(Role::Analyst, &[]);
    let bearer = |who| format!("Bearer {}", hub.token(who));
    let cases: Vec<(&str, Option<String>, String, &str, u16)> = vec![
        (
            "allowed",
            Some(bearer(&officer)),
            json!({ "query": "query Mine($id: ID!) { measure(id: $id) { id guidanceSessions(first: 3) { id client { birthYear } } } }", "variables": { "id": "1.3" } }).to_string(),
            "allowed",
            200,
        ),
        (
            "partial",
            Some(bearer(&analyst)),
            json!({ "query": "{ themes { id } clients(first: 2) { id } }" }).to_string(),
            "partial",
            200,
        ),
        (
            "all denied",
            Some(bearer(&analyst)),
            json!({ "query": "{ clients(first: 2) { id } }" }).to_string(),
            "refused",
            200,
        ),
        (
            "no token",
            None,
            json!({ "query": "{ themes { id } }" }).to_string(),
            "refused",
            401,
        ),
        (
            "invalid",
            Some(bearer(&officer)),
            json!({ "query": "{ nothing }" }).to_string(),
            "refused",
            200,
        ),
        (
            "not json",
            Some(bearer(&officer)),
            "{".to_owned(),
            "refused",
            400,
        ),
    ];
    let before = events(&hub).await;
    for (index, (name, authorization, body, decision, status)) in cases.iter().enumerate() {
        let id = format!("audit-case-{index}");
        let mut headers = vec![
            ("x-request-id", id.clone()),
            (
                crate::helpers::PURPOSE_HEADER,
                crate::helpers::PURPOSE.to_owned(),
            ),
        ];
        if let Some(authorization) = authorization {
            headers.push(("authorization", authorization.clone()));
        }
        let (answered, _) = hub.post_with("gateway", body, &headers).await;
        assert_eq!(answered, *status, "{name}");
        let event = event_of(&hub, &id).await;
        assert_eq!(event["decision"], *decision, "{name}: {event}");
        assert_eq!(event["status"], *status, "{name}: {event}");
        assert_eq!(event["client_address"], "127.0.0.1", "{name}: {event}");
    }
    assert_eq!(events(&hub).await, before + cases.len() as i64);

    // What the allowed operation's event says, and what it does not keep.
    let event = event_of(&hub, "audit-case-0").await;
    assert_eq!(event["subject"], "test-officer");
    assert_eq!(event["operation_type"], "query");
    assert_eq!(event["document_hash"].as_str().unwrap().len(), 64);
    assert_eq!(event["variables_hash"].as_str().unwrap().len(), 64);
    let fields = event["fields"].to_string();
    for coordinate in [
        "Query.measure",
        "Measure.guidanceSessions",
        "Client.birthYear",
    ] {
        assert!(fields.contains(coordinate), "{coordinate} in {fields}");
    }
    assert!(
        !event.to_string().contains("\"1.3\""),
        "a variable's value is stored: {event}"
    );
    assert!(event["subgraphs"].as_array().unwrap().len() >= 2, "{event}");
    assert!(
        event["policies"]
            .to_string()
            .contains("officer-person-level"),
        "{event}"
    );
    let partial = event_of(&hub, "audit-case-1").await;
    assert!(
        partial["error_codes"].to_string().contains("FORBIDDEN"),
        "{partial}"
    );
    // What was cut is on record, beside what was read.
    assert_eq!(
        partial["denied_fields"],
        json!(["Query.clients"]),
        "{partial}"
    );
    assert_eq!(event["denied_fields"], json!([]), "{event}");
    let refused = event_of(&hub, "audit-case-3").await;
    assert!(refused["subject"].is_null(), "{refused}");

    // Any other method is refused with a GraphQL error, and is an event too, against
    // the caller its token names.
    let http = reqwest::Client::new();
    let before = events(&hub).await;
    for method in ["PUT", "DELETE", "PATCH", "OPTIONS"] {
        let id = format!("audit-method-{method}");
        let response = http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                hub.url("gateway", "/graphql"),
            )
            .header("authorization", bearer(&officer))
            .header("x-request-id", &id)
            .body(r#"{"query":"{ themes { id } }"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405, "{method}");
        assert_eq!(response.headers()["allow"], "GET, POST", "{method}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "METHOD_NOT_ALLOWED",
            "{method}: {body}"
        );
        assert!(body.get("data").is_none_or(Value::is_null), "{body}");
        let event = event_of(&hub, &id).await;
        assert_eq!(event["decision"], "refused", "{method}: {event}");
        assert_eq!(event["status"], 405, "{method}: {event}");
        assert_eq!(event["subject"], "test-officer", "{method}: {event}");
    }
    assert_eq!(events(&hub).await, before + 4);

    // An aggregate's event counts the cells it hid, as the answer shows them.
    let city = kotohub_auth::Principal::new(
        "test-city-analyst",
        [Role::Analyst],
        [],
        Some("city".to_owned()),
    );
    let headers = [
        ("authorization", bearer(&city)),
        ("x-request-id", "audit-statistics".to_owned()),
    ];
    let query = json!({ "query": "{ clientStatistics(by: [DISTRICT, GENDER]) { total { suppressed } cells { suppressed } } }" });
    let (status, answer) = hub.post_with("gateway", &query.to_string(), &headers).await;
    assert_eq!(status, 200, "{answer}");
    let table = &answer["data"]["clientStatistics"];
    let hidden = table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&table["total"]])
        .filter(|cell| cell["suppressed"] == true)
        .count();
    assert!(hidden > 0, "{answer}");
    let event = event_of(&hub, "audit-statistics").await;
    assert_eq!(event["suppressed_cells"], hidden, "{event}");

    let verdict = verify(&hub.audit, None).await.unwrap();
    assert!(matches!(verdict, Verdict::Intact { .. }), "{verdict:?}");
    hub.stop().await;
}

async fn a_thousand_concurrent_requests_are_a_thousand_events(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let before = events(&hub).await;
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let queries = [
        "{ themes { id } }",
        r#"{ measure(id: "1.3") { guidanceSessions(first: 2) { id } } }"#,
        "{ clientStatistics(by: [GENDER]) { total { clients } } }",
        "{ nothing }",
    ];
    let requests = (0..1_000).map(|n| {
        let hub = &hub;
        let officer = &officer;
        async move {
            let body = json!({ "query": queries[n % queries.len()] }).to_string();
            let headers = [("authorization", format!("Bearer {}", hub.token(officer)))];
            hub.post_with("gateway", &body, &headers).await.0
        }
    });
    // A hundred at a time: the point is many writers at once, not running out of sockets.
    use futures_util::StreamExt;
    let statuses: Vec<u16> = futures_util::stream::iter(requests)
        .buffer_unordered(100)
        .collect()
        .await;
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(events(&hub).await, before + 1_000);
    let verdict = verify(&hub.audit, None).await.unwrap();
    match verdict {
        Verdict::Intact {
            events: checked, ..
        } => assert_eq!(checked as i64, before + 1_000),
        broken => panic!("{broken:?}"),
    }
    hub.stop().await;
}

/// Every column of `audit_events`, and whether it holds text.
const COLUMNS: [(&str, bool); 28] = [
    ("seq", false),
    ("event_id", true),
    ("occurred_at", true),
    ("request_id", true),
    ("trace_id", true),
    ("subject", true),
    ("roles", true),
    ("bodies", true),
    ("client_address", true),
    ("operation_type", true),
    ("operation_name", true),
    ("document_hash", true),
    ("saved_query_id", true),
    ("saved_query_version", false),
    ("variables_hash", true),
    ("subgraphs", true),
    ("fields", true),
    ("client_ids", true),
    ("row_count", false),
    ("suppressed_cells", false),
    ("decision", true),
    ("policies", true),
    ("status", false),
    ("error_codes", true),
    ("duration_us", false),
    ("denied_fields", true),
    ("prev_hash", true),
    ("hash", true),
];

async fn sql(hub: &Hub, text: &str, values: Vec<SqlValue>) -> Result<(), sea_orm::DbErr> {
    let backend = hub.audit.get_database_backend();
    let text = if backend == DbBackend::Postgres {
        text.replacen('?', "$1", 1).replacen('?', "$2", 1)
    } else {
        text.to_owned()
    };
    hub.audit
        .execute_raw(Statement::from_sql_and_values(backend, text, values))
        .await
        .map(|_| ())
}

/// What only the tables' owner can do on PostgreSQL: give itself back UPDATE and DELETE
/// and switch the append-only triggers off.
async fn take_protections_down(hub: &Hub) {
    for statement in [
        "GRANT UPDATE, DELETE ON audit_events, audit_checkpoints, audit_seals TO CURRENT_USER",
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER",
        "ALTER TABLE audit_seals DISABLE TRIGGER USER",
    ] {
        sql(hub, statement, vec![]).await.unwrap();
    }
}

async fn broken_at(hub: &Hub) -> (i64, String) {
    match verify(&hub.audit, None).await.unwrap() {
        Verdict::Broken { seq, event_id, .. } => (seq, event_id),
        intact => panic!("the change went unnoticed: {intact:?}"),
    }
}

async fn any_change_breaks_the_chain_at_the_changed_event(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    for n in 0..6 {
        hub.query_as("gateway", &officer, "{ themes { id } }", json!({ "n": n }))
            .await;
    }
    assert!(matches!(
        verify(&hub.audit, None).await.unwrap(),
        Verdict::Intact { .. }
    ));
    if backend == Backend::Postgres {
        // The application role may not change the log, and the triggers refuse anyone.
        let refused = sql(
            &hub,
            "UPDATE audit_events SET status = 500 WHERE seq = 3",
            vec![],
        )
        .await
        .unwrap_err();
        assert!(
            refused.to_string().contains("denied") || refused.to_string().contains("append-only"),
            "{refused}"
        );
        let refused = sql(&hub, "DELETE FROM audit_events WHERE seq = 3", vec![])
            .await
            .unwrap_err();
        assert!(!refused.to_string().is_empty());
        // The table's owner can take the protections down; the chain still tells.
        take_protections_down(&hub).await;
    }
    let target = 3i64;
    let read = |column: &'static str| {
        let hub = &hub;
        async move {
            let backend = hub.audit.get_database_backend();
            let sql = format!(
                "SELECT CAST({column} AS TEXT) AS v FROM audit_events WHERE seq = {target}"
            );
            hub.audit
                .query_one_raw(Statement::from_string(backend, sql))
                .await
                .unwrap()
                .unwrap()
                .try_get::<Option<String>>("", "v")
                .unwrap()
        }
    };
    let event_id = read("event_id").await.unwrap();
    for (column, text) in COLUMNS {
        let original = read(column).await;
        let changed: SqlValue = if text {
            let mut bytes = original.clone().unwrap_or_default().into_bytes();
            match bytes.first_mut() {
                Some(first) => *first = if *first == b'x' { b'y' } else { b'x' },
                None => bytes.push(b'x'),
            }
            String::from_utf8(bytes).unwrap().into()
        } else {
            let number: i64 = original.as_deref().unwrap_or("0").parse().unwrap();
            if column == "seq" {
                (number + 1_000).into()
            } else {
                (number + 1).into()
            }
        };
        let restore: SqlValue = match (&original, text) {
            (None, true) => SqlValue::String(None),
            (None, false) => SqlValue::BigInt(None),
            (Some(value), true) => value.clone().into(),
            (Some(value), false) => value.parse::<i64>().unwrap().into(),
        };
        let at = if column == "seq" {
            target + 1_000
        } else {
            target
        };
        sql(
            &hub,
            &format!("UPDATE audit_events SET {column} = ? WHERE seq = ?"),
            vec![changed, target.into()],
        )
        .await
        .unwrap();
        let (seq, named) = broken_at(&hub).await;
        assert_eq!(seq, target, "changing {column}");
        // The event is named by its id, unless the id is what was changed.
        if column != "seq" && column != "event_id" {
            assert_eq!(named, event_id, "changing {column}");
        }
        sql(
            &hub,
            &format!("UPDATE audit_events SET {column} = ? WHERE seq = ?"),
            vec![restore, at.into()],
        )
        .await
        .unwrap();
        assert!(
            matches!(
                verify(&hub.audit, None).await.unwrap(),
                Verdict::Intact { .. }
            ),
            "restoring {column}"
        );
    }

    // Two events swapped: each keeps its place but carries the other's content.
    sql(
        &hub,
        "UPDATE audit_events SET seq = 1000 WHERE seq = ?",
        vec![4i64.into()],
    )
    .await
    .unwrap();
    sql(
        &hub,
        "UPDATE audit_events SET seq = 4 WHERE seq = ?",
        vec![5i64.into()],
    )
    .await
    .unwrap();
    sql(
        &hub,
        "UPDATE audit_events SET seq = 5 WHERE seq = ?",
        vec![1000i64.into()],
    )
    .await
    .unwrap();
    assert_eq!(broken_at(&hub).await.0, 4);

    // A deleted event.
    hub.missing_events
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    sql(
        &hub,
        "DELETE FROM audit_events WHERE seq = ?",
        vec![2i64.into()],
    )
    .await
    .unwrap();
    assert_eq!(broken_at(&hub).await.0, 2);
    hub.stop().await;
}

async fn an_unwritable_log_withholds_every_answer(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let authorization = [("authorization", format!("Bearer {}", hub.token(&officer)))];
    let ask = || {
        hub.post_with(
            "gateway",
            r#"{"query":"{ themes { id title } }"}"#,
            &authorization,
        )
    };
    let (status, body) = ask().await;
    assert_eq!(status, 200, "{body}");
    // The log refuses writes: nothing is answered, and the caller is told why.
    let (close, open) = match backend {
        Backend::Postgres => (
            "REVOKE INSERT ON audit_events FROM CURRENT_USER",
            "GRANT INSERT ON audit_events TO CURRENT_USER",
        ),
        Backend::Sqlite => (
            "CREATE TRIGGER closed BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'closed'); END",
            "DROP TRIGGER closed",
        ),
    };
    sql(&hub, close, vec![]).await.unwrap();
    let before = events(&hub).await;
    hub.missing_events
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let (status, body) = ask().await;
    assert_eq!(status, 503, "{body}");
    assert!(body.get("data").is_none(), "{body}");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "AUDIT_UNAVAILABLE",
        "{body}"
    );
    assert!(!body.to_string().contains("title"), "{body}");
    assert_eq!(events(&hub).await, before);
    // Writable again: answers come back, and the chain goes on unbroken.
    sql(&hub, open, vec![]).await.unwrap();
    let (status, body) = ask().await;
    assert_eq!(status, 200, "{body}");
    assert!(body["data"]["themes"].is_array(), "{body}");
    assert!(matches!(
        verify(&hub.audit, None).await.unwrap(),
        Verdict::Intact { .. }
    ));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kotohub_audit_verify_exits_non_zero_naming_the_broken_event() {
    let dir = std::env::temp_dir().join(format!("kotohub-audit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = kotohub_subgraph::db::sqlite_url(&dir.join("audit.db"));
    let db = kotohub_subgraph::db::connect(&url, kotohub::AUDIT)
        .await
        .unwrap();
    kotohub_migrations::up(kotohub::AUDIT, &db).await.unwrap();
    let log = kotohub_audit::AuditLog::start(db.clone()).await.unwrap();
    for n in 0..5 {
        log.record(kotohub_audit::Event {
            request_id: format!("cli-{n}"),
            status: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let verify = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_kotohub"))
            .args(["audit", "verify", "--database-url", &url])
            .output()
            .unwrap()
    };
    let intact = verify();
    let said = String::from_utf8_lossy(&intact.stdout).to_string();
    assert!(
        intact.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&intact.stderr)
    );
    assert!(said.contains("intact: 5 events"), "{said}");

    // Retention: the two oldest events go, the rest still verify.
    let third: String = db
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT occurred_at FROM audit_events WHERE seq = 3",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "occurred_at")
        .unwrap();
    let pruned = std::process::Command::new(env!("CARGO_BIN_EXE_kotohub"))
        .args(["audit", "prune", "--before", &third, "--database-url", &url])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&pruned.stdout).to_string();
    assert!(
        pruned.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    assert!(said.contains("Removed 2 events"), "{said}");
    let said = String::from_utf8_lossy(&verify().stdout).to_string();
    assert!(said.contains("intact: 3 events"), "{said}");

    db.execute_unprepared("UPDATE audit_events SET row_count = 7 WHERE seq = 4")
        .await
        .unwrap();
    let broken = verify();
    let said = String::from_utf8_lossy(&broken.stderr).to_string();
    assert!(!broken.status.success(), "{said}");
    assert!(said.contains("broken at event 4"), "{said}");
    std::fs::remove_dir_all(&dir).ok();
}

async fn the_clients_whose_data_was_returned_are_logged_without_their_ids_selected(
    backend: Backend,
) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let authorization = format!("Bearer {}", hub.token(&officer));
    let logged = |id: &'static str, query: &'static str| {
        let hub = &hub;
        let authorization = authorization.clone();
        async move {
            let body = json!({ "query": query }).to_string();
            let headers = [
                ("authorization", authorization),
                ("x-request-id", id.to_owned()),
                (
                    crate::helpers::PURPOSE_HEADER,
                    crate::helpers::PURPOSE.to_owned(),
                ),
            ];
            let (status, answer) = hub.post_with("gateway", &body, &headers).await;
            assert_eq!(status, 200, "{answer}");
            assert!(answer.get("errors").is_none(), "{answer}");
            let backend = hub.audit.get_database_backend();
            let sql = match backend {
                DbBackend::Postgres => "SELECT client_ids FROM audit_events WHERE request_id = $1",
                _ => "SELECT client_ids FROM audit_events WHERE request_id = ?",
            };
            let row = hub
                .audit
                .query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
                .await
                .unwrap()
                .unwrap();
            let ids: Vec<String> =
                serde_json::from_str(&row.try_get::<String>("", "client_ids").unwrap()).unwrap();
            (answer, ids)
        }
    };
    // Names only, from the programme's client core.
    let (answer, ids) = logged("names", "{ clients(first: 3) { name } }").await;
    assert_eq!(answer["data"]["clients"].as_array().unwrap().len(), 3);
    let (with_ids, _) = logged("ids", "{ clients(first: 3) { id } }").await;
    let mut expected: Vec<String> = crate::helpers::ids(&with_ids["data"]["clients"]);
    expected.sort();
    assert_eq!(ids, expected);

    // Through a join: a measure's guidance sessions, each client's name.
    let (answer, ids) = logged(
        "joined",
        r#"{ measure(id: "1.3") { guidanceSessions(first: 3) { language client { name } } } }"#,
    )
    .await;
    let (with_ids, _) = logged(
        "joined-ids",
        r#"{ measure(id: "1.3") { guidanceSessions(first: 3) { client { id } } } }"#,
    )
    .await;
    let mut expected: Vec<String> = with_ids["data"]["measure"]["guidanceSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["client"]["id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    expected.dedup();
    assert!(!expected.is_empty(), "{answer}");
    assert_eq!(ids, expected);

    // Catalog data is no one's: nothing logged.
    let (_, ids) = logged("catalog", "{ themes { id title } }").await;
    assert!(ids.is_empty(), "{ids:?}");
    hub.stop().await;
}

async fn auditors_read_the_log_and_everyone_else_is_refused_on_the_record(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let auditor = principal(Role::Auditor, &[]);
    // The officer reads some of its clients.
    let body = hub
        .query_as(
            "gateway",
            &officer,
            "{ clients(first: 2) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(
        body["data"]["clients"].as_array().unwrap().len(),
        2,
        "{body}"
    );
    let seen = hub
        .query_as(
            "gateway",
            &officer,
            "{ clients(first: 2) { id } }",
            json!({}),
        )
        .await;
    let client = crate::helpers::ids(&seen["data"]["clients"])[0].clone();

    // Who saw this person's data: the officer's two reads, and nothing else.
    let accesses = r#"query($id: ID!) { accessesToClient(id: $id) { id subject bodies clientIds fields decision occurredAt } }"#;
    let body = hub
        .query_as("gateway", &auditor, accesses, json!({ "id": client }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let events = body["data"]["accessesToClient"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{body}");
    for event in events {
        assert_eq!(event["subject"], "test-officer");
        assert_eq!(event["bodies"], json!(["ohjaamo"]));
        assert!(
            event["clientIds"]
                .as_array()
                .unwrap()
                .contains(&json!(client))
        );
    }

    // Officers and analysts are refused, and the refusal is itself on the record.
    for (who, id) in [
        (principal(Role::Officer, &["ohjaamo"]), "refused-officer"),
        (principal(Role::Analyst, &[]), "refused-analyst"),
    ] {
        let headers = [
            ("authorization", format!("Bearer {}", hub.token(&who))),
            ("x-request-id", id.to_owned()),
        ];
        let (status, body) = hub
            .post_with(
                "gateway",
                r#"{"query":"{ auditEvents(first: 5) { id subject } }"}"#,
                &headers,
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
        assert!(body["data"].is_null(), "{body}");
        let event = event_of(&hub, id).await;
        assert_eq!(event["decision"], "refused", "{event}");
        assert!(
            event["error_codes"].to_string().contains("FORBIDDEN"),
            "{event}"
        );
    }

    // The auditor's own reads are in the log too, found by filter.
    let filtered =
        r#"{ auditEvents(filter: { subject: "test-auditor" }, first: 10) { id fields decision } }"#;
    let body = hub.query_as("gateway", &auditor, filtered, json!({})).await;
    let own = body["data"]["auditEvents"].as_array().unwrap();
    assert!(!own.is_empty(), "{body}");
    assert!(
        own[0]["fields"]
            .to_string()
            .contains("Query.accessesToClient"),
        "{body}"
    );
    let body = hub
        .query_as(
            "gateway",
            &auditor,
            r#"{ auditEvents(filter: { decision: REFUSED }, first: 100) { id subject } }"#,
            json!({}),
        )
        .await;
    let refused: Vec<&Value> = body["data"]["auditEvents"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(refused.len() >= 2, "{body}");
    // Paging goes on after the last id seen.
    let first = r#"{ auditEvents(first: 1) { id } }"#;
    let body = hub.query_as("gateway", &auditor, first, json!({})).await;
    let after = body["data"]["auditEvents"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let next = r#"query($after: ID) { auditEvents(first: 1, after: $after) { id } }"#;
    let body = hub
        .query_as("gateway", &auditor, next, json!({ "after": after }))
        .await;
    let following: i64 = body["data"]["auditEvents"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(following, after.parse::<i64>().unwrap() + 1);
    hub.stop().await;
}

async fn pruning_keeps_the_rest_of_the_chain_verifiable(backend: Backend) {
    use kotohub_audit::chain::prune;
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    for _ in 0..8 {
        hub.query_as("gateway", &officer, "{ themes { id } }", json!({}))
            .await;
    }
    let occurred = |seq: i64| {
        let hub = &hub;
        async move {
            hub.audit
                .query_one_raw(Statement::from_string(
                    hub.audit.get_database_backend(),
                    format!("SELECT occurred_at FROM audit_events WHERE seq = {seq}"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get::<String>("", "occurred_at")
                .unwrap()
        }
    };
    // Everything before the fourth event goes; the chain from the fourth on verifies
    // against the checkpoint, and the log goes on being written and verified.
    let cut = occurred(4).await;
    let pruned = prune(&hub.audit, &cut).await.unwrap();
    assert_eq!(pruned.through_seq, Some(3));
    assert_eq!(pruned.events, 3);
    assert_eq!(events(&hub).await, 5);
    assert_eq!(
        verify(&hub.audit, None).await.unwrap(),
        Verdict::Intact {
            events: 5,
            last_seq: Some(8)
        }
    );
    hub.query_as("gateway", &officer, "{ themes { id } }", json!({}))
        .await;
    let cut = occurred(7).await;
    assert_eq!(prune(&hub.audit, &cut).await.unwrap().events, 3);
    assert!(matches!(
        verify(&hub.audit, None).await.unwrap(),
        Verdict::Intact { events: 3, .. }
    ));
    // Pruning nothing changes nothing.
    assert_eq!(
        prune(&hub.audit, "2000-01-01T00:00:00Z")
            .await
            .unwrap()
            .events,
        0
    );

    // A forged checkpoint, or an event deleted next to one, breaks the chain.
    if backend == Backend::Postgres {
        take_protections_down(&hub).await;
    }
    for (pruned_events, intact) in [(2i64, false), (3, true)] {
        sql(
            &hub,
            "UPDATE audit_checkpoints SET pruned_events = ? WHERE seq = ?",
            vec![pruned_events.into(), 1i64.into()],
        )
        .await
        .unwrap();
        let verdict = verify(&hub.audit, None).await.unwrap();
        assert_eq!(
            matches!(verdict, Verdict::Intact { .. }),
            intact,
            "{verdict:?}"
        );
    }
    hub.missing_events
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    sql(
        &hub,
        "DELETE FROM audit_events WHERE seq = ?",
        vec![7i64.into()],
    )
    .await
    .unwrap();
    assert_eq!(broken_at(&hub).await.0, 7);
    hub.stop().await;
}

async fn auditors_ask_the_api_whether_the_chain_holds(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let auditor = principal(Role::Auditor, &[]);
    for _ in 0..5 {
        hub.query_as("gateway", &officer, "{ themes { id } }", json!({}))
            .await;
    }
    let chain = "{ auditChain { intact eventsChecked lastEvent brokenAt brokenEventId reason verifiedAt } }";
    let before = events(&hub).await;
    let body = hub.query_as("gateway", &auditor, chain, json!({})).await;
    let verdict = &body["data"]["auditChain"];
    assert_eq!(verdict["intact"], true, "{body}");
    // The auditor's own read is written after its answer.
    assert_eq!(verdict["eventsChecked"], before, "{body}");
    assert_eq!(verdict["lastEvent"], before.to_string(), "{body}");
    assert!(verdict["brokenAt"].is_null(), "{body}");

    let refused = hub.query_as("gateway", &officer, chain, json!({})).await;
    assert!(refused["data"].is_null(), "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");

    if backend == Backend::Postgres {
        take_protections_down(&hub).await;
    }
    sql(
        &hub,
        "UPDATE audit_events SET row_count = 7 WHERE seq = 3",
        vec![],
    )
    .await
    .unwrap();
    let body = hub.query_as("gateway", &auditor, chain, json!({})).await;
    let verdict = &body["data"]["auditChain"];
    assert_eq!(verdict["intact"], false, "{body}");
    assert_eq!(verdict["brokenAt"], "3", "{body}");
    assert_eq!(verdict["brokenEventId"], broken_at(&hub).await.1, "{body}");
    assert!(
        verdict["reason"].as_str().unwrap().contains("hash"),
        "{body}"
    );
    hub.stop().await;
}

async fn a_chain_rewritten_whole_fails_against_its_seals(backend: Backend) {
    use kotohub_audit::bundle::{Report, export, verify as verify_bundle};
    use kotohub_audit::seal::{Sealer, public_key};
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let sealer = Sealer::from_hex(&"5a".repeat(32)).unwrap();
    let key = public_key(&sealer.public_key()).unwrap();
    let officer = principal(Role::Officer, &["ohjaamo"]);
    for n in 0..4 {
        hub.query_as("gateway", &officer, "{ themes { id } }", json!({ "n": n }))
            .await;
    }
    let first = sealer
        .seal(&hub.audit)
        .await
        .unwrap()
        .expect("a head to seal");
    // Sealing the same head again stores nothing.
    assert!(sealer.seal(&hub.audit).await.unwrap().is_none());
    for n in 4..7 {
        hub.query_as("gateway", &officer, "{ themes { id } }", json!({ "n": n }))
            .await;
    }
    let bundle = export(&hub.audit, None, None).await.unwrap();
    let events = bundle.events.len() as i64;
    assert_eq!(
        verify_bundle(&bundle, &key),
        Report::Unsealed {
            from_seq: first.seq + 1,
            to_seq: events,
            sealed_through: Some(first.seq)
        }
    );
    let last = sealer.seal(&hub.audit).await.unwrap().expect("a new head");
    assert_eq!(last.seq, events);
    let bundle = export(&hub.audit, None, None).await.unwrap();
    assert!(
        matches!(
            verify_bundle(&bundle, &key),
            Report::Intact { seals: 2, .. }
        ),
        "{:?}",
        verify_bundle(&bundle, &key)
    );

    // Whoever can write the database rewrites the second event and recomputes every hash
    // after it: the chain alone holds together again.
    if backend == Backend::Postgres {
        take_protections_down(&hub).await;
    }
    let mut prev = bundle.events[0].hash.clone();
    for event in &bundle.events[1..] {
        let mut row = event.clone();
        if row.seq == 2 {
            row.subject = Some("someone-else".to_owned());
        }
        row.prev_hash = prev.clone();
        row.hash = kotohub_audit::chain::hash(&prev, &row);
        let backend_sql = match hub.audit.get_database_backend() {
            DbBackend::Postgres => {
                "UPDATE audit_events SET subject = $1, prev_hash = $2, hash = $3 WHERE seq = $4"
            }
            _ => "UPDATE audit_events SET subject = ?, prev_hash = ?, hash = ? WHERE seq = ?",
        };
        hub.audit
            .execute_raw(Statement::from_sql_and_values(
                hub.audit.get_database_backend(),
                backend_sql,
                [
                    row.subject.clone().into(),
                    row.prev_hash.clone().into(),
                    row.hash.clone().into(),
                    row.seq.into(),
                ],
            ))
            .await
            .unwrap();
        prev = row.hash;
    }
    assert!(matches!(
        verify(&hub.audit, None).await.unwrap(),
        Verdict::Intact { .. }
    ));
    // The seals do not follow: the bundle fails at the first one.
    let rewritten = export(&hub.audit, None, None).await.unwrap();
    match verify_bundle(&rewritten, &key) {
        Report::Broken { seq, reason } => {
            assert_eq!(seq, first.seq);
            assert!(reason.contains("rewritten"), "{reason}");
        }
        other => panic!("the rewrite went unnoticed: {other:?}"),
    }
    // Nor does removing the seals help: nothing covers the events any more.
    sql(&hub, "DELETE FROM audit_seals", vec![]).await.unwrap();
    let unsealed = export(&hub.audit, None, None).await.unwrap();
    assert!(matches!(
        verify_bundle(&unsealed, &key),
        Report::Unsealed {
            from_seq: 1,
            sealed_through: None,
            ..
        }
    ));
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kotohub_audit_export_writes_a_bundle_that_verifies_with_the_public_key_alone() {
    let dir = std::env::temp_dir().join(format!("kotohub-audit-bundle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = kotohub_subgraph::db::sqlite_url(&dir.join("audit.db"));
    let db = kotohub_subgraph::db::connect(&url, kotohub::AUDIT)
        .await
        .unwrap();
    kotohub_migrations::up(kotohub::AUDIT, &db).await.unwrap();
    let log = kotohub_audit::AuditLog::start(db.clone()).await.unwrap();
    for n in 0..5 {
        log.record(kotohub_audit::Event {
            request_id: format!("bundle-{n}"),
            status: 200,
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let data_dir = dir.to_str().unwrap();
    let kotohub = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kotohub"))
            .args(args)
            .env_remove("KOTOHUB__AUDIT__SIGNING_KEY")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = kotohub(&[
        "audit",
        "seal",
        "--database-url",
        &url,
        "--data-dir",
        data_dir,
    ]);
    assert!(ok && said.contains("through event 5"), "{said}");
    let (ok, key) = kotohub(&["audit", "public-key", "--data-dir", data_dir]);
    assert!(ok, "{key}");
    let key = key.trim().to_owned();
    assert_eq!(key.len(), 64, "{key}");
    // The key stays out of the database: only its public half is stored with a seal.
    let seed = std::fs::read_to_string(dir.join("keys").join("audit-signing.key")).unwrap();
    // The database and its write-ahead log, where the newest rows may still be.
    let mut stored = std::fs::read(dir.join("audit.db")).unwrap();
    stored.extend(std::fs::read(dir.join("audit.db-wal")).unwrap_or_default());
    let holds = |text: &str| stored.windows(text.len()).any(|w| w == text.as_bytes());
    assert!(holds(&key) && !holds(seed.trim()));
    let bundle = dir.join("bundle.json");
    let bundle = bundle.to_str().unwrap();
    let (ok, said) = kotohub(&["audit", "export", "--out", bundle, "--database-url", &url]);
    assert!(
        ok && said.contains("Wrote 5 events and 1 seal to"),
        "{said}"
    );
    let verify = |key: &str| kotohub(&["audit", "verify", "--bundle", bundle, "--public-key", key]);
    let (ok, said) = verify(&key);
    assert!(ok && said.contains("intact: events 1 to 5"), "{said}");
    let stranger = kotohub_audit::seal::Sealer::from_hex(&"22".repeat(32))
        .unwrap()
        .public_key();
    let (ok, said) = verify(&stranger);
    assert!(
        !ok && said.contains("not signed by the trusted key"),
        "{said}"
    );

    // An edited bundle names the event.
    let text = std::fs::read_to_string(bundle).unwrap();
    let mut json: Value = serde_json::from_str(&text).unwrap();
    json["events"][2]["row_count"] = json!(99);
    std::fs::write(bundle, serde_json::to_vec(&json).unwrap()).unwrap();
    let (ok, said) = verify(&key);
    assert!(!ok && said.contains("broken at event 3"), "{said}");

    // Events after the last seal are named as such.
    log.record(kotohub_audit::Event {
        request_id: "bundle-late".to_owned(),
        status: 200,
        ..Default::default()
    })
    .await
    .unwrap();
    let (ok, said) = kotohub(&["audit", "export", "--out", bundle, "--database-url", &url]);
    assert!(
        ok && said.contains("No seal covers the events after 5"),
        "{said}"
    );
    let (ok, said) = verify(&key);
    assert!(
        !ok && said.contains("events 6 to 6 are not covered"),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

async fn auditors_review_what_the_rules_flag(backend: Backend) {
    use chrono::{Datelike, Timelike};
    let Some(hub) = Hub::start_with(backend, 200).await else {
        return;
    };
    let officer = principal(Role::Officer, &["ohjaamo"]);
    let analyst = principal(Role::Analyst, &[]);
    // Six refusals in a row for the analyst, and one read of eight clients by the officer.
    for n in 0..6 {
        hub.query_as(
            "gateway",
            &analyst,
            "{ clients(first: 2) { id } }",
            json!({ "n": n }),
        )
        .await;
    }
    let read = hub
        .query_as(
            "gateway",
            &officer,
            "{ clients(first: 8) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["clients"].as_array().map(Vec::len),
        Some(8),
        "{read}"
    );

    // Working hours set around the present hour, so that only a weekend makes the read
    // one outside them.
    let now = kotohub_audit::review::helsinki(chrono::Utc::now());
    let hour = now.hour();
    let weekend = matches!(now.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
    let from = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    let query = "query($from: DateTime!, $to: DateTime!, $t: ReviewThresholds) {
        auditReview(from: $from, to: $to, thresholds: $t) { rule subject client events detail } }";
    let thresholds = json!({ "refusals": 5, "manyClients": 5, "workingHoursStart": hour.min(22),
                             "workingHoursEnd": (hour + 2).min(24) });
    let variables = json!({ "from": from, "to": to, "t": thresholds });
    let auditor = principal(Role::Auditor, &[]);
    let review = hub
        .query_as("gateway", &auditor, query, variables.clone())
        .await;
    assert!(review.get("errors").is_none(), "{review}");
    let flags = review["data"]["auditReview"].as_array().unwrap();
    let mut found: Vec<(String, String)> = flags
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["subject"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![
        ("MANY_CLIENTS".to_owned(), officer.subject.clone()),
        ("REFUSAL_BURST".to_owned(), analyst.subject.clone()),
    ];
    if weekend {
        expected.push(("OUTSIDE_WORKING_HOURS".to_owned(), officer.subject.clone()));
    }
    expected.sort();
    assert_eq!(found, expected, "{review}");
    let burst = flags.iter().find(|f| f["rule"] == "REFUSAL_BURST").unwrap();
    assert_eq!(burst["events"].as_array().unwrap().len(), 6, "{burst}");

    // Others may not ask; a range beyond a month is refused.
    let refused = hub
        .query_as("gateway", &officer, query, variables.clone())
        .await;
    assert!(
        refused["data"].is_null() || refused["data"]["auditReview"].is_null(),
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let long = json!({ "from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z" });
    let refused = hub.query_as("gateway", &auditor, query, long).await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );

    // The auditor marks the burst reviewed; a second look is a second version, and the
    // flag leaves the queue of unreviewed ones.
    let mark = "mutation($events: [ID!]!, $outcome: ReviewOutcome!, $note: String!) {
        markReviewed(events: $events, outcome: $outcome, note: $note) { event version outcome reviewedBy } }";
    let events = burst["events"].clone();
    let marked = hub
        .query_as("gateway", &auditor, mark, json!({ "events": events, "outcome": "FOLLOW_UP", "note": "Asked the dashboard's owner why it reads clients" }))
        .await;
    let marks = marked["data"]["markReviewed"].as_array().unwrap();
    assert_eq!(marks.len(), 6, "{marked}");
    assert!(
        marks
            .iter()
            .all(|m| m["version"] == 1 && m["reviewedBy"] == auditor.subject.as_str())
    );
    let again = hub
        .query_as("gateway", &auditor, mark, json!({ "events": events, "outcome": "CLEARED", "note": "A misconfigured dashboard, fixed on the same day" }))
        .await;
    assert!(
        again["data"]["markReviewed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["version"] == 2),
        "{again}"
    );
    let first = events[0].as_str().unwrap();
    let history = hub
        .query_as(
            "gateway",
            &auditor,
            "query($e: ID!) { reviewMarks(event: $e) { version outcome note } }",
            json!({ "e": first }),
        )
        .await;
    let history = history["data"]["reviewMarks"].as_array().unwrap().clone();
    assert_eq!(
        history
            .iter()
            .map(|m| (
                m["version"].as_i64().unwrap(),
                m["outcome"].as_str().unwrap().to_owned()
            ))
            .collect::<Vec<_>>(),
        [(1, "FOLLOW_UP".to_owned()), (2, "CLEARED".to_owned())]
    );
    let queue = "query($from: DateTime!, $to: DateTime!, $t: ReviewThresholds) {
        auditReview(from: $from, to: $to, thresholds: $t, unreviewedOnly: true) { rule reviewed } }";
    let unreviewed = hub
        .query_as("gateway", &auditor, queue, variables.clone())
        .await;
    let rules: Vec<&str> = unreviewed["data"]["auditReview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        !rules.contains(&"REFUSAL_BURST") && rules.contains(&"MANY_CLIENTS"),
        "{unreviewed}"
    );
    let all = hub
        .query_as(
            "gateway",
            &auditor,
            query
                .replace("detail }", "detail reviewed marks { version } }")
                .as_str(),
            variables.clone(),
        )
        .await;
    let burst = all["data"]["auditReview"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "REFUSAL_BURST")
        .unwrap()
        .clone();
    assert_eq!(burst["reviewed"], true, "{all}");
    assert!(
        burst["marks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["version"] == 2)
    );

    // Only auditors mark; a mark needs a note and events the log holds; nothing is
    // stored for a refused marking, and the marking itself is on the record.
    let by_officer = hub
        .query_as(
            "gateway",
            &officer,
            mark,
            json!({ "events": [first], "outcome": "CLEARED", "note": "fine" }),
        )
        .await;
    assert_eq!(
        by_officer["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{by_officer}"
    );
    for (events, note) in [
        (json!([first]), "  "),
        (json!(["999999999"]), "no such event"),
    ] {
        let bad = hub
            .query_as(
                "gateway",
                &auditor,
                mark,
                json!({ "events": events, "outcome": "CLEARED", "note": note }),
            )
            .await;
        assert_eq!(
            bad["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{bad}"
        );
    }
    let history = hub
        .query_as(
            "gateway",
            &auditor,
            "query($e: ID!) { reviewMarks(event: $e) { version } }",
            json!({ "e": first }),
        )
        .await;
    assert_eq!(
        history["data"]["reviewMarks"].as_array().unwrap().len(),
        2,
        "{history}"
    );
    let backend = hub.audit.get_database_backend();
    let markings = hub
        .audit
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM audit_events WHERE fields LIKE '%Mutation.markReviewed%'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(
        markings, 4,
        "two markings and two bad ones; the officer's is cut at the gateway (ReviewMark is the auditors')"
    );
    hub.stop().await;
}

/// Two writers on one log — two gateway replicas, or the hub and a command that records
/// what it did — each chain their events onto what the other stored: every event is
/// stored, none is refused, and the chain holds.
async fn writers_beside_each_other_keep_one_chain(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let before = events(&hub).await;
    let one = kotohub_audit::AuditLog::start(hub.audit.clone())
        .await
        .unwrap();
    let other = kotohub_audit::AuditLog::start(hub.audit.clone())
        .await
        .unwrap();
    let event = |n: usize| kotohub_gateway::audit::Event {
        request_id: format!("writer-{n}"),
        status: 200,
        ..kotohub_gateway::audit::Event::default()
    };
    let written = futures_util::future::join_all((0..60).map(|n| {
        let log = if n % 2 == 0 {
            one.clone()
        } else {
            other.clone()
        };
        async move { log.record(event(n)).await }
    }))
    .await;
    assert!(written.iter().all(Result::is_ok), "{written:?}");
    hub.expect_events_from_outside_the_gateway(60);
    assert_eq!(events(&hub).await, before + 60);
    assert!(matches!(
        verify(&hub.audit, None).await.unwrap(),
        Verdict::Intact { .. }
    ));
    hub.stop().await;
}

/// Runs `openssl` with `args` in `dir`; its standard output, or a failure naming it.
fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A time-stamping authority on loopback: OpenSSL's own (`openssl ts -reply`) with a
/// throwaway certificate, behind a small HTTP server. Returns its URL and directory.
async fn local_authority() -> (String, std::path::PathBuf, tokio::task::JoinHandle<()>) {
    let dir = std::env::temp_dir().join(format!(
        "kotohub-tsa-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "tsa.key",
            "-out",
            "tsa.crt",
            "-days",
            "1",
            "-subj",
            "/CN=Kotohub test TSA",
            "-addext",
            "extendedKeyUsage=critical,timeStamping",
        ],
    );
    std::fs::write(dir.join("serial"), "01\n").unwrap();
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = local\n[ local ]\ndir = {}\nserial = $dir/serial\n\
             crypto_device = builtin\nsigner_cert = $dir/tsa.crt\nsigner_key = $dir/tsa.key\n\
             signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
             accuracy = secs:1\nordering = yes\ntsa_name = no\ness_cert_id_chain = no\n\
             ess_cert_id_alg = sha256\n",
            dir.display()
        ),
    )
    .unwrap();
    let served = dir.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |body: axum::body::Bytes| {
            let dir = served.clone();
            async move {
                let id = chrono::Utc::now().timestamp_nanos_opt().unwrap();
                let query = format!("{id}.tsq");
                let reply = format!("{id}.tsr");
                std::fs::write(dir.join(&query), &body).unwrap();
                openssl(
                    &dir,
                    &[
                        "ts",
                        "-reply",
                        "-config",
                        "tsa.cnf",
                        "-queryfile",
                        &query,
                        "-out",
                        &reply,
                    ],
                );
                (
                    [("content-type", kotohub_audit::timestamp::REPLY_TYPE)],
                    std::fs::read(dir.join(&reply)).unwrap(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, dir, task)
}

/// With an authority configured, a new seal is time-stamped; the token covers exactly
/// that seal, travels in the bundle, and verifies against the authority's certificate
/// with OpenSSL; a token moved to another seal breaks the bundle; an authority that does
/// not answer leaves the seal standing without a time-stamp.
async fn seals_are_time_stamped_by_an_outside_authority(backend: Backend) {
    use kotohub::timestamping::{TimestampAuthority, seal_and_stamp};
    use kotohub_audit::bundle::{Report, export, verify};
    use kotohub_audit::seal::Sealer;
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let (url, dir, server) = local_authority().await;
    let sealer = Sealer::from_hex(&"3c".repeat(32)).unwrap();
    let key = kotohub_audit::seal::public_key(&sealer.public_key()).unwrap();
    hub.query("gateway", "{ themes { id } }", json!({})).await;
    let authority = TimestampAuthority::new(&url);
    let first = seal_and_stamp(&sealer, &hub.audit, Some(&authority))
        .await
        .unwrap()
        .expect("a head to seal");

    // The authority is down for the next seal: the seal stands, unstamped.
    hub.query("gateway", "{ themes { id } }", json!({})).await;
    let down = TimestampAuthority::new("http://127.0.0.1:9/");
    let second = seal_and_stamp(&sealer, &hub.audit, Some(&down))
        .await
        .unwrap()
        .expect("a new head to seal");
    assert!(second.seq > first.seq);

    let bundle = export(&hub.audit, None, None).await.unwrap();
    assert_eq!(bundle.timestamps.len(), 1, "only the first seal is stamped");
    assert_eq!(bundle.timestamps[0].seq, first.seq);
    assert!(matches!(
        verify(&bundle, &key),
        Report::Intact {
            seals: 2,
            timestamped: 1,
            ..
        }
    ));

    // The token is the authority's, over the seal's digest.
    let token = hex::decode(&bundle.timestamps[0].token).unwrap();
    std::fs::write(dir.join("token.der"), &token).unwrap();
    let digest = hex::encode(kotohub_audit::timestamp::digest(&first));
    let checked = openssl(
        &dir,
        &[
            "ts",
            "-verify",
            "-digest",
            &digest,
            "-in",
            "token.der",
            "-token_in",
            "-CAfile",
            "tsa.crt",
        ],
    );
    assert!(checked.contains("Verification: OK"), "{checked}");

    // Moved to the other seal, it covers nothing it claims to.
    let mut moved = bundle.clone();
    moved.timestamps[0].seq = second.seq;
    assert!(matches!(verify(&moved, &key), Report::Broken { seq, .. } if seq == second.seq));
    server.abort();
    let _ = std::fs::remove_dir_all(&dir);
    hub.stop().await;
}
