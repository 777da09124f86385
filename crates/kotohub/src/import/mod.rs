//! Imports from the divisions' systems: rows of their files turned into the hub's
//! records. A file is read into rows ([`table`]); each row is checked against the typed
//! schema of its kind ([`clients`]), which names its client by the Finnish personal
//! identity code, checked and turned into the pseudonymous client id before anything else
//! reads the row ([`identity`]) — the code itself goes no further. Good rows are written
//! in batches keyed by their source record ([`commit`]); every row that fails is reported
//! with its line, column and reason ([`Rejected`], [`rejects_csv`]). The command
//! (`kotohub import`) and, later, the upload route stand in front of [`Importer`].

pub mod clients;
pub mod commit;
pub mod identity;
pub mod kinds;
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
    /// Imports a file of clients into the programme database `db`: every row checked,
    /// the good ones written in batches, the run recorded. `progress` hears how many of
    /// how many good rows are written as batches commit.
    pub async fn clients(
        &self,
        db: &DatabaseConnection,
        bytes: &[u8],
        format: Format,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Imported, ImportError> {
        let read = Read::of(bytes, format)?;
        let mut rejected = read.rejected;
        let mut good = Vec::with_capacity(read.rows.len());
        for row in &read.rows {
            match clients::check(row, self.pseudonymiser, self.today) {
                Ok(checked) => good.push(checked),
                Err(faults) => rejected.extend(faults),
            }
        }
        let client_ids = distinct(good.iter().map(|row| row.client.id.as_str()));
        let total = good.len();
        let mut imported = Imported {
            rows: read.total,
            rejected_rows: read.total - good.len(),
            rejected,
            counts: commit::Counts::default(),
            run_id: None,
            client_ids,
            file_sha256: read.file_sha256,
        };
        if self.dry_run {
            return Ok(imported);
        }
        let run = self.run("programme", "clients", &imported.file_sha256)?;
        imported.counts = commit::clients(db, &run, &good, |done| progress(done, total)).await?;
        commit::record_run(
            db,
            &run,
            imported.rows,
            imported.counts,
            imported.rejected_rows,
        )
        .await?;
        imported.run_id = Some(run.id);
        Ok(imported)
    }

    /// Imports a file of a division's `kind` into the division's database `division`
    /// and the programme's register `programme`, as [`Importer::clients`] does clients.
    pub async fn records(
        &self,
        kind: &'static kinds::Kind,
        division: &DatabaseConnection,
        programme: &DatabaseConnection,
        bytes: &[u8],
        format: Format,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Imported, ImportError> {
        let read = Read::of(bytes, format)?;
        let mut rejected = read.rejected;
        let responsible = records::Context::responsible_bodies(programme).await?;
        let context = records::Context {
            pseudonymiser: self.pseudonymiser,
            today: self.today,
            responsible,
        };
        let mut checked = Vec::with_capacity(read.rows.len());
        for row in &read.rows {
            match records::check(kind, row, &context) {
                Ok(row) => checked.push(row),
                Err(faults) => rejected.extend(faults),
            }
        }
        let (good, unresolved) = records::resolve(kind, division, programme, checked).await?;
        rejected.extend(unresolved);
        let client_ids = distinct(good.iter().filter_map(|row| row.client_id.as_deref()));
        let total = good.len();
        let mut imported = Imported {
            rows: read.total,
            rejected_rows: read.total - good.len(),
            rejected,
            counts: commit::Counts::default(),
            run_id: None,
            client_ids,
            file_sha256: read.file_sha256,
        };
        if self.dry_run {
            return Ok(imported);
        }
        let run = self.run(kind.subgraph, kind.name, &imported.file_sha256)?;
        imported.counts = records::write(kind, division, programme, &run, &good, |done| {
            progress(done, total)
        })
        .await?;
        commit::record_run(
            programme,
            &run,
            imported.rows,
            imported.counts,
            imported.rejected_rows,
        )
        .await?;
        imported.run_id = Some(run.id);
        Ok(imported)
    }

    /// Imports a file of `target` into `programme` and, for a division's kind, into
    /// `division`, its database.
    pub async fn import(
        &self,
        target: Target,
        programme: &DatabaseConnection,
        division: Option<&DatabaseConnection>,
        bytes: &[u8],
        format: Format,
        progress: impl FnMut(usize, usize),
    ) -> Result<Imported, ImportError> {
        match (target, division) {
            (Target::Clients, _) => self.clients(programme, bytes, format, progress).await,
            (Target::Records(kind), Some(division)) => {
                self.records(kind, division, programme, bytes, format, progress)
                    .await
            }
            (Target::Records(kind), None) => Err(ImportError::Database(DbErr::Custom(format!(
                "no {} database to import {} into",
                kind.subgraph, kind.name
            )))),
        }
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

/// What an import writes: a subgraph's kind.
#[derive(Clone, Copy)]
pub enum Target {
    /// The programme's clients.
    Clients,
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
                vec!["clients"]
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
            Target::Records(kind) => kind.name,
        }
    }

    /// The division subgraph whose database the kind is written into besides the
    /// programme's.
    pub fn division(&self) -> Option<&'static str> {
        match self {
            Target::Clients => None,
            Target::Records(kind) => Some(kind.subgraph),
        }
    }
}

/// A file read into rows, before any is checked.
struct Read {
    rows: Vec<table::Row>,
    /// The rows that could not be read.
    rejected: Vec<Rejected>,
    /// Rows in the file, read or not.
    total: usize,
    file_sha256: String,
}

impl Read {
    fn of(bytes: &[u8], format: Format) -> Result<Read, table::Unreadable> {
        let (rows, rejected) = table::read(bytes, format)?;
        let unreadable = rejected
            .iter()
            .map(|r| r.line)
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        Ok(Read {
            total: rows.len() + unreadable,
            rows,
            rejected,
            file_sha256: hex::encode(Sha256::digest(bytes)),
        })
    }
}

/// `ids` sorted, each once.
fn distinct<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<String> {
    ids.collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect()
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
