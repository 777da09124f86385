//! Importing a division's file of clients into a running hub's programme database: good
//! rows written, bad ones reported by line and column, identity codes kept nowhere,
//! re-imports idempotent and changed rows updated, an import killed half-way rerun
//! whole — on SQLite and PostgreSQL — and every import in the access log.

use chrono::NaiveDate;
use kotohub::import::identity::Pseudonymiser;
use kotohub::import::table::Format;
use kotohub::import::{Importer, rejects_csv};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(
    good_rows_are_written_and_bad_rows_reported_without_their_codes,
    a_reimport_changes_nothing_and_a_changed_row_updates,
    a_source_record_twice_in_one_file_ends_as_its_last_row,
    an_import_killed_half_way_and_run_again_loses_and_repeats_nothing
);

const HEADER: &str =
    "source_id,identity_code,name,gender,mother_tongue,district,background,arrival_year";

/// Line 2 and 5 are good; 3 has a wrong check character, 4 an unknown district, 6 too
/// few fields.
fn mixed_file() -> String {
    [
        HEADER,
        "S1,150334+123U,Amina Hassan,female,so,itainen,immigrant,2015",
        "S2,150334+123V,Wrong Check,female,so,itainen,immigrant,2015",
        "S3,020738+456E,Van Nguyen,male,vi,kallio,immigrant,2019",
        "S4,311231+7894,Sara Lindqvist,female,sv,etelainen,finnish_background,",
        "S5,too,few",
    ]
    .join("\n")
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new("import-test-key-0123456789abcdef-0123")
}

fn importer(pseudonymiser: &Pseudonymiser) -> Importer<'_> {
    Importer {
        pseudonymiser,
        subject: "test:importer",
        dry_run: false,
        today: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
    }
}

