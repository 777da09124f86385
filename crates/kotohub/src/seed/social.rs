//! The Social Services and Health Care Division's demo records: the Helmi service's
//! family work with young people aged 7–17 (cases, multi-professional assessments,
//! support periods and the outcome "no longer a child-welfare client"), refugee
//! integration cases that end with the move to basic services (the Koto model),
//! social rehabilitation at the Competence Centres (9.4), young people's social work and
//! empowering work with the second generation (9.8, 9.9), digital help (9.7), and
//! single-operator service-needs assessments that measure 9.5 compares against; and, from
//! 1999 to 2003, Home to Helsinki's work with Russian- and Estonian-speaking young people
//! (seed 000): psychosocial support in their own language, referrals to substance abuse
//! treatment, and the outcomes the project was to lessen.

use chrono::NaiveDate;
use kotohub_programme::entity::client::{Background, EntryRoute};
use kotohub_social::entity::social_case::CaseKind;
use kotohub_social::entity::social_outcome::SocialOutcomeKind;
use kotohub_social::entity::support_period::SupportService;
use kotohub_social::entity::{
    service_needs_assessment, social_case, social_event, social_outcome, support_period,
    treatment_referral,
};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{DatabaseConnection, DbErr};

use super::events::{self, EventPlan, Languages};
use super::families::INTEGRATION_CASE_BODY;
use super::population::Person;
use super::rng::Rng;
use super::{insert_rows, year_aged};

const DIVISION: &str = "social-services-health-care";
const HELMI: &str = "helmi";

const EVENT_PLANS: &[EventPlan] = &[
    EventPlan {
        measure: "9.3",
        body: DIVISION,
        titles: &[
            "Cross-cultural interviewing training",
            "Training: clients from war zones",
            "Training: forced marriage and honour-related violence",
        ],
        per_year: (6, 15),
        participants: (10, 40),
        languages: Languages::Domestic,
        focal_share: 0.3,
    },
    EventPlan {
        measure: "9.5",
        body: HELMI,
        titles: &["Helmi parents' peer group", "Family evening"],
        per_year: (8, 20),
        participants: (5, 20),
        languages: Languages::Mixed,
        focal_share: 0.6,
    },
    EventPlan {
        measure: "9.9",
        body: DIVISION,
        titles: &["Youth camp", "Empowerment workshop"],
        per_year: (2, 6),
        participants: (10, 35),
        languages: Languages::Domestic,
        focal_share: 0.5,
    },
    // The division's surveys, research cooperation and the Kalasatama pilot (9.1, 9.2,
    // 9.6).
    EventPlan::development(
        "9.1",
        DIVISION,
        &["Service survey session in clients' languages"],
        (2, 6),
        (10, 40),
        Languages::Foreign,
    ),
    EventPlan::development(
        "9.2",
        DIVISION,
        &["Well-being indicators seminar with THL"],
        (1, 2),
        (20, 80),
        Languages::Domestic,
    ),
    EventPlan::development(
        "9.6",
        DIVISION,
        &["Kalasatama extended appointments pilot: clinic day"],
        (4, 10),
        (8, 30),
        Languages::Mixed,
    ),
];

#[derive(Default)]
struct Rows {
    cases: Vec<social_case::ActiveModel>,
    assessments: Vec<service_needs_assessment::ActiveModel>,
    periods: Vec<support_period::ActiveModel>,
    outcomes: Vec<social_outcome::ActiveModel>,
    treatment_referrals: Vec<treatment_referral::ActiveModel>,
}

