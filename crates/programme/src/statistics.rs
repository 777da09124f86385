//! Aggregates for division dashboards: counts of clients and of events from the
//! statistics register, broken down by fixed dimensions, each cell published under the
//! disclosure rules ([`crate::disclosure`]) before it leaves the subgraph.
//!
//! In the request flow these are root fields of the programme subgraph. The gateway lets
//! only principals the policy allows read them (analysts); here the principal's aggregate
//! scope picks the divisions whose records are counted. Clients are counted from the
//! register's copy in memory ([`crate::register`]); events, a few per measure and
//! quarter, in SQL, where on PostgreSQL row-level security applies the same scope to the
//! register's table.
//!
//! Every cell is published on its own: what it shows depends only on who is counted in
//! it, never on the table around it. So a filtered slice, the same cells in a bigger
//! table, a margin asked separately and the total all agree cell for cell, and no
//! combination of answers says more about a cell than the cell itself does.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Result, SimpleObject};
use kotohub_auth::AggregateScope;
use kotohub_subgraph::access::{ScopedConnection, row_access};
use kotohub_subgraph::vocab::District;
use kotohub_subgraph::{bad_input, forbidden, internal};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, SelectStatement};
use sea_orm::{ActiveEnum, ConnectionTrait};

use crate::disclosure::{Counted, publish};
use crate::entity::client::{Background, Gender};
use crate::entity::client_fact::{AgeGroup, MotherTongueGroup};
use crate::entity::event_fact::EventLanguages;
use crate::register::{Question, Register, Second, Selection};
use crate::schema::Snapshot;

/// At most this many dimensions per table: more would cut the population into cells
/// too small to show anything.
pub const MAX_DIMENSIONS: usize = 3;

/// What a client count can be broken down by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum ClientDimension {
    Measure,
    /// The division of the responsible body that made the record.
    Division,
    /// The responsible body that made the record.
    Body,
    Year,
    /// Year and quarter.
    Quarter,
    /// The client's major district.
    District,
    MotherTongueGroup,
    /// The client's age when the record was made.
    AgeGroup,
    Gender,
    Background,
}

/// What an event count can be broken down by.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum EventDimension {
    Measure,
    Division,
    Year,
    Quarter,
    /// Where the event was held.
    District,
    /// The languages it was held in.
    Languages,
}

/// A dimension's columns in the register.
trait Dimension: Copy + PartialEq + std::fmt::Debug {
    fn columns(self) -> &'static [&'static str];
}

/// The dimension that names the same thing as a filter, for each filter.
struct Fixed<D> {
    measure: D,
    division: D,
    year: [D; 2],
}

impl Dimension for ClientDimension {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Measure => &["measure_id"],
            Self::Division => &["division_id"],
            Self::Body => &["body_id"],
            Self::Year => &["year"],
            Self::Quarter => &["year", "quarter"],
            Self::District => &["district"],
            Self::MotherTongueGroup => &["mother_tongue_group"],
            Self::AgeGroup => &["age_group"],
            Self::Gender => &["gender"],
            Self::Background => &["background"],
        }
    }
}

impl Dimension for EventDimension {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Measure => &["measure_id"],
            Self::Division => &["division_id"],
            Self::Year => &["year"],
            Self::Quarter => &["year", "quarter"],
            Self::District => &["district"],
            Self::Languages => &["languages"],
        }
    }
}

/// Counts of distinct clients with records in the register, by the dimensions asked.
#[derive(SimpleObject)]
pub struct ClientStatistics {
    /// The dimensions the cells are broken down by, in the order asked.
    by: Vec<ClientDimension>,
    /// The whole population the filters select, counted as a cell of its own: with
    /// the noise, it is close to the sum of the cells but seldom equal to it.
    total: ClientStatisticsCell,
    /// One cell per combination of the values the dimensions take, zeros included.
    pub(crate) cells: Vec<ClientStatisticsCell>,
    /// How many of the cells are suppressed.
    suppressed_cells: i32,
}

/// Where a cell lies in the dimensions both tables share.
#[derive(SimpleObject, Default)]
pub(crate) struct Place {
    measure_id: Option<ID>,
    division_id: Option<ID>,
    pub(crate) year: Option<i32>,
    pub(crate) quarter: Option<i32>,
    district: Option<District>,
}

