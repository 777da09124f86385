//! Imports from the divisions' systems: rows of their files turned into the hub's
//! records. A file is read a batch of rows at a time ([`table`]), so an import holds one
//! batch and not the whole file; each row is checked against the typed schema of its
//! kind — the programme's clients ([`clients`]) or a division's records and events
//! ([`kinds`], [`records`]) — which names its client by the Finnish personal identity
//! code, checked and turned into the pseudonymous client id before anything else reads
//! the row ([`identity`]); the code itself goes no further. Each batch's good rows are
//! written, keyed by their source records, before the next batch is read ([`commit`],
//! [`records::write`]); every row that fails is reported with its line, column and
//! reason ([`Rejected`], [`rejects_csv`]). The command (`kotohub import`) and the upload
//! route (`crate::upload`) stand in front of [`Importer`].

pub mod clients;
pub mod commit;
pub mod identity;
pub mod kinds;
pub mod population;
pub mod records;
pub mod table;

use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, DbErr};
use sha2::{Digest, Sha256};

use identity::Pseudonymiser;
use table::Format;

/// Why an import did not run to its end. Rows it rejected are not errors: they are in
/// its [`Imported::rejected`].
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("the file cannot be read: {0}")]
    Unreadable(#[from] table::Unreadable),
    #[error("the database failed: {0}")]
    Database(#[from] DbErr),
}

impl ImportError {
    /// The access log's record of an import that did not run to its end: refused (the
    /// file cannot be read) or failed (the database), with the file's SHA-256. Batches
    /// written before a failure stand; a rerun finds them unchanged.
    pub fn access_log_event(
        &self,
        subject: &str,
        kind: &str,
        bytes: &[u8],
        duration: std::time::Duration,
    ) -> kotohub_gateway::audit::Event {
        use kotohub_gateway::audit::{Decision, Event};
        let file_sha256 = hex::encode(Sha256::digest(bytes));
        let (decision, status, code) = match self {
            ImportError::Unreadable(_) => (Decision::Refused, 400, "IMPORT_FILE_UNREADABLE"),
            ImportError::Database(_) => (Decision::Failed, 500, "IMPORT_FAILED"),
        };
        Event {
            request_id: format!("import-{}", &file_sha256[..16]),
            decision,
            status,
            error_codes: vec![code.to_owned()],
            ..import_event(subject, "import", kind, file_sha256, duration)
        }
    }
}

/// What every import's access-log event says: who, what kind, which file (its SHA-256
/// stands where an operation's document hash would), into which subgraph, how long.
fn import_event(
    subject: &str,
    operation: &str,
    kind: &str,
    file_sha256: String,
    duration: std::time::Duration,
) -> kotohub_gateway::audit::Event {
    kotohub_gateway::audit::Event {
        subject: Some(subject.to_owned()),
        operation_type: Some(operation.to_owned()),
        operation_name: Some(kind.to_owned()),
        document_hash: Some(file_sha256),
        subgraphs: subgraphs_of(kind),
        status: 200,
        duration,
        ..kotohub_gateway::audit::Event::default()
    }
}

/// The subgraphs an import of `kind` writes: a division's kinds write its database and
/// the programme's register.
fn subgraphs_of(kind: &str) -> Vec<String> {
    match kinds::Kind::named(kind) {
        Some(kind) => vec![kind.subgraph.to_owned(), "programme".to_owned()],
        None => vec!["programme".to_owned()],
    }
}

/// What an import did.
#[derive(Debug)]
pub struct Imported {
    /// Rows in the file, read or not.
    pub rows: usize,
    /// Rows not imported: unreadable, or with a fault.
    pub rejected_rows: usize,
    pub rejected: Vec<Rejected>,
    pub counts: commit::Counts,
    /// The recorded run; none for a dry run.
    pub run_id: Option<String>,
    /// The clients the good rows hold, sorted, each once: what the access log records.
    pub client_ids: Vec<String>,
    /// SHA-256 of the file as it was read.
    pub file_sha256: String,
}

impl Imported {
    /// The machine-readable summary the command (`--json`) and the upload answer with;
    /// each adds where the rejected rows are.
    pub fn summary(
        &self,
        kind: &str,
        dry_run: bool,
        took: std::time::Duration,
    ) -> serde_json::Map<String, serde_json::Value> {
        let counts = self.counts;
        [
            ("kind", kind.into()),
            ("dryRun", dry_run.into()),
            ("rows", self.rows.into()),
            ("rejected", self.rejected_rows.into()),
            ("inserted", counts.inserted.into()),
            ("updated", counts.updated.into()),
            ("unchanged", counts.unchanged.into()),
            ("run", self.run_id.clone().into()),
            ("seconds", took.as_secs_f64().into()),
        ]
        .into_iter()
        .map(|(key, value): (&str, serde_json::Value)| (key.to_owned(), value))
        .collect()
    }

    /// The access log's record of this import by `subject`: who imported which file
    /// (its SHA-256 stands where an operation's document hash would), how many rows, and
    /// which clients.
    pub fn access_log_event(
        &self,
        subject: &str,
        kind: &str,
        dry_run: bool,
        duration: std::time::Duration,
    ) -> kotohub_gateway::audit::Event {
        use kotohub_gateway::audit::{Decision, Event};
        let written = self.counts.inserted + self.counts.updated;
        let operation = if dry_run { "import-dry-run" } else { "import" };
        Event {
            request_id: self
                .run_id
                .clone()
                .unwrap_or_else(|| format!("dry-run-{}", &self.file_sha256[..16])),
            client_ids: if dry_run {
                Vec::new()
            } else {
                self.client_ids.clone()
            },
            row_count: i64::try_from(written).unwrap_or(i64::MAX),
            decision: if self.rejected_rows == 0 {
                Decision::Allowed
            } else {
                Decision::Partial
            },
            error_codes: if self.rejected_rows == 0 {
                Vec::new()
            } else {
                vec!["ROWS_REJECTED".to_owned()]
            },
            ..import_event(subject, operation, kind, self.file_sha256.clone(), duration)
        }
    }
}

/// Who imports and how.
pub struct Importer<'a> {
    pub pseudonymiser: &'a Pseudonymiser,
    /// Who runs the import, as the run records it.
    pub subject: &'a str,
    /// Check every row and write nothing.
    pub dry_run: bool,
    /// The day rows are checked against (no one is born later).
    pub today: NaiveDate,
}

