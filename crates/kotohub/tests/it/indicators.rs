//! Recorded indicators through the gateway: the officers of the bodies that answer for an
//! indicator record its status or value per period, each change a new version; other
//! bodies and other roles are refused and change nothing; bad input gets every reason;
//! the table itself refuses changes to what was recorded; auditors read the history and
//! find each change in the access log.

use kotohub_auth::{Principal, Role};
use kotohub_programme::disclosure::{Counted, publish};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, principal};
use crate::on_both_backends;

on_both_backends!(
    the_answering_bodies_record_indicators_as_versions,
    others_are_refused_and_bad_input_changes_nothing,
    computed_indicators_are_the_registers_aggregates_with_their_targets,
    indicators_on_a_hand_built_register_are_the_counts_worked_out_by_hand,
    a_changed_catalog_reaches_a_seeded_database_on_start,
);

fn officer(body: &str) -> Principal {
    Principal::new(
        format!("test-officer-{body}"),
        [Role::Officer],
        [body.to_owned()],
        None,
    )
}

const RECORD: &str = "mutation Record($input: RecordIndicatorInput!) {
  recordIndicator(input: $input) { indicator period version status value source body recordedBy recordedAt }
}";

const HISTORY: &str = "query History($id: ID!, $period: String) {
  indicator(id: $id) {
    id kind reportingBodies { id }
    records { period version status value }
    history(period: $period) { period version status value source body recordedBy }
  }
}";

async fn record(hub: &Hub, who: &Principal, input: Value) -> Value {
    hub.query_as("gateway", who, RECORD, json!({ "input": input }))
        .await
}

async fn history(hub: &Hub, id: &str) -> Value {
    let auditor = principal(Role::Auditor, &[]);
    let body = hub
        .query_as("gateway", &auditor, HISTORY, json!({ "id": id }))
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    body["data"]["indicator"].clone()
}

