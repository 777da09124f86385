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
use kotohub_subgraph::vocab::District;
use sea_orm::ActiveEnum;

use crate::entity::client::Background;
use crate::entity::client_fact::{AgeGroup, MotherTongueGroup, RecordedOutcome};
use crate::entity::event_fact::EventLanguages;
use crate::entity::indicator;
use crate::indicators::MilestoneStatus;
use crate::register::{Second, Selection};
use crate::schema::Snapshot;
use crate::statistics::{self, ClientDimension, ClientStatisticsCell, EventDimension, Filters};

/// How an indicator is counted from the register.
#[derive(Debug, Clone, Copy)]
pub enum Computation {
    /// Distinct clients with facts `of` keeps, of the measure if one is named (else of
    /// every measure: the set's and the programme's indicators).
    Clients {
        measure: Option<&'static str>,
        of: Of,
    },
    /// The share, in percent, of those clients that `with` picks.
    Share {
        measure: Option<&'static str>,
        of: Of,
        with: With,
    },
    /// How many of those clients `with` picks.
    CountWith {
        measure: Option<&'static str>,
        of: Of,
        with: With,
    },
    /// Events held for the measure, in the given languages if any.
    Events {
        measure: &'static str,
        languages: Option<EventLanguages>,
    },
    /// The share, in percent, of the measure's events held in these districts.
    EventsIn {
        measure: &'static str,
        districts: &'static [District],
    },
    /// Participants counted at the measure's events.
    Participants { measure: &'static str },
    /// The index of dissimilarity between residents whose mother tongue is Finnish or
    /// Swedish and the rest, across the major districts, from the population figures.
    Segregation,
}

/// Which of the register's facts an indicator counts; an empty list keeps every value.
#[derive(Debug, Clone, Copy)]
pub struct Of {
    pub body: Option<&'static str>,
    /// Kinds of record (`client_fact::record_is`).
    pub records: &'static [&'static str],
    pub tongues: &'static [MotherTongueGroup],
    pub backgrounds: &'static [Background],
    pub age_groups: &'static [AgeGroup],
}

/// Every fact.
const ALL: Of = Of {
    body: None,
    records: &[],
    tongues: &[],
    backgrounds: &[],
    age_groups: &[],
};

/// Which of the counted clients a share or a count picks.
#[derive(Debug, Clone, Copy)]
pub enum With {
    /// One of these outcomes recorded among the counted facts.
    Outcomes(&'static [RecordedOutcome]),
    /// A counted fact that `of` also keeps.
    Also(Of),
    /// One of these outcomes or kinds of record, under any measure, within `months` of
    /// the end of a counted fact.
    Within {
        outcomes: &'static [RecordedOutcome],
        records: &'static [&'static str],
        months: u16,
    },
}

impl Of {
    fn selection(&self) -> Selection {
        Selection {
            body: self.body.map(str::to_owned),
            records: self.records.iter().map(|r| (*r).to_owned()).collect(),
            tongues: self.tongues.iter().map(|t| t.to_value()).collect(),
            backgrounds: self.backgrounds.iter().map(|b| b.to_value()).collect(),
            age_groups: self.age_groups.iter().map(|a| a.to_value()).collect(),
        }
    }
}

