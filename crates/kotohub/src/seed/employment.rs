//! The employment services' demo records: Helsinki Skill Center's skill assessments and
//! learning paths (1.1, 4.21), the multilingual guidance pilot (1.2) with the outcomes its
//! indicator counts (half apply to vocational education, a fifth find paid work),
//! Ohjaamo's multilingual and grass-roots guidance (1.3, 10.2), the TYP service (1.4),
//! NewCo's business advice (1.5), International House Helsinki (3.2) and the Migrant
//! Youth Helsinki work-experience placements (10.4).

use chrono::NaiveDate;
use kotohub_employment::entity::employment_outcome::EmploymentOutcomeKind;
use kotohub_employment::entity::guidance_session::GuidanceFormat;
use kotohub_employment::entity::{
    employment_outcome, guidance_session, networking_event, service_path, skill_assessment,
};
use kotohub_subgraph::vocab::RecordStatus;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{DatabaseConnection, DbErr};

use super::events::{self, EventPlan, Languages};
use super::population::Person;
use super::rng::Rng;
use super::{insert_rows, year_aged};

const SKILL_CENTER: &str = "helsinki-skill-center";
const GUIDANCE_UNIT: &str = "immigration-employment-services";
const OHJAAMO: &str = "ohjaamo";
const TYP: &str = "typ-service";
const NEWCO: &str = "newco-helsinki";
const IHH: &str = "international-house-helsinki";
const MIGRANT_YOUTH: &str = "migrant-youth-helsinki";

const SKILL_AREAS: &[&str] = &[
    "care",
    "construction",
    "cleaning",
    "hospitality",
    "logistics",
    "ict",
    "commerce",
    "metal_industry",
    "early_childhood",
    "transport",
];
const LEVELS: &[(&str, f64)] = &[
    ("A0", 10.0),
    ("A1", 30.0),
    ("A2", 30.0),
    ("B1", 20.0),
    ("B2", 10.0),
];

const EVENT_PLANS: &[EventPlan] = &[
    EventPlan {
        measure: "1.3",
        body: OHJAAMO,
        titles: &[
            "Career morning in your own language",
            "Job-search workshop",
            "Study options info",
        ],
        per_year: (8, 16),
        participants: (6, 40),
        languages: Languages::Foreign,
        focal_share: 0.5,
    },
    EventPlan {
        measure: "1.5",
        body: NEWCO,
        titles: &[
            "TalentNet networking evening",
            "Starting a business in Finland",
            "Employer meets talent",
        ],
        per_year: (6, 12),
        participants: (15, 90),
        languages: Languages::Mixed,
        focal_share: 0.2,
    },
    EventPlan {
        measure: "3.2",
        body: IHH,
        titles: &[
            "Welcome to Helsinki info",
            "Working in Finland seminar",
            "Spouse programme meetup",
        ],
        per_year: (6, 12),
        participants: (20, 150),
        languages: Languages::Domestic,
        focal_share: 0.05,
    },
    EventPlan {
        measure: "10.2",
        body: OHJAAMO,
        titles: &[
            "Recruitment event at the mall",
            "Employer pop-up",
            "Summer jobs fair",
        ],
        per_year: (10, 20),
        participants: (10, 80),
        languages: Languages::Mixed,
        focal_share: 0.4,
    },
    // 3.1: the growth agreement's Talent Boost work.
    EventPlan::development(
        "3.1",
        GUIDANCE_UNIT,
        &[
            "Talent Boost employer breakfast",
            "International talent meet-up",
        ],
        (3, 8),
        (20, 120),
        Languages::Mixed,
    ),
];

#[derive(Default)]
struct Rows {
    assessments: Vec<skill_assessment::ActiveModel>,
    sessions: Vec<guidance_session::ActiveModel>,
    paths: Vec<service_path::ActiveModel>,
    outcomes: Vec<employment_outcome::ActiveModel>,
}

