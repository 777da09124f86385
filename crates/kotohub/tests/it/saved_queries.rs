//! Saved queries end to end: saved, shared and archived through the gateway's mutations,
//! checked when saved against the API schema and the owner's rules, run by name through
//! `runSavedQuery` and `GET /q/{name}` (JSON and CSV) under the runner's own rules,
//! refused by safelist mode, and recorded in the access log with their id and version.

use std::collections::BTreeSet;

use kotohub::services::GatewaySettings;
use kotohub_auth::{Principal, Role};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, error_codes, principal};
use crate::on_both_backends;

on_both_backends!(
    a_seeded_query_exports_the_officers_own_rows_as_csv,
    every_change_is_a_new_version_and_old_versions_still_run,
    sharing_lets_others_run_a_query_but_never_widens_their_rows,
    a_document_is_checked_when_saved_and_refused_with_every_reason,
    csv_quotes_commas_quotes_and_newlines_and_repeats_parents_of_nested_lists,
    unknown_names_and_wrong_variables_get_clear_errors,
    a_run_is_audited_with_the_saved_query_id_and_version,
    safelist_mode_runs_only_saved_and_persisted_operations,
);

fn officer(body: &str) -> Principal {
    Principal::new(
        format!("test-officer-{body}"),
        [Role::Officer],
        [body.to_owned()],
        None,
    )
}

/// A `GET` of `path` at `base` as `principal`: status, content type and body text.
async fn get(hub: &Hub, base: &str, path: &str, principal: &Principal) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("authorization", format!("Bearer {}", hub.token(principal)))
        .header(crate::helpers::PURPOSE_HEADER, crate::helpers::PURPOSE)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, media, response.text().await.unwrap())
}

async fn run_q(hub: &Hub, path: &str, principal: &Principal) -> (u16, String, String) {
    get(hub, &hub.url("gateway", ""), path, principal).await
}

/// Parses RFC 4180 text (CRLF records, quoted fields) into rows of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "the last record ends with CRLF"
    );
    rows
}

/// A transaction on `db` in which row-level security (PostgreSQL) lets `body`'s rows
/// through, as the subgraphs' own transactions do.
async fn scoped(db: &sea_orm::DatabaseConnection, body: &str) -> sea_orm::DatabaseTransaction {
    let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT set_config('kotohub.bodies', $1, true)",
            [body.into()],
        ))
        .await
        .unwrap();
    }
    txn
}

/// Ids of events of `table` that `body` holds for `measure`.
async fn event_ids(
    db: &sea_orm::DatabaseConnection,
    table: &str,
    body: &str,
    measure: &str,
) -> BTreeSet<String> {
    let txn = scoped(db, body).await;
    let ids = txn
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            format!("SELECT id FROM {table} WHERE body_id = '{body}' AND measure_id = '{measure}'"),
        ))
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.try_get::<i64>("", "id").unwrap().to_string())
        .collect();
    txn.rollback().await.unwrap();
    ids
}

async fn save(hub: &Hub, who: &Principal, input: Value) -> Value {
    hub.query_as(
        "gateway",
        who,
        "mutation Save($input: SaveQueryInput!) { saveQuery(input: $input) { id name version latestVersion ownerBody variables { name type defaultValue description } documentHash } }",
        json!({ "input": input }),
    )
    .await
}