impl With {
    fn second(&self) -> Second {
        let outcomes = |list: &[RecordedOutcome]| list.iter().map(|o| o.to_value()).collect();
        match self {
            With::Outcomes(list) => Second::Outcomes(outcomes(list)),
            With::Also(of) => Second::Also(of.selection()),
            With::Within {
                outcomes: list,
                records,
                months,
            } => Second::FollowUp {
                outcomes: outcomes(list),
                records: records.iter().map(|r| (*r).to_owned()).collect(),
                months: *months,
            },
        }
    }
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

const IN_WORK: &[RecordedOutcome] = &[
    RecordedOutcome::Employed,
    RecordedOutcome::Apprenticeship,
    RecordedOutcome::Entrepreneur,
    RecordedOutcome::PaySubsidyWork,
];

/// Mother tongues other than Finnish and Swedish: the programme's "foreign-language".
const FOREIGN_LANGUAGE: &[MotherTongueGroup] = &[
    MotherTongueGroup::Russian,
    MotherTongueGroup::Estonian,
    MotherTongueGroup::Somali,
    MotherTongueGroup::Arabic,
    MotherTongueGroup::English,
    MotherTongueGroup::Other,
];

const FOREIGN_BACKGROUND: &[Background] = &[Background::Immigrant, Background::SecondGeneration];

const OF_FOREIGN_LANGUAGE: Of = Of {
    tongues: FOREIGN_LANGUAGE,
    ..ALL
};

/// Not accepted onto a study programme in the joint application, or not taking the
/// place offered.
const NOT_IN_FURTHER_STUDIES: Of = Of {
    records: &[
        "joint_application_results:not_accepted",
        "joint_application_results:declined",
    ],
    ..ALL
};

/// Ohjaamo's regional focal areas: the eastern and north-eastern major districts, where
/// the city's regional participation work concentrates. The programme names no areas;
/// this is the reading the catalog notes for 10.2.
const FOCAL_AREAS: &[District] = &[District::Itainen, District::Koillinen];

/// The indicators the register counts. The rest are recorded by their bodies.
pub const COMPUTED: &[Computed] = &[
    Computed {
        indicator: "group-4-guidance/1",
        computation: Computation::Clients {
            measure: None,
            of: NOT_IN_FURTHER_STUDIES,
        },
        definition: "distinct young people with a joint-application result of not accepted or not taking the place, in the period (by district of the comprehensive school and mother tongue with `clientStatistics`)",
    },
    Computed {
        indicator: "group-4-guidance/5",
        computation: Computation::CountWith {
            measure: None,
            of: Of {
                records: &[
                    "qualifications:vocational",
                    "qualifications:partial_vocational",
                    "qualifications:general_upper_secondary",
                ],
                ..ALL
            },
            with: With::Within {
                outcomes: IN_WORK,
                records: &[],
                months: 12,
            },
        },
        definition: "distinct people with a vocational or upper secondary qualification completed in the period who have an employment, apprenticeship, entrepreneurship or pay-subsidy outcome within 12 months of it",
    },
    Computed {
        indicator: "1.1/1",
        computation: Computation::Clients {
            measure: Some("1.1"),
            of: ALL,
        },
        definition: "distinct clients with a skill assessment or guidance record of measure 1.1 in the period",
    },
    Computed {
        indicator: "1.2/1",
        computation: Computation::Share {
            measure: Some("1.2"),
            of: ALL,
            with: With::Outcomes(CONTINUED_TO_WORK_OR_STUDY),
        },
        definition: "of the clients guided in measure 1.2 in the period, the share (%) with an employment, apprenticeship, entrepreneurship, pay-subsidy, vocational or other education outcome recorded",
    },
    Computed {
        indicator: "1.2/2",
        computation: Computation::Share {
            measure: Some("1.2"),
            of: ALL,
            with: With::Outcomes(&[RecordedOutcome::VocationalEducation]),
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
        indicator: "1.3/2",
        computation: Computation::Clients {
            measure: Some("1.3"),
            of: OF_FOREIGN_LANGUAGE,
        },
        definition: "distinct clients of measure 1.3 in the period whose mother tongue is neither Finnish nor Swedish",
    },
    Computed {
        indicator: "1.4/1",
        computation: Computation::Clients {
            measure: Some("1.4"),
            of: Of {
                records: &["skill_assessments"],
                backgrounds: &[Background::Immigrant],
                ..ALL
            },
        },
        definition: "distinct immigrants with a skill assessment of measure 1.4 in the period",
    },
    Computed {
        indicator: "1.4/2",
        computation: Computation::Clients {
            measure: Some("1.4"),
            of: Of {
                records: &["service_paths"],
                backgrounds: &[Background::Immigrant],
                ..ALL
            },
        },
        definition: "distinct immigrants who started a service path (instruction) of measure 1.4 in the period",
    },
    Computed {
        indicator: "4.6/1",
        computation: Computation::Clients {
            measure: Some("4.6"),
            of: ALL,
        },
        definition: "distinct children with an early childhood education record of measure 4.6 in the period",
    },
    Computed {
        indicator: "4.10/1",
        computation: Computation::Share {
            measure: Some("4.10"),
            of: Of {
                records: &["enrolments:parents_language_course"],
                ..ALL
            },
            with: With::Within {
                outcomes: &[],
                records: &[
                    "enrolments:adult_basic",
                    "enrolments:vocational",
                    "enrolments:s2",
                    "enrolments:preparatory",
                ],
                months: 12,
            },
        },
        definition: "of the parents who started a language course of measure 4.10 in the period, the share (%) enrolled in basic, vocational, S2 or preparatory education within 12 months of the course's end",
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
        computation: Computation::Clients {
            measure: Some("7.3"),
            of: ALL,
        },
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
        computation: Computation::Clients {
            measure: Some("8.1"),
            of: ALL,
        },
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
        computation: Computation::Clients {
            measure: Some("9.4"),
            of: ALL,
        },
        definition: "distinct clients with a social rehabilitation record of measure 9.4 in the period",
    },
    Computed {
        indicator: "9.5/1",
        computation: Computation::Share {
            measure: Some("9.5"),
            of: Of {
                records: &["service_needs_assessments"],
                backgrounds: FOREIGN_BACKGROUND,
                ..ALL
            },
            with: With::Also(Of {
                records: &["service_needs_assessments:multi_professional"],
                ..ALL
            }),
        },
        definition: "of the people with a foreign background whose service needs were assessed in the period, the share (%) assessed multi-professionally (Helmi's assessments and the division's)",
    },
    Computed {
        indicator: "9.7/1",
        computation: Computation::Clients {
            measure: Some("9.7"),
            of: OF_FOREIGN_LANGUAGE,
        },
        definition: "distinct clients whose mother tongue is neither Finnish nor Swedish with a help-platform record of measure 9.7 in the period",
    },
    Computed {
        indicator: "10.2/1",
        computation: Computation::Share {
            measure: Some("10.2"),
            of: ALL,
            with: With::Also(OF_FOREIGN_LANGUAGE),
        },
        definition: "of the young people reached by measure 10.2 in the period, the share (%) whose mother tongue is neither Finnish nor Swedish",
    },
    Computed {
        indicator: "10.2/2",
        computation: Computation::EventsIn {
            measure: "10.2",
            districts: FOCAL_AREAS,
        },
        definition: "of the recruitment and employer events of measure 10.2 in the period, the share (%) held in the eastern and north-eastern major districts (the regional focal areas)",
    },
    Computed {
        indicator: "10.4/1",
        computation: Computation::Clients {
            measure: Some("10.4"),
            of: ALL,
        },
        definition: "distinct young people with a work-experience record of measure 10.4 in the period",
    },
    Computed {
        indicator: "P1",
        computation: Computation::Segregation,
        definition: "the index of dissimilarity (0–100) between residents whose mother tongue is Finnish or Swedish and the rest, across the major districts, from the population figures of the year",
    },
    Computed {
        indicator: "P5",
        computation: Computation::Clients {
            measure: None,
            of: NOT_IN_FURTHER_STUDIES,
        },
        definition: "distinct young people with a joint-application result of not accepted or not taking the place, in the period (by district of the comprehensive school, mother tongue and gender with `clientStatistics`)",
    },
    Computed {
        indicator: "P8",
        computation: Computation::Clients {
            measure: None,
            of: Of {
                records: &["culture_outcomes:hobby_started"],
                age_groups: &[AgeGroup::Age0To15, AgeGroup::Age16To29],
                ..ALL
            },
        },
        definition: "distinct children and young people (up to 29) who started a hobby through a measure in the period",
    },
];

impl Computation {
    /// The kinds of record it names, to check against those the divisions report.
    pub fn records(&self) -> Vec<&'static str> {
        let (of, with) = match *self {
            Computation::Clients { of, .. } => (Some(of), None),
            Computation::Share { of, with, .. } | Computation::CountWith { of, with, .. } => {
                (Some(of), Some(with))
            }
            _ => (None, None),
        };
        let mut records: Vec<&'static str> = of.map(|o| o.records.to_vec()).unwrap_or_default();
        match with {
            Some(With::Also(also)) => records.extend(also.records),
            Some(With::Within { records: more, .. }) => records.extend(more),
            _ => {}
        }
        records
    }
}

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
    /// Whether the value reaches the target, where the two compare: a year's value a
    /// yearly target, a share a share; null otherwise.
    target_met: Option<bool>,
    /// Counted from the register, or recorded by a body.
    computed: bool,
    /// Where a recorded value comes from, and the date its source gives it.
    source: Option<String>,
    source_date: Option<String>,
}

