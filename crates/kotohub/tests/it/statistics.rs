//! Aggregates for division dashboards, through the gateway: no analyst response holds a
//! count of 1–4; the grant decides which divisions are counted (and on PostgreSQL
//! row-level security says the same); and the programme's indicators 1.2, 1.3 and 10.2
//! come out as the divisions' own records counted directly, with the disclosure
//! control's noise for exactly those people. (Differencing attacks are in
//! `disclosure.rs`.)

use std::collections::{BTreeSet, HashMap};

use kotohub_auth::{Principal, Role};
use kotohub_programme::disclosure::{Counted, publish};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(
    no_analyst_response_holds_a_count_of_one_to_four,
    the_grant_decides_which_divisions_are_counted,
    indicators_come_out_of_the_statistics,
    breakdowns_follow_the_register_as_it_changes,
);

pub(crate) fn analyst(division: Option<&str>) -> Principal {
    Principal::new(
        format!("test-analyst-{}", division.unwrap_or("none")),
        [Role::Analyst],
        [],
        division.map(str::to_owned),
    )
}

pub(crate) const CLIENT_DIMENSIONS: [&str; 9] = [
    "MEASURE",
    "DIVISION",
    "YEAR",
    "QUARTER",
    "DISTRICT",
    "MOTHER_TONGUE_GROUP",
    "AGE_GROUP",
    "GENDER",
    "BACKGROUND",
];
pub(crate) const EVENT_DIMENSIONS: [&str; 6] = [
    "MEASURE",
    "DIVISION",
    "YEAR",
    "QUARTER",
    "DISTRICT",
    "LANGUAGES",
];
const COUNTS: [&str; 4] = ["clients", "withOutcome", "events", "participants"];

/// The selection every table query asks for.
const CLIENT_CELL: &str = "measureId divisionId year quarter district motherTongueGroup \
    ageGroup gender background clients withOutcome share suppressed";
const EVENT_CELL: &str = "measureId divisionId year quarter district languages events \
    participants suppressed";

fn client_table(by: &[&str], arguments: &str) -> String {
    format!(
        "{{ clientStatistics(by: [{}]{arguments}) {{ suppressedCells total {{ {CLIENT_CELL} }} \
         cells {{ {CLIENT_CELL} }} }} }}",
        by.join(", ")
    )
}

fn event_table(by: &[&str], arguments: &str) -> String {
    format!(
        "{{ eventStatistics(by: [{}]{arguments}) {{ suppressedCells total {{ {EVENT_CELL} }} \
         cells {{ {EVENT_CELL} }} }} }}",
        by.join(", ")
    )
}

/// Checks a statistics table's cells: suppressed ones carry no number, shown ones carry
/// their counts, and no number is 1–4. Returns how many cells were suppressed.
fn check_cells(table: &Value, context: &str) -> usize {
    let mut suppressed = 0;
    let mut cells: Vec<&Value> = table["cells"].as_array().unwrap().iter().collect();
    cells.push(&table["total"]);
    for cell in cells {
        let hidden = cell["suppressed"].as_bool().unwrap();
        for field in COUNTS {
            let Some(value) = cell.get(field) else {
                continue;
            };
            if let Some(n) = value.as_i64() {
                assert!(!(1..=4).contains(&n), "{context}: {field} = {n} in {cell}");
                assert!(
                    !hidden,
                    "{context}: a suppressed cell shows {field}: {cell}"
                );
            }
        }
        if hidden {
            suppressed += 1;
            assert!(cell["share"].is_null(), "{context}: {cell}");
        } else {
            let counted = cell.get("clients").or_else(|| cell.get("events")).unwrap();
            assert!(
                counted.is_i64(),
                "{context}: a shown cell without counts: {cell}"
            );
        }
    }
    suppressed
}

