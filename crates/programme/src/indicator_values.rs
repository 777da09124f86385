//! An indicator's values over time, for dashboards: counted from the statistics register
//! for the indicators the register can answer ([`COMPUTED`]), under the same scope,
//! noise and small-cell suppression as any other aggregate, or else what the answering
//! bodies recorded ([`crate::indicators`]). Each value comes with the indicator's target,
//! and a period whose register holds no record of the measure says "no data" rather
//! than zero.
//!
//! In the request flow this is `Indicator.values` in the programme subgraph; the counting
//! itself is [`crate::statistics`]'s.

use async_graphql::{Context, Enum, ID, Result, SimpleObject};

use crate::entity::client_fact::RecordedOutcome;
use crate::entity::event_fact::EventLanguages;
use crate::entity::indicator;
use crate::indicators::MilestoneStatus;
use crate::schema::Snapshot;
use crate::statistics::{self, ClientDimension, EventDimension, Filters};

/// How an indicator is counted from the register.
#[derive(Debug, Clone, Copy)]
pub enum Computation {
    /// Distinct clients with records of the measure.
    Clients { measure: &'static str },
    /// The share, in percent, of the measure's clients with one of the outcomes recorded.
    ShareWithOutcome {
        measure: &'static str,
        outcomes: &'static [RecordedOutcome],
    },
    /// Events held for the measure, in the given languages if any.
    Events {
        measure: &'static str,
        languages: Option<EventLanguages>,
    },
    /// Participants counted at the measure's events.
    Participants { measure: &'static str },
}

/// An indicator counted from the register, and how, in words for people.
pub struct Computed {
    pub indicator: &'static str,
    pub computation: Computation,
    pub definition: &'static str,
}

const CONTINUED_TO_WORK_OR_STUDY: &[RecordedOutcome] = &[
    RecordedOutcome::Employed,
    RecordedOutcome::Apprenticeship,
    RecordedOutcome::Entrepreneur,
    RecordedOutcome::PaySubsidyWork,
    RecordedOutcome::VocationalEducation,
    RecordedOutcome::OtherEducation,
];

/// The indicators the register counts. The rest are recorded by their bodies.
pub const COMPUTED: &[Computed] = &[
    Computed {
        indicator: "1.1/1",
        computation: Computation::Clients { measure: "1.1" },
        definition: "distinct clients with a skill assessment or guidance record of measure 1.1 in the period",
    },
    Computed {
        indicator: "1.2/1",
        computation: Computation::ShareWithOutcome {
            measure: "1.2",
            outcomes: CONTINUED_TO_WORK_OR_STUDY,
        },
        definition: "of the clients guided in measure 1.2 in the period, the share (%) with an employment, apprenticeship, entrepreneurship, pay-subsidy, vocational or other education outcome recorded",
    },
    Computed {
        indicator: "1.2/2",
        computation: Computation::ShareWithOutcome {
            measure: "1.2",
            outcomes: &[RecordedOutcome::VocationalEducation],
        },
        definition: "of the clients of measure 1.2 in the period, the share (%) who went on to vocational education (the programme's 50 %)",
    },
    Computed {
        indicator: "1.3/1",
        computation: Computation::Events {
            measure: "1.3",
            languages: Some(EventLanguages::OtherLanguages),
        },
        definition: "events of measure 1.3 held in neither Finnish nor Swedish in the period",
    },
    Computed {
        indicator: "4.6/1",
        computation: Computation::Clients { measure: "4.6" },
        definition: "distinct children with an early childhood education record of measure 4.6 in the period",
    },
    Computed {
        indicator: "7.1/1",
        computation: Computation::Events {
            measure: "7.1",
            languages: None,
        },
        definition: "events of measure 7.1 held in the period",
    },
    Computed {
        indicator: "7.3/1",
        computation: Computation::Events {
            measure: "7.3",
            languages: None,
        },
        definition: "art workshop groups (events) of measure 7.3 held in the period",
    },
    Computed {
        indicator: "7.3/2",
        computation: Computation::Clients { measure: "7.3" },
        definition: "distinct individuals with a participation of measure 7.3 in the period",
    },
    Computed {
        indicator: "7.4/1",
        computation: Computation::Events {
            measure: "7.4",
            languages: None,
        },
        definition: "museum workshop groups (events) of measure 7.4 held in the period",
    },
    Computed {
        indicator: "7.4/2",
        computation: Computation::Participants { measure: "7.4" },
        definition: "participants counted at the events of measure 7.4 in the period",
    },
    Computed {
        indicator: "8.1/1",
        computation: Computation::Clients { measure: "8.1" },
        definition: "distinct participants with a record of the exercise programme (measure 8.1) in the period",
    },
    Computed {
        indicator: "9.3/1",
        computation: Computation::Events {
            measure: "9.3",
            languages: None,
        },
        definition: "training sessions (events) of measure 9.3 held in the period",
    },
    Computed {
        indicator: "9.3/2",
        computation: Computation::Participants { measure: "9.3" },
        definition: "participants counted at the training sessions of measure 9.3 in the period",
    },
    Computed {
        indicator: "9.4/2",
        computation: Computation::Clients { measure: "9.4" },
        definition: "distinct clients with a social rehabilitation record of measure 9.4 in the period",
    },
    Computed {
        indicator: "9.7/1",
        computation: Computation::Clients { measure: "9.7" },
        definition: "distinct clients with a help-platform record of measure 9.7 in the period",
    },
    Computed {
        indicator: "10.4/1",
        computation: Computation::Clients { measure: "10.4" },
        definition: "distinct young people with a work-experience record of measure 10.4 in the period",
    },
];

/// How an indicator counted from the register is counted, if it is.
pub fn computed(indicator: &str) -> Option<&'static Computed> {
    COMPUTED.iter().find(|c| c.indicator == indicator)
}

/// The periods a series is broken into.
#[derive(Enum, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndicatorPeriod {
    #[default]
    Year,
    Quarter,
}