impl Importer<'_> {
    /// Imports a file of clients into the programme database `db`, as [`Importer::import`]
    /// does.
    pub async fn clients(
        &self,
        db: &DatabaseConnection,
        bytes: &[u8],
        format: Format,
        progress: impl FnMut(usize, f64),
    ) -> Result<Imported, ImportError> {
        self.import(Target::Clients, db, None, bytes, format, progress)
            .await
    }

    /// Imports a file of a division's `kind` into the division's database `division`
    /// and the programme's register `programme`, as [`Importer::import`] does.
    pub async fn records(
        &self,
        kind: &'static kinds::Kind,
        division: &DatabaseConnection,
        programme: &DatabaseConnection,
        bytes: &[u8],
        format: Format,
        progress: impl FnMut(usize, f64),
    ) -> Result<Imported, ImportError> {
        self.import(
            Target::Records(kind),
            programme,
            Some(division),
            bytes,
            format,
            progress,
        )
        .await
    }

    /// Imports a file of `target` into `programme` and, for a division's kind, into
    /// `division`, its database: the file read a batch of rows at a time, each row
    /// checked, the good ones of each batch written before the next is read, the run
    /// recorded. `progress` hears how many rows are read and how much of the file, after
    /// each batch.
    pub async fn import(
        &self,
        target: Target,
        programme: &DatabaseConnection,
        division: Option<&DatabaseConnection>,
        bytes: &[u8],
        format: Format,
        mut progress: impl FnMut(usize, f64),
    ) -> Result<Imported, ImportError> {
        let mut reader = table::Reader::open(bytes, format)?;
        let (subgraph, division) = match target {
            Target::Clients | Target::Population => ("programme", None),
            Target::Records(kind) => {
                let division = division.ok_or_else(|| {
                    DbErr::Custom(format!(
                        "no {} database to import {} into",
                        kind.subgraph, kind.name
                    ))
                })?;
                (kind.subgraph, Some((kind, division)))
            }
        };
        let context = records::Context {
            pseudonymiser: self.pseudonymiser,
            today: self.today,
            responsible: match division {
                Some(_) => records::Context::responsible_bodies(programme).await?,
                None => Default::default(),
            },
        };
        let file_sha256 = hex::encode(Sha256::digest(bytes));
        let run = self.run(subgraph, target.kind(), &file_sha256)?;
        let mut imported = Imported {
            rows: 0,
            rejected_rows: 0,
            rejected: Vec::new(),
            counts: commit::Counts::default(),
            run_id: None,
            client_ids: Vec::new(),
            file_sha256,
        };
        let mut client_ids = std::collections::BTreeSet::new();
        let mut batches = 0;
        loop {
            let read: Vec<Result<table::Row, Rejected>> =
                reader.by_ref().take(commit::BATCH_ROWS).collect();
            if read.is_empty() {
                break;
            }
            let read_count = read.len();
            imported.rows += read_count;
            let mut rows = Vec::with_capacity(read.len());
            for row in read {
                match row {
                    Ok(row) => rows.push(row),
                    Err(unreadable) => imported.rejected.push(unreadable),
                }
            }
            let good = match division {
                None if matches!(target, Target::Population) => {
                    let mut good = Vec::with_capacity(rows.len());
                    for row in &rows {
                        match population::check(row, self.today) {
                            Ok(checked) => good.push(checked),
                            Err(faults) => imported.rejected.extend(faults),
                        }
                    }
                    if !self.dry_run {
                        let counts = population::write(programme, &run, &good).await?;
                        imported.counts.add(counts);
                    }
                    good.len()
                }
                None => {
                    let mut good = Vec::with_capacity(rows.len());
                    for row in &rows {
                        match clients::check(row, self.pseudonymiser, self.today) {
                            Ok(checked) => good.push(checked),
                            Err(faults) => imported.rejected.extend(faults),
                        }
                    }
                    client_ids.extend(good.iter().map(|row| row.client.id.clone()));
                    if !self.dry_run {
                        let counts = commit::clients(programme, &run, &good).await?;
                        imported.counts.add(counts);
                    }
                    good.len()
                }
                Some((kind, division)) => {
                    let mut checked = Vec::with_capacity(rows.len());
                    for row in &rows {
                        match records::check(kind, row, &context) {
                            Ok(row) => checked.push(row),
                            Err(faults) => imported.rejected.extend(faults),
                        }
                    }
                    let (good, unresolved) =
                        records::resolve(kind, division, programme, checked).await?;
                    imported.rejected.extend(unresolved);
                    client_ids.extend(good.iter().filter_map(|row| row.client_id.clone()));
                    if !self.dry_run {
                        let counts = records::write(kind, division, programme, &run, &good).await?;
                        imported.counts.add(counts);
                    }
                    good.len()
                }
            };
            // Rows that could not be read, and rows with a fault.
            imported.rejected_rows += read_count - good;
            batches += 1;
            // Only while more of the file is to come: the end of the import has its own.
            if !self.dry_run && commit::statistics_due(batches) && reader.progress() < 1.0 {
                refresh_statistics(programme, division).await?;
            }
            progress(imported.rows, reader.progress());
        }
        imported.client_ids = client_ids.into_iter().collect();
        // A few rows leave the tables' statistics as they were: an upload of a dozen
        // records does not measure tables of millions.
        if !self.dry_run && imported.counts.inserted + imported.counts.updated >= commit::BATCH_ROWS
        {
            refresh_statistics(programme, division).await?;
        }
        if !self.dry_run {
            commit::record_run(
                programme,
                &run,
                imported.rows,
                imported.counts,
                imported.rejected_rows,
            )
            .await?;
            kotohub_programme::register::forget_changes(programme, CHANGES_KEPT).await?;
            imported.run_id = Some(run.id);
        }
        Ok(imported)
    }

    /// A new run of `kind` into `subgraph` of the file with this hash.
    fn run(
        &self,
        subgraph: &'static str,
        kind: &'static str,
        file_sha256: &str,
    ) -> Result<commit::Run, DbErr> {
        Ok(commit::Run {
            id: kotohub_auth::keys::random_key()
                .map_err(|e| DbErr::Custom(e.to_string()))?
                .chars()
                .take(32)
                .collect(),
            subgraph,
            kind,
            subject: self.subject.to_owned(),
            file_sha256: file_sha256.to_owned(),
            started_at: chrono::Utc::now(),
        })
    }
}