async fn no_analyst_response_holds_a_count_of_one_to_four(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let mut state: u64 = 0x5eed;
    let mut next = move |below: usize| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as usize) % below
    };
    let filters = [
        "",
        r#", measure: "1.3""#,
        r#", measure: "10.2""#,
        ", year: 2023",
    ];
    let outcomes = ", outcomes: [EMPLOYED, VOCATIONAL_EDUCATION, APPRENTICESHIP]";
    let (mut answered, mut refused, mut suppressed) = (0, 0, 0);
    for who in [analyst(Some("employment")), analyst(Some("city"))] {
        for round in 0..40 {
            let events = round % 4 == 3;
            let pool: &[&str] = if events {
                &EVENT_DIMENSIONS
            } else {
                &CLIENT_DIMENSIONS
            };
            let mut by: Vec<&str> = Vec::new();
            for _ in 0..next(4) {
                let dimension = pool[next(pool.len())];
                if !by.contains(&dimension) {
                    by.push(dimension);
                }
            }
            let mut arguments = filters[next(filters.len())].to_owned();
            if !events && next(2) == 0 {
                arguments.push_str(outcomes);
            }
            let query = if events {
                event_table(&by, &arguments)
            } else {
                client_table(&by, &arguments)
            };
            let body = hub.query_as("gateway", &who, &query, json!({})).await;
            let context = format!("{query} as {:?}", who.division);
            if let Some(errors) = body["errors"].as_array() {
                // Refused as a whole: an impossible combination or a table too fine to
                // protect, said plainly, and no data.
                assert!(body["data"].is_null(), "{context}: {body}");
                assert_eq!(
                    errors[0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{context}: {body}"
                );
                refused += 1;
                continue;
            }
            let field = if events {
                "eventStatistics"
            } else {
                "clientStatistics"
            };
            let table = &body["data"][field];
            let hidden = check_cells(table, &context);
            assert_eq!(
                table["suppressedCells"].as_u64().unwrap() as usize,
                hidden - usize::from(table["total"]["suppressed"] == true),
                "{context}"
            );
            suppressed += hidden;
            answered += 1;
        }
    }
    assert!(answered >= 50, "{answered} answered, {refused} refused");
    assert!(suppressed > 0, "no table exercised suppression");
    hub.stop().await;
}

async fn the_grant_decides_which_divisions_are_counted(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let divisions = |body: &Value| -> BTreeSet<String> {
        body["data"]["clientStatistics"]["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["divisionId"].as_str().unwrap().to_owned())
            .collect()
    };
    let by_division = client_table(&["DIVISION"], "");
    let body = hub
        .query_as(
            "gateway",
            &analyst(Some("employment")),
            &by_division,
            json!({}),
        )
        .await;
    assert_eq!(
        divisions(&body),
        BTreeSet::from(["employment".to_owned()]),
        "{body}"
    );
    let body = hub
        .query_as("gateway", &analyst(Some("city")), &by_division, json!({}))
        .await;
    assert!(divisions(&body).len() >= 4, "{body}");

    // Another division's filter, or no division at all, is refused by the grant.
    for (who, arguments) in [
        (analyst(Some("employment")), r#", division: "education""#),
        (analyst(None), ""),
    ] {
        let body = hub
            .query_as("gateway", &who, &client_table(&[], arguments), json!({}))
            .await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{body}"
        );
        assert!(body["data"].is_null(), "{body}");
    }
    // Unknown names are bad input, not an empty table.
    let body = hub
        .query_as(
            "gateway",
            &analyst(Some("city")),
            &client_table(&[], r#", measure: "99.9""#),
            json!({}),
        )
        .await;
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{body}"
    );

    if backend == Backend::Postgres {
        // Row-level security counts the same rows on its own: nothing without a scope,
        // one division's facts with it, all with the city's.
        let db = &hub.dbs.programme;
        let read = |divisions: Option<&'static str>| async move {
            let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
            if let Some(divisions) = divisions {
                txn.execute_raw(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    "SELECT set_config('kotohub.divisions', $1, true)",
                    [divisions.into()],
                ))
                .await
                .unwrap();
            }
            let rows = txn
                .query_all_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT DISTINCT division_id FROM client_facts",
                ))
                .await
                .unwrap();
            txn.rollback().await.unwrap();
            rows.iter()
                .map(|r| r.try_get::<String>("", "division_id").unwrap())
                .collect::<BTreeSet<_>>()
        };
        assert!(read(None).await.is_empty());
        assert_eq!(
            read(Some("employment")).await,
            BTreeSet::from(["employment".to_owned()])
        );
        assert!(read(Some("*")).await.len() >= 4);
    }
    hub.stop().await;
}

/// What the employment division's part of the statistics register holds where
/// `condition` holds: how many clients (or events) and the sum of their record keys,
/// each client's once.
async fn register(hub: &Hub, table: &str, condition: &str) -> (i64, i64) {
    let counted = if table == "client_facts" {
        format!(
            "(SELECT client_id, MIN(record_key) AS record_key FROM client_facts \
             WHERE division_id = 'employment' AND {condition} GROUP BY client_id) clients"
        )
    } else {
        format!("{table} WHERE division_id = 'employment' AND {condition}")
    };
    let db = &hub.dbs.programme;
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    let row = txn
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!(
                "SELECT COUNT(*) AS count, CAST(COALESCE(SUM(record_key), 0) AS BIGINT) AS key \
                 FROM {counted}"
            ),
        ))
        .await
        .unwrap()
        .unwrap();
    txn.commit().await.unwrap();
    (
        row.try_get::<i64>("", "count").unwrap(),
        row.try_get::<i64>("", "key").unwrap(),
    )
}