impl Place {
    /// Takes `value` of the shared dimension stored in `columns`; false for any other.
    fn take(&mut self, columns: &[&str], value: &Value) -> bool {
        match (columns, value) {
            (["measure_id"], Value::Text(v)) => self.measure_id = Some(ID(v.clone())),
            (["division_id"], Value::Text(v)) => self.division_id = Some(ID(v.clone())),
            (["year"], Value::Number(y)) => self.year = Some(*y),
            ([_, _], Value::Quarter(y, q)) => {
                self.year = Some(*y);
                self.quarter = Some(*q);
            }
            (["district"], Value::Text(v)) => self.district = stored(v),
            _ => return false,
        }
        true
    }
}

/// One cell of a client table. Its dimension fields are those the table is broken down
/// by; the others are null.
#[derive(SimpleObject, Default)]
pub struct ClientStatisticsCell {
    #[graphql(flatten)]
    pub(crate) place: Place,
    body_id: Option<ID>,
    mother_tongue_group: Option<MotherTongueGroup>,
    age_group: Option<AgeGroup>,
    gender: Option<Gender>,
    background: Option<Background>,
    /// Distinct clients with a record in the cell, with the cell's noise; null when
    /// suppressed.
    pub(crate) clients: Option<i32>,
    /// Of them, those with one of the asked outcomes recorded in the cell; null when
    /// suppressed or when no outcomes were asked.
    pub(crate) with_outcome: Option<i32>,
    /// `withOutcome / clients`; null when either is null or there are no clients.
    pub(crate) share: Option<f64>,
    /// With `perResidents`: the clients per 1,000 residents the population figures
    /// count in the cell (of its year, district, mother-tongue group and age group as far
    /// as it names them); null when suppressed or when no figures cover it.
    per_thousand_residents: Option<f64>,
    /// True when the cell counts 1–4 of anything, or would be shown as fewer than five
    /// with its noise; its counts are then null.
    pub(crate) suppressed: bool,
}

/// Counts of events in the register, by the dimensions asked.
#[derive(SimpleObject)]
pub struct EventStatistics {
    by: Vec<EventDimension>,
    total: EventStatisticsCell,
    pub(crate) cells: Vec<EventStatisticsCell>,
    suppressed_cells: i32,
}

/// One cell of an event table.
#[derive(SimpleObject, Default)]
pub struct EventStatisticsCell {
    #[graphql(flatten)]
    pub(crate) place: Place,
    pub(crate) languages: Option<EventLanguages>,
    /// Events held, with the cell's noise; null when suppressed.
    pub(crate) events: Option<i32>,
    /// Participants counted at those events, with noise of its own; null when
    /// suppressed.
    pub(crate) participants: Option<i32>,
    pub(crate) suppressed: bool,
}

/// The filters both tables take.
#[derive(Default)]
pub struct Filters {
    pub measure: Option<ID>,
    pub division: Option<ID>,
    pub year: Option<i32>,
    /// Events held in these districts only (all when empty).
    pub districts: Vec<District>,
}

/// One dimension's value in a cell.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Value {
    Text(String),
    Number(i32),
    Quarter(i32, i32),
}

/// A counted cell: its value in each dimension, and for each measure its true count and
/// the sum of its contributors' record keys.
type Cell = (Vec<Value>, Vec<(i64, i64)>);

/// A whole table: every cell's value in each dimension, and every cell's counts and keys.
type Grid = (Vec<Vec<Value>>, Vec<Vec<(i64, i64)>>);

/// Most cells a table may have; a finer one is refused rather than shown in part.
pub const MAX_CELLS: usize = 20_000;

/// A published table: each cell's value in each asked dimension and its published counts
/// (`None` where suppressed), and the total's.
struct Slice {
    cells: Vec<(Vec<Value>, Vec<Option<i64>>)>,
    total: Vec<Option<i64>>,
}

/// One count of a table: how SQL counts it, how it sums its contributors' record keys,
/// and what it counts.
struct Measure {
    count: Expr,
    key: Expr,
    counted: Counted,
}