/// How many versions of the statistics register keep their notes of changed clients
/// after an import: a programme subgraph whose copy is older reads the register whole.
/// A version is a fact on SQLite and a statement on PostgreSQL, so this is the last
/// 100,000 facts on SQLite, millions on PostgreSQL.
const CHANGES_KEPT: i64 = 100_000;

/// Measures the tables an import writes, in the programme's database and the division's.
async fn refresh_statistics(
    programme: &DatabaseConnection,
    division: Option<(&kinds::Kind, &DatabaseConnection)>,
) -> Result<(), DbErr> {
    commit::refresh_statistics(
        programme,
        &[
            "import_sources",
            "import_facts",
            "clients",
            "client_facts",
            "client_bodies",
            "event_facts",
        ],
    )
    .await?;
    if let Some((kind, division)) = division {
        commit::refresh_statistics(division, &["import_sources", kind.name]).await?;
    }
    Ok(())
}

/// What an import writes: a subgraph's kind.
#[derive(Clone, Copy)]
pub enum Target {
    /// The programme's clients.
    Clients,
    /// Residents by year, district, mother-tongue group and age group: reference
    /// statistics for the programme's denominators.
    Population,
    /// A division's client records or events.
    Records(&'static kinds::Kind),
}

/// A subgraph and kind that name no kind of import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnknownKind(String);

impl Target {
    /// The kind `kind` of `subgraph`.
    pub fn of(subgraph: &str, kind: &str) -> Result<Target, UnknownKind> {
        let of_subgraph = |subgraph: &str| -> Vec<&'static str> {
            if subgraph == "programme" {
                vec!["clients", "population"]
            } else {
                kinds::KINDS
                    .iter()
                    .filter(|k| k.subgraph == subgraph)
                    .map(|k| k.name)
                    .collect()
            }
        };
        let target = match kind {
            "clients" => Some(("programme", Target::Clients)),
            "population" => Some(("programme", Target::Population)),
            _ => kinds::Kind::named(kind).map(|k| (k.subgraph, Target::Records(k))),
        };
        match target {
            Some((owner, target)) if owner == subgraph => Ok(target),
            Some((owner, _)) => Err(UnknownKind(format!(
                "{kind} are imported into the {owner} subgraph, not {subgraph:?}"
            ))),
            None => {
                let known = of_subgraph(subgraph);
                Err(UnknownKind(if known.is_empty() {
                    format!(
                        "{subgraph:?} is not a subgraph that takes imports; they are programme, \
                         employment, education, social and culture"
                    )
                } else {
                    format!(
                        "{kind:?} is not a kind of import of {subgraph}; its kinds are: {}",
                        known.join(", ")
                    )
                }))
            }
        }
    }

    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Clients => "clients",
            Target::Population => "population",
            Target::Records(kind) => kind.name,
        }
    }

    /// The division subgraph whose database the kind is written into besides the
    /// programme's.
    pub fn division(&self) -> Option<&'static str> {
        match self {
            Target::Clients | Target::Population => None,
            Target::Records(kind) => Some(kind.subgraph),
        }
    }
}