/// One period's value of an indicator.
#[derive(SimpleObject)]
pub struct IndicatorValue {
    /// "2019", "2019-Q2" or a span of years.
    period: String,
    /// The count, the percentage or the recorded value; null when suppressed, when
    /// there is no data, or for a status.
    value: Option<f64>,
    /// A milestone's recorded status.
    status: Option<MilestoneStatus>,
    /// The count falls in 1–4 (or would show as fewer than five): not shown.
    suppressed: bool,
    /// Nothing was reported for the period: not the same as zero.
    no_data: bool,
    /// The programme's target for the indicator, where it states one.
    target: Option<f64>,
    /// Counted from the register, or recorded by a body.
    computed: bool,
    /// Where a recorded value comes from.
    source: Option<String>,
}

fn period_of(year: Option<i32>, quarter: Option<i32>) -> String {
    match (year, quarter) {
        (Some(year), Some(quarter)) => format!("{year}-Q{quarter}"),
        (Some(year), None) => year.to_string(),
        _ => String::new(),
    }
}

/// Whether a period label's first year lies within `from..=to`.
fn within(period: &str, from: Option<i32>, to: Option<i32>) -> bool {
    let year: Option<i32> = period.get(..4).and_then(|y| y.parse().ok());
    year.is_some_and(|year| from.is_none_or(|f| year >= f) && to.is_none_or(|t| year <= t))
}

/// A count as a value: suppressed and "no data" kept apart from numbers.
fn counted(
    period: String,
    count: Option<i32>,
    suppressed: bool,
    target: Option<f64>,
) -> IndicatorValue {
    IndicatorValue {
        period,
        value: count.filter(|c| *c > 0).map(f64::from),
        status: None,
        suppressed,
        no_data: !suppressed && count.is_none_or(|c| c == 0),
        target,
        computed: true,
        source: None,
    }
}

