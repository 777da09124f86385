//! The divisions' kinds ([`super::kinds`]): client records, events, and units (a partner's
//! sponsor groups and sponsors). A row is checked on its own first ([`check`]: its
//! columns' types, the identity code, the measure and whether the body is responsible
//! for it, dates in range), then against what the databases hold ([`resolve`]: the client
//! was imported, the event a participation names was, the group a sponsorship names
//! was), and then written ([`write`]).
//!
//! A record or an event is written twice (a unit once, it is counted nowhere): as the
//! division's row, in the division's database, and as a fact of the statistics register with the client–body pair it gives the scope table,
//! in the programme's. The two are different databases (files, or schemas), so each
//! batch is one transaction in each, the division's committed first: a body is never
//! given a client before the record that justifies it exists. Each side keeps the hash
//! of what each source record last wrote there (`import_sources`, `import_facts`), so a
//! run stopped between the two commits is completed by running it again, and a re-import
//! of the same file writes nothing on either side.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use kotohub_programme::entity::client_fact::{self, AgeGroup, MotherTongueGroup, RecordedOutcome};
use kotohub_programme::entity::event_fact::EventLanguages;
use kotohub_subgraph::vocab::District;
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, Value,
};
use sha2::{Digest, Sha256};

use super::Rejected;
use super::commit::{BATCH_ROWS, Counts, Run};
use super::identity::Pseudonymiser;
use super::kinds::{Kind, Shape, Type};
use super::table::Row;
use crate::seed::unrestricted;

/// What rows are checked against: the day, the identity key and the programme's
/// catalog of measures and the bodies responsible for them.
pub struct Context<'a> {
    pub pseudonymiser: &'a Pseudonymiser,
    pub today: NaiveDate,
    /// The bodies responsible for each measure, in the catalog's order, then those of the
    /// projects that carry on its work.
    pub responsible: HashMap<String, Vec<String>>,
}

impl Context<'_> {
    /// Reads the catalog's measures and their bodies from the programme database.
    pub async fn responsible_bodies(
        programme: &impl ConnectionTrait,
    ) -> Result<HashMap<String, Vec<String>>, DbErr> {
        let mut responsible: HashMap<String, Vec<String>> = HashMap::new();
        let measures = Query::select().column("id").from("measures").to_owned();
        for row in programme.query_all(&measures).await? {
            responsible.entry(row.try_get("", "id")?).or_default();
        }
        let bodies = Query::select()
            .columns(["measure_id", "body_id"])
            .from("measure_bodies")
            .order_by("position", sea_orm::Order::Asc)
            .to_owned();
        for row in programme.query_all(&bodies).await? {
            let measure: String = row.try_get("", "measure_id")?;
            responsible
                .entry(measure)
                .or_default()
                .push(row.try_get("", "body_id")?);
        }
        // A project's bodies record their work under the measures the project carries on
        // (the Red Cross's sponsorships under 5.1), though the programme did not name them.
        let projects = Query::select()
            .expr_as(Expr::col(("pm", "measure_id")), "measure_id")
            .expr_as(Expr::col(("pb", "body_id")), "body_id")
            .from_as("project_measures", "pm")
            .join_as(
                sea_orm::JoinType::InnerJoin,
                "project_bodies",
                "pb",
                Expr::col(("pb", "project_id")).equals(("pm", "project_id")),
            )
            .order_by(("pm", "measure_id"), sea_orm::Order::Asc)
            .order_by(("pb", "position"), sea_orm::Order::Asc)
            .to_owned();
        for row in programme.query_all(&projects).await? {
            let measure: String = row.try_get("", "measure_id")?;
            let body: String = row.try_get("", "body_id")?;
            let bodies = responsible.entry(measure).or_default();
            if !bodies.contains(&body) {
                bodies.push(body);
            }
        }
        Ok(responsible)
    }
}

/// One value of a checked row, as it is stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Absent,
    Date(NaiveDate),
    Integer(i64),
    Boolean(bool),
    Text(String),
    /// A source id naming a row of another kind (an event, a sponsor group), until
    /// [`resolve`] finds the row it was imported as.
    SourceOf(String),
    /// The id of the row a source id names.
    Row(i64),
}