impl Rows {
    fn case(
        &mut self,
        person: &Person,
        measure: &str,
        body: &str,
        kind: CaseKind,
        opened: NaiveDate,
        closed: Option<NaiveDate>,
    ) {
        self.cases.push(social_case::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(body.to_owned()),
            kind: Set(kind),
            opened_on: Set(opened),
            closed_on: Set(closed),
        });
    }

    fn assessment(&mut self, person: &Person, body: &str, on: NaiveDate, multi_professional: bool) {
        self.assessments
            .push(service_needs_assessment::ActiveModel {
                id: NotSet,
                client_id: Set(person.id.clone()),
                measure_id: Set("9.5".to_owned()),
                body_id: Set(body.to_owned()),
                assessed_on: Set(on),
                multi_professional: Set(multi_professional),
            });
    }

    /// A support period from `started`; returns its end, if it has ended.
    #[allow(clippy::too_many_arguments)]
    fn period(
        &mut self,
        rng: &mut Rng,
        person: &Person,
        measure: &str,
        body: &str,
        service: SupportService,
        started: NaiveDate,
        days: (u64, u64),
    ) -> Option<NaiveDate> {
        let ended = rng.days_after(started, days.0, days.1);
        let satisfaction = (ended.is_some() && rng.chance(0.7))
            .then(|| *rng.weighted(&[(5, 40.0), (4, 35.0), (3, 18.0), (2, 5.0), (1, 2.0)]));
        self.periods.push(support_period::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(body.to_owned()),
            service: Set(service),
            started_on: Set(started),
            ended_on: Set(ended),
            satisfaction: Set(satisfaction),
        });
        ended
    }

    fn outcome(
        &mut self,
        person: &Person,
        measure: &str,
        body: &str,
        kind: SocialOutcomeKind,
        on: NaiveDate,
    ) {
        self.outcomes.push(social_outcome::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(measure.to_owned()),
            body_id: Set(body.to_owned()),
            kind: Set(kind),
            occurred_on: Set(on),
        });
    }
}

