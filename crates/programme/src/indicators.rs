//! Recorded indicators: what the responsible bodies report of the indicators the
//! register cannot count — a milestone reached, a survey's score, an outside statistic —
//! for a period, with its source. The officers of the bodies that answer for an indicator
//! record it with `recordIndicator`; each change is a new version of the period's value
//! and none is ever changed or removed (the table refuses it), so the record's history is
//! the indicator's, and the access log holds who sent each change.
//!
//! In the request flow these are the programme subgraph's one mutation and the
//! `Indicator.records` and `Indicator.history` fields; they read and write
//! `indicator_records`, which holds no person-level data.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{
    Context, Enum, ErrorExtensions, ID, InputObject, Object, Result, SimpleObject,
};
use chrono::{Datelike, SecondsFormat, Utc};
use kotohub_auth::{Policy, Principal};
use kotohub_subgraph::access::RowAccess;
use kotohub_subgraph::{bad_input, forbidden, internal};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};

use crate::entity::indicator::{self, IndicatorKind};
use crate::entity::indicator_record::{self, Column};
use crate::schema::Snapshot;

/// The database the records are written to; they are read through the request's own
/// connection ([`RecordLoader`]).
pub struct IndicatorRecords {
    pub db: DatabaseConnection,
}

/// Where a milestone stands.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum MilestoneStatus {
    NotStarted,
    InProgress,
    /// Achieved in part: the programme's "partially".
    Partially,
    Achieved,
    NotAchieved,
}

impl MilestoneStatus {
    const ALL: [MilestoneStatus; 5] = [
        MilestoneStatus::NotStarted,
        MilestoneStatus::InProgress,
        MilestoneStatus::Partially,
        MilestoneStatus::Achieved,
        MilestoneStatus::NotAchieved,
    ];

    fn stored(self) -> &'static str {
        match self {
            MilestoneStatus::NotStarted => "not_started",
            MilestoneStatus::InProgress => "in_progress",
            MilestoneStatus::Partially => "partially",
            MilestoneStatus::Achieved => "achieved",
            MilestoneStatus::NotAchieved => "not_achieved",
        }
    }

    fn of(stored: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.stored() == stored)
    }
}

/// One version of what a body recorded of an indicator for a period.
#[derive(SimpleObject)]
pub struct IndicatorRecord {
    indicator: ID,
    /// "2019", "2019-Q2", or a span of years such as the programme's "2017-2021".
    pub(crate) period: String,
    /// 1 for the first value recorded for the period; each change adds one.
    version: i32,
    /// A milestone's or a yes/no/partially indicator's status.
    pub(crate) status: Option<MilestoneStatus>,
    /// A count's, a percentage's or an outside statistic's value.
    pub(crate) value: Option<f64>,
    /// Where the value comes from: a report, a survey, a statistics office's table.
    pub(crate) source: String,
    /// The date the source gives its figure, `YYYY-MM-DD`.
    pub(crate) source_date: Option<String>,
    note: String,
    /// The responsible body that recorded it.
    body: ID,
    recorded_by: String,
    /// RFC 3339, UTC.
    recorded_at: String,
}

impl From<indicator_record::Model> for IndicatorRecord {
    fn from(row: indicator_record::Model) -> Self {
        Self {
            indicator: ID(row.indicator_id),
            period: row.period,
            version: row.version,
            status: row.status.as_deref().and_then(MilestoneStatus::of),
            value: row.value,
            source: row.source,
            source_date: row.source_date,
            note: row.note,
            body: ID(row.body_id),
            recorded_by: row.recorded_by,
            recorded_at: row.recorded_at,
        }
    }
}

/// A value or status to record.
#[derive(InputObject)]
pub struct RecordIndicatorInput {
    indicator: ID,
    /// "2019", "2019-Q2", or a span of years such as "2017-2021".
    period: String,
    /// For milestones and yes/no/partially indicators.
    status: Option<MilestoneStatus>,
    /// For counts, percentages (0–100) and breakdowns followed over time.
    value: Option<f64>,
    source: String,
    /// The date the source gives its figure (`YYYY-MM-DD`): required for survey scores
    /// and outside statistics, whose value is only as good as its release.
    source_date: Option<String>,
    #[graphql(default)]
    note: String,
    /// The body recording it; may be left out by an officer of a single body that
    /// answers for the indicator.
    body: Option<ID>,
}

const MAX_SOURCE: usize = 500;
const MAX_NOTE: usize = 2000;

