//! Importing the divisions' records and events: every example file of `docs/import/`
//! uploaded by its division's importer over HTTP and then seen through the gateway by
//! the bodies whose records they are and by no other; uploads refused to every other
//! role; bad rows reported row by row; a changed record moving its fact and its body's
//! scope — on SQLite and PostgreSQL.

use std::path::PathBuf;

use chrono::NaiveDate;
use kotohub::import::identity::Pseudonymiser;
use kotohub::import::table::Format;
use kotohub::import::{Importer, Target};
use kotohub_auth::{Principal, Role};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub, IDENTITY_SECRET, principal};
use crate::import::rows;

crate::on_both_backends!(
    the_example_files_are_seen_by_the_bodies_whose_records_they_are_and_no_other,
    an_upload_is_refused_to_every_role_but_the_owning_divisions_importer,
    bad_records_are_reported_row_by_row_and_good_ones_written,
    a_changed_record_moves_its_fact_and_the_scope_of_its_bodies,
    a_records_import_killed_half_way_and_run_again_loses_and_repeats_nothing,
    population_figures_import_as_cells_a_later_release_corrects
);

/// The example files in the order they import: clients first, events before the
/// participations that name them.
const EXAMPLES: [&str; 25] = [
    "clients",
    "population",
    "skill_assessments",
    "guidance_sessions",
    "service_paths",
    "employment_outcomes",
    "networking_events",
    "enrolments",
    "joint_application_results",
    "qualifications",
    "education_events",
    "social_cases",
    "service_needs_assessments",
    "support_periods",
    "social_outcomes",
    "treatment_referrals",
    "social_events",
    "cultural_events",
    "participations",
    "culture_outcomes",
    "sponsor_groups",
    "sponsors",
    "sponsorships",
    "wellbeing_discussions",
    "partner_events",
];

const AMINA: &str = "150334+123U";
const VAN: &str = "020738+456E";
const SARA: &str = "311231+7894";
const OMAR: &str = "290232+2344";

fn docs_import() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/import")
}

fn example(file: &str) -> Vec<u8> {
    std::fs::read(docs_import().join(file)).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
}

fn client_id(code: &str) -> String {
    Pseudonymiser::new(IDENTITY_SECRET)
        .identify(code, today())
        .unwrap()
        .client_id
}

fn importer(pseudonymiser: &Pseudonymiser) -> Importer<'_> {
    Importer {
        pseudonymiser,
        subject: "test:importer",
        dry_run: false,
        today: today(),
    }
}

/// The example file's four clients, imported into `programme`.
async fn import_example_clients(importer: &Importer<'_>, programme: &DatabaseConnection) {
    let imported = importer
        .clients(programme, &example("clients.csv"), Format::Csv, |_, _| {})
        .await
        .unwrap();
    assert_eq!(imported.rejected_rows, 0);
}

fn enrolments() -> &'static kotohub::import::kinds::Kind {
    let Target::Records(kind) = Target::of("education", "enrolments").unwrap() else {
        panic!("enrolments are records");
    };
    kind
}

fn importer_of(division: &str) -> Principal {
    Principal::new(
        format!("feed-{division}"),
        [Role::Importer],
        [],
        Some(division.to_owned()),
    )
}

