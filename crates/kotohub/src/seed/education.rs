//! The Education Division's demo records: early childhood education (4.6), S2 and
//! mother-tongue instruction (4.4), preparatory education for the newly arrived (4.14),
//! homework help (4.7), language courses for stay-at-home parents and the learning paths
//! that follow them (4.10, 4.18), joint-application results with basic-education
//! certificates (4.17) and vocational education with apprenticeships (4.23).

use chrono::NaiveDate;
use kotohub_education::entity::enrolment::StudyProgramme;
use kotohub_education::entity::joint_application_result::ApplicationResult;
use kotohub_education::entity::qualification::QualificationKind;
use kotohub_education::entity::{
    education_event, enrolment, joint_application_result, qualification,
};
use kotohub_programme::entity::client::Gender;
use kotohub_subgraph::vocab::RecordStatus;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{DatabaseConnection, DbErr};

use super::events::{self, EventPlan, Languages};
use super::population::Person;
use super::rng::Rng;
use super::{insert_rows, year_aged};

const EDUCATION: &str = "education-division";

const EVENT_PLANS: &[EventPlan] = &[
    EventPlan {
        measure: "4.13",
        body: EDUCATION,
        titles: &["Oppimispolut Helsingissä – Learning Paths in Helsinki"],
        per_year: (1, 1),
        participants: (300, 900),
        languages: Languages::Mixed,
        focal_share: 0.0,
    },
    EventPlan {
        measure: "4.12",
        body: EDUCATION,
        titles: &[
            "Wilma induction for parents",
            "Digital tools evening for families",
        ],
        per_year: (10, 30),
        participants: (5, 40),
        languages: Languages::Mixed,
        focal_share: 0.6,
    },
    EventPlan {
        measure: "4.10",
        body: EDUCATION,
        titles: &[
            "Parents' peer group",
            "Guidance morning for stay-at-home parents",
        ],
        per_year: (8, 20),
        participants: (6, 25),
        languages: Languages::Mixed,
        focal_share: 0.7,
    },
    // The Development Plan's own work (set 4) and the cross-sector project (10.1):
    // surveys, working groups, pilots and staff training, a few times a year.
    EventPlan::development(
        "4.1",
        EDUCATION,
        &["Working group on learner information"],
        (1, 3),
        (8, 20),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.2",
        EDUCATION,
        &["Follow-up study briefing for schools"],
        (1, 2),
        (15, 60),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.3",
        EDUCATION,
        &["Positive discrimination funds: good practice seminar"],
        (1, 2),
        (20, 80),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.5",
        EDUCATION,
        &["Teaching video workshop in learners' languages"],
        (2, 6),
        (5, 20),
        Languages::Mixed,
    ),
    EventPlan::development(
        "4.8",
        EDUCATION,
        &["Pupil welfare working group"],
        (2, 4),
        (8, 16),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.9",
        EDUCATION,
        &[
            "Anti-racism workshop with pupils",
            "Tools against discrimination: staff training",
        ],
        (6, 15),
        (15, 60),
        Languages::Mixed,
    ),
    EventPlan::development(
        "4.11",
        EDUCATION,
        &["Multilingual services info session"],
        (4, 10),
        (10, 50),
        Languages::Mixed,
    ),
    EventPlan::development(
        "4.15",
        EDUCATION,
        &["Swedish-language care and education options evening"],
        (1, 3),
        (10, 40),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.16",
        EDUCATION,
        &["Multilingual instruction pilot: teachers' network"],
        (2, 5),
        (8, 30),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.19",
        EDUCATION,
        &["Guidance evaluation workshop"],
        (1, 3),
        (10, 30),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.20",
        EDUCATION,
        &["Recognition of prior learning: assessors' training"],
        (2, 4),
        (8, 25),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.22",
        EDUCATION,
        &["Education and employment services network meeting"],
        (2, 4),
        (10, 40),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.24",
        EDUCATION,
        &["Language awareness training for staff"],
        (6, 12),
        (15, 60),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.25",
        EDUCATION,
        &["Peer mentoring circle", "Induction day for new staff"],
        (4, 8),
        (6, 30),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.26",
        EDUCATION,
        &["Work training and apprenticeship partners' fair"],
        (1, 3),
        (30, 150),
        Languages::Mixed,
    ),
    EventPlan::development(
        "4.27",
        EDUCATION,
        &["Plain-language recruitment workshop"],
        (2, 4),
        (8, 25),
        Languages::Domestic,
    ),
    EventPlan::development(
        "4.28",
        EDUCATION,
        &["Finnish for the workplace: employer session"],
        (3, 8),
        (10, 40),
        Languages::Mixed,
    ),
    EventPlan::development(
        "10.1",
        EDUCATION,
        &[
            "Intergenerational exclusion project: steering group",
            "Partner network meeting",
        ],
        (3, 6),
        (10, 35),
        Languages::Domestic,
    ),
];

#[derive(Default)]
struct Rows {
    enrolments: Vec<enrolment::ActiveModel>,
    applications: Vec<joint_application_result::ActiveModel>,
    qualifications: Vec<qualification::ActiveModel>,
}

impl Rows {
    /// An enrolment from `started` for `days`; returns its end if completed.
    #[allow(clippy::too_many_arguments)]
    fn enrol(
        &mut self,
        rng: &mut Rng,
        person: &Person,
        measure: &str,
        programme: StudyProgramme,
        started: NaiveDate,
        days: (u64, u64),
    ) -> Option<NaiveDate> {
        let ended = rng.days_after(started, days.0, days.1);
        let status = match ended {
            None => RecordStatus::Active,
            Some(_) if rng.chance(0.1) => RecordStatus::Interrupted,
            Some(_) => RecordStatus::Completed,
        };
        self.enrolments.push(enrolment::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(EDUCATION.to_owned()),
            programme: Set(programme),
            started_on: Set(started),
            ended_on: Set(ended),
            status: Set(status),
        });
        ended.filter(|_| status == RecordStatus::Completed)
    }

    fn qualify(&mut self, person: &Person, measure: &str, kind: QualificationKind, on: NaiveDate) {
        self.qualifications.push(qualification::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(EDUCATION.to_owned()),
            kind: Set(kind),
            completed_on: Set(on),
        });
    }
}