impl Cell {
    /// The value to store in a column of type `kind`: an absent value is a null of the
    /// column's own type, which PostgreSQL insists on.
    fn value(&self, kind: Type) -> Value {
        match self {
            Cell::Absent => match kind {
                Type::Date | Type::EndOf(_) => Value::ChronoDate(None),
                Type::Year | Type::Integer { .. } => Value::Int(None),
                Type::Boolean => Value::Bool(None),
                Type::SourceOf(_) => Value::BigInt(None),
                Type::Text(_) | Type::Vocabulary(_) | Type::Language | Type::Languages => {
                    Value::String(None)
                }
            },
            Cell::Date(date) => (*date).into(),
            // Every integer column but a named row's id is a 32-bit one, and the checks'
            // ranges keep the values inside it.
            Cell::Integer(n) => Value::Int(i32::try_from(*n).ok()),
            Cell::Boolean(b) => (*b).into(),
            Cell::Text(text) => text.clone().into(),
            Cell::SourceOf(_) => Value::BigInt(None),
            Cell::Row(id) => (*id).into(),
        }
    }

    fn canonical(&self) -> serde_json::Value {
        match self {
            Cell::Absent => serde_json::Value::Null,
            Cell::Date(date) => date.to_string().into(),
            Cell::Integer(n) | Cell::Row(n) => (*n).into(),
            Cell::Boolean(b) => (*b).into(),
            Cell::Text(text) | Cell::SourceOf(text) => text.clone().into(),
        }
    }
}

/// What an event counts in the register.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EventFigures {
    pub district: District,
    pub languages: EventLanguages,
    pub participants: i32,
}

/// A row that passed its own checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub line: usize,
    pub source_id: String,
    /// The client a record is about; none for an event.
    pub client_id: Option<String>,
    pub measure_id: String,
    pub body_id: String,
    /// The kind's own columns, by stored name, in the kind's order.
    pub cells: Vec<(&'static str, Cell)>,
    /// The year, quarter and month the register counts the row in.
    pub year: i32,
    pub quarter: i32,
    pub month: i32,
    /// For a record of a period that has ended, the month it ended
    /// (`client_fact::month_count`).
    pub ended: Option<i32>,
    pub outcome: Option<RecordedOutcome>,
    /// The register's kind of record (`client_fact::record_name`); empty for an event.
    pub record: String,
    pub event: Option<EventFigures>,
}