/// The indicator's values for the periods within `from..=to` (years).
pub async fn values(
    ctx: &Context<'_>,
    catalog: &Snapshot,
    indicator: &indicator::Model,
    from: Option<i32>,
    to: Option<i32>,
    by: IndicatorPeriod,
) -> Result<Vec<IndicatorValue>> {
    let target = indicator.target;
    let Some(computed) = computed(&indicator.id) else {
        let records = crate::indicators::latest(ctx, &indicator.id).await?;
        return Ok(records
            .into_iter()
            .filter(|record| within(&record.period, from, to))
            .map(|record| IndicatorValue {
                period: record.period,
                value: record.value,
                status: record.status,
                suppressed: false,
                no_data: false,
                target,
                computed: false,
                source: Some(record.source),
            })
            .collect());
    };
    let filters = |measure: &str| Filters {
        measure: Some(ID(measure.to_owned())),
        division: None,
        year: None,
    };
    let client_period = match by {
        IndicatorPeriod::Year => ClientDimension::Year,
        IndicatorPeriod::Quarter => ClientDimension::Quarter,
    };
    let event_period = match by {
        IndicatorPeriod::Year => EventDimension::Year,
        IndicatorPeriod::Quarter => EventDimension::Quarter,
    };
    let values: Vec<IndicatorValue> = match computed.computation {
        Computation::Clients { measure } => {
            statistics::clients(ctx, catalog, vec![client_period], filters(measure), None)
                .await?
                .cells
                .into_iter()
                .map(|cell| {
                    let period = period_of(cell.place.year, cell.place.quarter);
                    counted(period, cell.clients, cell.suppressed, target)
                })
                .collect()
        }
        Computation::ShareWithOutcome { measure, outcomes } => statistics::clients(
            ctx,
            catalog,
            vec![client_period],
            filters(measure),
            Some(outcomes.to_vec()),
        )
        .await?
        .cells
        .into_iter()
        .map(|cell| {
            let period = period_of(cell.place.year, cell.place.quarter);
            let mut value = counted(period, cell.clients, cell.suppressed, target);
            value.value = value
                .value
                .and(cell.share)
                .map(|share| (share * 1000.0).round() / 10.0);
            value
        })
        .collect(),
        Computation::Events { measure, languages } => {
            let mut by = vec![event_period];
            if languages.is_some() {
                by.push(EventDimension::Languages);
            }
            statistics::events(ctx, catalog, by, filters(measure))
                .await?
                .cells
                .into_iter()
                .filter(|cell| languages.is_none() || cell.languages == languages)
                .map(|cell| {
                    let period = period_of(cell.place.year, cell.place.quarter);
                    counted(period, cell.events, cell.suppressed, target)
                })
                .collect()
        }
        Computation::Participants { measure } => {
            statistics::events(ctx, catalog, vec![event_period], filters(measure))
                .await?
                .cells
                .into_iter()
                .map(|cell| {
                    let period = period_of(cell.place.year, cell.place.quarter);
                    counted(period, cell.participants, cell.suppressed, target)
                })
                .collect()
        }
    };
    let values: Vec<IndicatorValue> = values
        .into_iter()
        .filter(|value| within(&value.period, from, to))
        .collect();
    Ok(with_gaps_marked(values, from, to, by, target))
}

/// Every period of the series, from `from` (else its first) to `to` (else its last): a
/// period the register holds nothing of is there as "no data", not left out, so that a
/// gap in reporting shows as one.
fn with_gaps_marked(
    values: Vec<IndicatorValue>,
    from: Option<i32>,
    to: Option<i32>,
    by: IndicatorPeriod,
    target: Option<f64>,
) -> Vec<IndicatorValue> {
    let years: Vec<i32> = values
        .iter()
        .filter_map(|v| v.period.get(..4).and_then(|y| y.parse().ok()))
        .collect();
    let (Some(first), Some(last)) = (
        from.or(years.iter().min().copied()),
        to.or(years.iter().max().copied()),
    ) else {
        return values;
    };
    // A span no wider than the programme's years and their follow-up: a caller's
    // `from: 0` must not make a list of two thousand years.
    if last < first || last - first > 50 {
        return values;
    }
    let periods: Vec<String> = (first..=last)
        .flat_map(|year| match by {
            IndicatorPeriod::Year => vec![year.to_string()],
            IndicatorPeriod::Quarter => (1..=4).map(|q| format!("{year}-Q{q}")).collect(),
        })
        .collect();
    let mut values = values;
    periods
        .into_iter()
        .map(
            |period| match values.iter().position(|v| v.period == period) {
                Some(at) => values.swap_remove(at),
                None => IndicatorValue {
                    period,
                    value: None,
                    status: None,
                    suppressed: false,
                    no_data: true,
                    target,
                    computed: true,
                    source: None,
                },
            },
        )
        .collect()
}