/// Every row `sql` selects, each as its columns joined by `|`, read in the maintenance
/// scope that row-level security on PostgreSQL asks for.
pub(crate) async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<String> {
    let txn = db.begin().await.unwrap();
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SELECT set_config('kotohub.scope', 'all', true)")
            .await
            .unwrap();
    }
    let backend = txn.get_database_backend();
    let found = txn
        .query_all_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    found
        .iter()
        .map(|row| {
            let text = |column: &str| {
                row.try_get::<String>("", column)
                    .or_else(|_| row.try_get::<i32>("", column).map(|n| n.to_string()))
                    .or_else(|_| row.try_get::<i64>("", column).map(|n| n.to_string()))
                    .unwrap_or_default()
            };
            row.column_names()
                .iter()
                .map(|column| text(column))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

async fn good_rows_are_written_and_bad_rows_reported_without_their_codes(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let db = &hub.dbs.programme;
    let pseudonymiser = pseudonymiser();
    let imported = importer(&pseudonymiser)
        .clients(db, mixed_file().as_bytes(), Format::Csv, |_, _| {})
        .await
        .unwrap();
    assert_eq!(imported.rows, 5);
    assert_eq!(imported.rejected_rows, 3);
    assert_eq!(imported.counts.inserted, 2);
    let rejects = rejects_csv(&imported.rejected);
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines[0], "line,column,reason");
    assert!(
        lines[1].starts_with("3,identity_code,the check character"),
        "{rejects}"
    );
    assert!(
        lines[2].starts_with("4,district,\"\"\"kallio\"\" is not one of"),
        "{rejects}"
    );
    assert!(lines[3].starts_with("6,,the row has 3 fields"), "{rejects}");
    assert!(
        !rejects.contains("150334"),
        "no code in the rejects: {rejects}"
    );

    let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let amina = pseudonymiser
        .identify("150334+123U", today)
        .unwrap()
        .client_id;
    let clients = rows(
        db,
        &format!("SELECT id, name, birth_year FROM clients WHERE id = '{amina}'"),
    )
    .await;
    assert_eq!(clients, [format!("{amina}|Amina Hassan|1834")]);
    // The code is in no table the import wrote.
    for sql in [
        "SELECT * FROM import_sources",
        "SELECT id, name FROM clients",
        "SELECT id, subgraph, kind, subject, file_sha256 FROM import_runs",
    ] {
        let found = rows(db, sql).await;
        assert!(!found.is_empty(), "{sql}");
        assert!(
            found
                .iter()
                .all(|row| !row.contains("150334") && !row.contains("311231")),
            "{sql}: {found:?}"
        );
    }
    let runs = rows(
        db,
        "SELECT subject, kind, rows_read, inserted, rejected FROM import_runs",
    )
    .await;
    assert_eq!(runs, ["test:importer|clients|5|2|3"]);
    hub.stop().await;
}

async fn a_reimport_changes_nothing_and_a_changed_row_updates(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let db = &hub.dbs.programme;
    let pseudonymiser = pseudonymiser();
    let importer = importer(&pseudonymiser);
    let file = mixed_file();
    let first = importer
        .clients(db, file.as_bytes(), Format::Csv, |_, _| {})
        .await
        .unwrap();
    assert_eq!(first.counts.inserted, 2);
    let before = rows(db, "SELECT id, name FROM clients ORDER BY id").await;

    let again = importer
        .clients(db, file.as_bytes(), Format::Csv, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (
            again.counts.inserted,
            again.counts.updated,
            again.counts.unchanged
        ),
        (0, 0, 2)
    );
    assert_eq!(
        rows(db, "SELECT id, name FROM clients ORDER BY id").await,
        before
    );

    // A record of Amina's in the statistics register, with her dimensions as they are.
    let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let amina = pseudonymiser
        .identify("150334+123U", today)
        .unwrap()
        .client_id;
    let txn = db.begin().await.unwrap();
    txn.execute_unprepared(&format!(
        "INSERT INTO client_facts (client_id, measure_id, body_id, division_id, year, quarter, \
         district, mother_tongue_group, age_group, gender, background, outcome, record_key) \
         VALUES ('{amina}', '1.1', 'helsinki-skill-center', 'employment', 2025, 1, \
         'itainen', 'somali', '16-29', 'female', 'immigrant', NULL, 7)"
    ))
    .await
    .unwrap();
    txn.commit().await.unwrap();

    let changed = file
        .replace("Amina Hassan", "Amina Hassan Ali")
        .replace("female,so,itainen", "female,ar,keskinen");
    let third = importer
        .clients(db, changed.as_bytes(), Format::Csv, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (
            third.counts.inserted,
            third.counts.updated,
            third.counts.unchanged
        ),
        (0, 1, 1)
    );
    assert_eq!(
        rows(
            db,
            &format!("SELECT name FROM clients WHERE id = '{amina}'")
        )
        .await,
        ["Amina Hassan Ali"]
    );
    assert_eq!(
        rows(
            db,
            &format!(
                "SELECT district, mother_tongue_group, age_group FROM client_facts WHERE client_id = '{amina}'"
            )
        )
        .await,
        ["keskinen|arabic|16-29"],
        "the register counts her where she lives now, in the language she speaks"
    );
    assert_eq!(
        rows(db, "SELECT count(*) AS n FROM import_sources").await,
        ["2"],
        "one source record per source id, however often imported"
    );
    assert_eq!(
        rows(db, "SELECT count(*) AS n FROM import_runs").await,
        ["3"]
    );
    hub.stop().await;
}

/// One batch holding the same source record twice, and two source records of one
/// person: the file's order decides, and no statement touches a row twice.
async fn a_source_record_twice_in_one_file_ends_as_its_last_row(backend: Backend) {
    let Some(hub) = Hub::start(backend).await else {
        return;
    };
    let db = &hub.dbs.programme;
    let pseudonymiser = pseudonymiser();
    let file = [
        HEADER,
        "D1,150334+123U,First Name,female,so,itainen,immigrant,2015",
        "D1,150334+123U,Second Name,female,so,itainen,immigrant,2015",
        "D2,150334+123U,Third Name,female,so,itainen,immigrant,2015",
    ]
    .join("\n");
    let imported = importer(&pseudonymiser)
        .clients(db, file.as_bytes(), Format::Csv, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (
            imported.counts.inserted,
            imported.counts.updated,
            imported.counts.unchanged
        ),
        (2, 1, 0)
    );
    let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let id = pseudonymiser
        .identify("150334+123U", today)
        .unwrap()
        .client_id;
    assert_eq!(
        rows(db, &format!("SELECT name FROM clients WHERE id = '{id}'")).await,
        ["Third Name"]
    );
    assert_eq!(
        rows(
            db,
            "SELECT source_id, client_id FROM import_sources ORDER BY source_id"
        )
        .await,
        [format!("D1|{id}"), format!("D2|{id}")]
    );
    hub.stop().await;
}

/// Kills the import `child` once it has written some batches into the `subgraph`
/// database at `url` (its `import_sources`); returns how many source records it had
/// written. One connection polls, gently: the hub's other tests run beside this one.
pub(crate) async fn kill_once_written(
    mut child: std::process::Child,
    subgraph: &str,
    url: &str,
) -> usize {
    let started = std::time::Instant::now();
    let mut written = 0;
    let mut watcher: Option<DatabaseConnection> = None;
    while started.elapsed() < std::time::Duration::from_secs(120) {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        if watcher.is_none() {
            watcher = kotohub::databases::open(subgraph, url).await.ok();
        }
        let Some(db) = &watcher else {
            continue;
        };
        let count = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT count(*) AS n FROM import_sources".to_owned(),
            ))
            .await;
        if let Ok(Some(row)) = count {
            written = row.try_get::<i64>("", "n").unwrap_or_default() as usize;
            if written > 0 {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    written
}

/// A valid identity code for the `n`-th person of a large file, born in the 1830s so that
/// it can be no one's.
pub(crate) fn synthetic_code(n: usize) -> String {
    const CHECK: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    let day = n % 28 + 1;
    let month = (n / 28) % 12 + 1;
    let year = 30 + (n / 336) % 10;
    let individual = 2 + n / 3360;
    let digits = format!("{day:02}{month:02}{year:02}{individual:03}");
    let check = CHECK[(digits.parse::<u64>().unwrap() % 31) as usize] as char;
    format!("{day:02}{month:02}{year:02}+{individual:03}{check}")
}

async fn an_import_killed_half_way_and_run_again_loses_and_repeats_nothing(backend: Backend) {
    use std::process::{Command, Stdio};
    const ROWS: usize = 60_000;
    // The command on PostgreSQL writes the schemas named after the subgraphs.
    let _schemas = crate::helpers::COMMAND_SCHEMAS.lock().await;
    let dir = std::env::temp_dir().join(format!(
        "kotohub-import-kill-{}-{backend:?}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut file = String::from(HEADER);
    for n in 0..ROWS {
        file.push_str(&format!(
            "\nK{n},{},Person {n},other,fi,keskinen,finnish_background,",
            synthetic_code(n)
        ));
    }
    let path = dir.join("clients.csv");
    std::fs::write(&path, file).unwrap();
    let mut args: Vec<String> = vec![
        "import".into(),
        "--subgraph".into(),
        "programme".into(),
        "--kind".into(),
        "clients".into(),
        path.display().to_string(),
        "--json".into(),
        "--data-dir".into(),
        dir.join("data").display().to_string(),
    ];
    let url = match backend {
        Backend::Sqlite => kotohub::databases::sqlite_url(&dir.join("data"), "programme"),
        Backend::Postgres => {
            let Some(url) = crate::helpers::postgres_url() else {
                return;
            };
            // The command writes the programme schema of the database it is given.
            let admin = kotohub_subgraph::db::connect(&url, "public").await.unwrap();
            admin
                .execute_unprepared("DROP SCHEMA IF EXISTS programme CASCADE")
                .await
                .unwrap();
            args.push("--database-url".into());
            args.push(url.clone());
            url
        }
    };
    let command = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kotohub"));
        command
            .args(&args)
            .env_remove("KOTOHUB_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        command
    };
    let sources = |db: DatabaseConnection| async move {
        rows(&db, "SELECT count(*) AS n FROM import_sources").await[0]
            .parse::<usize>()
            .unwrap()
    };
    let written = kill_once_written(command().spawn().unwrap(), "programme", &url).await;
    assert!(
        written > 0 && written < ROWS,
        "killed with {written} of {ROWS} rows written"
    );

    let output = command().output().unwrap();
    assert!(output.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["rows"], ROWS);
    assert_eq!(summary["updated"], 0);
    let unchanged = summary["unchanged"].as_u64().unwrap() as usize;
    let inserted = summary["inserted"].as_u64().unwrap() as usize;
    assert!(unchanged >= written, "{summary}");
    assert_eq!(unchanged + inserted, ROWS, "{summary}");
    let db = kotohub::databases::open("programme", &url).await.unwrap();
    assert_eq!(sources(db.clone()).await, ROWS, "one source record per row");
    assert_eq!(
        rows(&db, "SELECT count(*) AS n FROM clients").await,
        [ROWS.to_string()],
        "one client per person, none twice"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The command on the documented example file: its summary, its rejects file, and its
/// event in the access log, whose chain still verifies.
#[tokio::test]
async fn the_command_imports_the_example_file_and_leaves_its_event_in_the_access_log() {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("kotohub-import-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/import/clients.csv");
    let mut file = std::fs::read_to_string(example).unwrap();
    // One bad row beside the example's good ones.
    file.push_str("HSC-1005;311231+7895;Bad Check;male;fi;keskinen;finnish_background;;\r\n");
    let path = dir.join("clients.csv");
    std::fs::write(&path, file).unwrap();
    let data = dir.join("data");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kotohub"))
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .env_remove("KOTOHUB_DATABASE_URL")
            .output()
            .unwrap()
    };
    let path_text = path.display().to_string();
    let output = run(&[
        "import",
        "--subgraph",
        "programme",
        "--kind",
        "clients",
        &path_text,
        "--json",
    ]);
    assert!(output.status.success(), "{output:?}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (&summary["rows"], &summary["rejected"], &summary["inserted"]),
        (
            &serde_json::json!(5),
            &serde_json::json!(1),
            &serde_json::json!(4)
        ),
        "{summary}"
    );
    let rejects = std::fs::read_to_string(dir.join("clients.rejects.csv")).unwrap();
    assert_eq!(
        rejects,
        "line,column,reason\r\n6,identity_code,the check character does not match the rest of the code\r\n"
    );

    let audit = kotohub::databases::open(
        kotohub::AUDIT,
        &kotohub::databases::sqlite_url(&data, kotohub::AUDIT),
    )
    .await
    .unwrap();
    let events = rows(
        &audit,
        "SELECT subject, operation_type, operation_name, row_count, decision, error_codes, client_ids FROM audit_events",
    )
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event: Vec<&str> = events[0].split('|').collect();
    assert!(event[0].starts_with("cli:"), "{events:?}");
    assert_eq!(
        &event[1..6],
        ["import", "clients", "4", "partial", "[\"ROWS_REJECTED\"]"]
    );
    assert_eq!(
        event[6].matches('p').count(),
        4,
        "four clients: {}",
        event[6]
    );
    assert!(!events[0].contains("150334"), "no identity code in the log");

    let verified = run(&["audit", "verify"]);
    assert!(verified.status.success(), "{verified:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A file that is not UTF-8 is refused whole, says so, and is in the access log as
/// refused.
#[tokio::test]
async fn a_file_that_is_not_utf8_is_refused_and_logged() {
    use std::process::Command;
    let dir = std::env::temp_dir().join(format!("kotohub-import-latin1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("clients.csv");
    let mut file = HEADER.as_bytes().to_vec();
    file.extend_from_slice(b"\nL1,150334+123U,M\xe4kinen,female,fi,keskinen,immigrant,2015\n");
    std::fs::write(&path, file).unwrap();
    let data = dir.join("data");
    let output = Command::new(env!("CARGO_BIN_EXE_kotohub"))
        .args(["import", "--subgraph", "programme", "--kind", "clients"])
        .arg(&path)
        .arg("--data-dir")
        .arg(&data)
        .env_remove("KOTOHUB_DATABASE_URL")
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not UTF-8 (line 2)"), "{stderr}");
    let audit = kotohub::databases::open(
        kotohub::AUDIT,
        &kotohub::databases::sqlite_url(&data, kotohub::AUDIT),
    )
    .await
    .unwrap();
    let events = rows(
        &audit,
        "SELECT operation_type, decision, status, error_codes, client_ids FROM audit_events",
    )
    .await;
    assert_eq!(
        events,
        ["import|refused|400|[\"IMPORT_FILE_UNREADABLE\"]|[]"]
    );
    std::fs::remove_dir_all(&dir).ok();
}