impl Checked {
    /// The hash of what the row holds: the same row imported again has the same one.
    fn hash(&self) -> String {
        let cells: Vec<serde_json::Value> = self
            .cells
            .iter()
            .map(|(_, cell)| cell.canonical())
            .collect();
        let canonical = serde_json::json!([
            self.source_id,
            self.client_id,
            self.measure_id,
            self.body_id,
            cells
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Checks `row` of `kind` on its own; `Err` holds every fault, by column.
pub fn check(kind: &Kind, row: &Row, cx: &Context) -> Result<Checked, Vec<Rejected>> {
    let line = row.line;
    let mut faults = Vec::new();
    let source_id = row.source_id(kind.name, &kind.columns(), &mut faults);
    let is_record = matches!(kind.shape, Shape::Record { .. });
    // The code itself is never repeated: only why it is not one.
    let identified = if is_record {
        row.required("identity_code", &mut faults).and_then(|code| {
            cx.pseudonymiser
                .identify(code, cx.today)
                .map_err(|invalid| {
                    faults.push(Rejected::at(line, "identity_code", invalid.to_string()))
                })
                .ok()
        })
    } else {
        None
    };
    let measure_id = row.required("measure_id", &mut faults);
    let body_id = row.required("body_id", &mut faults);
    if let Some(measure) = measure_id {
        match cx.responsible.get(measure) {
            None => faults.push(Rejected::at(
                line,
                "measure_id",
                format!("the programme has no measure {measure:?}"),
            )),
            Some(bodies) => {
                if let Some(body) = body_id
                    && !bodies.iter().any(|b| b == body)
                {
                    faults.push(Rejected::at(
                        line,
                        "body_id",
                        format!(
                            "{body:?} is not responsible for measure {measure}; the bodies that are: {}",
                            bodies.join(", ")
                        ),
                    ));
                }
            }
        }
    }

    let mut cells = Vec::with_capacity(kind.own.len());
    for column in kind.own {
        let Some(text) = row.get(column.name) else {
            if column.required {
                faults.push(Rejected::at(line, column.name, "missing"));
            }
            cells.push((column.stored, Cell::Absent));
            continue;
        };
        match parse(column.kind, text, cx.today) {
            Ok(cell) => cells.push((column.stored, cell)),
            Err(reason) => {
                faults.push(Rejected::at(line, column.name, reason));
                cells.push((column.stored, Cell::Absent));
            }
        }
    }
    let cell = |name: &str| {
        kind.own
            .iter()
            .zip(&cells)
            .find(|(column, _)| column.name == name)
            .map(|(_, (_, cell))| cell)
    };
    for column in kind.own {
        if let Type::EndOf(start) = column.kind
            && let (Some(Cell::Date(end)), Some(Cell::Date(begin))) =
                (cell(column.name), cell(start))
            && end < begin
        {
            faults.push(Rejected::at(line, column.name, format!("before {start}")));
        }
    }

    let (mut year, mut quarter, mut month, mut outcome, mut event) = (0, 0, 1, None, None);
    let (mut ended, mut record) = (None, String::new());
    match kind.shape {
        Shape::Record {
            happened,
            outcome: outcome_column,
            ..
        } => {
            match cell(happened) {
                Some(Cell::Date(on)) => {
                    (year, quarter, month) = (on.year(), quarter_of(*on), month_of(*on));
                    if identified.as_ref().is_some_and(|who| *on < who.born) {
                        faults.push(Rejected::at(line, happened, "before the client was born"));
                    }
                }
                // Results published once a year are counted in June.
                Some(Cell::Integer(y)) => {
                    (year, quarter, month) = (i32::try_from(*y).unwrap_or(i32::MAX), 2, 6);
                    if identified
                        .as_ref()
                        .is_some_and(|who| year < who.born.year())
                    {
                        faults.push(Rejected::at(line, happened, "before the client was born"));
                    }
                }
                _ => {}
            }
            if let Some(column) = outcome_column
                && let Some(Cell::Text(value)) = cell(column)
            {
                outcome = Kind::recorded_outcome(value);
            }
            if let Some(Cell::Date(end)) = kind.ends_on().and_then(|column| cell(column.name)) {
                ended = Some(client_fact::month_count(end.year(), month_of(*end)));
            }
            record = match kind.detail().and_then(|column| cell(column.name)) {
                Some(Cell::Text(value)) => kind.record_name(Some(value), None),
                Some(Cell::Boolean(flag)) => kind.record_name(None, Some(*flag)),
                _ => kind.record_name(None, None),
            };
        }
        // Counted nowhere, so no period or figures.
        Shape::Unit => {}
        Shape::Event => {
            if let (
                Some(Cell::Date(held_on)),
                Some(Cell::Text(district)),
                Some(Cell::Text(languages)),
                Some(Cell::Integer(participants)),
            ) = (
                cell("held_on"),
                cell("district"),
                cell("languages"),
                cell("participant_count"),
            ) {
                (year, quarter, month) = (held_on.year(), quarter_of(*held_on), month_of(*held_on));
                event = District::try_from_value(district)
                    .ok()
                    .map(|district| EventFigures {
                        district,
                        languages: EventLanguages::of(languages.split(',')),
                        participants: i32::try_from(*participants).unwrap_or(i32::MAX),
                    });
            }
        }
    }

    match (faults.is_empty(), source_id, measure_id, body_id) {
        (true, Some(source_id), Some(measure_id), Some(body_id)) => Ok(Checked {
            line,
            source_id: source_id.to_owned(),
            client_id: identified.map(|who| who.client_id),
            measure_id: measure_id.to_owned(),
            body_id: body_id.to_owned(),
            cells,
            year,
            quarter,
            month,
            ended,
            outcome,
            record,
            event,
        }),
        _ => Err(faults),
    }
}

/// The value of one field of type `kind`, or why it is not one.
fn parse(kind: Type, text: &str, today: NaiveDate) -> Result<Cell, String> {
    let date = |text: &str| {
        let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("{text:?} is not a date (YYYY-MM-DD)"))?;
        if date > today {
            return Err("in the future".to_owned());
        }
        Ok(date)
    };
    match kind {
        Type::Date | Type::EndOf(_) => date(text).map(Cell::Date),
        Type::Year => match text.parse::<i64>() {
            Ok(year) if year > i64::from(today.year()) => Err("in the future".to_owned()),
            Ok(year) if year < 1900 => Err("before 1900".to_owned()),
            Ok(year) => Ok(Cell::Integer(year)),
            Err(_) => Err(format!("{text:?} is not a year")),
        },
        Type::Integer { min, max } => match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Cell::Integer(n)),
            _ => Err(format!(
                "{text:?} is not a whole number from {min} to {max}"
            )),
        },
        Type::Boolean => match text {
            "true" => Ok(Cell::Boolean(true)),
            "false" => Ok(Cell::Boolean(false)),
            _ => Err(format!("{text:?} is not one of: true, false")),
        },
        Type::Text(max) => {
            if text.chars().count() > max {
                Err(format!("longer than {max} characters"))
            } else {
                Ok(Cell::Text(text.to_owned()))
            }
        }
        Type::Vocabulary(allowed) => {
            let allowed = allowed();
            if allowed.iter().any(|value| value == text) {
                Ok(Cell::Text(text.to_owned()))
            } else {
                Err(format!("{text:?} is not one of: {}", allowed.join(", ")))
            }
        }
        Type::Language => {
            if is_language(text) {
                Ok(Cell::Text(text.to_owned()))
            } else {
                Err(NOT_A_LANGUAGE.to_owned())
            }
        }
        Type::Languages => {
            let codes: Vec<&str> = text
                .split([',', ' '])
                .filter(|code| !code.is_empty())
                .collect();
            if codes.is_empty() || !codes.iter().all(|code| is_language(code)) {
                Err(format!("{NOT_A_LANGUAGE}, separated by commas or spaces"))
            } else {
                // Stored as the divisions store them: "ru,so,ar".
                Ok(Cell::Text(codes.join(",")))
            }
        }
        Type::SourceOf(_) => {
            if text.chars().count() > 64 {
                Err("longer than 64 characters".to_owned())
            } else {
                Ok(Cell::SourceOf(text.to_owned()))
            }
        }
    }
}

const NOT_A_LANGUAGE: &str = "an ISO 639-1 code is two small letters (fi, sv, so, ar …)";

pub(crate) fn is_language(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_lowercase())
}