/// Why a period is not one: `None` when it is.
fn period_problem(period: &str) -> Option<String> {
    let year = |text: &str| {
        text.len() == 4
            && text.chars().all(|c| c.is_ascii_digit())
            && (2000..=2100).contains(&text.parse::<i32>().unwrap_or(0))
    };
    let fine = match period.split_once('-') {
        None => year(period),
        Some((first, quarter)) if quarter.starts_with('Q') => {
            year(first) && matches!(quarter, "Q1" | "Q2" | "Q3" | "Q4")
        }
        Some((first, last)) => year(first) && year(last) && first < last,
    };
    (!fine).then(|| {
        format!("the period {period:?} is not a year (2019), a quarter (2019-Q2) or a span of years (2017-2021)")
    })
}

/// Why a source's date is not one: `None` when it is. A date to come is not a
/// release yet.
fn source_date_problem(date: &str) -> Option<String> {
    match chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d") {
        Ok(day) if day.format("%Y-%m-%d").to_string() != date => Some(format!(
            "the source date {date:?} is not written YYYY-MM-DD"
        )),
        Ok(day) if day > Utc::now().date_naive() => {
            Some(format!("the source date {date} is still to come"))
        }
        Ok(day) if day.year() < 1990 => Some(format!("the source date {date} is before 1990")),
        Ok(_) => None,
        Err(_) => Some(format!(
            "the source date {date:?} is not a date (YYYY-MM-DD)"
        )),
    }
}

/// Every reason `input` does not fit `indicator`'s kind; empty when it does.
fn problems(indicator: &indicator::Model, input: &RecordIndicatorInput) -> Vec<String> {
    let mut problems = Vec::new();
    problems.extend(period_problem(&input.period));
    match indicator.kind {
        IndicatorKind::Milestone | IndicatorKind::YesNoPartially => {
            match input.status {
                None => problems.push(format!(
                    "indicator {} is a {} indicator: give its status",
                    indicator.id,
                    kind_name(indicator.kind)
                )),
                Some(MilestoneStatus::NotStarted | MilestoneStatus::InProgress)
                    if indicator.kind == IndicatorKind::YesNoPartially =>
                {
                    problems.push(format!(
                        "indicator {} is answered yes, no or partially: ACHIEVED, PARTIALLY or NOT_ACHIEVED",
                        indicator.id
                    ))
                }
                Some(_) => {}
            }
            if input.value.is_some() {
                problems.push(format!(
                    "indicator {} takes a status, not a value",
                    indicator.id
                ));
            }
        }
        IndicatorKind::Count
        | IndicatorKind::Percentage
        | IndicatorKind::Series
        | IndicatorKind::SurveyScore
        | IndicatorKind::ExternalStatistic => {
            match input.value {
                None => problems.push(format!(
                    "indicator {} is a {} indicator: give its value",
                    indicator.id,
                    kind_name(indicator.kind)
                )),
                Some(value) if !value.is_finite() || value < 0.0 => {
                    problems.push("the value must be a number of zero or more".to_owned())
                }
                Some(value) if indicator.kind == IndicatorKind::Percentage && value > 100.0 => {
                    problems.push("a percentage is between 0 and 100".to_owned())
                }
                Some(_) => {}
            }
            if input.status.is_some() {
                problems.push(format!(
                    "indicator {} takes a value, not a status",
                    indicator.id
                ));
            }
        }
    }
    let source = input.source.trim();
    if source.is_empty() {
        problems.push("say where the value comes from (source)".to_owned());
    } else if source.chars().count() > MAX_SOURCE {
        problems.push(format!("the source is longer than {MAX_SOURCE} characters"));
    }
    match (&input.source_date, indicator.kind) {
        (None, IndicatorKind::SurveyScore | IndicatorKind::ExternalStatistic) => {
            problems.push(format!(
                "indicator {} is a {}: give the date of its source (sourceDate, YYYY-MM-DD)",
                indicator.id,
                kind_name(indicator.kind)
            ))
        }
        (Some(date), _) => problems.extend(source_date_problem(date)),
        (None, _) => {}
    }
    if input.note.chars().count() > MAX_NOTE {
        problems.push(format!("the note is longer than {MAX_NOTE} characters"));
    }
    problems
}

/// An indicator's kind in words.
pub(crate) fn kind_name(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Count => "count",
        IndicatorKind::Percentage => "percentage",
        IndicatorKind::YesNoPartially => "yes/no/partially",
        IndicatorKind::Milestone => "milestone",
        IndicatorKind::Series => "series",
        IndicatorKind::SurveyScore => "survey score",
        IndicatorKind::ExternalStatistic => "external statistic",
    }
}

