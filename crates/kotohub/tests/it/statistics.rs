//! Aggregates for division dashboards, through the gateway: no analyst response holds a
//! count of 1–4; a suppressed cell cannot be rebuilt by differencing a table against its
//! totals, its margins asked separately, or a filtered slice; the grant decides which
//! divisions are counted (and on PostgreSQL row-level security says the same); and the
//! programme's indicators 1.2, 1.3 and 10.2 come out equal to counting the divisions'
//! records directly.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kotohub_auth::{Principal, Role};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(
    no_analyst_response_holds_a_count_of_one_to_four,
    suppressed_cells_cannot_be_rebuilt_by_differencing,
    the_grant_decides_which_divisions_are_counted,
    indicators_come_out_of_the_statistics,
);

fn analyst(division: Option<&str>) -> Principal {
    Principal::new(
        format!("test-analyst-{}", division.unwrap_or("none")),
        [Role::Analyst],
        [],
        division.map(str::to_owned),
    )
}

const CLIENT_DIMENSIONS: [&str; 9] = [
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
const EVENT_DIMENSIONS: [&str; 6] = [
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

/// A table's cells by their values in two dimensions: (row, column) → count or None.
fn grid(table: &Value, row: &str, column: &str) -> BTreeMap<(String, String), Option<i64>> {
    table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| {
            (
                (cell[row].to_string(), cell[column].to_string()),
                cell["clients"].as_i64(),
            )
        })
        .collect()
}

/// A one-dimensional table: value → count or None.
fn margin(table: &Value, dimension: &str) -> HashMap<String, Option<i64>> {
    table["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cell| (cell[dimension].to_string(), cell["clients"].as_i64()))
        .collect()
}

/// Whether some hidden cell of a two-way table is fixed by the shown cells and the shown
/// margins. A hidden cell is an edge between its row and its column; a margin the caller
/// does not know leaves its node free, which is the same as joining every such node into
/// one. An edge is then fixed exactly when it is a bridge: on no cycle, it is the only
/// unknown left in some set of equations.
fn some_hidden_cell_is_fixed(
    cells: &BTreeMap<(String, String), Option<i64>>,
    rows: &HashMap<String, Option<i64>>,
    columns: &HashMap<String, Option<i64>>,
) -> Option<(String, String)> {
    const FREE: &str = "free";
    let node = |kind: &str, value: &String, margins: &HashMap<String, Option<i64>>| match margins
        .get(value)
    {
        Some(Some(_)) => format!("{kind}:{value}"),
        _ => FREE.to_owned(),
    };
    let edges: Vec<((String, String), String, String)> = cells
        .iter()
        .filter(|(_, count)| count.is_none())
        .map(|((row, column), _)| {
            (
                (row.clone(), column.clone()),
                node("row", row, rows),
                node("column", column, columns),
            )
        })
        .collect();
    // An edge is a bridge if, without it, its two ends are no longer connected.
    for (skip, (cell, from, to)) in edges.iter().enumerate() {
        let mut reached = BTreeSet::from([from.clone()]);
        let mut frontier = vec![from.clone()];
        while let Some(at) = frontier.pop() {
            for (index, (_, a, b)) in edges.iter().enumerate() {
                if index == skip {
                    continue;
                }
                for (here, there) in [(a, b), (b, a)] {
                    if *here == at && reached.insert(there.clone()) {
                        frontier.push(there.clone());
                    }
                }
            }
        }
        if from != to && !reached.contains(to) {
            return Some(cell.clone());
        }
    }
    None
}

async fn suppressed_cells_cannot_be_rebuilt_by_differencing(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let city = analyst(Some("city"));
    let ask = |query: String| {
        let hub = &hub;
        let city = &city;
        async move {
            let body = hub.query_as("gateway", city, &query, json!({})).await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
            body["data"]["clientStatistics"].clone()
        }
    };
    // Dimensions every client has one value of, so the margins are exact sums and
    // differencing would work if suppression let it.
    let pairs = [
        ("DISTRICT", "district", "GENDER", "gender"),
        (
            "MOTHER_TONGUE_GROUP",
            "motherTongueGroup",
            "GENDER",
            "gender",
        ),
        ("DISTRICT", "district", "BACKGROUND", "background"),
        (
            "MOTHER_TONGUE_GROUP",
            "motherTongueGroup",
            "BACKGROUND",
            "background",
        ),
    ];
    let mut hidden_seen = 0;
    for filter in ["", r#", measure: "1.3""#] {
        for (row_dimension, row, column_dimension, column) in pairs {
            let total = ask(client_table(&[], filter)).await;
            let rows = ask(client_table(&[row_dimension], filter)).await;
            let columns = ask(client_table(&[column_dimension], filter)).await;
            let table = ask(client_table(&[row_dimension, column_dimension], filter)).await;
            let context = format!("{row_dimension} × {column_dimension}{filter}");
            let total = total["total"]["clients"].as_i64();
            let rows = margin(&rows, row);
            let columns = margin(&columns, column);
            let cells = grid(&table, row, column);
            hidden_seen += cells.values().filter(|c| c.is_none()).count();
            // The margins are real equations: where a row is fully shown it adds up.
            for (value, count) in &rows {
                let line: Vec<Option<i64>> = cells
                    .iter()
                    .filter(|((r, _), _)| r == value)
                    .map(|(_, c)| *c)
                    .collect();
                if let (Some(count), true) = (count, line.iter().all(Option::is_some)) {
                    assert_eq!(line.iter().flatten().sum::<i64>(), *count, "{context}");
                }
            }
            // One-way tables: a hidden cell never stands alone beside a shown total.
            for margins in [&rows, &columns] {
                let hidden = margins.values().filter(|c| c.is_none()).count();
                assert!(
                    hidden != 1 || total.is_none(),
                    "{context}: total minus the shown cells gives the hidden one: {margins:?}"
                );
            }
            // Two-way table against its margins from the one-way tables.
            assert_eq!(
                some_hidden_cell_is_fixed(&cells, &rows, &columns),
                None,
                "{context}: a suppressed cell follows from the margins: {cells:?}"
            );
        }
    }
    assert!(hidden_seen > 0, "no table had a suppressed cell to attack");

    // A filtered slice hides what the bigger table hides: asking both gives nothing more.
    let slice = ask(client_table(&["GENDER"], r#", measure: "1.3""#)).await;
    let whole = ask(client_table(&["MEASURE", "GENDER"], "")).await;
    let in_slice: Vec<(String, bool)> = slice["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["gender"].to_string(), c["suppressed"] == true))
        .collect();
    let in_whole: Vec<(String, bool)> = whole["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["measureId"] == "1.3")
        .map(|c| (c["gender"].to_string(), c["suppressed"] == true))
        .collect();
    assert_eq!(in_slice, in_whole);
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
    assert_eq!(table["total"]["clients"], clients.len());
    assert_eq!(table["total"]["withOutcome"], continued.len());
    let share = table["total"]["share"].as_f64().unwrap();
    assert!((share - continued.len() as f64 / clients.len() as f64).abs() < 1e-9);

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
    assert_eq!(cell["events"], foreign, "{table}");

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
    assert_eq!(total, reached.len());
    assert_eq!(finnish_or_swedish, domestic);
    let share = 1.0 - finnish_or_swedish as f64 / total as f64;
    assert!(share > 0.0 && share < 1.0, "{share}");
    hub.stop().await;
}