/// A date's month, 1–12.
pub(crate) fn month_of(date: NaiveDate) -> i32 {
    i32::try_from(date.month()).expect("a month is 1 to 12")
}

pub(crate) fn quarter_of(date: NaiveDate) -> i32 {
    i32::try_from(date.month0() / 3 + 1).expect("a quarter is 1 to 4")
}

/// Checks `rows` against what the databases hold: a record's client must have been
/// imported (into the programme's clients), and an event a participation names must have
/// been imported as its kind. Returns the rows that hold, with their events' ids, and the
/// faults of those that do not.
pub async fn resolve(
    kind: &Kind,
    division: &DatabaseConnection,
    programme: &DatabaseConnection,
    rows: Vec<Checked>,
) -> Result<(Vec<Checked>, Vec<Rejected>), DbErr> {
    let mut good = Vec::with_capacity(rows.len());
    let mut rejected = Vec::new();
    for batch in rows.chunks(BATCH_ROWS) {
        let clients: HashSet<String> = {
            let ids: BTreeSet<&str> = batch
                .iter()
                .filter_map(|r| r.client_id.as_deref())
                .collect();
            if ids.is_empty() {
                HashSet::new()
            } else {
                let txn = unrestricted(programme).await?;
                let select = Query::select()
                    .column("id")
                    .from("clients")
                    .and_where(Expr::col("id").is_in(ids))
                    .to_owned();
                let found = txn
                    .query_all(&select)
                    .await?
                    .into_iter()
                    .map(|row| row.try_get("", "id"))
                    .collect::<Result<_, _>>()?;
                txn.commit().await?;
                found
            }
        };
        let mut named_rows: HashMap<(&str, String), i64> = HashMap::new();
        for column in kind.own {
            let Type::SourceOf(named_kind) = column.kind else {
                continue;
            };
            let named: BTreeSet<&str> = batch
                .iter()
                .flat_map(|row| &row.cells)
                .filter_map(|(_, cell)| match cell {
                    Cell::SourceOf(id) => Some(id.as_str()),
                    _ => None,
                })
                .collect();
            if named.is_empty() {
                continue;
            }
            for (source_id, record_id) in source_records(division, named_kind, named).await? {
                named_rows.insert((named_kind, source_id), record_id);
            }
        }
        for row in batch {
            let mut row = row.clone();
            let mut faults = Vec::new();
            if let Some(client) = &row.client_id
                && !clients.contains(client)
            {
                faults.push(Rejected::at(
                    row.line,
                    "identity_code",
                    "no client with this identity code: import them as clients first",
                ));
            }
            for (column, (_, cell)) in kind.own.iter().zip(row.cells.iter_mut()) {
                if let (Type::SourceOf(named_kind), Cell::SourceOf(source)) = (column.kind, &cell) {
                    match named_rows.get(&(named_kind, source.clone())) {
                        Some(id) => *cell = Cell::Row(*id),
                        None => faults.push(Rejected::at(
                            row.line,
                            column.name,
                            format!("no row imported as {named_kind} has this source id"),
                        )),
                    }
                }
            }
            if faults.is_empty() {
                good.push(row);
            } else {
                rejected.extend(faults);
            }
        }
    }
    Ok((good, rejected))
}

