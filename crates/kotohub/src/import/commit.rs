//! Writing checked rows, the last step of an import. Rows are written in batches, each
//! batch one transaction: a row is applied whole or not at all, and an import killed
//! half-way leaves whole batches that a rerun finds unchanged. Every row's source record
//! is kept with the hash of what it last held (`import_sources`), so re-importing a file
//! changes nothing and a changed row updates the record it came from; each run is kept
//! with who ran it, the file's SHA-256 and its counts (`import_runs`). The statistics
//! register keeps a copy of each client's dimensions on every record it counts
//! (`client_facts`); a client written here has them updated in the same transaction, so
//! aggregates never count a client under its old district or language.

use chrono::{DateTime, Utc};
use kotohub_programme::entity::client;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    TransactionTrait,
};
use sha2::{Digest, Sha256};

use super::clients;

/// How many rows one transaction writes.
pub const BATCH_ROWS: usize = 500;

/// What an import did with the rows it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows whose source record was new.
    pub inserted: usize,
    /// Rows whose source record held something else before.
    pub updated: usize,
    /// Rows whose source record already held exactly this.
    pub unchanged: usize,
}

/// One import run, as it is recorded.
pub struct Run {
    pub id: String,
    pub subgraph: &'static str,
    pub kind: &'static str,
    /// Who ran it: the importer's subject.
    pub subject: String,
    pub file_sha256: String,
    pub started_at: DateTime<Utc>,
}

/// Writes `rows` of the clients kind into the programme database, calling `progress`
/// with the number of rows written after each batch.
pub async fn clients(
    db: &DatabaseConnection,
    run: &Run,
    rows: &[clients::Checked],
    mut progress: impl FnMut(usize),
) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    let mut written = 0;
    for batch in rows.chunks(BATCH_ROWS) {
        let txn = db.begin().await?;
        if txn.get_database_backend() == DbBackend::Postgres {
            // Row-level security hides clients from anyone but their bodies; the importer
            // works in the maintenance scope, for this transaction only.
            txn.execute_unprepared("SELECT set_config('kotohub.scope', 'all', true)")
                .await?;
        }
        for row in batch {
            let hash = row_hash(row);
            match known_hash(&txn, run.kind, &row.source_id).await? {
                Some(known) if known == hash => {
                    counts.unchanged += 1;
                    continue;
                }
                Some(_) => counts.updated += 1,
                None => counts.inserted += 1,
            }
            upsert_client(&txn, &row.client).await?;
            update_facts(&txn, &row.client).await?;
            let source = Query::insert()
                .into_table("import_sources")
                .columns(["kind", "source_id", "client_id", "row_hash", "run_id"])
                .values([
                    run.kind.into(),
                    row.source_id.clone().into(),
                    row.client.id.clone().into(),
                    hash.into(),
                    run.id.clone().into(),
                ])
                .map_err(|e| DbErr::Custom(e.to_string()))?
                .on_conflict(
                    OnConflict::columns(["kind", "source_id"])
                        .update_columns(["client_id", "row_hash", "run_id"])
                        .to_owned(),
                )
                .to_owned();
            txn.execute(&source).await?;
        }
        txn.commit().await?;
        written += batch.len();
        progress(written);
    }
    Ok(counts)
}

/// Records a finished run with its counts.
pub async fn record_run(
    db: &DatabaseConnection,
    run: &Run,
    rows_read: usize,
    counts: Counts,
    rejected: usize,
) -> Result<(), DbErr> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let insert = Query::insert()
        .into_table("import_runs")
        .columns([
            "id",
            "subgraph",
            "kind",
            "subject",
            "file_sha256",
            "started_at",
            "finished_at",
            "rows_read",
            "inserted",
            "updated",
            "unchanged",
            "rejected",
        ])
        .values([
            run.id.clone().into(),
            run.subgraph.into(),
            run.kind.into(),
            run.subject.clone().into(),
            run.file_sha256.clone().into(),
            run.started_at.into(),
            Utc::now().into(),
            count(rows_read).into(),
            count(counts.inserted).into(),
            count(counts.updated).into(),
            count(counts.unchanged).into(),
            count(rejected).into(),
        ])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    db.execute(&insert).await?;
    Ok(())
}

/// The hash of what a row holds: the same row imported again has the same one.
fn row_hash(row: &clients::Checked) -> String {
    let client = &row.client;
    let canonical = serde_json::json!([
        row.source_id,
        client.id,
        client.name,
        client.birth_year,
        client.gender.to_value(),
        client.mother_tongue,
        client.district.to_value(),
        client.background.to_value(),
        client.arrival_year,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The hash the source record `source_id` of `kind` last held, if it was imported before.
async fn known_hash(
    db: &impl ConnectionTrait,
    kind: &str,
    source_id: &str,
) -> Result<Option<String>, DbErr> {
    let select = Query::select()
        .column("row_hash")
        .from("import_sources")
        .and_where(Expr::col("kind").eq(kind))
        .and_where(Expr::col("source_id").eq(source_id))
        .to_owned();
    let row = db.query_one(&select).await?;
    row.map(|row| row.try_get::<String>("", "row_hash"))
        .transpose()
}

/// Gives the register's records of `client` its current dimensions. Its year of birth,
/// and so the age groups, cannot change: the client id is derived from the identity code
/// that holds it.
async fn update_facts(db: &impl ConnectionTrait, client: &client::Model) -> Result<(), DbErr> {
    use kotohub_programme::entity::client_fact::MotherTongueGroup;
    let update = Query::update()
        .table("client_facts")
        .values([
            ("district", client.district.to_value().into()),
            (
                "mother_tongue_group",
                MotherTongueGroup::of(&client.mother_tongue)
                    .to_value()
                    .into(),
            ),
            ("gender", client.gender.to_value().into()),
            ("background", client.background.to_value().into()),
        ])
        .and_where(Expr::col("client_id").eq(client.id.as_str()))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// Inserts the client, or updates it when its id is known (another source record, or an
/// earlier version of this one).
async fn upsert_client(db: &impl ConnectionTrait, model: &client::Model) -> Result<(), DbErr> {
    use client::Column;
    let active: client::ActiveModel = model.clone().into();
    client::Entity::insert(active)
        .on_conflict(
            OnConflict::column(Column::Id)
                .update_columns([
                    Column::Name,
                    Column::BirthYear,
                    Column::Gender,
                    Column::MotherTongue,
                    Column::District,
                    Column::Background,
                    Column::ArrivalYear,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