fn period_of(year: Option<i32>, quarter: Option<i32>) -> String {
    match (year, quarter) {
        (Some(year), Some(quarter)) => format!("{year}-Q{quarter}"),
        (Some(year), None) => year.to_string(),
        _ => String::new(),
    }
}

/// A share (0–1) as a percentage to one decimal.
fn percent(share: f64) -> f64 {
    (share * 1000.0).round() / 10.0
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
        target_met: None,
        computed: true,
        source: None,
        source_date: None,
    }
}

/// The indicator's values for the periods within `from..=to` (years), each judged
/// against the target where the two compare.
pub async fn values(
    ctx: &Context<'_>,
    catalog: &Snapshot,
    indicator: &indicator::Model,
    from: Option<i32>,
    to: Option<i32>,
    by: IndicatorPeriod,
) -> Result<Vec<IndicatorValue>> {
    let mut values = series(ctx, catalog, indicator, from, to, by).await?;
    for value in &mut values {
        value.target_met = target_met(indicator, &value.period, value.value);
    }
    Ok(values)
}

/// Whether a period's value reaches the indicator's first target: a year's value a
/// yearly target, any period's share a share. None where they do not compare — a
/// target for the whole term, a quarter against a yearly target, no value. Every target
/// the programme sets is a least value ("at least 1,000 a year", "30 %").
fn target_met(indicator: &indicator::Model, period: &str, value: Option<f64>) -> Option<bool> {
    let targets: Vec<indicator::Target> = serde_json::from_str(&indicator.targets).ok()?;
    let first = targets.first()?;
    let is_year = period.len() == 4 && period.chars().all(|c| c.is_ascii_digit());
    let compares = match (indicator.kind, first.per) {
        (indicator::IndicatorKind::Percentage, _) => true,
        (_, indicator::TargetPer::Year) => is_year,
        (_, indicator::TargetPer::Term) => false,
    };
    compares.then_some(value? >= first.value)
}