/// The record id and hash each of `source_ids` of `kind` was imported as.
async fn source_records<'a>(
    db: &impl ConnectionTrait,
    kind: &str,
    source_ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, i64>, DbErr> {
    Ok(known(db, "import_sources", "record_id", kind, source_ids)
        .await?
        .into_iter()
        .map(|(source, (id, _))| (source, id))
        .collect())
}

/// What `table` (`import_sources` or `import_facts`) knows of `source_ids` of `kind`:
/// the id in `id_column` each was written as and the hash of what it held.
async fn known<'a>(
    db: &impl ConnectionTrait,
    table: &'static str,
    id_column: &'static str,
    kind: &str,
    source_ids: impl IntoIterator<Item = &'a str>,
) -> Result<HashMap<String, (i64, String)>, DbErr> {
    let select = Query::select()
        .columns(["source_id", id_column, "row_hash"])
        .from(table)
        .and_where(Expr::col("kind").eq(kind))
        .and_where(Expr::col("source_id").is_in(source_ids))
        .to_owned();
    db.query_all(&select)
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get("", "source_id")?,
                (row.try_get("", id_column)?, row.try_get("", "row_hash")?),
            ))
        })
        .collect()
}

/// `n` fresh ids of `table`'s `id` column: from its sequence on PostgreSQL, so that the
/// divisions' other writers never collide with them; after the largest on SQLite, whose
/// one writer at a time is this transaction.
async fn next_ids(txn: &DatabaseTransaction, table: &str, n: usize) -> Result<Vec<i64>, DbErr> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let backend = txn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!(
            "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id \
             FROM generate_series(1, {n})"
        ),
        _ => format!("SELECT coalesce(max(id), 0) AS id FROM {table}"),
    };
    let rows = txn
        .query_all_raw(sea_orm::Statement::from_string(backend, sql))
        .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|row| row.try_get("", "id"))
        .collect::<Result<_, _>>()?;
    Ok(match backend {
        DbBackend::Postgres => ids,
        _ => {
            let largest = ids.first().copied().unwrap_or(0);
            (1..=n as i64).map(|k| largest + k).collect()
        }
    })
}

/// The rows a batch writes on one side, newest version of each source record only: one
/// statement may not touch a row twice, and the last of a file's versions is what it
/// means.
fn latest(batch: &[Checked]) -> Vec<&Checked> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut rows: Vec<&Checked> = Vec::new();
    for row in batch {
        match position.get(row.source_id.as_str()) {
            Some(&at) => rows[at] = row,
            None => {
                position.insert(row.source_id.as_str(), rows.len());
                rows.push(row);
            }
        }
    }
    rows
}

/// Writes `rows` of `kind` into the division's database and the programme's register,
/// two transactions per [`BATCH_ROWS`].
pub async fn write(
    kind: &Kind,
    division: &DatabaseConnection,
    programme: &DatabaseConnection,
    run: &Run,
    rows: &[Checked],
) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    for batch in rows.chunks(BATCH_ROWS) {
        let division_txn = unrestricted(division).await?;
        let programme_txn = unrestricted(programme).await?;
        let batch_counts = write_records(kind, &division_txn, run, batch).await?;
        // A unit (a sponsor group) is counted nowhere: the register has no fact of it.
        if kind.shape != Shape::Unit {
            write_facts(kind, &programme_txn, run, batch).await?;
        }
        division_txn.commit().await?;
        programme_txn.commit().await?;
        counts.add(batch_counts);
    }
    Ok(counts)
}

