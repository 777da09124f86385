//! Importing a division's file of clients into a running hub's programme database: good
//! rows written, bad ones reported by line and column, identity codes kept nowhere,
//! re-imports idempotent and changed rows updated — on SQLite and PostgreSQL.

use chrono::NaiveDate;
use kotohub::import::identity::Pseudonymiser;
use kotohub::import::table::Format;
use kotohub::import::{Importer, rejects_csv};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(
    good_rows_are_written_and_bad_rows_reported_without_their_codes,
    a_reimport_changes_nothing_and_a_changed_row_updates
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
async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<String> {
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
        .clients(db, mixed_file().as_bytes(), Format::Csv, |_| {})
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
        .clients(db, file.as_bytes(), Format::Csv, |_| {})
        .await
        .unwrap();
    assert_eq!(first.counts.inserted, 2);
    let before = rows(db, "SELECT id, name FROM clients ORDER BY id").await;

    let again = importer
        .clients(db, file.as_bytes(), Format::Csv, |_| {})
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

    let changed = file.replace("Amina Hassan", "Amina Hassan Ali");
    let third = importer
        .clients(db, changed.as_bytes(), Format::Csv, |_| {})
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
    let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let amina = pseudonymiser
        .identify("150334+123U", today)
        .unwrap()
        .client_id;
    assert_eq!(
        rows(
            db,
            &format!("SELECT name FROM clients WHERE id = '{amina}'")
        )
        .await,
        ["Amina Hassan Ali"]
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