/// The indicator's values for the periods within `from..=to` (years).
async fn series(
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
                target_met: None,
                computed: false,
                source: Some(record.source),
                source_date: record.source_date,
            })
            .collect());
    };
    let filters = |measure: Option<&str>| Filters {
        measure: measure.map(|m| ID(m.to_owned())),
        ..Filters::default()
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
        Computation::Clients { measure, of } => {
            client_values(ctx, catalog, client_period, measure, of, None, target)
                .await?
                .into_iter()
                .map(|(value, _)| value)
                .collect()
        }
        Computation::Share { measure, of, with } => {
            client_values(ctx, catalog, client_period, measure, of, Some(with), target)
                .await?
                .into_iter()
                .map(|(mut value, cell)| {
                    value.value = value.value.and(cell.share).map(percent);
                    value
                })
                .collect()
        }
        Computation::CountWith { measure, of, with } => {
            client_values(ctx, catalog, client_period, measure, of, Some(with), target)
                .await?
                .into_iter()
                .map(|(mut value, cell)| {
                    // Those counted in a published cell are shown, none of them as zero:
                    // the cell's clients were reported, so nobody picked is a finding.
                    value.value = value.value.and(cell.with_outcome).map(f64::from);
                    value
                })
                .collect()
        }
        Computation::Events { measure, languages } => {
            let mut by = vec![event_period];
            if languages.is_some() {
                by.push(EventDimension::Languages);
            }
            statistics::events(ctx, catalog, by, filters(Some(measure)))
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
        Computation::EventsIn { measure, districts } => {
            let all = statistics::events(ctx, catalog, vec![event_period], filters(Some(measure)))
                .await?;
            let inside = Filters {
                districts: districts.to_vec(),
                ..filters(Some(measure))
            };
            let inside = statistics::events(ctx, catalog, vec![event_period], inside).await?;
            all.cells
                .into_iter()
                .map(|cell| {
                    let period = period_of(cell.place.year, cell.place.quarter);
                    let of_all = cell.events;
                    let within = inside.cells.iter().find(|c| {
                        c.place.year == cell.place.year && c.place.quarter == cell.place.quarter
                    });
                    let mut value = counted(period, of_all, cell.suppressed, target);
                    // No events in the areas is a share of zero, not a gap; a suppressed
                    // count in them leaves the share unknown.
                    let share = match within {
                        Some(within) if within.suppressed => None,
                        Some(within) => within.events.zip(of_all),
                        None => of_all.map(|a| (0, a)),
                    }
                    .filter(|(_, all)| *all > 0)
                    .map(|(within, all)| percent(f64::from(within.min(all)) / f64::from(all)));
                    if value.value.is_some() {
                        value.suppressed = share.is_none();
                        value.value = share;
                    }
                    value
                })
                .collect()
        }
        Computation::Participants { measure } => {
            statistics::events(ctx, catalog, vec![event_period], filters(Some(measure)))
                .await?
                .cells
                .into_iter()
                .map(|cell| {
                    let period = period_of(cell.place.year, cell.place.quarter);
                    counted(period, cell.participants, cell.suppressed, target)
                })
                .collect()
        }
        Computation::Segregation => match by {
            // Residents are counted once a year, at its end.
            IndicatorPeriod::Quarter => Vec::new(),
            IndicatorPeriod::Year => crate::population::dissimilarity(ctx)
                .await?
                .into_iter()
                .map(|(year, index)| IndicatorValue {
                    period: year.to_string(),
                    value: Some((index * 10.0).round() / 10.0),
                    status: None,
                    suppressed: false,
                    no_data: false,
                    target,
                    target_met: None,
                    computed: true,
                    source: Some("population figures".to_owned()),
                    source_date: None,
                })
                .collect(),
        },
    };
    let values: Vec<IndicatorValue> = values
        .into_iter()
        .filter(|value| within(&value.period, from, to))
        .collect();
    Ok(with_gaps_marked(values, from, to, by, target))
}