pub async fn clients(
    ctx: &Context<'_>,
    catalog: &Snapshot,
    by: Vec<ClientDimension>,
    filters: Filters,
    selection: Selection,
    second: Second,
    per_residents: bool,
) -> Result<ClientStatistics> {
    use ClientDimension as D;
    let fixed = Fixed {
        measure: D::Measure,
        division: D::Division,
        year: [D::Year, D::Quarter],
    };
    let asked_outcomes = !matches!(second, Second::Nobody);
    dimensions(&by, &fixed, catalog, &filters)?;
    if let Some(body) = &selection.body {
        if !catalog.has_body(body) {
            return Err(bad_input(format!("there is no responsible body {body:?}")));
        }
        if by.contains(&D::Body) {
            return Err(bad_input(
                "the body filter already fixes the BODY dimension",
            ));
        }
    }
    let rows = row_access(ctx)?;
    let residents = if per_residents {
        Some(crate::population::Residents::read(ctx, &by, filters.year).await?)
    } else {
        None
    };
    let question = Question {
        divisions: divisions_in_scope(rows.aggregates(), &filters)?,
        measure: filters.measure.map(|id| id.to_string()),
        division: filters.division.map(|id| id.to_string()),
        year: filters.year,
        selection,
        second,
        by: by.clone(),
    };
    let facts = ctx
        .data::<Arc<Register>>()
        .map_err(|error| internal(error.message))?
        .facts()
        .await
        .map_err(internal)?;
    // A pass over every fact is work for a core, not for the threads serving requests.
    let answer = tokio::task::spawn_blocking(move || facts.count(&question))
        .await
        .map_err(internal)?;
    let counted = [Counted::Clients, Counted::Clients];
    let slice = Slice::published(
        answer.total.to_vec(),
        answer
            .cells
            .into_iter()
            .map(|(key, counts)| (key, counts.to_vec()))
            .collect(),
        by.len(),
        &counted,
    )?;
    let cell = |key: &[Value], counts: Option<&[i64]>| {
        let mut cell = ClientStatisticsCell {
            suppressed: counts.is_none(),
            ..Default::default()
        };
        for (dimension, value) in by.iter().zip(key) {
            if cell.place.take(dimension.columns(), value) {
                continue;
            }
            match (dimension, value) {
                (D::Body, Value::Text(v)) => cell.body_id = Some(ID(v.clone())),
                (D::MotherTongueGroup, Value::Text(v)) => cell.mother_tongue_group = stored(v),
                (D::AgeGroup, Value::Text(v)) => cell.age_group = stored(v),
                (D::Gender, Value::Text(v)) => cell.gender = stored(v),
                (D::Background, Value::Text(v)) => cell.background = stored(v),
                _ => {}
            }
        }
        if let Some(counts) = counts {
            let clients = to_int(counts[0]);
            cell.clients = Some(clients);
            if asked_outcomes {
                // Each count carries noise of its own; those with an outcome are never
                // shown as more than all of them.
                let with = Ord::min(to_int(counts[1]), clients);
                cell.with_outcome = Some(with);
                cell.share = (clients > 0).then(|| f64::from(with) / f64::from(clients));
            }
            if let Some(residents) = &residents {
                cell.per_thousand_residents = residents
                    .of(
                        cell.place.year.or(filters.year),
                        cell.place.district,
                        cell.mother_tongue_group,
                        cell.age_group,
                    )
                    .filter(|n| *n > 0)
                    .map(|n| (f64::from(clients) * 10_000.0 / n as f64).round() / 10.0);
            }
        }
        cell
    };
    let (total, cells, suppressed_cells) = slice.answer(ctx, cell)?;
    Ok(ClientStatistics {
        total,
        cells,
        suppressed_cells,
        by,
    })
}