impl Rows {
    fn assessment(
        &mut self,
        rng: &mut Rng,
        person: &Person,
        measure: &str,
        body: &str,
        on: NaiveDate,
    ) {
        self.assessments.push(skill_assessment::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(body.to_owned()),
            assessed_on: Set(on),
            skill_area: Set((*rng.pick(SKILL_AREAS)).to_owned()),
            level: Set((*rng.weighted(LEVELS)).to_owned()),
        });
    }

    /// `count` guidance sessions from `first` on; returns the day of the last one.
    #[allow(clippy::too_many_arguments)]
    fn sessions(
        &mut self,
        rng: &mut Rng,
        person: &Person,
        measure: &str,
        body: &str,
        first: NaiveDate,
        count: i32,
        language: &str,
        format: GuidanceFormat,
    ) -> NaiveDate {
        let mut day = first;
        for n in 0..count {
            if n > 0 {
                match rng.days_after(day, 7, 60) {
                    Some(next) => day = next,
                    None => break,
                }
            }
            self.sessions.push(guidance_session::ActiveModel {
                id: NotSet,
                client_id: Set(person.id.clone()),
                measure_id: Set(measure.to_owned()),
                body_id: Set(body.to_owned()),
                held_on: Set(day),
                language: Set(language.to_owned()),
                format: Set(format),
            });
        }
        day
    }

    fn path(
        &mut self,
        rng: &mut Rng,
        person: &Person,
        measure: &str,
        body: &str,
        path: &str,
        started: NaiveDate,
    ) -> Option<NaiveDate> {
        let ended = rng.days_after(started, 90, 420);
        let status = match ended {
            None => RecordStatus::Active,
            Some(_) if rng.chance(0.15) => RecordStatus::Interrupted,
            Some(_) => RecordStatus::Completed,
        };
        self.paths.push(service_path::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(body.to_owned()),
            path: Set(path.to_owned()),
            started_on: Set(started),
            ended_on: Set(ended),
            status: Set(status),
        });
        ended.filter(|_| status == RecordStatus::Completed)
    }

    fn outcome(
        &mut self,
        person: &Person,
        measure: &str,
        body: &str,
        kind: EmploymentOutcomeKind,
        on: NaiveDate,
        work_hours: Option<i32>,
    ) {
        self.outcomes.push(employment_outcome::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(body.to_owned()),
            kind: Set(kind),
            occurred_on: Set(on),
            work_hours: Set(work_hours),
        });
    }
}