/// The register's clients of `measure` that `of` keeps, per period, each period as a
/// count beside its cell; with `with`, the cell also counts those it picks.
async fn client_values(
    ctx: &Context<'_>,
    catalog: &Snapshot,
    period: ClientDimension,
    measure: Option<&str>,
    of: Of,
    with: Option<With>,
    target: Option<f64>,
) -> Result<Vec<(IndicatorValue, ClientStatisticsCell)>> {
    let filters = Filters {
        measure: measure.map(|m| ID(m.to_owned())),
        ..Filters::default()
    };
    let second = with.map_or(Second::Nobody, |with| with.second());
    let statistics = statistics::clients(
        ctx,
        catalog,
        vec![period],
        filters,
        of.selection(),
        second,
        false,
    )
    .await?;
    Ok(statistics
        .cells
        .into_iter()
        .map(|cell| {
            let period = period_of(cell.place.year, cell.place.quarter);
            (counted(period, cell.clients, cell.suppressed, target), cell)
        })
        .collect())
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
                    target_met: None,
                    computed: true,
                    source: None,
                    source_date: None,
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
        "{} indicators: {} counted from the statistics register or, for P1, the population figures (`Indicator.values`, with the \
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
                Computation::Clients { measure, .. }
                | Computation::Share { measure, .. }
                | Computation::CountWith { measure, .. } => measure,
                Computation::Events { measure, .. }
                | Computation::EventsIn { measure, .. }
                | Computation::Participants { measure } => Some(measure),
                Computation::Segregation => None,
            };
            // A measure's indicator counts its measure; the set's, group's and
            // programme's count across measures.
            assert_eq!(row.measure_id.as_deref(), measure, "{}", row.id);
            let share = matches!(
                computed.computation,
                Computation::Share { .. } | Computation::EventsIn { .. }
            );
            assert_eq!(
                share,
                row.kind == indicator::IndicatorKind::Percentage,
                "{}: a share is a percentage and a count is not",
                row.id
            );
        }
    }

    #[test]
    fn a_value_meets_its_target_only_where_the_two_compare() {
        let rows = Catalog::embedded().unwrap().indicator_rows();
        let row = |id: &str| rows.iter().find(|row| row.id == id).unwrap().clone();
        // 1,000 assessments a year: a year's count compares, a quarter's does not.
        let assessed = row("1.1/1");
        assert_eq!(target_met(&assessed, "2019", Some(1000.0)), Some(true));
        assert_eq!(target_met(&assessed, "2019", Some(999.0)), Some(false));
        assert_eq!(target_met(&assessed, "2019-Q2", Some(400.0)), None);
        assert_eq!(target_met(&assessed, "2019", None), None);
        // 3,000 young people over the term: no one year reaches or misses it.
        assert_eq!(target_met(&row("10.4/1"), "2019", Some(3500.0)), None);
        // 30 % of those reached: a share of any period compares.
        let reached = row("10.2/1");
        assert_eq!(target_met(&reached, "2019-Q3", Some(31.5)), Some(true));
        assert_eq!(target_met(&reached, "2019", Some(12.0)), Some(false));
        // No target, nothing to meet.
        assert_eq!(target_met(&row("7.1/1"), "2019", Some(40.0)), None);
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