async fn the_answering_bodies_record_indicators_as_versions(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let newco = officer("newco-helsinki");
    // 1.5/1: "a model for business-based integration has been created", NewCo's.
    let first = record(
        &hub,
        &newco,
        json!({ "indicator": "1.5/1", "period": "2019", "status": "IN_PROGRESS",
                "source": "NewCo Helsinki annual report 2019" }),
    )
    .await;
    let first = &first["data"]["recordIndicator"];
    assert_eq!(first["version"], 1, "{first}");
    assert_eq!(first["status"], "IN_PROGRESS");
    assert_eq!(first["body"], "newco-helsinki");
    assert_eq!(first["recordedBy"], "test-officer-newco-helsinki");
    // The same again is no change.
    let again = record(
        &hub,
        &newco,
        json!({ "indicator": "1.5/1", "period": "2019", "status": "IN_PROGRESS",
                "source": "NewCo Helsinki annual report 2019" }),
    )
    .await;
    assert_eq!(again["data"]["recordIndicator"], *first);
    // A change is the next version; another period starts at 1.
    let second = record(
        &hub,
        &newco,
        json!({ "indicator": "1.5/1", "period": "2019", "status": "ACHIEVED",
                "source": "NewCo Helsinki annual report 2019", "note": "model in use since November" }),
    )
    .await;
    assert_eq!(second["data"]["recordIndicator"]["version"], 2, "{second}");
    let other = record(
        &hub,
        &newco,
        json!({ "indicator": "1.5/1", "period": "2017-2021", "status": "PARTIALLY",
                "source": "programme follow-up" }),
    )
    .await;
    assert_eq!(other["data"]["recordIndicator"]["version"], 1, "{other}");

    let indicator = history(&hub, "1.5/1").await;
    assert_eq!(indicator["kind"], "MILESTONE");
    assert_eq!(
        indicator["reportingBodies"],
        json!([{ "id": "newco-helsinki" }])
    );
    assert_eq!(
        indicator["records"],
        json!([
            { "period": "2017-2021", "version": 1, "status": "PARTIALLY", "value": null },
            { "period": "2019", "version": 2, "status": "ACHIEVED", "value": null },
        ])
    );
    let versions: Vec<(i64, &str)> = indicator["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["period"] == "2019")
        .map(|row| {
            (
                row["version"].as_i64().unwrap(),
                row["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, vec![(1, "IN_PROGRESS"), (2, "ACHIEVED")]);

    // A count, by the Participation and Citizen Information Unit: a value, not a status.
    let participation = officer("participation-citizen-information");
    let count = record(
        &hub,
        &participation,
        json!({ "indicator": "5.2/1", "period": "2019-Q2", "value": 14,
                "source": "Participation unit event calendar" }),
    )
    .await;
    assert_eq!(count["data"]["recordIndicator"]["value"], 14.0, "{count}");
    // Analysts read what was recorded with the catalog.
    let analyst = Principal::new(
        "test-analyst",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    );
    let read = hub
        .query_as(
            "gateway",
            &analyst,
            "{ indicator(id: \"5.2/1\") { records { period value } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["indicator"]["records"],
        json!([{ "period": "2019-Q2", "value": 14.0 }]),
        "{read}"
    );

    // The access log holds each change sent, with who sent it.
    let auditor = principal(Role::Auditor, &[]);
    let events = hub
        .query_as(
            "gateway",
            &auditor,
            "{ auditEvents(filter: { operation: \"Record\" }) { subject decision fields } }",
            json!({}),
        )
        .await;
    let events = events["data"]["auditEvents"].as_array().unwrap();
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events.iter().all(|e| {
        e["decision"] == "ALLOWED"
            && e["fields"]
                .as_array()
                .unwrap()
                .contains(&json!("Mutation.recordIndicator"))
    }));

    // An outside statistic (P4, the unemployment percentage) is recorded with the date
    // of its release; without one it is refused and nothing is stored.
    let employment = officer("immigration-employment-services");
    let p4 = json!({ "indicator": "P4", "period": "2019", "value": 17.2,
                     "source": "Statistics Finland, labour force survey" });
    let undated = record(&hub, &employment, p4.clone()).await;
    let message = undated["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("sourceDate"), "{undated}");
    assert_eq!(history(&hub, "P4").await["history"], json!([]));
    let mut dated = p4;
    dated["sourceDate"] = json!("2020-02-26");
    let stored = record(&hub, &employment, dated).await;
    assert!(stored.get("errors").is_none(), "{stored}");
    let read = hub
        .query_as(
            "gateway",
            &analyst,
            "{ indicator(id: \"P4\") { kind values { period value source sourceDate } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        read["data"]["indicator"],
        json!({ "kind": "EXTERNAL_STATISTIC", "values": [{ "period": "2019", "value": 17.2,
                "source": "Statistics Finland, labour force survey", "sourceDate": "2020-02-26" }] }),
        "{read}"
    );
    hub.stop().await;
}

async fn others_are_refused_and_bad_input_changes_nothing(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let newco = officer("newco-helsinki");
    let recorded = record(
        &hub,
        &newco,
        json!({ "indicator": "1.5/1", "period": "2019", "status": "ACHIEVED",
                "source": "NewCo Helsinki annual report 2019" }),
    )
    .await;
    assert!(recorded.get("errors").is_none(), "{recorded}");
    let before = history(&hub, "1.5/1").await["history"].clone();

    let refusals = [
        // Another body's officer.
        (
            officer("ohjaamo"),
            json!({ "indicator": "1.5/1", "period": "2019", "status": "NOT_ACHIEVED", "source": "x" }),
            "FORBIDDEN",
        ),
        // The right body, named by someone who does not act for it.
        (
            officer("ohjaamo"),
            json!({ "indicator": "1.5/1", "period": "2019", "status": "NOT_ACHIEVED",
                    "source": "x", "body": "newco-helsinki" }),
            "FORBIDDEN",
        ),
        // Roles that record nothing.
        (
            Principal::new(
                "test-analyst",
                [Role::Analyst],
                [],
                Some("employment".to_owned()),
            ),
            json!({ "indicator": "1.5/1", "period": "2019", "status": "NOT_ACHIEVED", "source": "x" }),
            "FORBIDDEN",
        ),
        (
            Principal::new(
                "test-admin",
                [Role::Admin],
                ["newco-helsinki".to_owned()],
                None,
            ),
            json!({ "indicator": "1.5/1", "period": "2019", "status": "NOT_ACHIEVED", "source": "x" }),
            "FORBIDDEN",
        ),
        // Bad input from the right officer: a value for a milestone, no source, a bad
        // period, an unknown indicator.
        (
            newco.clone(),
            json!({ "indicator": "1.5/1", "period": "2019", "value": 3, "source": "x" }),
            "BAD_USER_INPUT",
        ),
        (
            newco.clone(),
            json!({ "indicator": "1.5/1", "period": "2019-Q7", "status": "ACHIEVED", "source": " " }),
            "BAD_USER_INPUT",
        ),
        (
            newco.clone(),
            json!({ "indicator": "99.9/1", "period": "2019", "status": "ACHIEVED", "source": "x" }),
            "BAD_USER_INPUT",
        ),
    ];
    for (who, input, code) in refusals {
        let body = record(&hub, &who, input.clone()).await;
        assert!(body["data"].is_null(), "{input}: {body}");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{input}: {body}"
        );
    }
    let bad = record(
        &hub,
        &newco,
        json!({ "indicator": "1.5/1", "period": "2019-Q7", "status": "ACHIEVED", "source": " " }),
    )
    .await;
    let message = bad["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("period") && message.contains("source"),
        "{message}"
    );
    assert_eq!(history(&hub, "1.5/1").await["history"], before);

    // What was recorded cannot be changed or removed behind the API's back.
    for statement in [
        "UPDATE indicator_records SET status = 'not_achieved'",
        "DELETE FROM indicator_records",
    ] {
        let db = &hub.dbs.programme;
        let refused = db
            .execute_raw(Statement::from_string(db.get_database_backend(), statement))
            .await;
        assert!(refused.is_err(), "{statement} was allowed");
    }
    assert_eq!(history(&hub, "1.5/1").await["history"], before);
    hub.stop().await;
}

async fn computed_indicators_are_the_registers_aggregates_with_their_targets(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let analyst = Principal::new(
        "test-analyst",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    );
    let data = |query: &'static str| {
        let hub = &hub;
        let analyst = &analyst;
        async move {
            let body = hub.query_as("gateway", analyst, query, json!({})).await;
            assert!(body.get("errors").is_none(), "{body}");
            body["data"].clone()
        }
    };
    let answer = data(
        "{ count: indicator(id: \"1.1/1\") { computed definition target values { period value suppressed noData target computed } }
           share: indicator(id: \"1.2/1\") { values(from: 2019, to: 2021) { period value suppressed noData } }
           events: indicator(id: \"1.3/1\") { values { period value suppressed noData } }
           clients: clientStatistics(by: [YEAR], measure: \"1.1\") { cells { year clients suppressed } }
           guided: clientStatistics(by: [YEAR], measure: \"1.2\", year: null,
             outcomes: [EMPLOYED, APPRENTICESHIP, ENTREPRENEUR, PAY_SUBSIDY_WORK, VOCATIONAL_EDUCATION, OTHER_EDUCATION]) {
             cells { year clients share suppressed } }
           held: eventStatistics(by: [YEAR, LANGUAGES], measure: \"1.3\") { cells { year languages events suppressed } } }",
    )
    .await;
    // 1.1/1: the clients of measure 1.1 by year, against the programme's 1,000 a year.
    let count = &answer["count"];
    assert_eq!(count["computed"], true);
    assert_eq!(count["target"], 1000.0);
    assert!(count["definition"].as_str().unwrap().contains("1.1"));
    let cells = answer["clients"]["cells"].as_array().unwrap();
    let values = count["values"].as_array().unwrap();
    assert_eq!(values.len(), cells.len());
    assert!(values.len() >= 5, "{values:?}");
    for (value, cell) in values.iter().zip(cells) {
        assert_eq!(value["period"], cell["year"].to_string());
        assert_eq!(value["target"], 1000.0);
        assert_eq!(value["suppressed"], cell["suppressed"]);
        match cell["clients"].as_i64() {
            Some(0) => assert_eq!(
                (&value["value"], &value["noData"]),
                (&Value::Null, &json!(true))
            ),
            Some(n) => assert_eq!(value["value"], n as f64, "{value}"),
            None => assert!(value["value"].is_null()),
        }
    }
    // 1.2/1: the share with a work or study outcome, in percent, of 2019–2021 only.
    let shares = answer["share"]["values"].as_array().unwrap();
    let guided: Vec<&Value> = answer["guided"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|cell| (2019..=2021).contains(&cell["year"].as_i64().unwrap()))
        .collect();
    assert_eq!(shares.len(), guided.len());
    assert_eq!(shares.len(), 3, "{shares:?}");
    for (value, cell) in shares.iter().zip(guided) {
        match cell["share"].as_f64() {
            Some(share) if cell["clients"].as_i64() != Some(0) => {
                let percent = value["value"].as_f64().unwrap();
                assert!((percent - share * 100.0).abs() <= 0.05, "{value} {cell}");
                assert!((0.0..=100.0).contains(&percent));
            }
            _ => assert!(value["value"].is_null(), "{value} {cell}"),
        }
    }
    // 1.3/1: the events held in neither Finnish nor Swedish.
    let events = answer["events"]["values"].as_array().unwrap();
    let held: Vec<&Value> = answer["held"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|cell| cell["languages"] == "OTHER_LANGUAGES")
        .collect();
    assert_eq!(events.len(), held.len());
    for (value, cell) in events.iter().zip(held) {
        assert_eq!(value["period"], cell["year"].to_string());
        if let Some(n) = cell["events"].as_i64().filter(|n| *n > 0) {
            assert_eq!(value["value"], n as f64);
        }
    }
    // Both targets the programme sets in 1.2's sentence, for its term.
    let pilot = data("{ indicator(id: \"1.2/2\") { target targets { value of per } } }").await;
    assert_eq!(
        pilot["indicator"],
        json!({ "target": 50.0, "targets": [
            { "value": 50.0, "of": null, "per": "TERM" },
            { "value": 20.0, "of": "find paid jobs (%)", "per": "TERM" },
        ] })
    );
    // A counted indicator is not recorded by hand.
    let refused = record(
        &hub,
        &officer("helsinki-skill-center"),
        json!({ "indicator": "1.1/1", "period": "2019", "value": 1000, "source": "x" }),
    )
    .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
        "{refused}"
    );
    // A recorded indicator's values are what its body recorded.
    let recorded = record(
        &hub,
        &officer("newco-helsinki"),
        json!({ "indicator": "1.5/1", "period": "2020", "status": "ACHIEVED", "source": "NewCo report" }),
    )
    .await;
    assert!(recorded.get("errors").is_none(), "{recorded}");
    let milestone = data(
        "{ indicator(id: \"1.5/1\") { computed values { period status computed source noData } } }",
    )
    .await;
    assert_eq!(
        milestone["indicator"],
        json!({ "computed": false, "values": [
            { "period": "2020", "status": "ACHIEVED", "computed": false, "source": "NewCo report", "noData": false }
        ] })
    );
    hub.stop().await;
}

/// Replaces the register's facts of measures 1.1, 1.2 and 1.3 with a few written here,
/// each client's record key chosen, so that every count and key sum is known by hand.
async fn hand_built_register(hub: &Hub) {
    let db = &hub.dbs.programme;
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    let run = |sql: String| {
        let txn = &txn;
        async move {
            txn.execute_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap();
        }
    };
    run(
        "DELETE FROM client_facts WHERE measure_id IN ('1.1', '1.2', '10.2', '4.10', '4.18', '9.5') \
         OR record LIKE 'qualifications%'"
            .to_owned(),
    )
    .await;
    // Nothing on the request or import path deletes events, so no row policy lets a
    // delete see them; the tables' owner lifts the rule for this transaction only.
    let postgres = db.get_database_backend() == sea_orm::DbBackend::Postgres;
    if postgres {
        run("ALTER TABLE event_facts NO FORCE ROW LEVEL SECURITY".to_owned()).await;
    }
    run("DELETE FROM event_facts WHERE measure_id = '1.3'".to_owned()).await;
    if postgres {
        run("ALTER TABLE event_facts FORCE ROW LEVEL SECURITY".to_owned()).await;
    }
    let fact = |client: u32, measure: &str, body: &str, year: i32, outcome: Option<&str>| {
        format!(
            "INSERT INTO client_facts (client_id, measure_id, body_id, division_id, year, quarter, \
             district, mother_tongue_group, age_group, gender, background, outcome, record_key) \
             VALUES ('hand-{client:02}', '{measure}', '{body}', 'employment', {year}, 2, 'itainen', \
             'somali', '30-44', 'female', 'immigrant', {}, {})",
            outcome.map_or("NULL".to_owned(), |o| format!("'{o}'")),
            1000 + client
        )
    };
    // 1.1: twelve clients in 2019 (the first with two records), three in 2020.
    for client in 1..=12 {
        run(fact(client, "1.1", "helsinki-skill-center", 2019, None)).await;
    }
    run(fact(1, "1.1", "helsinki-skill-center", 2019, None)).await;
    for client in 13..=15 {
        run(fact(client, "1.1", "helsinki-skill-center", 2020, None)).await;
    }
    // 1.2: sixteen clients guided in 2019; nine of them employed, in an apprenticeship or
    // in vocational education, one of those with two outcomes.
    for client in 21..=36 {
        run(fact(
            client,
            "1.2",
            "immigration-employment-services",
            2019,
            None,
        ))
        .await;
    }
    for (client, outcome) in [
        (21, "employed"),
        (22, "employed"),
        (23, "vocational_education"),
        (24, "vocational_education"),
        (25, "apprenticeship"),
        (26, "employed"),
        (26, "vocational_education"),
        (27, "employed"),
        (28, "employed"),
        (29, "apprenticeship"),
        (30, "library_card"),
    ] {
        run(fact(
            client,
            "1.2",
            "immigration-employment-services",
            2019,
            Some(outcome),
        ))
        .await;
    }
    // 1.3: in 2019 seven events in other languages and three in Finnish; in 2020 two.
    let event = |n: u32, year: i32, languages: &str| {
        format!(
            "INSERT INTO event_facts (measure_id, body_id, division_id, year, quarter, district, \
             languages, participants, record_key) \
             VALUES ('1.3', 'ohjaamo', 'employment', {year}, 3, 'itainen', '{languages}', 10, {})",
            500 + n
        )
    };
    for n in 1..=7 {
        run(event(n, 2019, "other_languages")).await;
    }
    for n in 8..=10 {
        run(event(n, 2019, "finnish_or_swedish")).await;
    }
    for n in 11..=12 {
        run(event(n, 2020, "other_languages")).await;
    }
    // Facts with the kind of record, the months and the client's mother tongue and
    // background, all in 2019. Months are counted as year × 12 + month − 1.
    let record = |client: u32,
                  (measure, body, division): (&str, &str, &str),
                  (year, month, ended): (i32, i32, Option<i32>),
                  (tongue, background): (&str, &str),
                  record: &str| {
        format!(
            "INSERT INTO client_facts (client_id, measure_id, body_id, division_id, year, quarter, \
             month, ended, district, mother_tongue_group, age_group, gender, background, outcome, \
             record, record_key) VALUES ('hand-{client:02}', '{measure}', '{body}', '{division}', \
             {year}, {}, {month}, {}, 'itainen', '{tongue}', '30-44', 'female', '{background}', \
             {}, '{record}', {})",
            (month - 1) / 3 + 1,
            ended.map_or("NULL".to_owned(), |e| e.to_string()),
            // An outcome's kind of record names the outcome, as the divisions' do.
            match record.split_once(':') {
                Some((table, kind)) if table.ends_with("_outcomes") => format!("'{kind}'"),
                _ => "NULL".to_owned(),
            },
            1000 + client
        )
    };
    let ohjaamo = ("10.2", "ohjaamo", "employment");
    let course = ("4.10", "education-division", "education");
    let onward = ("4.18", "education-division", "education");
    let social = ("9.5", "social-services-health-care", "social");
    // 10.2: twenty young people reached, twelve of them speaking Somali or Arabic.
    for client in 41..=60 {
        let tongue = match client {
            41..=46 => "somali",
            47..=52 => "arabic",
            _ => "finnish_or_swedish",
        };
        let on = (2019, 4, None);
        run(record(
            client,
            ohjaamo,
            on,
            (tongue, "immigrant"),
            "guidance_sessions",
        ))
        .await;
    }
    // 4.10: twenty parents on a language course from March to September 2019; twelve
    // enrol in basic education six months after, one in vocational education sixteen
    // months after (outside the twelve), the rest nowhere.
    let september = 2019 * 12 + 8;
    for client in 61..=80 {
        let who = ("arabic", "immigrant");
        let on = (2019, 3, Some(september));
        run(record(
            client,
            course,
            on,
            who,
            "enrolments:parents_language_course",
        ))
        .await;
        if client <= 72 {
            run(record(
                client,
                onward,
                (2020, 3, None),
                who,
                "enrolments:adult_basic",
            ))
            .await;
        } else if client == 73 {
            run(record(
                client,
                onward,
                (2021, 1, None),
                who,
                "enrolments:vocational",
            ))
            .await;
        }
    }
    // 9.5: twenty people with a foreign background assessed, twelve multi-professionally;
    // four with a Finnish background, all multi-professionally, are not in the share.
    for client in 81..=104 {
        let background = if client <= 100 {
            "immigrant"
        } else {
            "finnish_background"
        };
        let kind = if client <= 92 || client > 100 {
            "service_needs_assessments:multi_professional"
        } else {
            "service_needs_assessments:not_multi_professional"
        };
        run(record(
            client,
            social,
            (2019, 5, None),
            ("somali", background),
            kind,
        ))
        .await;
    }
    // Fourteen vocational qualifications in June 2019: ten employed within twelve months,
    // one fourteen months after, three not at all.
    let school = ("4.23", "education-division", "education");
    let work = ("4.21", "helsinki-skill-center", "employment");
    for client in 111..=124 {
        let who = ("russian", "immigrant");
        run(record(
            client,
            school,
            (2019, 6, None),
            who,
            "qualifications:vocational",
        ))
        .await;
        let employed = "employment_outcomes:employed";
        if client <= 120 {
            run(record(client, work, (2020, 2, None), who, employed)).await;
        } else if client == 121 {
            run(record(client, work, (2020, 8, None), who, employed)).await;
        }
    }
    // Residents of 2019 in two districts: the first holds 20 % of the Finnish or Swedish
    // speakers and 60 % of the rest.
    run("DELETE FROM population_figures".to_owned()).await;
    for (district, tongue, residents) in [
        ("itainen", "finnish_or_swedish", 2_000),
        ("itainen", "somali", 600),
        ("etelainen", "finnish_or_swedish", 8_000),
        ("etelainen", "russian", 400),
    ] {
        run(format!(
            "INSERT INTO population_figures (year, district, mother_tongue_group, age_group, \
             residents, source) VALUES (2019, '{district}', '{tongue}', '30-44', {residents}, \
             'hand-built')"
        ))
        .await;
    }
    txn.commit().await.unwrap();
}

async fn indicators_on_a_hand_built_register_are_the_counts_worked_out_by_hand(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    hand_built_register(&hub).await;
    let analyst = Principal::new(
        "test-analyst",
        [Role::Analyst],
        [],
        Some("employment".to_owned()),
    );
    let body = hub
        .query_as(
            "gateway",
            &analyst,
            "{ assessed: indicator(id: \"1.1/1\") { values(from: 2019, to: 2020) { period value suppressed noData } }
               continued: indicator(id: \"1.2/1\") { values(from: 2019, to: 2020) { period value suppressed noData } }
               vocational: indicator(id: \"1.2/2\") { values(from: 2019, to: 2019) { period value } }
               held: indicator(id: \"1.3/1\") { values(from: 2019, to: 2020) { period value suppressed noData } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    let keys = |clients: std::ops::RangeInclusive<i64>| clients.map(|c| 1000 + c).sum::<i64>();

    // 1.1/1: twelve distinct clients in 2019, whatever their records; three in 2020 are
    // fewer than five and shown as suppressed, never as 3.
    let twelve = publish(12, keys(1..=12), Counted::Clients).unwrap();
    assert!((twelve - 12).abs() <= 20);
    assert_eq!(
        data["assessed"]["values"],
        json!([
            { "period": "2019", "value": twelve as f64, "suppressed": false, "noData": false },
            { "period": "2020", "value": null, "suppressed": true, "noData": false },
        ])
    );

    // 1.2/1: of the sixteen guided, nine went on to work or study (26 counted once, 30's
    // library card is not one of those outcomes); 2020 has no records: no data, not 0 %.
    let guided = publish(16, keys(21..=36), Counted::Clients).unwrap();
    let continued = publish(9, keys(21..=29), Counted::Clients)
        .unwrap()
        .min(guided);
    let percent = (continued as f64 / guided as f64 * 1000.0).round() / 10.0;
    assert_eq!(
        data["continued"]["values"],
        json!([
            { "period": "2019", "value": percent, "suppressed": false, "noData": false },
            { "period": "2020", "value": null, "suppressed": false, "noData": true },
        ])
    );
    // 1.2/2: three of the sixteen went on to vocational education: fewer than five, so
    // the share is not shown.
    assert_eq!(
        data["vocational"]["values"],
        json!([{ "period": "2019", "value": null }])
    );

    // 1.3/1: seven events in other languages in 2019; two in 2020, suppressed.
    let seven = publish(7, (501..=507).sum(), Counted::Events).unwrap();
    assert_eq!(
        data["held"]["values"],
        json!([
            { "period": "2019", "value": seven as f64, "suppressed": false, "noData": false },
            { "period": "2020", "value": null, "suppressed": true, "noData": false },
        ])
    );

    // The counts that read the kind of record, the months and the mother tongue, asked
    // by an analyst of the whole city.
    let city = Principal::new("test-analyst", [Role::Analyst], [], Some("city".to_owned()));
    let body = hub
        .query_as(
            "gateway",
            &city,
            "{ reached: indicator(id: \"10.2/1\") { values(from: 2019, to: 2019) { value } }
               onward: indicator(id: \"4.10/1\") { values(from: 2019, to: 2019) { value } }
               assessed: indicator(id: \"9.5/1\") { values(from: 2019, to: 2019) { value } }
               employed: indicator(id: \"group-4-guidance/5\") { values(from: 2019, to: 2019) { value } }
               segregation: indicator(id: \"P1\") { values(from: 2019, to: 2019) { value source } } }",
            json!({}),
        )
        .await;
    assert!(body.get("errors").is_none(), "{body}");
    let data = &body["data"];
    let share =
        |part: i64, whole: i64| (part.min(whole) as f64 / whole as f64 * 1000.0).round() / 10.0;
    let clients = |n: i64, range: std::ops::RangeInclusive<i64>| {
        publish(n, keys(range), Counted::Clients).unwrap()
    };
    // 10.2/1: twelve of the twenty speak neither Finnish nor Swedish.
    assert_eq!(
        data["reached"]["values"][0]["value"],
        json!(share(clients(12, 41..=52), clients(20, 41..=60)))
    );
    // 4.10/1: twelve of the twenty went on within twelve months of the course's end.
    assert_eq!(
        data["onward"]["values"][0]["value"],
        json!(share(clients(12, 61..=72), clients(20, 61..=80)))
    );
    // 9.5/1: twelve of the twenty with a foreign background.
    assert_eq!(
        data["assessed"]["values"][0]["value"],
        json!(share(clients(12, 81..=92), clients(20, 81..=100)))
    );
    // group-4-guidance/5: ten of the fourteen qualified were in work within twelve
    // months, shown as the count of them, with its own noise.
    assert_eq!(
        data["employed"]["values"][0]["value"],
        json!(clients(10, 111..=120) as f64)
    );
    // Measure 10.2's reach per 1,000 residents of each language group in 2019: the six
    // Somali speakers of 600 Somali-speaking residents; no figures for Arabic, so no
    // rate; the eight Finnish or Swedish speakers of 10,000.
    let reach = hub
        .query_as(
            "gateway",
            &city,
            "{ clientStatistics(by: [MOTHER_TONGUE_GROUP], measure: \"10.2\", year: 2019, \
               perResidents: true) { cells { motherTongueGroup clients perThousandResidents } } }",
            json!({}),
        )
        .await;
    let cells = reach["data"]["clientStatistics"]["cells"]
        .as_array()
        .unwrap();
    let rate = |group: &str| {
        let cell = cells
            .iter()
            .find(|c| c["motherTongueGroup"] == group)
            .unwrap();
        (
            cell["clients"].as_i64(),
            cell["perThousandResidents"].as_f64(),
        )
    };
    let per_thousand =
        |clients: i64, residents: f64| (clients as f64 * 10_000.0 / residents).round() / 10.0;
    let somali = clients(6, 41..=46);
    assert_eq!(
        rate("SOMALI"),
        (Some(somali), Some(per_thousand(somali, 600.0)))
    );
    let domestic = clients(8, 53..=60);
    assert_eq!(
        rate("FINNISH_OR_SWEDISH"),
        (Some(domestic), Some(per_thousand(domestic, 10_000.0)))
    );
    assert_eq!(rate("ARABIC"), (Some(clients(6, 47..=52)), None));
    // Residents have no measure, and a rate needs its year.
    for query in [
        "{ clientStatistics(by: [MEASURE], year: 2019, perResidents: true) { total { clients } } }",
        "{ clientStatistics(by: [DISTRICT], perResidents: true) { total { clients } } }",
    ] {
        let refused = hub.query_as("gateway", &city, query, json!({})).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
            "{refused}"
        );
    }
    // P1: half of |0.2 − 0.6| + |0.8 − 0.4|, in percent: 40.
    assert_eq!(
        data["segregation"]["values"],
        json!([{ "value": 40.0, "source": "population figures" }])
    );
    hub.stop().await;
}

async fn a_changed_catalog_reaches_a_seeded_database_on_start(backend: Backend) {
    use kotohub_programme::catalog::{Catalog, PROGRAMME_TOML};
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let programme = &hub.dbs.programme;
    let target = "SELECT CAST(target AS INTEGER) AS n FROM indicators WHERE id = '10.2/1'";
    let shipped = Catalog::embedded().unwrap();
    // Seeded with the shipped catalog: nothing to store.
    assert!(!shipped.sync(programme).await.unwrap());
    assert_eq!(crate::import::rows(programme, target).await, ["30"]);
    // A release that corrects 10.2/1's target (the first "target = 30" in the file).
    let text = PROGRAMME_TOML.replacen("target = 30 }", "target = 35 }", 1);
    let corrected = Catalog::parse(&text).unwrap();
    assert_ne!(corrected.fingerprint, shipped.fingerprint);
    assert!(corrected.sync(programme).await.unwrap());
    assert_eq!(crate::import::rows(programme, target).await, ["35"]);
    assert!(!corrected.sync(programme).await.unwrap());
    // The measures, bodies and indicators are all still there, once each.
    let counts = "SELECT (SELECT count(*) FROM measures) || '/' || \
                  (SELECT count(*) FROM indicators) AS n";
    assert_eq!(crate::import::rows(programme, counts).await, ["64/83"]);
    assert!(shipped.sync(programme).await.unwrap());
    assert_eq!(crate::import::rows(programme, target).await, ["30"]);
    hub.stop().await;
}