pub async fn events(
    ctx: &Context<'_>,
    catalog: &Snapshot,
    by: Vec<EventDimension>,
    filters: Filters,
) -> Result<EventStatistics> {
    use EventDimension as D;
    let fixed = Fixed {
        measure: D::Measure,
        division: D::Division,
        year: [D::Year, D::Quarter],
    };
    let column = |name: &str| Expr::col(Alias::new(name));
    let measures = [
        Measure {
            count: Func::count(column("id")).into(),
            key: key_sum(Func::sum(column("record_key"))),
            counted: Counted::Events,
        },
        Measure {
            count: Func::coalesce([Func::sum(column("participants")).into(), Expr::val(0)]).into(),
            key: key_sum(Func::sum(column("record_key"))),
            counted: Counted::Participants,
        },
    ];
    let slice = table(
        ctx,
        catalog,
        "event_facts",
        &by,
        &fixed,
        &filters,
        &measures,
    )
    .await?;
    let cell = |key: &[Value], counts: Option<&[i64]>| {
        let mut cell = EventStatisticsCell {
            suppressed: counts.is_none(),
            ..Default::default()
        };
        for (dimension, value) in by.iter().zip(key) {
            if !cell.place.take(dimension.columns(), value)
                && let (D::Languages, Value::Text(v)) = (dimension, value)
            {
                cell.languages = stored(v);
            }
        }
        if let Some(counts) = counts {
            cell.events = Some(to_int(counts[0]));
            cell.participants = Some(to_int(counts[1]));
        }
        cell
    };
    let (total, cells, suppressed_cells) = slice.answer(ctx, cell)?;
    Ok(EventStatistics {
        total,
        cells,
        suppressed_cells,
        by,
    })
}

/// A dimension a filter fixes: its columns and the value asked.
type FilterDimension = (&'static [&'static str], Value);

/// Checks the asked dimensions against each other and the filters, and turns the
/// filters into the dimensions they fix.
fn dimensions<D: Dimension>(
    by: &[D],
    fixed: &Fixed<D>,
    catalog: &Snapshot,
    filters: &Filters,
) -> Result<Vec<FilterDimension>> {
    if by.len() > MAX_DIMENSIONS {
        return Err(bad_input(format!(
            "a table has at most {MAX_DIMENSIONS} dimensions; {} were asked",
            by.len()
        )));
    }
    for (index, dimension) in by.iter().enumerate() {
        if by[..index].contains(dimension) {
            return Err(bad_input(format!(
                "the dimension {dimension:?} is asked twice"
            )));
        }
    }
    let [year, quarter] = fixed.year;
    if by.contains(&year) && by.contains(&quarter) {
        return Err(bad_input(
            "a quarter already names its year: ask for YEAR or QUARTER, not both",
        ));
    }
    let mut sliced = Vec::new();
    if let Some(measure) = &filters.measure {
        if !catalog.has_measure(measure) {
            return Err(bad_input(format!(
                "there is no measure {:?}",
                measure.as_str()
            )));
        }
        if by.contains(&fixed.measure) {
            return Err(bad_input(
                "the measure filter already fixes the MEASURE dimension",
            ));
        }
        sliced.push((fixed.measure.columns(), Value::Text(measure.to_string())));
    }
    if let Some(division) = &filters.division {
        if !catalog.has_division(division) {
            return Err(bad_input(format!(
                "there is no division {:?}",
                division.as_str()
            )));
        }
        if by.contains(&fixed.division) {
            return Err(bad_input(
                "the division filter already fixes the DIVISION dimension",
            ));
        }
        sliced.push((fixed.division.columns(), Value::Text(division.to_string())));
    }
    if let Some(y) = filters.year {
        if by.contains(&year) || by.contains(&quarter) {
            return Err(bad_input(
                "the year filter already fixes the YEAR dimension: ask by QUARTER without it \
                 and read that year's cells",
            ));
        }
        sliced.push((year.columns(), Value::Number(y)));
    }
    Ok(sliced)
}