/// Posts `bytes` to the upload route as `who`; the status and the JSON answer.
async fn upload(
    hub: &Hub,
    who: Option<&Principal>,
    path: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(hub.url("gateway", path))
        .header("content-type", content_type)
        .body(bytes);
    if let Some(who) = who {
        request = request.header("authorization", format!("Bearer {}", hub.token(who)));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn content_type(file: &str) -> &'static str {
    if file.ends_with(".jsonl") {
        "application/x-ndjson"
    } else {
        "text/csv"
    }
}

async fn the_example_files_are_seen_by_the_bodies_whose_records_they_are_and_no_other(
    backend: Backend,
) {
    let Some(hub) = Hub::start_with(backend, 50).await else {
        return;
    };
    let mut documented: Vec<String> = std::fs::read_dir(docs_import())
        .unwrap()
        .map(|entry| {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            name.split('.').next().unwrap().to_owned()
        })
        .collect();
    documented.sort();
    let mut examples = EXAMPLES.to_vec();
    examples.sort();
    assert_eq!(
        documented, examples,
        "an example file for every kind, each imported here"
    );
    for kind in EXAMPLES {
        let subgraph =
            kotohub::import::kinds::Kind::named(kind).map_or("programme", |k| k.subgraph);
        let csv = format!("{kind}.csv");
        let file = if docs_import().join(&csv).exists() {
            csv
        } else {
            format!("{kind}.jsonl")
        };
        let file = file.as_str();
        // The clients come with the education division's feed.
        let division = if subgraph == "programme" {
            "education"
        } else {
            subgraph
        };
        let (status, summary) = upload(
            &hub,
            Some(&importer_of(division)),
            &format!("/import/{subgraph}/{kind}"),
            example(file),
            content_type(file),
        )
        .await;
        assert_eq!(status, 200, "{file}: {summary}");
        assert_eq!(summary["rejected"], 0, "{file}: {summary}");
        assert!(summary["inserted"].as_u64().unwrap() > 0, "{file}");
    }

    let query = "query($id: ID!) { client(id: $id) { name guidanceSessions { heldOn } \
                 enrolments { startedOn } supportPeriods { startedOn } \
                 participations { participatedOn event { title } } } }";
    // Which example clients each body has records of, by the example files.
    let seen_by: [(&str, &[&str]); 7] = [
        ("ohjaamo", &[AMINA, OMAR]),
        ("helmi", &[AMINA]),
        ("typ-service", &[VAN]),
        ("education-division", &[AMINA, OMAR, SARA]),
        ("sports-services", &[OMAR]),
        ("libraries", &[AMINA]),
        ("international-house-helsinki", &[]),
    ];
    for (body, theirs) in seen_by {
        let officer = principal(Role::Officer, &[body]);
        for code in [AMINA, VAN, SARA, OMAR] {
            let answer = hub
                .query_as("gateway", &officer, query, json!({ "id": client_id(code) }))
                .await;
            let client = &answer["data"]["client"];
            assert_eq!(
                !client.is_null(),
                theirs.contains(&code),
                "{body} and the client of {code}: {answer}"
            );
        }
    }
    // A body sees its own records of a client and not another body's.
    let amina = json!({ "id": client_id(AMINA) });
    let answer = hub
        .query_as(
            "gateway",
            &principal(Role::Officer, &["ohjaamo"]),
            query,
            amina.clone(),
        )
        .await;
    let client = &answer["data"]["client"];
    assert_eq!(client["name"], "Amina Hassan", "{answer}");
    assert_eq!(
        client["guidanceSessions"],
        json!([{ "heldOn": "2024-05-06" }])
    );
    assert_eq!(
        client["supportPeriods"],
        json!([]),
        "Helmi's, not Ohjaamo's"
    );
    let answer = hub
        .query_as(
            "gateway",
            &principal(Role::Officer, &["libraries"]),
            query,
            amina,
        )
        .await;
    assert_eq!(
        answer["data"]["client"]["participations"],
        json!([{ "participatedOn": "2024-02-08", "event": { "title": "Language café" } }]),
        "{answer}"
    );
    // The Red Cross's partner sees the sponsorship it recorded, with the group it named
    // by source id, and the client's core; officers of the City's bodies do not.
    let partners_query = "query($id: ID!) { client(id: $id) { id sponsorships { startedOn \
                          group { name sponsors { trainedOn } } } wellbeingDiscussions { \
                          feelsWelcome takesPartInActivities } } }";
    let answer = hub
        .query_as(
            "gateway",
            &principal(Role::Partner, &["finnish-red-cross"]),
            partners_query,
            json!({ "id": client_id(AMINA) }),
        )
        .await;
    assert_eq!(
        answer["data"]["client"]["sponsorships"],
        json!([{ "startedOn": "2023-04-01", "group": { "name": "Helsinki Eastern sponsor group",
                 "sponsors": [{ "trainedOn": "2023-04-15" }, { "trainedOn": null }] } }]),
        "{answer}"
    );
    assert_eq!(
        answer["data"]["client"]["wellbeingDiscussions"],
        json!([{ "feelsWelcome": true, "takesPartInActivities": null },
               { "feelsWelcome": true, "takesPartInActivities": true }]),
        "{answer}"
    );
    let answer = hub
        .query_as(
            "gateway",
            &principal(Role::Partner, &["finnish-red-cross"]),
            partners_query,
            json!({ "id": client_id(OMAR) }),
        )
        .await;
    assert!(answer["data"]["client"].is_null(), "{answer}");
    // No person-level data for the dashboards, auditors or the importers themselves.
    for who in [
        principal(Role::Analyst, &[]),
        principal(Role::Auditor, &[]),
        importer_of("employment"),
    ] {
        let answer = hub
            .query_as("gateway", &who, query, json!({ "id": client_id(OMAR) }))
            .await;
        assert!(answer["data"]["client"].is_null(), "{who:?}: {answer}");
    }
    // The events are counted where the dashboards count them.
    let events = rows(
        &hub.dbs.programme,
        "SELECT e.measure_id, e.participants FROM event_facts e \
         JOIN import_facts i ON i.fact_id = e.id AND i.kind = 'cultural_events' \
         ORDER BY e.measure_id",
    )
    .await;
    assert_eq!(events, ["7.1|18", "7.5|27"]);
    // Each upload is in the access log, with who sent it and the clients it held.
    let audit = rows(
        &hub.audit,
        "SELECT subject, operation_name, decision, client_ids FROM audit_events \
         WHERE operation_type = 'import' AND operation_name = 'guidance_sessions'",
    )
    .await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert!(audit[0].starts_with("feed-employment|guidance_sessions|allowed|"));
    assert!(audit[0].contains(&client_id(AMINA)) && audit[0].contains(&client_id(OMAR)));
    assert!(!audit[0].contains(&client_id(VAN)));
    hub.stop().await;
}

async fn an_upload_is_refused_to_every_role_but_the_owning_divisions_importer(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let path = "/import/education/enrolments";
    let mut refused = vec![
        importer_of("social"),
        Principal::new("feed-none", [Role::Importer], [], None),
    ];
    for role in [Role::Officer, Role::Analyst, Role::Auditor, Role::Admin] {
        refused.push(Principal::new(
            format!("someone-{role}"),
            [role],
            ["education-division".to_owned()],
            Some("education".to_owned()),
        ));
    }
    for who in &refused {
        let (status, answer) =
            upload(&hub, Some(who), path, example("enrolments.csv"), "text/csv").await;
        assert_eq!(status, 403, "{who:?}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["code"], "FORBIDDEN");
    }
    let (status, answer) = upload(&hub, None, path, example("enrolments.csv"), "text/csv").await;
    assert_eq!(status, 401, "{answer}");
    assert_eq!(
        rows(
            &hub.dbs.education,
            "SELECT count(*) AS n FROM import_sources"
        )
        .await,
        ["0"],
        "nothing written"
    );
    let logged = rows(
        &hub.audit,
        "SELECT subject, decision, status FROM audit_events \
         WHERE operation_type = 'import' ORDER BY seq",
    )
    .await;
    let mut expected: Vec<String> = refused
        .iter()
        .map(|who| format!("{}|refused|403", who.subject))
        .collect();
    expected.push("|refused|401".to_owned());
    assert_eq!(logged, expected);

    // The owner's importer is let in; an unknown kind is named, a bad format explained.
    let education = importer_of("education");
    let (status, answer) = upload(
        &hub,
        Some(&education),
        "/import/education/enrolment",
        Vec::new(),
        "text/csv",
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("enrolments, joint_application_results, qualifications, education_events"),
        "{answer}"
    );
    let (status, answer) = upload(
        &hub,
        Some(&education),
        path,
        example("enrolments.csv"),
        "application/pdf",
    )
    .await;
    assert_eq!(status, 415, "{answer}");
    // Its clients are not there yet: every row is rejected with the reason.
    let (status, answer) = upload(
        &hub,
        Some(&education),
        &format!("{path}?dryRun=true"),
        example("enrolments.csv"),
        "text/csv",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["rejected"], 2);
    assert_eq!(
        answer["rejects"][0],
        json!({ "line": 2, "column": "identity_code",
                "reason": "no client with this identity code: import them as clients first" })
    );
    // A form with the file as its one file part, as a browser or `curl -F` sends it.
    let mut form = b"--kotohub-form\r\nContent-Disposition: form-data; name=\"file\"; \
        filename=\"clients.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        .to_vec();
    form.extend(example("clients.csv"));
    form.extend(b"\r\n--kotohub-form--\r\n");
    let (status, answer) = upload(
        &hub,
        Some(&education),
        "/import/programme/clients?dryRun=true",
        form,
        "multipart/form-data; boundary=kotohub-form",
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["rows"].as_u64(), answer["rejected"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!(answer["dryRun"], true);
    assert_eq!(
        rows(
            &hub.dbs.programme,
            "SELECT count(*) AS n FROM import_sources"
        )
        .await,
        ["0"],
        "a dry run writes nothing"
    );
    hub.stop().await;
}

async fn bad_records_are_reported_row_by_row_and_good_ones_written(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let pseudonymiser = Pseudonymiser::new(IDENTITY_SECRET);
    let importer = importer(&pseudonymiser);
    let dbs = &hub.dbs;
    import_example_clients(&importer, &dbs.programme).await;
    let file = [
        "source_id;identity_code;measure_id;body_id;programme;started_on;ended_on;status",
        "E1;290232+2344;4.4;education-division;s2;2024-08-12;;active",
        "E2;290232+2344;4.4;ohjaamo;s2;2024-08-12;;active",
        "E3;290232+2344;99.9;education-division;s2;2024-08-12;;active",
        "E4;010190-123M;4.4;education-division;s2;2024-08-12;;active",
        "E5;290232+2344;4.4;education-division;latin;2024-08-12;;paused",
        "E6;290232+2344;4.4;education-division;s2;2024-08-12;2024-01-01;completed",
        "E7;290232+2344;4.4;education-division;s2;1820-01-01;;active",
        "E8;290232+2344;4.4;education-division;s2;2031-01-01;;active",
        "E9;290232+2344;4.4;education-division;s2;12.8.2024;;active",
    ]
    .join("\n");
    let kind = enrolments();
    let imported = importer
        .records(
            kind,
            &dbs.education,
            &dbs.programme,
            file.as_bytes(),
            Format::Csv,
            |_, _| {},
        )
        .await
        .unwrap();
    assert_eq!((imported.rows, imported.rejected_rows), (9, 8));
    assert_eq!(imported.counts.inserted, 1);
    let reasons: Vec<(usize, String, String)> = {
        let mut all: Vec<_> = imported
            .rejected
            .iter()
            .map(|r| {
                (
                    r.line,
                    r.column.clone().unwrap_or_default(),
                    r.reason.clone(),
                )
            })
            .collect();
        all.sort();
        all
    };
    let at = |line: usize| -> Vec<(String, String)> {
        reasons
            .iter()
            .filter(|(l, _, _)| *l == line)
            .map(|(_, c, r)| (c.clone(), r.clone()))
            .collect()
    };
    assert_eq!(at(3)[0].0, "body_id");
    assert!(
        at(3)[0].1.starts_with("\"ohjaamo\" is not responsible for measure 4.4; the bodies that are: education-division"),
        "{:?}",
        at(3)
    );
    assert_eq!(
        at(4),
        [(
            "measure_id".to_owned(),
            "the programme has no measure \"99.9\"".to_owned()
        )]
    );
    assert_eq!(
        at(5),
        [(
            "identity_code".to_owned(),
            "no client with this identity code: import them as clients first".to_owned()
        )]
    );
    let line6: Vec<String> = at(6).into_iter().map(|(c, _)| c).collect();
    assert_eq!(line6, ["programme", "status"]);
    assert!(
        at(6)[0]
            .1
            .contains("s2, preparatory, parents_language_course")
    );
    assert_eq!(
        at(7),
        [("ended_on".to_owned(), "before started_on".to_owned())]
    );
    assert_eq!(
        at(8),
        [(
            "started_on".to_owned(),
            "before the client was born".to_owned()
        )]
    );
    assert_eq!(
        at(9),
        [("started_on".to_owned(), "in the future".to_owned())]
    );
    assert_eq!(at(10)[0].0, "started_on");
    // The one good row is the one record written, in the division and the register.
    assert_eq!(
        rows(
            &dbs.education,
            "SELECT e.programme, e.status FROM enrolments e \
             JOIN import_sources s ON s.record_id = e.id AND s.kind = 'enrolments'"
        )
        .await,
        ["s2|active"]
    );
    let omar = client_id(OMAR);
    assert_eq!(
        rows(
            &dbs.programme,
            &format!(
                "SELECT measure_id, body_id, division_id, year, quarter, age_group \
                 FROM client_facts WHERE client_id = '{omar}'"
            )
        )
        .await,
        ["4.4|education-division|education|2024|3|65-"]
    );
    hub.stop().await;
}

async fn a_changed_record_moves_its_fact_and_the_scope_of_its_bodies(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let pseudonymiser = Pseudonymiser::new(IDENTITY_SECRET);
    let importer = importer(&pseudonymiser);
    let dbs = &hub.dbs;
    import_example_clients(&importer, &dbs.programme).await;
    let kind = enrolments();
    let import = |bytes: Vec<u8>| {
        let importer = &importer;
        async move {
            importer
                .records(
                    kind,
                    &dbs.education,
                    &dbs.programme,
                    &bytes,
                    Format::Csv,
                    |_, _| {},
                )
                .await
                .unwrap()
                .counts
        }
    };
    let original = example("enrolments.csv");
    assert_eq!(import(original.clone()).await.inserted, 2);
    let again = import(original.clone()).await;
    assert_eq!((again.inserted, again.updated, again.unchanged), (0, 0, 2));

    let (sara, amina) = (client_id(SARA), client_id(AMINA));
    let pairs = |client: String| async move {
        rows(
            &dbs.programme,
            &format!("SELECT body_id FROM client_bodies WHERE client_id = '{client}'"),
        )
        .await
    };
    assert_eq!(pairs(sara.clone()).await, ["education-division"]);
    assert!(pairs(amina.clone()).await.is_empty());

    // EDU-EN-2 was Sara's by mistake: it is Amina's.
    let corrected = String::from_utf8(original)
        .unwrap()
        .replace("EDU-EN-2;311231+7894", &format!("EDU-EN-2;{AMINA}"));
    let counts = import(corrected.into_bytes()).await;
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (0, 1, 1)
    );
    assert!(
        pairs(sara.clone()).await.is_empty(),
        "no record of Sara is left"
    );
    assert_eq!(pairs(amina.clone()).await, ["education-division"]);
    assert_eq!(
        rows(
            &dbs.education,
            &format!(
                "SELECT count(*) AS n FROM enrolments WHERE client_id IN ('{sara}', '{amina}')"
            )
        )
        .await,
        ["1"],
        "the record moved, none was added"
    );
    assert_eq!(
        rows(
            &dbs.programme,
            &format!("SELECT client_id FROM client_facts WHERE client_id IN ('{sara}', '{amina}')")
        )
        .await,
        [amina.as_str()]
    );
    let officer = principal(Role::Officer, &["education-division"]);
    let answer = hub
        .query_as(
            "gateway",
            &officer,
            "query($id: ID!) { client(id: $id) { enrolments { startedOn } } }",
            json!({ "id": sara }),
        )
        .await;
    assert!(answer["data"]["client"].is_null(), "{answer}");
    hub.stop().await;
}

/// A large file of enrolments imported by the command, killed once some batches are in,
/// and run again: every record once in the division, once in the register, each client
/// given to the body once — whether the kill fell inside a batch or between its two
/// commits.
async fn a_records_import_killed_half_way_and_run_again_loses_and_repeats_nothing(
    backend: Backend,
) {
    use sea_orm::ConnectionTrait;
    use std::process::{Command, Stdio};
    const ROWS: usize = 30_000;
    let _schemas = crate::helpers::COMMAND_SCHEMAS.lock().await;
    let dir = std::env::temp_dir().join(format!(
        "kotohub-records-kill-{}-{backend:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut clients = String::from(
        "source_id,identity_code,name,gender,mother_tongue,district,background,arrival_year",
    );
    let mut enrolments = String::from(
        "source_id,identity_code,measure_id,body_id,programme,started_on,ended_on,status",
    );
    for n in 0..ROWS {
        let code = crate::import::synthetic_code(n);
        clients.push_str(&format!(
            "\nK{n},{code},Person {n},other,so,itainen,immigrant,2015"
        ));
        enrolments.push_str(&format!(
            "\nE{n},{code},4.4,education-division,s2,2024-08-12,,active"
        ));
    }
    std::fs::write(dir.join("clients.csv"), clients).unwrap();
    std::fs::write(dir.join("enrolments.csv"), enrolments).unwrap();
    let data_dir = dir.join("data");
    let mut target: Vec<String> = vec![
        "--json".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    let urls: Box<dyn Fn(&str) -> String> = match backend {
        Backend::Sqlite => {
            let data_dir = data_dir.clone();
            Box::new(move |subgraph| kotohub::databases::sqlite_url(&data_dir, subgraph))
        }
        Backend::Postgres => {
            let Some(url) = crate::helpers::postgres_url() else {
                return;
            };
            let admin = kotohub_subgraph::db::connect(&url, "public").await.unwrap();
            admin
                .execute_unprepared(
                    "DROP SCHEMA IF EXISTS programme CASCADE; \
                     DROP SCHEMA IF EXISTS education CASCADE",
                )
                .await
                .unwrap();
            target.push("--database-url".into());
            target.push(url.clone());
            Box::new(move |_| url.clone())
        }
    };
    let command = |subgraph: &str, kind: &str, file: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kotohub"));
        command
            .args(["import", "--subgraph", subgraph, "--kind", kind])
            .arg(dir.join(file))
            .args(&target)
            .env_remove("KOTOHUB_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    };
    let output = command("programme", "clients", "clients.csv")
        .output()
        .unwrap();
    assert!(output.status.success());

    let child = command("education", "enrolments", "enrolments.csv")
        .spawn()
        .unwrap();
    let written = crate::import::kill_once_written(child, "education", &urls("education")).await;
    assert!(
        written > 0 && written < ROWS,
        "killed with {written} of {ROWS} rows written"
    );

    let output = command("education", "enrolments", "enrolments.csv")
        .output()
        .unwrap();
    assert!(output.status.success());
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["rows"], ROWS);
    assert_eq!(summary["rejected"], 0);
    assert_eq!(summary["updated"], 0);
    let unchanged = summary["unchanged"].as_u64().unwrap() as usize;
    assert!(unchanged >= written, "{summary}");
    assert_eq!(
        unchanged + summary["inserted"].as_u64().unwrap() as usize,
        ROWS
    );

    let education = kotohub::databases::open("education", &urls("education"))
        .await
        .unwrap();
    let programme = kotohub::databases::open("programme", &urls("programme"))
        .await
        .unwrap();
    let n = ROWS.to_string();
    for (db, sql) in [
        (&education, "SELECT count(*) AS n FROM enrolments"),
        (
            &education,
            "SELECT count(DISTINCT client_id) AS n FROM enrolments",
        ),
        (
            &programme,
            "SELECT count(*) AS n FROM import_facts WHERE kind = 'enrolments'",
        ),
        (&programme, "SELECT count(*) AS n FROM client_facts"),
        (
            &programme,
            "SELECT count(DISTINCT client_id) AS n FROM client_facts",
        ),
        (
            &programme,
            "SELECT count(*) AS n FROM client_bodies WHERE body_id = 'education-division'",
        ),
    ] {
        assert_eq!(rows(db, sql).await, [n.as_str()], "{sql}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

async fn population_figures_import_as_cells_a_later_release_corrects(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 20).await else {
        return;
    };
    let pseudonymiser = Pseudonymiser::new(IDENTITY_SECRET);
    let importer = importer(&pseudonymiser);
    let programme = &hub.dbs.programme;
    let import = |bytes: Vec<u8>| {
        let importer = &importer;
        async move {
            importer
                .import(
                    Target::of("programme", "population").unwrap(),
                    programme,
                    None,
                    &bytes,
                    Format::Csv,
                    |_, _| {},
                )
                .await
                .unwrap()
        }
    };
    let itainen = "SELECT residents AS n FROM population_figures \
                   WHERE year = 2017 AND district = 'itainen' AND mother_tongue_group = 'somali' \
                   AND age_group = '30-44'";
    // 2017: a year before the demo's own figures begin.
    let first = import(example("population.csv")).await;
    assert_eq!((first.rows, first.rejected_rows), (5, 0));
    assert_eq!(first.counts.inserted, 5);
    assert_eq!(rows(programme, itainen).await, ["1210"]);
    // The same release again changes nothing.
    let again = import(example("population.csv")).await;
    assert_eq!((again.counts.inserted, again.counts.unchanged), (0, 5));
    // A corrected release: one cell's figure changes; a row with faults is reported and
    // writes nothing.
    let corrected = "year,district,mother_tongue_group,age_group,residents,source\n\
        2017,itainen,somali,30-44,1250,\"Helsinki statistics office, corrected\"\n\
        2017,itainen,klingon,30-44,-1,\"x\"\n";
    let fixed = import(corrected.as_bytes().to_vec()).await;
    assert_eq!((fixed.rows, fixed.rejected_rows), (2, 1));
    assert_eq!((fixed.counts.updated, fixed.counts.inserted), (1, 0));
    let columns: Vec<&str> = fixed
        .rejected
        .iter()
        .filter_map(|r| r.column.as_deref())
        .collect();
    assert_eq!(columns, ["mother_tongue_group", "residents"]);
    assert_eq!(rows(programme, itainen).await, ["1250"]);
    assert_eq!(
        rows(
            programme,
            "SELECT count(*) AS n FROM population_figures WHERE year = 2017 \
             AND source LIKE 'Helsinki%'"
        )
        .await,
        ["5"]
    );
    hub.stop().await;
}