/// The division's side of a batch: its rows, new or corrected, and their source records.
async fn write_records(
    kind: &Kind,
    txn: &DatabaseTransaction,
    run: &Run,
    batch: &[Checked],
) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    let mut held = known(
        txn,
        "import_sources",
        "record_id",
        kind.name,
        batch.iter().map(|row| row.source_id.as_str()),
    )
    .await?;
    // Counted row by row, so that a source record twice in a file counts as the file
    // means it; written once each.
    let mut seen: HashMap<&str, String> = HashMap::new();
    for row in batch {
        let hash = row.hash();
        let before = seen
            .get(row.source_id.as_str())
            .or(held.get(&row.source_id).map(|(_, hash)| hash));
        match before {
            Some(before) if *before == hash => counts.unchanged += 1,
            Some(_) => counts.updated += 1,
            None => counts.inserted += 1,
        }
        seen.insert(row.source_id.as_str(), hash);
    }
    let to_write: Vec<(&Checked, String)> = latest(batch)
        .into_iter()
        .map(|row| (row, row.hash()))
        .filter(|(row, hash)| held.get(&row.source_id).is_none_or(|(_, h)| h != hash))
        .collect();
    if to_write.is_empty() {
        return Ok(counts);
    }
    let (new, changed): (Vec<&Checked>, Vec<&Checked>) = to_write
        .iter()
        .map(|(row, _)| *row)
        .partition(|row| !held.contains_key(&row.source_id));
    let ids = next_ids(txn, kind.name, new.len()).await?;
    if !new.is_empty() {
        let mut insert = Query::insert()
            .into_table(kind.name)
            .columns(stored_columns(kind))
            .to_owned();
        for (row, id) in new.iter().zip(&ids) {
            insert
                .values(stored_values(kind, row, *id))
                .map_err(|e| DbErr::Custom(e.to_string()))?;
            held.insert(row.source_id.clone(), (*id, String::new()));
        }
        txn.execute(&insert).await?;
    }
    for row in changed {
        let (id, _) = held[&row.source_id];
        let mut update = Query::update().table(kind.name).to_owned();
        for (column, value) in stored_columns(kind)
            .into_iter()
            .zip(stored_values(kind, row, id))
        {
            if column != "id" {
                update.value(column, value);
            }
        }
        update.and_where(Expr::col("id").eq(id));
        txn.execute(&update).await?;
    }
    let written = to_write.iter().map(|(row, hash)| {
        (
            row.source_id.as_str(),
            held[&row.source_id].0,
            hash.as_str(),
        )
    });
    keep_sources(txn, "import_sources", "record_id", kind.name, run, written).await?;
    Ok(counts)
}

/// The table columns a row of `kind` is stored in, `id` first.
fn stored_columns(kind: &Kind) -> Vec<&'static str> {
    let common: &[&'static str] = match kind.shape {
        Shape::Record { .. } => &["id", "client_id", "measure_id", "body_id"],
        Shape::Event | Shape::Unit => &["id", "measure_id", "body_id"],
    };
    common
        .iter()
        .copied()
        .chain(kind.own.iter().map(|column| column.stored))
        .collect()
}

/// The values of `row` in [`stored_columns`]' order.
fn stored_values(kind: &Kind, row: &Checked, id: i64) -> Vec<SimpleExpr> {
    let mut values: Vec<SimpleExpr> = vec![id.into()];
    if let Some(client) = &row.client_id {
        values.push(client.clone().into());
    }
    values.push(row.measure_id.clone().into());
    values.push(row.body_id.clone().into());
    values.extend(
        kind.own
            .iter()
            .zip(&row.cells)
            .map(|(column, (_, cell))| cell.value(column.kind).into()),
    );
    values
}

/// A client's dimensions as the register counts them.
struct Dimensions {
    birth_year: i32,
    district: String,
    mother_tongue: String,
    gender: String,
    background: String,
}