/// Counts `table` in the caller's aggregate scope, restricted by the filters and grouped
/// by the asked dimensions, and publishes each cell under the disclosure rules. The total
/// is counted apart, as one more cell, as the client breakdowns count theirs.
async fn table<D: Dimension>(
    ctx: &Context<'_>,
    catalog: &Snapshot,
    table: &'static str,
    by: &[D],
    fixed: &Fixed<D>,
    filters: &Filters,
    measures: &[Measure],
) -> Result<Slice> {
    let sliced = dimensions(by, fixed, catalog, filters)?;
    let rows = row_access(ctx)?;
    let divisions = divisions_in_scope(rows.aggregates(), filters)?;
    let grouping: Vec<&'static [&'static str]> = by.iter().map(|d| d.columns()).collect();
    let db = rows.db();
    let select = |grouping: &[&'static [&'static str]]| {
        let mut select = Query::select();
        select.from(Alias::new(table));
        if let Some(divisions) = &divisions {
            select.and_where(Expr::col(Alias::new("division_id")).is_in(divisions.clone()));
        }
        if !filters.districts.is_empty() {
            select.and_where(
                Expr::col(Alias::new("district"))
                    .is_in(filters.districts.iter().map(|d| d.to_value())),
            );
        }
        for (columns, value) in &sliced {
            let column = Expr::col(Alias::new(columns[0]));
            select.and_where(match value {
                Value::Text(text) => column.eq(text.as_str()),
                Value::Number(number) => column.eq(*number),
                Value::Quarter(year, _) => column.eq(*year),
            });
        }
        for (index, measure) in measures.iter().enumerate() {
            select.expr_as(measure.count.clone(), Alias::new(format!("count_{index}")));
            select.expr_as(measure.key.clone(), Alias::new(format!("key_{index}")));
        }
        for column in grouping.iter().flat_map(|columns| columns.iter()) {
            select.column(Alias::new(*column));
            select.group_by_col(Alias::new(*column));
        }
        select
    };
    let total = counted(db, &select(&[]), &[], measures.len())
        .await?
        .into_iter()
        .next()
        .map_or_else(|| vec![(0, 0); measures.len()], |(_, counts)| counts);
    let cells = if by.is_empty() {
        Vec::new()
    } else {
        counted(db, &select(&grouping), &grouping, measures.len()).await?
    };
    let counted: Vec<Counted> = measures.iter().map(|m| m.counted).collect();
    Slice::published(total, cells, grouping.len(), &counted)
}

/// The sum of record keys `sum` adds up, as a 64-bit integer on both backends (PostgreSQL
/// sums `bigint`s into `numeric`), zero for an empty cell.
fn key_sum(sum: impl Into<Expr>) -> Expr {
    Func::coalesce([
        Func::cast_as(sum.into(), Alias::new("BIGINT")).into(),
        Expr::val(0),
    ])
    .into()
}

/// Runs a grouped count: each row's value in each dimension, and its counts.
async fn counted(
    db: &ScopedConnection,
    select: &SelectStatement,
    dimensions: &[&'static [&'static str]],
    measures: usize,
) -> Result<Vec<Cell>> {
    let statement = db.get_database_backend().build(select);
    let rows = db.query_all_raw(statement).await.map_err(internal)?;
    let mut cells: Vec<Cell> = Vec::with_capacity(rows.len());
    for row in rows {
        let mut key = Vec::with_capacity(dimensions.len());
        for columns in dimensions {
            key.push(match columns {
                [year, quarter] => Value::Quarter(
                    row.try_get("", year).map_err(internal)?,
                    row.try_get("", quarter).map_err(internal)?,
                ),
                ["year"] => Value::Number(row.try_get("", "year").map_err(internal)?),
                [column] => Value::Text(row.try_get("", column).map_err(internal)?),
                columns => {
                    return Err(internal(format!(
                        "a dimension stored in {columns:?} has no reader"
                    )));
                }
            });
        }
        let counts = (0..measures)
            .map(|index| {
                Ok((
                    row.try_get::<i64>("", &format!("count_{index}"))
                        .map_err(internal)?,
                    row.try_get::<i64>("", &format!("key_{index}"))
                        .map_err(internal)?,
                ))
            })
            .collect::<Result<Vec<(i64, i64)>>>()?;
        // A table with no dimensions still has its one row when nothing matched.
        if !dimensions.is_empty() || counts.iter().any(|&(c, _)| c > 0) {
            cells.push((key, counts));
        }
    }
    Ok(cells)
}

