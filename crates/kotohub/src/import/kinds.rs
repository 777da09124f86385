//! The typed schemas of the divisions' kinds of import: every client-record table and
//! every event table of the four divisions and the partner organisations, and the
//! partners' sponsor groups and sponsors, as data. A kind names its columns, each with
//! its type and whether it may be empty; [`super::records`] checks rows against it and
//! writes them. The statistics register reads from the same list when it reports the
//! divisions' records (`crate::seed::register`), so a table's date and outcome columns
//! are written down once.
//!
//! Every client record also carries `source_id`, `identity_code`, `measure_id` and
//! `body_id`; every event `source_id`, `measure_id` and `body_id` ([`Kind::columns`]).

use kotohub_culture::entity::{culture_outcome, participation};
use kotohub_education::entity::{enrolment, joint_application_result, qualification};
use kotohub_employment::entity::{employment_outcome, guidance_session};
use kotohub_programme::entity::client_fact::RecordedOutcome;
use kotohub_social::entity::{social_case, social_outcome, support_period, treatment_referral};
use kotohub_subgraph::vocab::{District, RecordStatus};
use sea_orm::{ActiveEnum, Iterable};

/// The values of the vocabulary `E`, as files write them.
pub fn values<E: ActiveEnum<Value = String> + Iterable>() -> Vec<String> {
    E::iter().map(|value| value.to_value()).collect()
}

/// Finnish language levels on the CEFR scale, with A0 for those not yet literate.
fn language_levels() -> Vec<String> {
    ["A0", "A1", "A2", "B1", "B2", "C1", "C2"]
        .map(str::to_owned)
        .to_vec()
}