/// The records of `people`, drawn from `rng`: called on successive slices of the
/// population with the same `rng`, it draws what one call on the whole would.
fn generate(people: &[Person], rng: &mut Rng) -> Rows {
    let mut rows = Rows::default();
    for person in people {
        let foreign_background = person.background != Background::FinnishBackground;
        // The Helmi service: young people 7–17 who are clients of child welfare or family
        // social work, with a multi-professional assessment at the start.
        if foreign_background
            && rng.chance(0.05)
            && let Some(year) = year_aged(rng, person, 7, 17)
        {
            let opened = rng.date_in(year, year);
            let kind = *rng.weighted(&[
                (CaseKind::ChildWelfare, 65.0),
                (CaseKind::FamilySocialWork, 35.0),
            ]);
            rows.assessment(person, HELMI, opened, true);
            let start = rng.days_after(opened, 7, 45).unwrap_or(opened);
            let ended = rows.period(
                rng,
                person,
                "9.5",
                HELMI,
                SupportService::Helmi,
                start,
                (120, 540),
            );
            let mut closed = None;
            if let Some(ended) = ended {
                // Seed 003: half of Helmi's clients were no longer clients of child
                // welfare six months after the service, and about half saw their
                // situation improve.
                if kind == CaseKind::ChildWelfare
                    && rng.chance(0.78)
                    && let Some(on) = rng.days_after(ended, 0, 180)
                {
                    rows.outcome(
                        person,
                        "9.5",
                        HELMI,
                        SocialOutcomeKind::ChildWelfareEnded,
                        on,
                    );
                    closed = Some(on);
                }
                if rng.chance(0.5) {
                    rows.outcome(
                        person,
                        "9.5",
                        HELMI,
                        SocialOutcomeKind::SchoolAttendanceImproved,
                        ended,
                    );
                }
            }
            rows.case(person, "9.5", HELMI, kind, opened, closed);
        }
        // Refugee integration: the immigration unit's case of a resettled household,
        // opened on its placement and closed with the move to the City's basic services
        // (drawn with the households, so that every member's case is the same); and the
        // integration work some who came by other routes also get.
        if let Some(resettled) = person.resettled {
            rows.case(
                person,
                "9.5",
                INTEGRATION_CASE_BODY,
                CaseKind::RefugeeIntegration,
                resettled.placed_on,
                resettled.case_closed_on,
            );
            if let Some(closed) = resettled
                .case_closed_on
                .filter(|_| resettled.moved_to_basic_services)
            {
                rows.outcome(
                    person,
                    "9.5",
                    INTEGRATION_CASE_BODY,
                    SocialOutcomeKind::MovedToBasicServices,
                    closed,
                );
            }
        } else if let Some(arrived) = person.arrival_year.filter(|y| *y >= events::YEARS.0)
            && matches!(
                person.entry_route,
                Some(EntryRoute::AsylumSeeker | EntryRoute::FamilyReunification)
            )
            && rng.chance(0.12)
        {
            let opened = rng.date_in(arrived, arrived);
            let closed = rng.days_after(opened, 365, 1100);
            rows.case(
                person,
                "9.5",
                DIVISION,
                CaseKind::RefugeeIntegration,
                opened,
                closed,
            );
            if let Some(closed) = closed.filter(|_| rng.chance(0.8)) {
                rows.outcome(
                    person,
                    "9.5",
                    DIVISION,
                    SocialOutcomeKind::MovedToBasicServices,
                    closed,
                );
            }
        }
        // 9.4: social rehabilitation for people who moved to Finland recently.
        if rng.chance(0.04)
            && let Some(year) = year_aged(rng, person, 25, 60)
            && person.recently_arrived(year, 5)
        {
            let start = rng.date_in(year, year);
            rows.period(
                rng,
                person,
                "9.4",
                DIVISION,
                SupportService::SocialRehabilitation,
                start,
                (90, 365),
            );
        }
        // 9.8 and 9.9: young people's social work with the second generation.
        if person.background == Background::SecondGeneration
            && rng.chance(0.08)
            && let Some(year) = year_aged(rng, person, 15, 24)
        {
            let opened = rng.date_in(year, year);
            let closed = rng.days_after(opened, 90, 700);
            rows.case(
                person,
                "9.8",
                DIVISION,
                CaseKind::YouthSocialWork,
                opened,
                closed,
            );
            if rng.chance(0.5)
                && let Some(ended) = rows.period(
                    rng,
                    person,
                    "9.9",
                    DIVISION,
                    SupportService::Empowerment,
                    opened,
                    (60, 300),
                )
                && rng.chance(0.4)
            {
                rows.outcome(person, "9.9", DIVISION, SocialOutcomeKind::GoalsMet, ended);
            }
        }
        // 9.7: digital senior, family and adult help.
        if rng.chance(if person.age() >= 65 { 0.2 } else { 0.03 })
            && let Some(year) = year_aged(rng, person, 30, 90)
        {
            let start = rng.date_in(year, year);
            rows.period(
                rng,
                person,
                "9.7",
                DIVISION,
                SupportService::DigitalHelp,
                start,
                (7, 120),
            );
        }
        // Single-operator service-needs assessments, the comparison base of measure 9.5.
        if rng.chance(0.05)
            && let Some(year) = year_aged(rng, person, 18, 90)
        {
            let on = rng.date_in(year, year);
            rows.assessment(person, DIVISION, on, rng.chance(0.3));
        }
    }
    rows
}