/// Runs `sql` on the programme database as an operator would, past row-level security.
async fn operate(hub: &Hub, sql: &str) {
    let db = &hub.dbs.programme;
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    txn.execute_unprepared(sql).await.unwrap();
    txn.commit().await.unwrap();
}

/// The client breakdowns are counted from a copy of the register in memory: each
/// insert, update and delete of a fact, by whatever writer, and emptying the register,
/// shows in the next answer, whether the copy is brought up to date client by client
/// or, its notes forgotten, read whole.
async fn breakdowns_follow_the_register_as_it_changes(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 500).await else {
        return;
    };
    let employment = analyst(Some("employment"));
    let total = |measure: &'static str| {
        let hub = &hub;
        let who = &employment;
        async move {
            let query = client_table(&["YEAR"], &format!(r#", measure: "{measure}""#));
            let body = hub.query_as("gateway", who, &query, json!({})).await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
            let truth = register(hub, "client_facts", &format!("measure_id = '{measure}'")).await;
            (
                body["data"]["clientStatistics"]["total"]["clients"].clone(),
                truth,
            )
        }
    };
    let expect = |(shown, (count, key)): (Value, (i64, i64)), context: &str| {
        assert_eq!(
            shown,
            json!(publish(count, key, Counted::Clients)),
            "{context}: {count} clients"
        );
        count
    };
    let before = expect(total("1.2").await, "as seeded");

    let facts: Vec<String> = (1..=7)
        .map(|i| {
            format!(
                "('test-new-{i}', '1.2', 'ohjaamo', 'employment', 2020, 2, 'central', \
                 'other', '18-29', 'female', 'immigrant', NULL, {})",
                1_000_003 * i
            )
        })
        .collect();
    operate(
        &hub,
        &format!(
            "INSERT INTO client_facts (client_id, measure_id, body_id, division_id, year, \
             quarter, district, mother_tongue_group, age_group, gender, background, outcome, \
             record_key) VALUES {}",
            facts.join(", ")
        ),
    )
    .await;
    assert_eq!(expect(total("1.2").await, "seven added"), before + 7);

    operate(
        &hub,
        "UPDATE client_facts SET measure_id = '1.1' WHERE client_id = 'test-new-7'",
    )
    .await;
    // The note of that change forgotten before the copy saw it: the copy is read whole.
    kotohub_programme::register::forget_changes(&hub.dbs.programme, 0)
        .await
        .unwrap();
    assert_eq!(expect(total("1.2").await, "one moved to 1.1"), before + 6);

    operate(
        &hub,
        "DELETE FROM client_facts WHERE client_id LIKE 'test-new-%'",
    )
    .await;
    assert_eq!(expect(total("1.2").await, "all removed"), before);

    // Emptied at once: PostgreSQL's TRUNCATE names no row, SQLite deletes row by row.
    let empty = match backend {
        Backend::Postgres => "TRUNCATE client_facts",
        Backend::Sqlite => "DELETE FROM client_facts",
    };
    operate(&hub, empty).await;
    assert_eq!(expect(total("1.2").await, "emptied"), 0);
    hub.stop().await;
}