async fn a_seeded_query_exports_the_officers_own_rows_as_csv(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let ohjaamo = officer("ohjaamo");
    let (status, media, text) = run_q(
        &hub,
        "/q/ohjaamo-events-in-other-languages?format=csv",
        &ohjaamo,
    )
    .await;
    assert_eq!(status, 200, "{text}");
    assert!(media.starts_with("text/csv"), "{media}");
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0],
        [
            "networkingEvents.id",
            "networkingEvents.title",
            "networkingEvents.heldOn",
            "networkingEvents.district",
            "networkingEvents.languages",
            "networkingEvents.participantCount"
        ]
    );
    let exported: BTreeSet<String> = rows[1..].iter().map(|row| row[0].clone()).collect();
    let own = event_ids(&hub.dbs.employment, "networking_events", "ohjaamo", "1.3").await;
    assert!(!own.is_empty());
    assert_eq!(exported, own, "exactly Ohjaamo's 1.3 events, one row each");
    assert_eq!(rows.len() - 1, own.len());
    // The access log says the answer left as a file.
    let last_event =
        "SELECT CAST(as_file AS INTEGER) AS n FROM audit_events ORDER BY seq DESC LIMIT 1";
    assert_eq!(crate::import::rows(&hub.audit, last_event).await, ["1"]);

    // The same query run by an officer of another body: its own rows only (none here).
    let (status, _, text) = run_q(
        &hub,
        "/q/ohjaamo-events-in-other-languages?format=csv",
        &officer("newco-helsinki"),
    )
    .await;
    assert_eq!(status, 404, "not shared with NewCo: {text}");
    assert_eq!(crate::import::rows(&hub.audit, last_event).await, ["0"]);

    // Every seeded query runs for an officer of its owner, without an error.
    for (name, owner) in kotohub::seed::saved_queries::seeded() {
        let (status, _, text) = run_q(&hub, &format!("/q/{name}"), &officer(owner)).await;
        assert_eq!(status, 200, "{name}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert!(body.get("errors").is_none(), "{name}: {body}");
        assert!(body["data"].is_object(), "{name}: {body}");
    }
    hub.stop().await;
}