/// Home to Helsinki's records of `people` (seed 000), drawn from a stream of their own:
/// Russian- and Estonian-speaking young people, 12–24 and living in Helsinki in the
/// project's years, in psychosocial support in their own language; some referred to
/// substance abuse treatment; and the outcomes the project followed.
fn home_to_helsinki(people: &[Person], rng: &mut Rng) -> Rows {
    use social_outcome::SocialOutcomeKind::*;
    use treatment_referral::{Treatment, TreatmentResult};
    const MEASURE: &str = "9.8";
    let (first, last) = (1999, 2003);
    let project_end = NaiveDate::from_ymd_opt(2003, 12, 31).expect("a valid date");
    let mut rows = Rows::default();
    for person in people {
        let arrived = person.arrival_year.unwrap_or(i32::MAX);
        let young = |year: i32| (12..=24).contains(&person.age_in(year));
        if !matches!(person.mother_tongue, "ru" | "et")
            || arrived > last
            || !(first.max(arrived)..=last).any(young)
            || !rng.chance(0.4)
        {
            continue;
        }
        let years: Vec<i32> = (first.max(arrived)..=last).filter(|y| young(*y)).collect();
        let year = *rng.pick(&years);
        let started = rng
            .date_in(year, year)
            .max(NaiveDate::from_ymd_opt(first, 2, 1).expect("a valid date"));
        let ended = (started + chrono::Days::new(60 + rng.below(600))).min(project_end);
        rows.periods.push(support_period::ActiveModel {
            id: NotSet,
            client_id: Set(person.id.clone()),
            measure_id: Set(MEASURE.to_owned()),
            body_id: Set(DIVISION.to_owned()),
            service: Set(SupportService::PsychosocialSupport),
            started_on: Set(started),
            ended_on: Set(Some(ended)),
            satisfaction: Set(rng
                .chance(0.5)
                .then(|| *rng.weighted(&[(5, 45.0), (4, 35.0), (3, 15.0), (2, 5.0)]))),
        });
        let mut outcome = |kind, on: NaiveDate| {
            rows.outcomes.push(social_outcome::ActiveModel {
                id: NotSet,
                client_id: Set(person.id.clone()),
                measure_id: Set(MEASURE.to_owned()),
                body_id: Set(DIVISION.to_owned()),
                kind: Set(kind),
                occurred_on: Set(on),
            })
        };
        let after =
            |rng: &mut Rng, from: NaiveDate, days: u64| from + chrono::Days::new(rng.below(days));
        if rng.chance(0.15) {
            let referred_on = after(rng, started, 90);
            let treatment = *rng.weighted(&[
                (Treatment::SubstanceAbuseOutpatient, 55.0),
                (Treatment::Detoxification, 20.0),
                (Treatment::SubstanceAbuseInpatient, 15.0),
                (Treatment::MentalHealth, 10.0),
            ]);
            let started_on = rng
                .chance(0.7)
                .then(|| after(rng, referred_on, 45) + chrono::Days::new(1));
            let result = match started_on {
                Some(_) => TreatmentResult::Started,
                None if rng.chance(0.5) => TreatmentResult::Declined,
                None => TreatmentResult::Lapsed,
            };
            rows.treatment_referrals
                .push(treatment_referral::ActiveModel {
                    id: NotSet,
                    client_id: Set(person.id.clone()),
                    measure_id: Set(MEASURE.to_owned()),
                    body_id: Set(DIVISION.to_owned()),
                    treatment: Set(treatment),
                    referred_on: Set(referred_on),
                    started_on: Set(started_on),
                    result: Set(result),
                });
            if started_on.is_some() && rng.chance(0.55) {
                outcome(SubstanceUseReduced, ended);
            }
        }
        // What the project set out to lessen, at rates of its target group's young people.
        if rng.chance(0.03) {
            outcome(Incarcerated, after(rng, started, 700));
        }
        if rng.chance(0.01) {
            outcome(Deported, after(rng, started, 700));
        }
        if person.age_in(year) <= 16 && rng.chance(0.08) {
            outcome(BasicEducationNotCompleted, after(rng, started, 500));
        }
        if person.age_in(year) >= 20 && rng.chance(0.02) {
            outcome(TakenIntoCare, after(rng, started, 700));
        }
    }
    rows
}

pub async fn seed(db: &DatabaseConnection, people: &[Person], seed: u64) -> Result<u64, DbErr> {
    let mut rng = Rng::new(seed, "social");
    let mut project = Rng::new(seed, "home-to-helsinki");
    let txn = super::unrestricted(db).await?;
    let mut written = 0;
    // A slice of the population at a time: at a million clients the records of all of
    // them at once took gigabytes.
    for slice in people.chunks(super::PEOPLE_PER_SLICE) {
        for rows in [
            generate(slice, &mut rng),
            home_to_helsinki(slice, &mut project),
        ] {
            written += insert_rows(&txn, rows.cases).await?
                + insert_rows(&txn, rows.assessments).await?
                + insert_rows(&txn, rows.periods).await?
                + insert_rows(&txn, rows.outcomes).await?
                + insert_rows(&txn, rows.treatment_referrals).await?;
        }
    }
    let events = event_rows!(social_event, events::generate(&mut rng, EVENT_PLANS));
    written += insert_rows(&txn, events).await?;
    txn.commit().await?;
    Ok(written)
}