/// August 1st of `year`, when school years start.
fn school_start(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 8, 1).expect("a valid date")
}

/// The records of `people`, drawn from `rng`: called on successive slices of the
/// population with the same `rng`, it draws what one call on the whole would.
fn generate(people: &[Person], rng: &mut Rng) -> Rows {
    let mut rows = Rows::default();
    for person in people {
        if !person.foreign_language() {
            continue;
        }
        if rng.chance(0.6)
            && let Some(year) = year_aged(rng, person, 3, 6)
        {
            rows.enrol(
                rng,
                person,
                "4.6",
                StudyProgramme::EarlyChildhood,
                school_start(year),
                (300, 1000),
            );
        }
        if let Some(year) = year_aged(rng, person, 7, 15) {
            if person.recently_arrived(year, 1) && rng.chance(0.8) {
                rows.enrol(
                    rng,
                    person,
                    "4.14",
                    StudyProgramme::Preparatory,
                    school_start(year),
                    (280, 380),
                );
            }
            if rng.chance(0.7) {
                rows.enrol(
                    rng,
                    person,
                    "4.4",
                    StudyProgramme::S2,
                    school_start(year),
                    (300, 1400),
                );
            }
            if rng.chance(0.35) {
                rows.enrol(
                    rng,
                    person,
                    "4.4",
                    StudyProgramme::MotherTongue,
                    school_start(year),
                    (300, 1400),
                );
            }
            if rng.chance(0.25) {
                rows.enrol(
                    rng,
                    person,
                    "4.7",
                    StudyProgramme::HomeworkHelp,
                    school_start(year),
                    (60, 300),
                );
            }
        }
        // 4.17: the joint application after comprehensive school, at sixteen.
        let application_year = person.birth_year + 16;
        if (events::YEARS.0..=events::YEARS.1).contains(&application_year) && rng.chance(0.85) {
            let newly_arrived = person.recently_arrived(application_year, 3);
            let result = *rng.weighted(&[
                (
                    ApplicationResult::Accepted,
                    if newly_arrived { 62.0 } else { 80.0 },
                ),
                (
                    ApplicationResult::NotAccepted,
                    if newly_arrived { 28.0 } else { 13.0 },
                ),
                (ApplicationResult::Declined, 7.0),
            ]);
            rows.applications
                .push(joint_application_result::ActiveModel {
                    id: NotSet,
                    client_id: Set(person.id.clone()),
                    measure_id: Set("4.17".to_owned()),
                    body_id: Set(EDUCATION.to_owned()),
                    year: Set(application_year),
                    school_district: Set(person.district),
                    result: Set(result),
                });
            let june = NaiveDate::from_ymd_opt(application_year, 6, 1).expect("a valid date");
            rows.qualify(person, "4.17", QualificationKind::BasicEducation, june);
        }
        // 4.10: language courses for stay-at-home parents, and the paths onward.
        let parent_chance = if person.gender == Gender::Female {
            0.12
        } else {
            0.03
        };
        if rng.chance(parent_chance)
            && let Some(year) = year_aged(rng, person, 25, 50)
        {
            let start = rng.date_in(year, year);
            if let Some(done) = rows.enrol(
                rng,
                person,
                "4.10",
                StudyProgramme::ParentsLanguageCourse,
                start,
                (90, 300),
            ) {
                if rng.chance(0.4)
                    && let Some(next) = rng.days_after(done, 30, 200)
                {
                    let programme = *rng.weighted(&[
                        (StudyProgramme::AdultBasic, 60.0),
                        (StudyProgramme::Vocational, 40.0),
                    ]);
                    rows.enrol(rng, person, "4.18", programme, next, (300, 900));
                }
                if rng.chance(0.25)
                    && let Some(on) = rng.days_after(done, 30, 400)
                {
                    rows.qualify(person, "4.10", QualificationKind::LanguageCertificate, on);
                }
            }
        }
        // 4.23: vocational education and apprenticeships for adults.
        if rng.chance(0.10)
            && let Some(year) = year_aged(rng, person, 18, 40)
            && let Some(done) = rows.enrol(
                rng,
                person,
                "4.23",
                StudyProgramme::Vocational,
                school_start(year),
                (300, 1100),
            )
        {
            let kind = *rng.weighted(&[
                (QualificationKind::Vocational, 60.0),
                (QualificationKind::PartialVocational, 40.0),
            ]);
            rows.qualify(person, "4.23", kind, done);
        }
    }
    rows
}

pub async fn seed(db: &DatabaseConnection, people: &[Person], seed: u64) -> Result<u64, DbErr> {
    let mut rng = Rng::new(seed, "education");
    let txn = super::unrestricted(db).await?;
    let mut written = 0;
    // A slice of the population at a time: at a million clients the records of all of
    // them at once took gigabytes.
    for slice in people.chunks(super::PEOPLE_PER_SLICE) {
        let rows = generate(slice, &mut rng);
        written += insert_rows(&txn, rows.enrolments).await?
            + insert_rows(&txn, rows.applications).await?
            + insert_rows(&txn, rows.qualifications).await?;
    }
    let events = event_rows!(education_event, events::generate(&mut rng, EVENT_PLANS));
    written += insert_rows(&txn, events).await?;
    txn.commit().await?;
    Ok(written)
}