/// Every combination of the values each dimension takes, zeros included and in key
/// order. Were zero cells left out, the caller would know them to be zero, and a
/// hidden cell between known zeros can be worked out; listed, a zero can be hidden too.
fn full_grid(cells: Vec<Cell>, dimensions: usize, measures: usize) -> Result<Grid> {
    let mut values: Vec<Vec<Value>> = vec![Vec::new(); dimensions];
    for (key, _) in &cells {
        for (dimension, value) in key.iter().enumerate() {
            values[dimension].push(value.clone());
        }
    }
    for list in &mut values {
        list.sort();
        list.dedup();
    }
    let size = values
        .iter()
        .try_fold(1usize, |size, list| size.checked_mul(list.len().max(1)))
        .filter(|&size| size <= MAX_CELLS)
        .ok_or_else(too_fine)?;
    if cells.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let found: HashMap<Vec<Value>, Vec<(i64, i64)>> = cells.into_iter().collect();
    let mut keys = Vec::with_capacity(size);
    let mut counts = Vec::with_capacity(size);
    let mut at = vec![0usize; dimensions];
    loop {
        let key: Vec<Value> = at
            .iter()
            .zip(&values)
            .map(|(&i, list)| list[i].clone())
            .collect();
        counts.push(
            found
                .get(&key)
                .cloned()
                .unwrap_or_else(|| vec![(0, 0); measures]),
        );
        keys.push(key);
        // Advance the last dimension first, so keys come out sorted.
        let mut dimension = dimensions;
        loop {
            if dimension == 0 {
                return Ok((keys, counts));
            }
            dimension -= 1;
            at[dimension] += 1;
            if at[dimension] < values[dimension].len() {
                break;
            }
            at[dimension] = 0;
        }
    }
}

fn too_fine() -> async_graphql::Error {
    bad_input(format!(
        "this table would have more than {MAX_CELLS} cells: ask with fewer dimensions or a \
         filter"
    ))
}

/// The divisions to count: the scope's; `None` for all. A division filter outside the
/// scope is refused rather than answered with zeros.
fn divisions_in_scope(scope: &AggregateScope, filters: &Filters) -> Result<Option<Vec<String>>> {
    match (scope, &filters.division) {
        (AggregateScope::Nothing, _) => Err(forbidden(
            "your grant does not cover aggregates of any division",
        )),
        (scope, Some(division)) if !scope.covers(division) => Err(forbidden(format!(
            "your grant does not cover aggregates of the division {:?}",
            division.as_str()
        ))),
        (AggregateScope::Divisions(divisions), _) => Ok(Some(divisions.to_vec())),
        (AggregateScope::CityWide, _) => Ok(None),
    }
}

/// A stored enum value; one the enum does not know is left out rather than guessed.
fn stored<E: ActiveEnum<Value = String>>(value: &str) -> Option<E> {
    E::try_from_value(&value.to_owned()).ok()
}

fn to_int(count: i64) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

impl Slice {
    /// Publishes a table's true counts: each cell of the full grid of `dimensions`
    /// (zeros included) and the total, each count under the disclosure rules for what
    /// it counts.
    fn published(
        total: Vec<(i64, i64)>,
        cells: Vec<Cell>,
        dimensions: usize,
        counted: &[Counted],
    ) -> Result<Self> {
        let published = |counts: &[(i64, i64)]| -> Vec<Option<i64>> {
            counts
                .iter()
                .zip(counted)
                .map(|(&(count, key), &counted)| publish(count, key, counted))
                .collect()
        };
        let total = published(&total);
        if dimensions == 0 {
            return Ok(Self {
                cells: Vec::new(),
                total,
            });
        }
        let (keys, counts) = full_grid(cells, dimensions, counted.len())?;
        let cells = keys
            .into_iter()
            .zip(counts)
            .map(|(key, counts)| (key, published(&counts)))
            .collect();
        Ok(Self { cells, total })
    }

    /// The answer's total, its cells and how many of those are hidden, each cell made by
    /// `cell` from its published counts; tells the access log how many cells the answer
    /// hides, the total included. A cell with any count suppressed is hidden whole.
    fn answer<C>(
        &self,
        ctx: &Context<'_>,
        cell: impl Fn(&[Value], Option<&[i64]>) -> C,
    ) -> Result<(C, Vec<C>, i32)> {
        let shown = |counts: &[Option<i64>]| counts.iter().copied().collect::<Option<Vec<i64>>>();
        let total = shown(&self.total);
        let mut hidden = 0;
        let cells = self
            .cells
            .iter()
            .map(|(key, counts)| {
                let counts = shown(counts);
                hidden += i32::from(counts.is_none());
                cell(key, counts.as_deref())
            })
            .collect();
        row_access(ctx)?.suppressed(i64::from(hidden) + i64::from(total.is_none()));
        Ok((cell(&[], total.as_deref()), cells, hidden))
    }
}