async fn every_change_is_a_new_version_and_old_versions_still_run(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 100).await else {
        return;
    };
    let ohjaamo = officer("ohjaamo");
    let v1 = save(
        &hub,
        &ohjaamo,
        json!({ "name": "ohjaamo-titles", "title": "Titles", "document": "query Titles($first: Int = 3) { networkingEvents(first: $first) { title } }", "variables": [{ "name": "first", "description": "How many." }] }),
    )
    .await;
    assert_eq!(v1["data"]["saveQuery"]["version"], 1, "{v1}");
    assert_eq!(
        v1["data"]["saveQuery"]["variables"],
        json!([{ "name": "first", "type": "Int", "defaultValue": 3, "description": "How many." }])
    );
    let v2 = save(
        &hub,
        &ohjaamo,
        json!({ "name": "ohjaamo-titles", "title": "Titles and days", "document": "query Titles($first: Int = 3) { networkingEvents(first: $first) { title heldOn } }" }),
    )
    .await;
    assert_eq!(v2["data"]["saveQuery"]["version"], 2, "{v2}");
    assert_eq!(v2["data"]["saveQuery"]["id"], v1["data"]["saveQuery"]["id"]);
    // Saving what the latest version holds makes no new version.
    let same = save(
        &hub,
        &ohjaamo,
        json!({ "name": "ohjaamo-titles", "title": "Titles and days", "document": "query Titles($first: Int = 3) { networkingEvents(first: $first) { title heldOn } }" }),
    )
    .await;
    assert_eq!(same["data"]["saveQuery"]["version"], 2, "{same}");

    let run = |version: Option<i64>| {
        let hub = &hub;
        let ohjaamo = &ohjaamo;
        async move {
            hub.query_as(
                "gateway",
                ohjaamo,
                "query Run($v: Int) { out: runSavedQuery(name: \"ohjaamo-titles\", version: $v, variables: {first: 2}) }",
                json!({ "v": version }),
            )
            .await
        }
    };
    let latest = run(None).await;
    let events = latest["data"]["out"]["networkingEvents"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 2, "{latest}");
    assert!(events.iter().all(|e| e.get("heldOn").is_some()), "{latest}");
    let first = run(Some(1)).await;
    let events = first["data"]["out"]["networkingEvents"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(events.len(), 2, "{first}");
    assert!(
        events.iter().all(|e| e.get("heldOn").is_none()),
        "version 1 has no dates: {first}"
    );
    let (status, _, text) = run_q(&hub, "/q/ohjaamo-titles?version=1&first=1", &ohjaamo).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["data"]["networkingEvents"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let history = hub
        .query_as(
            "gateway",
            &ohjaamo,
            "{ savedQuery(name: \"ohjaamo-titles\", version: 1) { version latestVersion title history { version title savedBy } } }",
            json!({}),
        )
        .await;
    let shown = &history["data"]["savedQuery"];
    assert_eq!(shown["version"], 1, "{history}");
    assert_eq!(shown["latestVersion"], 2);
    assert_eq!(shown["title"], "Titles");
    assert_eq!(
        shown["history"],
        json!([
            { "version": 1, "title": "Titles", "savedBy": "test-officer-ohjaamo" },
            { "version": 2, "title": "Titles and days", "savedBy": "test-officer-ohjaamo" }
        ])
    );
    if backend == Backend::Postgres {
        let changed = hub
            .queries
            .execute_unprepared("UPDATE saved_query_versions SET document = '{ themes { id } }'")
            .await;
        assert!(changed.is_err(), "a stored version never changes");
    }
    hub.stop().await;
}

async fn sharing_lets_others_run_a_query_but_never_widens_their_rows(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let libraries = officer("libraries");
    let ham = officer("ham");
    let youth = officer("youth-services");
    let saved = save(
        &hub,
        &libraries,
        json!({ "name": "all-participations", "title": "Participations", "document": "{ participations(first: 1000) { id responsibleBody { id } } }" }),
    )
    .await;
    assert_eq!(
        saved["data"]["saveQuery"]["ownerBody"], "libraries",
        "{saved}"
    );
    let bodies_seen = |text: &str| -> (usize, BTreeSet<String>) {
        let body: Value = serde_json::from_str(text).unwrap();
        let rows = body["data"]["participations"].as_array().unwrap().clone();
        let bodies = rows
            .iter()
            .map(|r| r["responsibleBody"]["id"].as_str().unwrap().to_owned())
            .collect();
        (rows.len(), bodies)
    };
    let (status, _, text) = run_q(&hub, "/q/all-participations", &libraries).await;
    assert_eq!(status, 200, "{text}");
    let (own_rows, bodies) = bodies_seen(&text);
    assert!(own_rows > 0);
    assert_eq!(bodies, BTreeSet::from(["libraries".to_owned()]));
    assert_eq!(run_q(&hub, "/q/all-participations", &ham).await.0, 404);

    // Another body may not share, archive or change it.
    let refused = hub
        .query_as(
            "gateway",
            &ham,
            "mutation { shareQuery(name: \"all-participations\", visibility: ALL_OFFICERS) { name } }",
            json!({}),
        )
        .await;
    assert_eq!(error_codes(&refused)[0], "NOT_FOUND", "{refused}");

    let shared = hub
        .query_as(
            "gateway",
            &libraries,
            "mutation { shareQuery(name: \"all-participations\", visibility: SHARED, bodies: [\"ham\"]) { visibility sharedWith updatedBy } }",
            json!({}),
        )
        .await;
    assert_eq!(
        shared["data"]["shareQuery"],
        json!({ "visibility": "SHARED", "sharedWith": ["ham"], "updatedBy": "test-officer-libraries" }),
        "{shared}"
    );
    let (status, _, text) = run_q(&hub, "/q/all-participations", &ham).await;
    assert_eq!(status, 200, "{text}");
    let (ham_rows, bodies) = bodies_seen(&text);
    assert!(ham_rows > 0);
    assert_eq!(
        bodies,
        BTreeSet::from(["ham".to_owned()]),
        "HAM sees only HAM's rows"
    );
    let txn = scoped(&hub.dbs.culture, "ham").await;
    let ham_in_db: i64 = txn
        .query_one_raw(sea_orm::Statement::from_string(
            hub.dbs.culture.get_database_backend(),
            "SELECT COUNT(*) AS n FROM participations WHERE body_id = 'ham'",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get("", "n")
        .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(ham_rows as i64, ham_in_db.min(1000));
    assert_eq!(run_q(&hub, "/q/all-participations", &youth).await.0, 404);
    let changed = save(
        &hub,
        &ham,
        json!({ "name": "all-participations", "title": "Mine now", "document": "{ themes { id } }" }),
    )
    .await;
    assert_eq!(error_codes(&changed)[0], "FORBIDDEN", "{changed}");

    let everyone = hub
        .query_as(
            "gateway",
            &libraries,
            "mutation { shareQuery(name: \"all-participations\", visibility: ALL_OFFICERS) { visibility sharedWith } }",
            json!({}),
        )
        .await;
    assert_eq!(
        everyone["data"]["shareQuery"]["sharedWith"],
        json!([]),
        "{everyone}"
    );
    let (status, _, text) = run_q(&hub, "/q/all-participations", &youth).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        bodies_seen(&text).1,
        BTreeSet::from(["youth-services".to_owned()])
    );

    // An analyst may not run it, whoever it is shared with.
    let analyst = Principal::new(
        "test-analyst",
        [Role::Analyst],
        [],
        Some("culture".to_owned()),
    );
    assert_eq!(run_q(&hub, "/q/all-participations", &analyst).await.0, 403);

    let archived = hub
        .query_as(
            "gateway",
            &libraries,
            "mutation { archiveQuery(name: \"all-participations\") { archived } }",
            json!({}),
        )
        .await;
    assert_eq!(
        archived["data"]["archiveQuery"]["archived"], true,
        "{archived}"
    );
    assert_eq!(
        run_q(&hub, "/q/all-participations", &libraries).await.0,
        410
    );
    hub.stop().await;
}

async fn a_document_is_checked_when_saved_and_refused_with_every_reason(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let ohjaamo = officer("ohjaamo");
    let before = kotohub_queries::entity::saved_query::Entity::find()
        .all(&hub.queries)
        .await
        .unwrap()
        .len();
    let cases: &[(&str, &str, &[&str])] = &[
        ("broken", "{ themes { id }", &["syntax"]),
        ("unknown", "{ themes { id nothing } }", &["nothing"]),
        (
            "forbidden",
            "{ clientStatistics(by: [DISTRICT]) { suppressedCells } auditEvents { id } }",
            &[
                "may not read Query.clientStatistics",
                "may not read Query.auditEvents",
            ],
        ),
        (
            "mutation",
            "mutation { archiveQuery(name: \"x\") { name } }",
            &["must be a query"],
        ),
        (
            "two",
            "query A { themes { id } } query B { themes { id } }",
            &["exactly one operation"],
        ),
        (
            "nested",
            "{ runSavedQuery(name: \"x\") }",
            &["cannot call runSavedQuery"],
        ),
        (
            "reserved",
            "query R($format: ID!) { measure(id: $format) { id } }",
            &["$format would clash"],
        ),
        ("Bad Name", "{ themes { id } }", &["not a slug"]),
    ];
    for (name, document, expected) in cases {
        let refused = save(
            &hub,
            &ohjaamo,
            json!({ "name": name, "title": "T", "document": document }),
        )
        .await;
        let error = &refused["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "BAD_USER_INPUT",
            "{name}: {refused}"
        );
        let message = error["message"].as_str().unwrap();
        for part in *expected {
            assert!(message.contains(part), "{name}: {message:?} lacks {part:?}");
        }
        assert!(refused["data"].is_null(), "{refused}");
    }
    let two = save(
        &hub,
        &ohjaamo,
        json!({ "name": "forbidden", "title": "T", "document": "{ clientStatistics(by: [DISTRICT]) { suppressedCells } auditEvents { id } }" }),
    )
    .await;
    assert_eq!(
        two["errors"][0]["extensions"]["reasons"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "each reason is also listed: {two}"
    );
    let undescribed = save(
        &hub,
        &ohjaamo,
        json!({ "name": "described", "title": "T", "document": "{ themes { id } }", "variables": [{ "name": "year", "description": "?" }] }),
    )
    .await;
    assert!(
        undescribed["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no variable $year"),
        "{undescribed}"
    );
    let elsewhere = save(
        &hub,
        &ohjaamo,
        json!({ "name": "for-helmi", "title": "T", "ownerBody": "helmi", "document": "{ themes { id } }" }),
    )
    .await;
    assert_eq!(error_codes(&elsewhere)[0], "FORBIDDEN", "{elsewhere}");
    // Analysts and auditors have no mutations at all.
    for role in [Role::Analyst, Role::Auditor] {
        let refused = save(
            &hub,
            &principal(role, &[]),
            json!({ "name": "x", "title": "T", "document": "{ themes { id } }" }),
        )
        .await;
        assert_eq!(error_codes(&refused)[0], "FORBIDDEN", "{role}: {refused}");
    }
    // An admin saves for any body; a valid document for officers of that body.
    let admin = save(
        &hub,
        &principal(Role::Admin, &[]),
        json!({ "name": "helmi-themes", "title": "T", "ownerBody": "helmi", "document": "{ themes { id } }" }),
    )
    .await;
    assert_eq!(admin["data"]["saveQuery"]["ownerBody"], "helmi", "{admin}");
    let after = kotohub_queries::entity::saved_query::Entity::find()
        .all(&hub.queries)
        .await
        .unwrap()
        .len();
    assert_eq!(after, before + 1, "only the admin's query was saved");
    hub.stop().await;
}

async fn csv_quotes_commas_quotes_and_newlines_and_repeats_parents_of_nested_lists(
    backend: Backend,
) {
    use kotohub_culture::entity::cultural_event;
    use sea_orm::ActiveModelTrait;
    use sea_orm::ActiveValue::{NotSet, Set};
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let title = "Tea, \"cake\"\r\nand =stories";
    let txn = scoped(&hub.dbs.culture, "libraries").await;
    cultural_event::ActiveModel {
        id: NotSet,
        measure_id: Set("7.5".to_owned()),
        body_id: Set("libraries".to_owned()),
        title: Set(title.to_owned()),
        held_on: Set(chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
        district: Set(kotohub_subgraph::vocab::District::Etelainen),
        languages: Set("ar,so".to_owned()),
        participant_count: Set(12),
    }
    .insert(&txn)
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let libraries = officer("libraries");
    let saved = save(
        &hub,
        &libraries,
        json!({ "name": "library-events", "title": "Events", "document": "{ culturalEvents(measure: \"7.5\", first: 1000) { title languages participantCount } }" }),
    )
    .await;
    assert!(saved.get("errors").is_none(), "{saved}");
    let (status, _, text) = run_q(&hub, "/q/library-events?format=csv&bom=true", &libraries).await;
    assert_eq!(status, 200, "{text}");
    let text = text
        .strip_prefix('\u{feff}')
        .expect("bom=true starts with a BOM");
    let rows = parse_csv(text);
    let row = rows
        .iter()
        .find(|row| row[0].contains("cake"))
        .expect("the event is exported");
    assert_eq!(row[0], title, "commas, quotes and newlines survive quoting");
    assert_eq!(row[1], "ar; so");
    assert_eq!(row[2], "12");

    // Nested lists: one row per guidance session of each client, the client repeated on
    // each; a client with none keeps one row with empty cells.
    let ohjaamo = officer("ohjaamo");
    let saved = save(
        &hub,
        &ohjaamo,
        json!({ "name": "clients-and-sessions", "title": "Sessions", "document": "{ clients(first: 100) { id guidanceSessions { id heldOn } } }" }),
    )
    .await;
    assert!(saved.get("errors").is_none(), "{saved}");
    let (status, _, json_text) = run_q(&hub, "/q/clients-and-sessions", &ohjaamo).await;
    assert_eq!(status, 200, "{json_text}");
    let body: Value = serde_json::from_str(&json_text).unwrap();
    let clients = body["data"]["clients"].as_array().unwrap();
    let per_client: Vec<(String, usize)> = clients
        .iter()
        .map(|c| {
            let sessions = c["guidanceSessions"].as_array().unwrap().len();
            (c["id"].as_str().unwrap().to_owned(), sessions.max(1))
        })
        .collect();
    let expected: usize = per_client.iter().map(|(_, rows)| rows).sum();
    assert!(
        expected > clients.len(),
        "some client has several sessions: {body}"
    );
    let (status, _, csv) = run_q(&hub, "/q/clients-and-sessions?format=csv", &ohjaamo).await;
    assert_eq!(status, 200, "{csv}");
    let rows = parse_csv(&csv);
    assert_eq!(
        rows[0],
        [
            "clients.id",
            "clients.guidanceSessions.id",
            "clients.guidanceSessions.heldOn"
        ]
    );
    assert_eq!(rows.len() - 1, expected);
    for (client, count) in &per_client {
        assert_eq!(
            rows[1..].iter().filter(|row| &row[0] == client).count(),
            *count,
            "client {client} is repeated on each of its sessions"
        );
    }
    hub.stop().await;
}

async fn unknown_names_and_wrong_variables_get_clear_errors(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let ohjaamo = officer("ohjaamo");
    let cases: &[(&str, u16, &str)] = &[
        ("/q/no-such-query", 404, "SAVED_QUERY_NOT_FOUND"),
        ("/q/no-such-query?format=csv", 404, "SAVED_QUERY_NOT_FOUND"),
        ("/q/Not%20A%20Slug", 404, "SAVED_QUERY_NOT_FOUND"),
        (
            "/q/ohjaamo-events-in-other-languages?first=many",
            400,
            "BAD_VARIABLE_VALUES",
        ),
        (
            "/q/ohjaamo-events-in-other-languages?first=1&first=2",
            400,
            "BAD_VARIABLE_VALUES",
        ),
        (
            "/q/ohjaamo-events-in-other-languages?year=2024",
            400,
            "BAD_VARIABLE_VALUES",
        ),
        (
            "/q/ohjaamo-events-in-other-languages?first=5000",
            200,
            "BAD_USER_INPUT",
        ),
        (
            "/q/ohjaamo-events-in-other-languages?format=xml",
            400,
            "BAD_REQUEST",
        ),
        (
            "/q/ohjaamo-events-in-other-languages?version=0",
            400,
            "BAD_REQUEST",
        ),
        (
            "/q/ohjaamo-events-in-other-languages?version=7",
            404,
            "SAVED_QUERY_NOT_FOUND",
        ),
    ];
    for (path, status, expected) in cases {
        let (got, _, text) = run_q(&hub, path, &ohjaamo).await;
        assert_eq!(got, *status, "{path}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error_codes(&body)[0], *expected, "{path}: {body}");
    }
    // Through GraphQL: the same refusals, as GraphQL errors and no data.
    let graphql_cases = [
        (
            "{ runSavedQuery(name: \"ohjaamo-events-in-other-languages\", variables: {first: \"many\"}) }",
            "BAD_VARIABLE_VALUES",
        ),
        ("{ runSavedQuery(name: \"nope\") }", "SAVED_QUERY_NOT_FOUND"),
        (
            "{ themes { id } runSavedQuery(name: \"ohjaamo-events-in-other-languages\") }",
            "SAVED_QUERY_RUN_NOT_ALONE",
        ),
        (
            "{ runSavedQuery(name: \"ohjaamo-events-in-other-languages\", variables: [1]) }",
            "BAD_VARIABLE_VALUES",
        ),
    ];
    for (query, expected) in graphql_cases {
        let body = hub.query_as("gateway", &ohjaamo, query, json!({})).await;
        assert_eq!(error_codes(&body)[0], expected, "{query}: {body}");
        assert!(body["data"].is_null(), "{query}: {body}");
    }
    hub.stop().await;
}

async fn a_run_is_audited_with_the_saved_query_id_and_version(backend: Backend) {
    use kotohub_audit::entity::audit_event::{Column, Entity};
    let Some(hub) = Hub::start_with(backend, 300).await else {
        return;
    };
    let ohjaamo = officer("ohjaamo");
    let definition = hub
        .query_as(
            "gateway",
            &ohjaamo,
            "{ savedQuery(name: \"ohjaamo-guidance-and-outcomes\") { id version documentHash } }",
            json!({}),
        )
        .await;
    let definition = &definition["data"]["savedQuery"];
    let response = reqwest::Client::new()
        .get(hub.url("gateway", "/q/ohjaamo-guidance-and-outcomes?first=5"))
        .header("authorization", format!("Bearer {}", hub.token(&ohjaamo)))
        .header("x-request-id", "saved-query-run-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let clients: BTreeSet<String> = body["data"]["measure"]["guidanceSessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["client"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!clients.is_empty());
    let event = Entity::find()
        .filter(Column::RequestId.eq("saved-query-run-1"))
        .one(&hub.audit)
        .await
        .unwrap()
        .expect("the run is logged");
    assert_eq!(event.saved_query_id.as_deref(), definition["id"].as_str());
    assert_eq!(event.saved_query_version, Some(1));
    assert_eq!(
        event.document_hash.as_deref(),
        definition["documentHash"].as_str()
    );
    assert_eq!(event.decision, "allowed");
    assert_eq!(event.subject.as_deref(), Some("test-officer-ohjaamo"));
    let logged: BTreeSet<String> = serde_json::from_str(&event.client_ids).unwrap();
    assert_eq!(logged, clients, "the clients whose data the run returned");
    assert!(event.variables_hash.is_some());
    assert!(
        event.fields.contains("GuidanceSession.client"),
        "{}",
        event.fields
    );

    // A refused run is logged too, with the query it named.
    let response = reqwest::Client::new()
        .get(hub.url("gateway", "/q/ohjaamo-guidance-and-outcomes"))
        .header(
            "authorization",
            format!("Bearer {}", hub.token(&principal(Role::Analyst, &[]))),
        )
        .header("x-request-id", "saved-query-run-2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let refused = Entity::find()
        .filter(Column::RequestId.eq("saved-query-run-2"))
        .one(&hub.audit)
        .await
        .unwrap()
        .expect("the refusal is logged");
    assert_eq!(refused.decision, "refused");
    assert_eq!(refused.client_ids, "[]");

    // Through runSavedQuery: the same id and version.
    let graphql = hub
        .post_with(
            "gateway",
            &json!({ "query": "{ runSavedQuery(name: \"ohjaamo-guidance-and-outcomes\", version: 1, variables: {first: 2}) }" }).to_string(),
            &[
                hub.credential("gateway", &ohjaamo),
                ("x-request-id", "saved-query-run-3".to_owned()),
            ],
        )
        .await;
    assert_eq!(graphql.0, 200, "{}", graphql.1);
    let event = Entity::find()
        .filter(Column::RequestId.eq("saved-query-run-3"))
        .one(&hub.audit)
        .await
        .unwrap()
        .expect("the run is logged");
    assert_eq!(event.saved_query_id.as_deref(), definition["id"].as_str());
    assert_eq!(event.saved_query_version, Some(1));
    hub.stop().await;
}

async fn safelist_mode_runs_only_saved_and_persisted_operations(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let persisted = "query Themes { themes { id } }";
    let id = kotohub_audit::chain::sha256_hex(persisted.as_bytes());
    let settings = GatewaySettings {
        safelist: true,
        persisted: std::collections::HashMap::from([(id.clone(), persisted.to_owned())]),
        ..GatewaySettings::default()
    };
    let (base, shutdown) = hub.extra_gateway(&hub.subgraph_urls(), &settings).await;
    let post = |who: &Principal, body: Value| {
        let request = reqwest::Client::new()
            .post(format!("{base}/graphql"))
            .header("authorization", format!("Bearer {}", hub.token(who)))
            .json(&body);
        async move {
            let response = request.send().await.unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let ohjaamo = officer("ohjaamo");
    let ad_hoc = post(&ohjaamo, json!({ "query": "{ themes { id } }" })).await;
    assert_eq!(
        error_codes(&ad_hoc),
        ["OPERATION_NOT_IN_SAFELIST"],
        "{ad_hoc}"
    );
    assert!(ad_hoc.get("data").is_none_or(Value::is_null));
    let by_id = post(
        &ohjaamo,
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } } }),
    )
    .await;
    assert_eq!(
        by_id["data"]["themes"].as_array().unwrap().len(),
        4,
        "{by_id}"
    );
    let registered_text = post(&ohjaamo, json!({ "query": persisted })).await;
    assert!(registered_text.get("errors").is_none(), "{registered_text}");
    let unknown = post(
        &ohjaamo,
        json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "ab".repeat(32) } } }),
    )
    .await;
    assert_eq!(
        error_codes(&unknown),
        ["PERSISTED_QUERY_NOT_FOUND"],
        "{unknown}"
    );
    let mismatch = post(
        &ohjaamo,
        json!({ "query": "{ themes { id } }", "extensions": { "persistedQuery": { "version": 1, "sha256Hash": id } } }),
    )
    .await;
    assert_eq!(
        error_codes(&mismatch),
        ["PERSISTED_QUERY_HASH_MISMATCH"],
        "{mismatch}"
    );
    let saved = post(
        &ohjaamo,
        json!({ "query": "{ runSavedQuery(name: \"ohjaamo-events-in-other-languages\", variables: {first: 1}) }" }),
    )
    .await;
    assert!(saved.get("errors").is_none(), "{saved}");
    let (status, _, csv) = get(
        &hub,
        &base,
        "/q/ohjaamo-events-in-other-languages?format=csv&first=2",
        &ohjaamo,
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(parse_csv(&csv).len(), 3);
    let analyst = Principal::new(
        "test-analyst",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    );
    let dashboard = post(
        &analyst,
        json!({ "query": "{ clientStatistics(by: [DISTRICT]) { suppressedCells } }" }),
    )
    .await;
    assert_eq!(
        error_codes(&dashboard),
        ["OPERATION_NOT_IN_SAFELIST"],
        "{dashboard}"
    );
    let admin = post(
        &principal(Role::Admin, &[]),
        json!({ "query": "{ themes { id } }" }),
    )
    .await;
    assert!(
        admin.get("errors").is_none(),
        "admins are not held to the safelist: {admin}"
    );
    shutdown.trigger();
    hub.stop().await;
}