/// Distinct values of the first column of `sql`, read past row-level security.
async fn distinct(db: &sea_orm::DatabaseConnection, sql: &str) -> BTreeSet<String> {
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    let rows = txn
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn indicators_come_out_of_the_statistics(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 4_000).await else {
        return;
    };
    let employment = analyst(Some("employment"));
    let ask = |query: String, field: &'static str| {
        let hub = &hub;
        let who = &employment;
        async move {
            let body = hub.query_as("gateway", who, &query, json!({})).await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
            body["data"][field].clone()
        }
    };
    let records = |measure: &str| {
        [
            "skill_assessments",
            "guidance_sessions",
            "service_paths",
            "employment_outcomes",
        ]
        .map(|table| format!("SELECT client_id FROM {table} WHERE measure_id = '{measure}'"))
        .join(" UNION ")
    };

    // 1.2: the share of the pilot's clients who continued to education or employment.
    let clients = distinct(&hub.dbs.employment, &records("1.2")).await;
    let continued = distinct(
        &hub.dbs.employment,
        "SELECT client_id FROM employment_outcomes WHERE measure_id = '1.2' AND kind IN \
         ('employed', 'vocational_education', 'other_education', 'apprenticeship')",
    )
    .await;
    let table = ask(
        client_table(
            &[],
            r#", measure: "1.2", outcomes: [EMPLOYED, VOCATIONAL_EDUCATION, OTHER_EDUCATION, APPRENTICESHIP]"#,
        ),
        "clientStatistics",
    )
    .await;
    assert!(clients.len() > 4 && continued.len() > 4);
    let registered = |condition: &'static str| register(&hub, "client_facts", condition);
    let (count, key) = registered("measure_id = '1.2'").await;
    assert_eq!(count, clients.len() as i64);
    let published = publish(count, key, Counted::Clients).unwrap();
    assert_eq!(table["total"]["clients"], published);
    let (count, key) = registered(
        "measure_id = '1.2' AND outcome IN ('employed', 'vocational_education', \
         'other_education', 'apprenticeship')",
    )
    .await;
    assert_eq!(count, continued.len() as i64);
    let with = publish(count, key, Counted::Clients)
        .unwrap()
        .min(published);
    assert_eq!(table["total"]["withOutcome"], with);
    let share = table["total"]["share"].as_f64().unwrap();
    assert!((share - with as f64 / published as f64).abs() < 1e-9);
    // The noise moves the share by a few points at most at this size.
    assert!((share - continued.len() as f64 / clients.len() as f64).abs() < 0.1);

    // 1.3: events held for speakers of languages other than Finnish or Swedish.
    let languages = {
        let txn = kotohub::seed::unrestricted(&hub.dbs.employment)
            .await
            .unwrap();
        let rows = txn
            .query_all_raw(Statement::from_string(
                hub.dbs.employment.get_database_backend(),
                "SELECT languages FROM networking_events WHERE measure_id = '1.3'",
            ))
            .await
            .unwrap();
        txn.commit().await.unwrap();
        rows.iter()
            .map(|r| r.try_get::<String>("", "languages").unwrap())
            .collect::<Vec<_>>()
    };
    let foreign = languages
        .iter()
        .filter(|list| !list.split(',').any(|code| code == "fi" || code == "sv"))
        .count();
    let table = ask(
        event_table(&["LANGUAGES"], r#", measure: "1.3""#),
        "eventStatistics",
    )
    .await;
    let cell = table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["languages"] == "OTHER_LANGUAGES")
        .unwrap();
    assert!(foreign > 4);
    let (count, key) = register(
        &hub,
        "event_facts",
        "measure_id = '1.3' AND languages = 'other_languages'",
    )
    .await;
    assert_eq!(count, foreign as i64);
    assert_eq!(
        cell["events"],
        publish(count, key, Counted::Events).unwrap(),
        "{table}"
    );

    // 10.2: the share of young people reached who do not speak Finnish or Swedish.
    let reached = distinct(&hub.dbs.employment, &records("10.2")).await;
    let tongues: HashMap<String, String> = {
        let txn = kotohub::seed::unrestricted(&hub.dbs.programme)
            .await
            .unwrap();
        let rows = txn
            .query_all_raw(Statement::from_string(
                hub.dbs.programme.get_database_backend(),
                "SELECT id, mother_tongue FROM clients",
            ))
            .await
            .unwrap();
        txn.commit().await.unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get::<String>("", "id").unwrap(),
                    r.try_get::<String>("", "mother_tongue").unwrap(),
                )
            })
            .collect()
    };
    let domestic = reached
        .iter()
        .filter(|id| matches!(tongues[*id].as_str(), "fi" | "sv"))
        .count();
    let table = ask(
        client_table(&["MOTHER_TONGUE_GROUP"], r#", measure: "10.2""#),
        "clientStatistics",
    )
    .await;
    let total = table["total"]["clients"].as_u64().unwrap() as usize;
    let finnish_or_swedish = table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["motherTongueGroup"] == "FINNISH_OR_SWEDISH")
        .unwrap()["clients"]
        .as_u64()
        .unwrap() as usize;
    let (count, key) = register(&hub, "client_facts", "measure_id = '10.2'").await;
    assert_eq!(count, reached.len() as i64);
    assert_eq!(total as i64, publish(count, key, Counted::Clients).unwrap());
    let (count, key) = register(
        &hub,
        "client_facts",
        "measure_id = '10.2' AND mother_tongue_group = 'finnish_or_swedish'",
    )
    .await;
    assert_eq!(count, domestic as i64);
    assert_eq!(
        finnish_or_swedish as i64,
        publish(count, key, Counted::Clients).unwrap()
    );
    let share = 1.0 - finnish_or_swedish as f64 / total as f64;
    assert!(share > 0.0 && share < 1.0, "{share}");
    hub.stop().await;
}