/// `docs/indicators.md`: every indicator of the catalog with its kind, target and
/// status — counted from the register (and how) or recorded by its bodies (and which).
pub fn catalog_markdown(catalog: &crate::catalog::Catalog) -> String {
    use std::fmt::Write;
    let rows = catalog.indicator_rows();
    let bodies_of = |row: &indicator::Model| -> String {
        let mut bodies: Vec<&str> = catalog
            .measures
            .iter()
            .filter(|m| {
                row.measure_id.as_ref() == Some(&m.id)
                    || (row.measure_id.is_none()
                        && (row.measure_set_id.as_ref() == Some(&m.set)
                            || (row.group_id.is_some() && row.group_id == m.group)))
            })
            .flat_map(|m| m.bodies.iter().map(String::as_str))
            .chain(row.body_id.as_deref())
            .collect();
        bodies.sort_unstable();
        bodies.dedup();
        bodies.join(", ")
    };
    let computed_count = rows.iter().filter(|r| computed(&r.id).is_some()).count();
    let mut out = String::new();
    let _ = writeln!(out, "# The programme's indicators\n");
    let _ = writeln!(
        out,
        "Written by `cargo run -- indicators > docs/indicators.md` from the catalog \
         (`crates/programme/catalog/`) and the computations of \
         `crates/programme/src/indicator_values.rs`; a test fails when it is stale.\n"
    );
    let _ = writeln!(
        out,
        "{} indicators: {} counted from the statistics register (`Indicator.values`, with the \
         noise and small-cell suppression of every aggregate), {} recorded per period by the \
         officers of the bodies that answer for them (`recordIndicator`, each change a new \
         version).\n",
        rows.len(),
        computed_count,
        rows.len() - computed_count
    );
    let _ = writeln!(out, "| id | kind | target | status | how | text |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for row in &rows {
        let kind = crate::indicators::kind_name(row.kind);
        let targets: Vec<indicator::Target> =
            serde_json::from_str(&row.targets).unwrap_or_default();
        let target = targets
            .iter()
            .map(|t| {
                let per = match t.per {
                    indicator::TargetPer::Year => " a year",
                    indicator::TargetPer::Term => "",
                };
                match &t.of {
                    Some(of) => format!("{} {of}{per}", t.value),
                    None => format!("{}{per}", t.value),
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let (status, how) = match computed(&row.id) {
            Some(c) => ("computed", c.definition.to_owned()),
            None => ("recorded", format!("by {}", bodies_of(row))),
        };
        let text = row.text.replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {kind} | {target} | {status} | {how} | {text} |",
            row.id
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn every_computed_indicator_is_in_the_catalog_once_and_counts_a_measure_it_follows() {
        let catalog = Catalog::embedded().unwrap();
        let rows = catalog.indicator_rows();
        let mut seen = std::collections::HashSet::new();
        for computed in COMPUTED {
            assert!(
                seen.insert(computed.indicator),
                "{} twice",
                computed.indicator
            );
            let row = rows
                .iter()
                .find(|row| row.id == computed.indicator)
                .unwrap_or_else(|| panic!("{} is not in the catalog", computed.indicator));
            let measure = match computed.computation {
                Computation::Clients { measure }
                | Computation::ShareWithOutcome { measure, .. }
                | Computation::Events { measure, .. }
                | Computation::Participants { measure } => measure,
            };
            assert_eq!(row.measure_id.as_deref(), Some(measure), "{}", row.id);
            let share = matches!(computed.computation, Computation::ShareWithOutcome { .. });
            assert_eq!(
                share,
                row.kind == indicator::IndicatorKind::Percentage,
                "{}: a share is a percentage and a count is not",
                row.id
            );
        }
    }

    #[test]
    fn gaps_in_a_series_are_no_data_and_the_span_follows_from_and_to() {
        let series = vec![
            counted("2019".into(), Some(12), false, None),
            counted("2021".into(), None, true, None),
        ];
        let filled = with_gaps_marked(series, Some(2018), None, IndicatorPeriod::Year, None);
        let periods: Vec<(&str, bool, bool)> = filled
            .iter()
            .map(|v| (v.period.as_str(), v.no_data, v.suppressed))
            .collect();
        assert_eq!(
            periods,
            [
                ("2018", true, false),
                ("2019", false, false),
                ("2020", true, false),
                ("2021", false, true)
            ]
        );
        let quarters = with_gaps_marked(
            vec![counted("2019-Q2".into(), Some(7), false, None)],
            None,
            None,
            IndicatorPeriod::Quarter,
            None,
        );
        assert_eq!(quarters.len(), 4);
        assert_eq!(quarters[1].value, Some(7.0));
        assert!(quarters[0].no_data && quarters[3].no_data);
        let absurd = with_gaps_marked(Vec::new(), Some(0), Some(3000), IndicatorPeriod::Year, None);
        assert!(absurd.is_empty());
    }

    #[test]
    fn periods_filter_by_their_first_year() {
        assert!(within("2019", Some(2019), Some(2019)));
        assert!(within("2019-Q3", Some(2018), None));
        assert!(within("2017-2021", None, Some(2017)));
        assert!(!within("2016", Some(2017), None));
        assert!(!within("", None, None));
    }

    #[test]
    fn zero_is_no_data_and_suppressed_is_neither_zero_nor_a_number() {
        let none = counted("2019".into(), Some(0), false, None);
        assert!(none.no_data && none.value.is_none());
        let hidden = counted("2019".into(), None, true, None);
        assert!(hidden.suppressed && !hidden.no_data && hidden.value.is_none());
        let some = counted("2019".into(), Some(12), false, Some(10.0));
        assert_eq!(
            (some.value, some.target, some.no_data),
            (Some(12.0), Some(10.0), false)
        );
    }
}