/// What a column holds.
#[derive(Clone, Copy)]
pub enum Type {
    /// A date, `YYYY-MM-DD`, not in the future.
    Date,
    /// A date not before the date in the column named.
    EndOf(&'static str),
    /// A year, not in the future.
    Year,
    /// A whole number from `min` to `max`.
    Integer { min: i64, max: i64 },
    /// `true` or `false`.
    Boolean,
    /// Text of at most so many characters.
    Text(usize),
    /// One value of a vocabulary.
    Vocabulary(fn() -> Vec<String>),
    /// An ISO 639-1 language code.
    Language,
    /// ISO 639-1 codes separated by commas or spaces.
    Languages,
    /// The source id of a row imported as the kind named (an event, a sponsor group),
    /// stored as that row's id.
    SourceOf(&'static str),
}

/// One column of a kind.
#[derive(Clone, Copy)]
pub struct Column {
    /// The column's name in a file.
    pub name: &'static str,
    /// The table column it is stored in.
    pub stored: &'static str,
    pub kind: Type,
    /// Whether a row must have a value.
    pub required: bool,
}

const fn required(name: &'static str, kind: Type) -> Column {
    Column {
        name,
        stored: name,
        kind,
        required: true,
    }
}

const fn optional(name: &'static str, kind: Type) -> Column {
    Column {
        name,
        stored: name,
        kind,
        required: false,
    }
}

/// Whether a kind's rows are about one client or are events.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A client record: the client named by identity code, the record's day in
    /// `happened` (a date, or a year for the results published once a year), for an
    /// outcome the column that says which, and the column that tells the kind's records
    /// apart in the register (`kotohub_programme::entity::client_fact::record_name`):
    /// the outcome's, or a flag such as a needs assessment's `multi_professional`.
    Record {
        happened: &'static str,
        outcome: Option<&'static str>,
        detail: Option<&'static str>,
    },
    /// An event, counted with its district, languages and participants.
    Event,
    /// A row of the body's own, about no client and counted nowhere: a sponsor group, a
    /// sponsor. Client records and other rows name it by its source id.
    Unit,
}

/// One kind of import: a division's table and the columns of its rows.
pub struct Kind {
    /// The kind's name, which is also its table's.
    pub name: &'static str,
    /// The division subgraph whose database the table is in.
    pub subgraph: &'static str,
    pub shape: Shape,
    /// The kind's own columns, after the common ones.
    pub own: &'static [Column],
}

/// The columns every event has.
const EVENT_COLUMNS: &[Column] = &[
    required("title", Type::Text(200)),
    required("held_on", Type::Date),
    required("district", Type::Vocabulary(values::<District>)),
    required("languages", Type::Languages),
    required(
        "participant_count",
        Type::Integer {
            min: 0,
            max: 100_000,
        },
    ),
];

const EVENT: Shape = Shape::Event;

const fn record(happened: &'static str) -> Shape {
    Shape::Record {
        happened,
        outcome: None,
        detail: None,
    }
}

/// A record whose kind in the register is told apart by the column `detail`.
const fn record_by(happened: &'static str, detail: &'static str) -> Shape {
    Shape::Record {
        happened,
        outcome: None,
        detail: Some(detail),
    }
}

const fn outcome(happened: &'static str) -> Shape {
    Shape::Record {
        happened,
        outcome: Some("kind"),
        detail: Some("kind"),
    }
}

/// Every kind of import but `clients`, by division.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "skill_assessments",
        subgraph: "employment",
        shape: record("assessed_on"),
        own: &[
            required("assessed_on", Type::Date),
            required("skill_area", Type::Text(32)),
            required("level", Type::Vocabulary(language_levels)),
        ],
    },
    Kind {
        name: "guidance_sessions",
        subgraph: "employment",
        shape: record("held_on"),
        own: &[
            required("held_on", Type::Date),
            required("language", Type::Language),
            required(
                "format",
                Type::Vocabulary(values::<guidance_session::GuidanceFormat>),
            ),
        ],
    },
    Kind {
        name: "service_paths",
        subgraph: "employment",
        shape: record("started_on"),
        own: &[
            required("path", Type::Text(32)),
            required("started_on", Type::Date),
            optional("ended_on", Type::EndOf("started_on")),
            required("status", Type::Vocabulary(values::<RecordStatus>)),
        ],
    },
    Kind {
        name: "employment_outcomes",
        subgraph: "employment",
        shape: outcome("occurred_on"),
        own: &[
            required(
                "kind",
                Type::Vocabulary(values::<employment_outcome::EmploymentOutcomeKind>),
            ),
            required("occurred_on", Type::Date),
            optional("work_hours", Type::Integer { min: 0, max: 80 }),
        ],
    },
    Kind {
        name: "networking_events",
        subgraph: "employment",
        shape: EVENT,
        own: EVENT_COLUMNS,
    },
    Kind {
        name: "enrolments",
        subgraph: "education",
        shape: record_by("started_on", "programme"),
        own: &[
            required(
                "programme",
                Type::Vocabulary(values::<enrolment::StudyProgramme>),
            ),
            required("started_on", Type::Date),
            optional("ended_on", Type::EndOf("started_on")),
            required("status", Type::Vocabulary(values::<RecordStatus>)),
        ],
    },
    Kind {
        name: "joint_application_results",
        subgraph: "education",
        shape: record_by("year", "result"),
        own: &[
            required("year", Type::Year),
            required("school_district", Type::Vocabulary(values::<District>)),
            required(
                "result",
                Type::Vocabulary(values::<joint_application_result::ApplicationResult>),
            ),
        ],
    },
    Kind {
        name: "qualifications",
        subgraph: "education",
        shape: record_by("completed_on", "kind"),
        own: &[
            required(
                "kind",
                Type::Vocabulary(values::<qualification::QualificationKind>),
            ),
            required("completed_on", Type::Date),
        ],
    },
    Kind {
        name: "education_events",
        subgraph: "education",
        shape: EVENT,
        own: EVENT_COLUMNS,
    },
    Kind {
        name: "social_cases",
        subgraph: "social",
        shape: record_by("opened_on", "kind"),
        own: &[
            required("kind", Type::Vocabulary(values::<social_case::CaseKind>)),
            required("opened_on", Type::Date),
            optional("closed_on", Type::EndOf("opened_on")),
        ],
    },
    Kind {
        name: "service_needs_assessments",
        subgraph: "social",
        shape: record_by("assessed_on", "multi_professional"),
        own: &[
            required("assessed_on", Type::Date),
            required("multi_professional", Type::Boolean),
        ],
    },
    Kind {
        name: "support_periods",
        subgraph: "social",
        shape: record_by("started_on", "service"),
        own: &[
            required(
                "service",
                Type::Vocabulary(values::<support_period::SupportService>),
            ),
            required("started_on", Type::Date),
            optional("ended_on", Type::EndOf("started_on")),
            optional("satisfaction", Type::Integer { min: 1, max: 5 }),
        ],
    },
    Kind {
        name: "social_outcomes",
        subgraph: "social",
        shape: outcome("occurred_on"),
        own: &[
            required(
                "kind",
                Type::Vocabulary(values::<social_outcome::SocialOutcomeKind>),
            ),
            required("occurred_on", Type::Date),
        ],
    },
    Kind {
        name: "treatment_referrals",
        subgraph: "social",
        shape: record_by("referred_on", "treatment"),
        own: &[
            required(
                "treatment",
                Type::Vocabulary(values::<treatment_referral::Treatment>),
            ),
            required("referred_on", Type::Date),
            optional("started_on", Type::EndOf("referred_on")),
            required(
                "result",
                Type::Vocabulary(values::<treatment_referral::TreatmentResult>),
            ),
        ],
    },
    Kind {
        name: "social_events",
        subgraph: "social",
        shape: EVENT,
        own: EVENT_COLUMNS,
    },
    Kind {
        name: "participations",
        subgraph: "culture",
        shape: record_by("participated_on", "activity"),
        own: &[
            Column {
                name: "event_source_id",
                stored: "event_id",
                kind: Type::SourceOf("cultural_events"),
                required: false,
            },
            required(
                "activity",
                Type::Vocabulary(values::<participation::Activity>),
            ),
            required("participated_on", Type::Date),
        ],
    },
    Kind {
        name: "culture_outcomes",
        subgraph: "culture",
        shape: outcome("occurred_on"),
        own: &[
            required(
                "kind",
                Type::Vocabulary(values::<culture_outcome::CultureOutcomeKind>),
            ),
            required("occurred_on", Type::Date),
        ],
    },
    Kind {
        name: "cultural_events",
        subgraph: "culture",
        shape: EVENT,
        own: EVENT_COLUMNS,
    },
    Kind {
        name: "sponsor_groups",
        subgraph: "partners",
        shape: Shape::Unit,
        own: &[
            required("name", Type::Text(200)),
            required("municipality", Type::Text(100)),
            required("formed_on", Type::Date),
            optional("ended_on", Type::EndOf("formed_on")),
        ],
    },
    Kind {
        name: "sponsors",
        subgraph: "partners",
        shape: Shape::Unit,
        own: &[
            Column {
                name: "group_source_id",
                stored: "group_id",
                kind: Type::SourceOf("sponsor_groups"),
                required: true,
            },
            required("joined_on", Type::Date),
            optional("trained_on", Type::Date),
            optional("left_on", Type::EndOf("joined_on")),
        ],
    },
    Kind {
        name: "sponsorships",
        subgraph: "partners",
        shape: record("started_on"),
        own: &[
            Column {
                name: "group_source_id",
                stored: "group_id",
                kind: Type::SourceOf("sponsor_groups"),
                required: true,
            },
            required("started_on", Type::Date),
            optional("ended_on", Type::EndOf("started_on")),
        ],
    },
    Kind {
        name: "wellbeing_discussions",
        subgraph: "partners",
        shape: record("held_on"),
        own: &[
            required("held_on", Type::Date),
            required("language", Type::Language),
            optional("feels_welcome", Type::Boolean),
            optional("takes_part_in_activities", Type::Boolean),
        ],
    },
    Kind {
        name: "partner_events",
        subgraph: "partners",
        shape: EVENT,
        own: EVENT_COLUMNS,
    },
];