/// The body the caller records for: one it acts for that answers for the indicator.
fn recording_body(
    ctx: &Context<'_>,
    indicator: &indicator::Model,
    answering: &[String],
    asked: Option<&ID>,
) -> Result<String> {
    let principal = ctx.data::<Principal>()?;
    let policy = ctx.data::<Arc<Policy>>()?;
    let own = policy.indicator_record_bodies(principal);
    let mine: Vec<&String> = own.iter().filter(|b| answering.contains(b)).collect();
    if mine.is_empty() {
        return Err(forbidden(format!(
            "indicator {} is recorded by the officers of {}",
            indicator.id,
            if answering.is_empty() {
                "no body".to_owned()
            } else {
                answering.join(", ")
            }
        )));
    }
    match asked {
        Some(body) if mine.iter().any(|b| **b == body.0) => Ok(body.0.clone()),
        Some(body) => Err(forbidden(format!(
            "you do not record indicator {} for {}",
            indicator.id, body.0
        ))),
        None if mine.len() == 1 => Ok(mine[0].clone()),
        None => Err(bad_input(format!(
            "you act for several bodies that answer for indicator {}: name one in `body`",
            indicator.id
        ))),
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Records an indicator's status or value for a period as a new version, with its
    /// source: for the officers of the bodies that answer for it. Recording what the
    /// latest version holds returns that version unchanged.
    async fn record_indicator(
        &self,
        ctx: &Context<'_>,
        input: RecordIndicatorInput,
    ) -> Result<IndicatorRecord> {
        let catalog = ctx.data::<Arc<Snapshot>>()?;
        let Some(indicator) = catalog.indicator(&input.indicator) else {
            return Err(bad_input(format!(
                "there is no indicator {:?}",
                input.indicator.0
            )));
        };
        if let Some(computed) = crate::indicator_values::computed(&indicator.id) {
            return Err(bad_input(format!(
                "indicator {} is counted from the register ({}), not recorded",
                indicator.id, computed.definition
            )));
        }
        let answering = catalog.indicator_bodies(indicator);
        let body = recording_body(ctx, indicator, &answering, input.body.as_ref())?;
        let problems = problems(indicator, &input);
        if !problems.is_empty() {
            return Err(bad_input(problems.join("; ")));
        }
        let principal = ctx.data::<Principal>()?;
        let store = ctx.data::<IndicatorRecords>()?;
        let txn = store.db.begin().await.map_err(internal)?;
        let latest = indicator_record::Entity::find()
            .filter(Column::IndicatorId.eq(indicator.id.as_str()))
            .filter(Column::Period.eq(input.period.as_str()))
            .order_by_desc(Column::Version)
            .one(&txn)
            .await
            .map_err(internal)?;
        let status = input.status.map(|s| s.stored().to_owned());
        let source = input.source.trim().to_owned();
        if let Some(latest) = &latest
            && latest.status == status
            && latest.value == input.value
            && latest.source == source
            && latest.source_date == input.source_date
            && latest.note == input.note
            && latest.body_id == body
        {
            return Ok(latest.clone().into());
        }
        let row = indicator_record::ActiveModel {
            indicator_id: Set(indicator.id.clone()),
            period: Set(input.period.clone()),
            version: Set(latest.map_or(1, |l| l.version + 1)),
            status: Set(status),
            value: Set(input.value),
            source: Set(source),
            source_date: Set(input.source_date.clone()),
            note: Set(input.note.clone()),
            body_id: Set(body),
            recorded_by: Set(principal.subject.clone()),
            recorded_at: Set(Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)),
        };
        // Two officers recording the same period at once reach for the same version;
        // the key refuses the second, who is told to look again rather than overwrite.
        let inserted = indicator_record::Entity::insert(row)
            .exec_with_returning(&txn)
            .await;
        let inserted = match inserted {
            Ok(row) => row,
            Err(error) if is_conflict(&error) => {
                return Err(async_graphql::Error::new(format!(
                    "indicator {} for {} was recorded by someone else meanwhile: look at its latest value and try again",
                    indicator.id, input.period
                ))
                .extend_with(|_, ext| ext.set("code", "CONFLICT")));
            }
            Err(error) => return Err(internal(error)),
        };
        txn.commit().await.map_err(internal)?;
        Ok(inserted.into())
    }
}