/// A row that was not imported, and why. The reason never repeats an identity code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

impl Rejected {
    pub fn row(line: usize, reason: impl Into<String>) -> Self {
        Self {
            line,
            column: None,
            reason: reason.into(),
        }
    }

    pub fn at(line: usize, column: &str, reason: impl Into<String>) -> Self {
        Self {
            line,
            column: Some(column.to_owned()),
            reason: reason.into(),
        }
    }
}

/// The rejects file: `line,column,reason`, one record per rejected row and column, in
/// file order, as a spreadsheet opens it.
pub fn rejects_csv(rejected: &[Rejected]) -> String {
    let mut sorted: Vec<&Rejected> = rejected.iter().collect();
    sorted.sort_by_key(|r| r.line);
    let mut out = String::new();
    kotohub_gateway::csv::write_line(&mut out, ["line", "column", "reason"].into_iter().map(Some));
    for rejected in sorted {
        let line = rejected.line.to_string();
        kotohub_gateway::csv::write_line(
            &mut out,
            [
                Some(line.as_str()),
                rejected.column.as_deref(),
                Some(rejected.reason.as_str()),
            ]
            .into_iter(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejects_file_lists_rows_in_file_order_quoting_what_needs_it() {
        let rejected = [
            Rejected::at(7, "gender", "\"x\" is not one of: female, male, other"),
            Rejected::row(3, "the row has 2 fields and the header 3"),
        ];
        assert_eq!(
            rejects_csv(&rejected),
            "line,column,reason\r\n3,,the row has 2 fields and the header 3\r\n7,gender,\"\"\"x\"\" is not one of: female, male, other\"\r\n"
        );
    }
}