impl Kind {
    /// The kind called `name`.
    pub fn named(name: &str) -> Option<&'static Kind> {
        KINDS.iter().find(|kind| kind.name == name)
    }

    /// The columns a file of this kind has, in the order its example file has them.
    pub fn columns(&self) -> Vec<&'static str> {
        let common: &[&str] = match self.shape {
            Shape::Record { .. } => &["source_id", "identity_code", "measure_id", "body_id"],
            Shape::Event | Shape::Unit => &["source_id", "measure_id", "body_id"],
        };
        common
            .iter()
            .copied()
            .chain(self.own.iter().map(|column| column.name))
            .collect()
    }

    /// The column a record's period ends on, for kinds whose records are periods.
    pub fn ends_on(&self) -> Option<&'static Column> {
        self.own
            .iter()
            .find(|column| matches!(column.kind, Type::EndOf(_)))
    }

    /// The column that tells the kind's records apart in the register, if one does.
    pub fn detail(&self) -> Option<&'static Column> {
        let Shape::Record {
            detail: Some(detail),
            ..
        } = self.shape
        else {
            return None;
        };
        self.own.iter().find(|column| column.name == detail)
    }

    /// The register's name for a record of this kind whose detail column holds `text`
    /// (a vocabulary's value) or `flag` (a yes/no column's).
    pub fn record_name(&self, text: Option<&str>, flag: Option<bool>) -> String {
        let detail = self.detail().and_then(|column| match (text, flag) {
            (Some(text), _) => Some(text.to_owned()),
            (None, Some(true)) => Some(column.name.to_owned()),
            (None, Some(false)) => Some(format!("not_{}", column.name)),
            (None, None) => None,
        });
        kotohub_programme::entity::client_fact::record_name(self.name, detail.as_deref())
    }

    /// The register's outcome for a recorded outcome value: the divisions' outcome
    /// vocabularies are all in the register's.
    pub fn recorded_outcome(value: &str) -> Option<RecordedOutcome> {
        RecordedOutcome::try_from_value(&value.to_owned()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_division_table_is_a_kind_in_its_own_subgraph() {
        for (division, records, events) in kotohub_migrations::DIVISION_TABLES {
            for table in records.iter().chain([&events]) {
                let kind = Kind::named(table).unwrap_or_else(|| panic!("{table} is no kind"));
                assert_eq!(kind.subgraph, division, "{table}");
                assert_eq!(kind.shape == Shape::Event, *table == events, "{table}");
            }
        }
        assert_eq!(KINDS.len(), 23);
    }

    #[test]
    fn every_outcome_value_is_one_the_register_counts() {
        for kind in KINDS {
            let Shape::Record {
                outcome: Some(column),
                ..
            } = kind.shape
            else {
                continue;
            };
            let Some(Column {
                kind: Type::Vocabulary(allowed),
                ..
            }) = kind.own.iter().find(|c| c.name == column)
            else {
                panic!("{}: the outcome column is a vocabulary", kind.name);
            };
            for value in allowed() {
                assert!(Kind::recorded_outcome(&value).is_some(), "{value}");
            }
        }
    }

    #[test]
    fn every_kind_of_record_an_indicator_counts_is_one_the_divisions_report() {
        use kotohub_programme::indicator_values::COMPUTED;
        for record in COMPUTED.iter().flat_map(|c| c.computation.records()) {
            let (table, detail) = record.split_once(':').unwrap_or((record, ""));
            let kind = Kind::named(table).unwrap_or_else(|| panic!("{record}: no such kind"));
            if detail.is_empty() {
                continue;
            }
            let column = kind
                .detail()
                .unwrap_or_else(|| panic!("{record}: {table} has no detail"));
            let allowed = match column.kind {
                Type::Vocabulary(values) => values(),
                Type::Boolean => vec![column.name.to_owned(), format!("not_{}", column.name)],
                _ => panic!("{table}: a detail is a vocabulary or a flag"),
            };
            assert!(allowed.iter().any(|v| v == detail), "{record}");
        }
    }

    #[test]
    fn a_record_is_told_apart_by_one_of_its_own_required_columns() {
        for kind in KINDS {
            if let Shape::Record {
                detail: Some(detail),
                ..
            } = kind.shape
            {
                assert!(
                    kind.own.iter().any(|c| c.name == detail && c.required),
                    "{}",
                    kind.name
                );
            }
        }
    }

    #[test]
    fn a_record_happens_on_one_of_its_own_columns() {
        for kind in KINDS {
            if let Shape::Record { happened, .. } = kind.shape {
                assert!(
                    kind.own.iter().any(|c| c.name == happened && c.required),
                    "{}",
                    kind.name
                );
            }
        }
    }
}