/// The records of `people`, drawn from `rng`: called on successive slices of the
/// population with the same `rng`, it draws what one call on the whole would.
fn generate(people: &[Person], rng: &mut Rng) -> Rows {
    let mut rows = Rows::default();
    for person in people {
        let foreign = person.foreign_language();
        // 1.1 and 4.21: Helsinki Skill Center assesses new clients and offers learning
        // paths: those the immigration unit referred to it on the day the resettlement
        // says, others as they come.
        let referred = person
            .resettled
            .and_then(|resettled| resettled.skill_center)
            .and_then(|referral| referral.assessed_on);
        let assessed = match referred {
            Some(on) => Some(on),
            None if person.resettled.is_none() && foreign && rng.chance(0.22) => {
                year_aged(rng, person, 20, 64).map(|year| rng.date_in(year, year))
            }
            None => None,
        };
        if let Some(on) = assessed {
            rows.assessment(rng, person, "1.1", SKILL_CENTER, on);
            if rng.chance(0.55)
                && let Some(start) = rng.days_after(on, 14, 60)
                && let Some(done) = rows.path(
                    rng,
                    person,
                    "4.21",
                    SKILL_CENTER,
                    "skill_center_learning_path",
                    start,
                )
                && rng.chance(0.55)
            {
                let kind = *rng.weighted(&[
                    (EmploymentOutcomeKind::Employed, 50.0),
                    (EmploymentOutcomeKind::VocationalEducation, 30.0),
                    (EmploymentOutcomeKind::Apprenticeship, 20.0),
                ]);
                if let Some(on) = rng.days_after(done, 0, 180) {
                    rows.outcome(person, "4.21", SKILL_CENTER, kind, on, None);
                }
            }
        }
        // 1.2: guidance in the client's own language for those with a poor labour-market
        // status; the indicator is the share continuing to education or employment.
        if foreign
            && rng.chance(0.12)
            && let Some(year) = year_aged(rng, person, 20, 64)
        {
            let first = rng.date_in(year, year);
            let count = rng.between(1, 4);
            let format = *rng.weighted(&[
                (GuidanceFormat::Individual, 70.0),
                (GuidanceFormat::Group, 30.0),
            ]);
            let last = rows.sessions(
                rng,
                person,
                "1.2",
                GUIDANCE_UNIT,
                first,
                count,
                person.mother_tongue,
                format,
            );
            if rng.chance(0.5)
                && let Some(on) = rng.days_after(last, 30, 365)
            {
                rows.outcome(
                    person,
                    "1.2",
                    GUIDANCE_UNIT,
                    EmploymentOutcomeKind::VocationalEducation,
                    on,
                    None,
                );
            }
            if rng.chance(0.22)
                && let Some(on) = rng.days_after(last, 30, 365)
            {
                rows.outcome(
                    person,
                    "1.2",
                    GUIDANCE_UNIT,
                    EmploymentOutcomeKind::Employed,
                    on,
                    None,
                );
            }
        }
        // 1.3: Ohjaamo's multilingual guidance for young people who cannot use it in
        // Finnish or Swedish.
        if foreign
            && rng.chance(0.25)
            && let Some(year) = year_aged(rng, person, 16, 29)
        {
            let first = rng.date_in(year, year);
            let language = if rng.chance(0.7) {
                person.mother_tongue
            } else {
                "en"
            };
            let count = rng.between(1, 3);
            let last = rows.sessions(
                rng,
                person,
                "1.3",
                OHJAAMO,
                first,
                count,
                language,
                GuidanceFormat::Individual,
            );
            if rng.chance(0.35) {
                let kind = *rng.weighted(&[
                    (EmploymentOutcomeKind::Employed, 40.0),
                    (EmploymentOutcomeKind::OtherEducation, 35.0),
                    (EmploymentOutcomeKind::Apprenticeship, 25.0),
                ]);
                if let Some(on) = rng.days_after(last, 14, 240) {
                    rows.outcome(person, "1.3", OHJAAMO, kind, on, None);
                }
            }
        }
        // 10.2: Ohjaamo's grass-roots work reaches young people of every background.
        if rng.chance(if foreign { 0.10 } else { 0.6 })
            && let Some(year) = year_aged(rng, person, 16, 29)
        {
            let on = rng.date_in(year, year);
            rows.sessions(
                rng,
                person,
                "10.2",
                OHJAAMO,
                on,
                1,
                if foreign { "fi" } else { person.mother_tongue },
                GuidanceFormat::Outreach,
            );
        }
        // 1.4: the TYP service's multi-professional paths, with skill assessments.
        if foreign
            && rng.chance(0.10)
            && let Some(year) = year_aged(rng, person, 25, 64)
        {
            let start = rng.date_in(year, year);
            if rng.chance(0.6) {
                rows.assessment(rng, person, "1.4", TYP, start);
            }
            rows.path(rng, person, "1.4", TYP, "typ_multi_professional", start);
        }
        // 1.5: NewCo Helsinki's business advice; some start a business.
        if foreign
            && rng.chance(0.03)
            && let Some(year) = year_aged(rng, person, 25, 64)
        {
            let on = rng.date_in(year, year);
            let count = rng.between(1, 3);
            let last = rows.sessions(
                rng,
                person,
                "1.5",
                NEWCO,
                on,
                count,
                "en",
                GuidanceFormat::Individual,
            );
            if rng.chance(0.3)
                && let Some(on) = rng.days_after(last, 30, 300)
            {
                rows.outcome(
                    person,
                    "1.5",
                    NEWCO,
                    EmploymentOutcomeKind::Entrepreneur,
                    on,
                    None,
                );
            }
        }
        // 3.2: International House Helsinki serves newly arrived workers.
        if person.recently_arrived(super::population::REFERENCE_YEAR, 8)
            && rng.chance(0.15)
            && let Some(arrived) = person.arrival_year.filter(|year| *year >= events::YEARS.0)
            && person.age_in(arrived) >= 20
        {
            let on = rng.date_in(arrived, arrived);
            rows.sessions(
                rng,
                person,
                "3.2",
                IHH,
                on,
                1,
                "en",
                GuidanceFormat::Individual,
            );
        }
        // 10.4: Migrant Youth Helsinki's micro-labour market gives first work experience.
        if foreign
            && rng.chance(0.08)
            && let Some(year) = year_aged(rng, person, 15, 24)
        {
            let on = rng.date_in(year, year);
            let hours = rng.between(8, 40);
            rows.outcome(
                person,
                "10.4",
                MIGRANT_YOUTH,
                EmploymentOutcomeKind::WorkExperience,
                on,
                Some(hours),
            );
        }
    }
    rows
}

pub async fn seed(db: &DatabaseConnection, people: &[Person], seed: u64) -> Result<u64, DbErr> {
    let mut rng = Rng::new(seed, "employment");
    let txn = super::unrestricted(db).await?;
    let mut written = 0;
    // A slice of the population at a time: at a million clients the records of all of
    // them at once took gigabytes.
    for slice in people.chunks(super::PEOPLE_PER_SLICE) {
        let rows = generate(slice, &mut rng);
        written += insert_rows(&txn, rows.assessments).await?
            + insert_rows(&txn, rows.sessions).await?
            + insert_rows(&txn, rows.paths).await?
            + insert_rows(&txn, rows.outcomes).await?;
    }
    let events = event_rows!(networking_event, events::generate(&mut rng, EVENT_PLANS));
    written += insert_rows(&txn, events).await?;
    txn.commit().await?;
    Ok(written)
}