/// The programme's side of a batch: one fact of the register per record or event, and
/// for records the client–body pairs of the scope table, kept equal to the pairs the
/// register's facts hold.
async fn write_facts(
    kind: &Kind,
    txn: &DatabaseTransaction,
    run: &Run,
    batch: &[Checked],
) -> Result<(), DbErr> {
    let held = known(
        txn,
        "import_facts",
        "fact_id",
        kind.name,
        batch.iter().map(|row| row.source_id.as_str()),
    )
    .await?;
    let to_write: Vec<(&Checked, String)> = latest(batch)
        .into_iter()
        .map(|row| (row, row.hash()))
        .filter(|(row, hash)| held.get(&row.source_id).is_none_or(|(_, h)| h != hash))
        .collect();
    if to_write.is_empty() {
        return Ok(());
    }
    let is_record = matches!(kind.shape, Shape::Record { .. });
    let table = if is_record {
        "client_facts"
    } else {
        "event_facts"
    };
    let division = kind.subgraph;
    let clients: BTreeSet<&str> = to_write
        .iter()
        .filter_map(|(row, _)| row.client_id.as_deref())
        .collect();
    let dimensions = client_dimensions(txn, &clients).await?;
    let mut keys = record_keys(txn, &clients).await?;

    // The pairs corrected facts held before: each goes if no fact holds it any more.
    let corrected: Vec<i64> = to_write
        .iter()
        .filter_map(|(row, _)| held.get(&row.source_id).map(|(id, _)| *id))
        .collect();
    let mut old_pairs: BTreeSet<(String, String)> = BTreeSet::new();
    if is_record && !corrected.is_empty() {
        let select = Query::select()
            .columns(["client_id", "body_id"])
            .from("client_facts")
            .and_where(Expr::col("id").is_in(corrected))
            .to_owned();
        for row in txn.query_all(&select).await? {
            old_pairs.insert((row.try_get("", "client_id")?, row.try_get("", "body_id")?));
        }
    }

    let new_count = to_write
        .iter()
        .filter(|(row, _)| !held.contains_key(&row.source_id))
        .count();
    let mut fresh = next_ids(txn, table, new_count).await?.into_iter();
    let columns: &[&str] = if is_record {
        &[
            "id",
            "client_id",
            "measure_id",
            "body_id",
            "division_id",
            "year",
            "quarter",
            "district",
            "mother_tongue_group",
            "age_group",
            "gender",
            "background",
            "outcome",
            "record",
            "month",
            "ended",
            "record_key",
        ]
    } else {
        &[
            "id",
            "measure_id",
            "body_id",
            "division_id",
            "year",
            "quarter",
            "district",
            "languages",
            "participants",
            "record_key",
        ]
    };
    let mut insert = Query::insert()
        .into_table(table)
        .columns(columns.iter().copied())
        .to_owned();
    let mut inserted = false;
    let mut fact_ids = Vec::with_capacity(to_write.len());
    for (row, _) in &to_write {
        let (id, is_new) = match held.get(&row.source_id) {
            Some((id, _)) => (*id, false),
            None => (fresh.next().expect("an id for each new fact"), true),
        };
        fact_ids.push(id);
        let mut values: Vec<SimpleExpr> = vec![id.into()];
        if let Some(client) = &row.client_id {
            let who = dimensions.get(client).ok_or_else(|| {
                DbErr::Custom(format!(
                    "line {}: the client was removed during the import",
                    row.line
                ))
            })?;
            let key = match keys.get(client) {
                Some(key) => *key,
                None => {
                    let key = random_record_key()?;
                    keys.insert(client.clone(), key);
                    key
                }
            };
            values.extend([
                client.clone().into(),
                row.measure_id.clone().into(),
                row.body_id.clone().into(),
                division.into(),
                row.year.into(),
                row.quarter.into(),
                who.district.clone().into(),
                MotherTongueGroup::of(&who.mother_tongue).to_value().into(),
                AgeGroup::at(row.year - who.birth_year).to_value().into(),
                who.gender.clone().into(),
                who.background.clone().into(),
                Value::String(row.outcome.map(|o| o.to_value())).into(),
                row.record.clone().into(),
                row.month.into(),
                Value::Int(row.ended).into(),
                key.into(),
            ]);
        } else {
            let figures = row.event.ok_or_else(|| {
                DbErr::Custom(format!("line {}: an event without its figures", row.line))
            })?;
            values.extend([
                row.measure_id.clone().into(),
                row.body_id.clone().into(),
                division.into(),
                row.year.into(),
                row.quarter.into(),
                figures.district.to_value().into(),
                figures.languages.to_value().into(),
                figures.participants.into(),
                random_record_key()?.into(),
            ]);
        }
        if is_new {
            insert
                .values(values)
                .map_err(|e| DbErr::Custom(e.to_string()))?;
            inserted = true;
        } else {
            // A corrected event keeps its key; a record keeps its client's.
            let mut update = Query::update().table(table).to_owned();
            let last = if is_record {
                columns.len()
            } else {
                columns.len() - 1
            };
            for (column, value) in columns[1..last].iter().zip(values.into_iter().skip(1)) {
                update.value(*column, value);
            }
            update.and_where(Expr::col("id").eq(id));
            txn.execute(&update).await?;
        }
    }
    if inserted {
        txn.execute(&insert).await?;
    }

    if is_record {
        let mut pairs = Query::insert()
            .into_table("client_bodies")
            .columns(["client_id", "body_id"])
            .on_conflict(
                OnConflict::columns(["client_id", "body_id"])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let now: BTreeSet<(&str, &str)> = to_write
            .iter()
            .filter_map(|(row, _)| Some((row.client_id.as_deref()?, row.body_id.as_str())))
            .collect();
        for (client, body) in &now {
            pairs
                .values([(*client).into(), (*body).into()])
                .map_err(|e| DbErr::Custom(e.to_string()))?;
        }
        txn.execute(&pairs).await?;
        for (client, body) in &old_pairs {
            if now.contains(&(client.as_str(), body.as_str())) {
                continue;
            }
            let still_held = Query::select()
                .expr(Expr::val(1))
                .from("client_facts")
                .and_where(Expr::col("client_id").eq(client.as_str()))
                .and_where(Expr::col("body_id").eq(body.as_str()))
                .to_owned();
            let gone = Query::delete()
                .from_table("client_bodies")
                .and_where(Expr::col("client_id").eq(client.as_str()))
                .and_where(Expr::col("body_id").eq(body.as_str()))
                .and_where(Expr::exists(still_held).not())
                .to_owned();
            txn.execute(&gone).await?;
        }
    }

    let written = to_write
        .iter()
        .zip(fact_ids)
        .map(|((row, hash), id)| (row.source_id.as_str(), id, hash.as_str()));
    keep_sources(txn, "import_facts", "fact_id", kind.name, run, written).await
}

/// Keeps in `table` (`import_sources` or `import_facts`) what each source record of
/// `kind` was written as (the id in `id_column`) and the hash of what it held.
async fn keep_sources<'a>(
    txn: &DatabaseTransaction,
    table: &'static str,
    id_column: &'static str,
    kind: &str,
    run: &Run,
    written: impl Iterator<Item = (&'a str, i64, &'a str)>,
) -> Result<(), DbErr> {
    let mut upsert = Query::insert()
        .into_table(table)
        .columns(["kind", "source_id", id_column, "row_hash", "run_id"])
        .on_conflict(
            OnConflict::columns(["kind", "source_id"])
                .update_columns([id_column, "row_hash", "run_id"])
                .to_owned(),
        )
        .to_owned();
    for (source_id, id, hash) in written {
        upsert
            .values([
                kind.into(),
                source_id.into(),
                id.into(),
                hash.into(),
                run.id.clone().into(),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
    }
    txn.execute(&upsert).await?;
    Ok(())
}

/// The dimensions of each of `clients`.
async fn client_dimensions(
    txn: &DatabaseTransaction,
    clients: &BTreeSet<&str>,
) -> Result<HashMap<String, Dimensions>, DbErr> {
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    let select = Query::select()
        .columns([
            "id",
            "birth_year",
            "district",
            "mother_tongue",
            "gender",
            "background",
        ])
        .from("clients")
        .and_where(Expr::col("id").is_in(clients.iter().copied()))
        .to_owned();
    txn.query_all(&select)
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get("", "id")?,
                Dimensions {
                    birth_year: row.try_get("", "birth_year")?,
                    district: row.try_get("", "district")?,
                    mother_tongue: row.try_get("", "mother_tongue")?,
                    gender: row.try_get("", "gender")?,
                    background: row.try_get("", "background")?,
                },
            ))
        })
        .collect()
}