fn is_conflict(error: &sea_orm::DbErr) -> bool {
    matches!(
        error.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// The latest version of each period's record of `indicator`, periods in order.
pub async fn latest(ctx: &Context<'_>, indicator: &str) -> Result<Vec<IndicatorRecord>> {
    let mut rows = history(ctx, indicator, None).await?;
    // Oldest first within a period, so the last of each run is its latest.
    rows.reverse();
    let mut seen = std::collections::HashSet::new();
    rows.retain(|row| seen.insert(row.period.clone()));
    rows.reverse();
    Ok(rows)
}

/// Every version recorded of `indicator` (of one period, if given), by period and then
/// oldest first.
pub async fn history(
    ctx: &Context<'_>,
    indicator: &str,
    period: Option<&str>,
) -> Result<Vec<IndicatorRecord>> {
    let rows = ctx
        .data::<DataLoader<RecordLoader>>()?
        .load_one(indicator.to_owned())
        .await
        .map_err(internal)?
        .unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter(|row| period.is_none_or(|p| row.period == p))
        .map(IndicatorRecord::from)
        .collect())
}

/// Loads the records of every indicator a request asks about in one statement: a list
/// of the catalog's indicators with their records would otherwise cost a query each.
pub(crate) struct RecordLoader {
    pub(crate) rows: RowAccess,
}

impl Loader<String> for RecordLoader {
    type Value = Vec<indicator_record::Model>;
    type Error = Arc<sea_orm::DbErr>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Self::Error> {
        let rows = indicator_record::Entity::find()
            .filter(Column::IndicatorId.is_in(keys.iter().map(String::as_str)))
            .order_by_asc(Column::IndicatorId)
            .order_by_asc(Column::Period)
            .order_by_asc(Column::Version)
            .all(self.rows.db())
            .await?;
        let mut found: HashMap<String, Self::Value> = HashMap::new();
        for row in rows {
            found.entry(row.indicator_id.clone()).or_default().push(row);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(status: Option<MilestoneStatus>, value: Option<f64>) -> RecordIndicatorInput {
        RecordIndicatorInput {
            indicator: ID("x".into()),
            period: "2019".into(),
            status,
            value,
            source: "annual report".into(),
            source_date: None,
            note: String::new(),
            body: None,
        }
    }

    fn indicator(kind: IndicatorKind) -> indicator::Model {
        indicator::Model {
            id: "9.9/1".into(),
            scope: indicator::Scope::Measure,
            measure_id: Some("9.9".into()),
            measure_set_id: None,
            group_id: None,
            body_id: None,
            position: 1,
            text: "t".into(),
            kind,
            target: None,
            targets: "[]".into(),
            sources: String::new(),
        }
    }

    #[test]
    fn a_survey_score_or_outside_statistic_needs_the_date_of_its_source() {
        for kind in [IndicatorKind::SurveyScore, IndicatorKind::ExternalStatistic] {
            let indicator = indicator(kind);
            let undated = problems(&indicator, &input(None, Some(12.0)));
            assert_eq!(undated.len(), 1, "{undated:?}");
            assert!(undated[0].contains("sourceDate"), "{undated:?}");
            let dated = RecordIndicatorInput {
                source_date: Some("2019-11-30".into()),
                ..input(None, Some(12.0))
            };
            assert!(problems(&indicator, &dated).is_empty());
        }
        // A count may say when its source gave it, but need not.
        assert!(problems(&indicator(IndicatorKind::Count), &input(None, Some(3.0))).is_empty());
        for bad in [
            "30.11.2019",
            "2019-13-01",
            "2019-2-1",
            "1980-01-01",
            "2999-01-01",
        ] {
            assert!(source_date_problem(bad).is_some(), "{bad} was accepted");
        }
        assert_eq!(source_date_problem("2019-02-01"), None);
    }

    #[test]
    fn periods_are_years_quarters_or_spans() {
        for fine in ["2019", "2019-Q2", "2017-2021"] {
            assert_eq!(period_problem(fine), None, "{fine}");
        }
        for bad in [
            "",
            "19",
            "2019-Q5",
            "2021-2017",
            "2019-",
            "1999",
            "2019-Q",
            "20x9",
            "2019/2020",
        ] {
            assert!(period_problem(bad).is_some(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn each_kind_takes_what_it_measures() {
        let milestone = indicator(IndicatorKind::Milestone);
        assert!(problems(&milestone, &input(Some(MilestoneStatus::InProgress), None)).is_empty());
        assert_eq!(problems(&milestone, &input(None, None)).len(), 1);
        assert_eq!(
            problems(
                &milestone,
                &input(Some(MilestoneStatus::Achieved), Some(1.0))
            )
            .len(),
            1
        );
        let yes_no = indicator(IndicatorKind::YesNoPartially);
        assert!(problems(&yes_no, &input(Some(MilestoneStatus::Partially), None)).is_empty());
        assert_eq!(
            problems(&yes_no, &input(Some(MilestoneStatus::InProgress), None)).len(),
            1
        );
        let share = indicator(IndicatorKind::Percentage);
        assert!(problems(&share, &input(None, Some(48.5))).is_empty());
        for bad in [-1.0, 100.5, f64::NAN, f64::INFINITY] {
            assert_eq!(problems(&share, &input(None, Some(bad))).len(), 1, "{bad}");
        }
        let count = indicator(IndicatorKind::Count);
        assert!(problems(&count, &input(None, Some(1200.0))).is_empty());
        let mut unsourced = input(None, Some(3.0));
        unsourced.source = "  ".into();
        unsourced.period = "2019-Q9".into();
        assert_eq!(problems(&count, &unsourced).len(), 2);
    }
}
