//! Writing checked rows, the last step of an import. Rows are written in batches, each
//! batch one transaction: a row is applied whole or not at all, and an import killed
//! half-way leaves whole batches that a rerun finds unchanged. Every row's source record
//! is kept with the hash of what it last held (`import_sources`), so re-importing a file
//! changes nothing and a changed row updates the record it came from; each run is kept
//! with who ran it, the file's SHA-256 and its counts (`import_runs`). The statistics
//! register keeps a copy of each client's dimensions on every record it counts
//! (`client_facts`); a client written here has them updated in the same transaction, so
//! aggregates never count a client under its old district or language.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kotohub_programme::entity::client;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait};
use sha2::{Digest, Sha256};

use super::clients;
use crate::seed::unrestricted;

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

impl Counts {
    /// Adds what another batch did.
    pub fn add(&mut self, other: Counts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
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

/// Writes `rows` of the clients kind into the programme database, a transaction per
/// [`BATCH_ROWS`].
pub async fn clients(
    db: &DatabaseConnection,
    run: &Run,
    rows: &[clients::Checked],
) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    for batch in rows.chunks(BATCH_ROWS) {
        // Row-level security hides clients from all but their bodies; the importer
        // reads and corrects them all.
        let txn = unrestricted(db).await?;
        // What the batch's source records held, read at once; then updated row by row,
        // so that a source record twice in one batch counts as the file means it.
        let mut known = known_hashes(&txn, run.kind, batch).await?;
        let mut clients_to_write: HashMap<&str, &client::Model> = HashMap::new();
        let mut sources_to_write: HashMap<&str, (&str, String)> = HashMap::new();
        for row in batch {
            let hash = row_hash(row);
            match known.get(row.source_id.as_str()) {
                Some(held) if *held == hash => {
                    counts.unchanged += 1;
                    continue;
                }
                Some(_) => counts.updated += 1,
                None => counts.inserted += 1,
            }
            known.insert(row.source_id.clone(), hash.clone());
            // One statement may not touch a row twice: the last of a batch's rows wins.
            clients_to_write.insert(row.client.id.as_str(), &row.client);
            sources_to_write.insert(row.source_id.as_str(), (row.client.id.as_str(), hash));
        }
        if !clients_to_write.is_empty() {
            let existing = existing_clients(&txn, clients_to_write.keys().copied()).await?;
            upsert_clients(&txn, clients_to_write.values().copied()).await?;
            // New clients have no records counted yet.
            for id in &existing {
                if let Some(client) = clients_to_write.get(id.as_str()) {
                    update_facts(&txn, client).await?;
                }
            }
            let mut source = Query::insert()
                .into_table("import_sources")
                .columns(["kind", "source_id", "client_id", "row_hash", "run_id"])
                .on_conflict(
                    OnConflict::columns(["kind", "source_id"])
                        .update_columns(["client_id", "row_hash", "run_id"])
                        .to_owned(),
                )
                .to_owned();
            for (source_id, (client_id, hash)) in sources_to_write {
                source
                    .values([
                        run.kind.into(),
                        source_id.into(),
                        client_id.into(),
                        hash.into(),
                        run.id.clone().into(),
                    ])
                    .map_err(|e| DbErr::Custom(e.to_string()))?;
            }
            txn.execute(&source).await?;
        }
        txn.commit().await?;
    }
    Ok(counts)
}

/// Has the database measure `tables` again. An import into tables whose statistics
/// still say they are small would otherwise go on looking each batch's 500 keys up with
/// plans made for small tables — on PostgreSQL a scan comparing every row with every key,
/// slower with every batch — until the database's own analysis comes round; and the
/// officers' lookups afterwards would be planned for them too.
pub async fn refresh_statistics(db: &DatabaseConnection, tables: &[&str]) -> Result<(), DbErr> {
    // SQLite measures one table a statement.
    for table in tables {
        db.execute_unprepared(&format!("ANALYZE {table}")).await?;
    }
    Ok(())
}

/// Whether the statistics are due again after the `batch`-th batch (from 1): after the
/// 1st, 4th, 16th, 64th … as the tables grow by orders of magnitude.
pub fn statistics_due(batch: usize) -> bool {
    batch.is_power_of_two() && batch.trailing_zeros().is_multiple_of(2)
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
    let mut canonical = serde_json::json!([
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
    // Only when given, so that rows imported before entry routes keep their hashes and
    // count as unchanged when imported again.
    if let (Some(route), Some(values)) = (client.entry_route, canonical.as_array_mut()) {
        values.push(serde_json::Value::from(route.to_value()));
    }
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// The hash each of `batch`'s source records of `kind` last held, for those imported
/// before.
async fn known_hashes(
    db: &impl ConnectionTrait,
    kind: &str,
    batch: &[clients::Checked],
) -> Result<HashMap<String, String>, DbErr> {
    let select = Query::select()
        .columns(["source_id", "row_hash"])
        .from("import_sources")
        .and_where(Expr::col("kind").eq(kind))
        .and_where(Expr::col("source_id").is_in(batch.iter().map(|row| row.source_id.as_str())))
        .to_owned();
    db.query_all(&select)
        .await?
        .into_iter()
        .map(|row| Ok((row.try_get("", "source_id")?, row.try_get("", "row_hash")?)))
        .collect()
}

/// Which of `ids` are clients already.
async fn existing_clients<'a>(
    db: &impl ConnectionTrait,
    ids: impl Iterator<Item = &'a str>,
) -> Result<Vec<String>, DbErr> {
    let select = Query::select()
        .column("id")
        .from("clients")
        .and_where(Expr::col("id").is_in(ids))
        .to_owned();
    db.query_all(&select)
        .await?
        .into_iter()
        .map(|row| row.try_get("", "id"))
        .collect()
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

/// Inserts the clients, or updates those whose ids are known (from another source
/// record, or an earlier version of the same one), in one statement.
async fn upsert_clients<'a>(
    db: &impl ConnectionTrait,
    models: impl Iterator<Item = &'a client::Model>,
) -> Result<(), DbErr> {
    use client::Column;
    let active = models.map(|model| client::ActiveModel::from(model.clone()));
    client::Entity::insert_many(active)
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
                    Column::EntryRoute,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_refreshed_as_the_tables_grow_fourfold() {
        let due: Vec<usize> = (1..=300).filter(|&b| statistics_due(b)).collect();
        assert_eq!(due, [1, 4, 16, 64, 256]);
    }
}