/// The register key each of `clients` already has: the disclosure control needs one
/// key on every fact of a client (`kotohub_programme::disclosure`).
async fn record_keys(
    txn: &DatabaseTransaction,
    clients: &BTreeSet<&str>,
) -> Result<HashMap<String, i64>, DbErr> {
    if clients.is_empty() {
        return Ok(HashMap::new());
    }
    let select = Query::select()
        .column("client_id")
        .expr_as(Func::min(Expr::col("record_key")), "record_key")
        .from("client_facts")
        .and_where(Expr::col("client_id").is_in(clients.iter().copied()))
        .group_by_col("client_id")
        .to_owned();
    txn.query_all(&select)
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get("", "client_id")?,
                row.try_get("", "record_key")?,
            ))
        })
        .collect()
}

/// A fresh register key, drawn at random: a key that could be worked out from the
/// client id would let a reader of both undo the perturbation.
fn random_record_key() -> Result<i64, DbErr> {
    let drawn = kotohub_auth::keys::random_key().map_err(|e| DbErr::Custom(e.to_string()))?;
    let bits = u64::from_str_radix(&drawn[..16], 16).map_err(|e| DbErr::Custom(e.to_string()))?;
    Ok((bits % kotohub_programme::disclosure::RECORD_KEY_RANGE as u64) as i64)
}
