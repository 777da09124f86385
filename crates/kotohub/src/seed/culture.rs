//! The Culture and Leisure Division's demo records: events promoting cross-cultural
//! encounters (7.1) and at the cultural centres (7.2), HAM's and Annantalo's workshops for
//! asylum seekers (7.3), the City Museum's language-training workshops (7.4), the
//! libraries' mother-tongue reading activities (7.5), sports groups (8.1) and grass-roots
//! youth work (10.3), with participations linked to the events and outcomes such as a
//! hobby taken up.

use kotohub_culture::entity::culture_outcome::CultureOutcomeKind;
use kotohub_culture::entity::participation::Activity;
use kotohub_culture::entity::{cultural_event, culture_outcome, participation};
use sea_orm::ActiveValue::{NotSet, Set};
use std::collections::HashMap;

use chrono::Datelike;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::events::{self, Event, EventPlan, Languages};
use super::population::Person;
use super::rng::Rng;
use super::{insert_rows, year_aged};

const EVENT_PLANS: &[EventPlan] = &[
    EventPlan {
        measure: "7.1",
        body: "culture-leisure-division",
        titles: &[
            "Neighbourhood culture festival",
            "World music evening",
            "Dance together",
        ],
        per_year: (20, 40),
        participants: (20, 400),
        languages: Languages::Mixed,
        focal_share: 0.5,
    },
    EventPlan {
        measure: "7.2",
        body: "general-cultural-services",
        titles: &["Caisa open stage", "Cultural centre open house"],
        per_year: (10, 25),
        participants: (15, 200),
        languages: Languages::Mixed,
        focal_share: 0.4,
    },
    EventPlan {
        measure: "7.3",
        body: "ham",
        titles: &["Sculpture tour", "Art workshop at Annantalo"],
        per_year: (4, 10),
        participants: (5, 25),
        languages: Languages::Foreign,
        focal_share: 0.1,
    },
    EventPlan {
        measure: "7.4",
        body: "city-museum",
        titles: &[
            "Museum workshop for language learners",
            "Helsinki history in plain Finnish",
        ],
        per_year: (6, 14),
        participants: (6, 30),
        languages: Languages::Domestic,
        focal_share: 0.1,
    },
    EventPlan {
        measure: "7.5",
        body: "libraries",
        titles: &[
            "Mother-tongue story time",
            "Reading circle in your own language",
        ],
        per_year: (20, 45),
        participants: (4, 30),
        languages: Languages::Foreign,
        focal_share: 0.6,
    },
    EventPlan {
        measure: "8.1",
        body: "sports-services",
        titles: &[
            "Try-out sports day",
            "Swimming for beginners",
            "Football for girls",
        ],
        per_year: (10, 25),
        participants: (10, 120),
        languages: Languages::Domestic,
        focal_share: 0.5,
    },
    EventPlan {
        measure: "10.3",
        body: "youth-services",
        titles: &["Youth club evening", "Street work pop-up"],
        per_year: (15, 30),
        participants: (8, 60),
        languages: Languages::Mixed,
        focal_share: 0.6,
    },
    // Development services' work on diversity, equality and communications (set 6) and
    // the sports services' guidance and accessibility (8.2, 8.3).
    EventPlan::development(
        "6.1",
        "culture-development-services",
        &["Diversity mapping workshop"],
        (1, 3),
        (10, 30),
        Languages::Domestic,
    ),
    EventPlan::development(
        "6.2",
        "culture-development-services",
        &["Volunteer coordinators' meeting", "Equality plan workshop"],
        (2, 5),
        (8, 30),
        Languages::Domestic,
    ),
    EventPlan::development(
        "6.3",
        "culture-communications",
        &[
            "Multilingual services stand",
            "Plain-language communications training",
        ],
        (3, 8),
        (20, 120),
        Languages::Mixed,
    ),
    EventPlan::development(
        "8.2",
        "sports-motivational-facility-services",
        &["Exercise guidance session", "Sports services guidance day"],
        (6, 14),
        (5, 30),
        Languages::Mixed,
    ),
    EventPlan::development(
        "8.3",
        "sports-motivational-facility-services",
        &["Customer service training for sports facilities"],
        (2, 6),
        (8, 25),
        Languages::Domestic,
    ),
];

/// Who takes part in which measure's activities: ages, chance, the activity and the
/// outcome (with its chance) that may follow.
struct Offer {
    measure: &'static str,
    ages: (i32, i32),
    chance: f64,
    foreign_only: bool,
    activity: Activity,
    outcome: Option<(CultureOutcomeKind, f64)>,
}

const OFFERS: &[Offer] = &[
    Offer {
        measure: "7.1",
        ages: (7, 85),
        chance: 0.20,
        foreign_only: false,
        activity: Activity::Event,
        outcome: Some((CultureOutcomeKind::Volunteering, 0.05)),
    },
    Offer {
        measure: "7.3",
        ages: (16, 64),
        chance: 0.06,
        foreign_only: true,
        activity: Activity::ArtWorkshop,
        outcome: None,
    },
    Offer {
        measure: "7.4",
        ages: (18, 64),
        chance: 0.05,
        foreign_only: true,
        activity: Activity::MuseumWorkshop,
        outcome: None,
    },
    Offer {
        measure: "7.5",
        ages: (3, 12),
        chance: 0.25,
        foreign_only: true,
        activity: Activity::ReadingCircle,
        outcome: Some((CultureOutcomeKind::LibraryCard, 0.5)),
    },
    Offer {
        measure: "8.1",
        ages: (7, 29),
        chance: 0.15,
        foreign_only: false,
        activity: Activity::SportsGroup,
        outcome: Some((CultureOutcomeKind::HobbyStarted, 0.5)),
    },
    Offer {
        measure: "10.3",
        ages: (13, 24),
        chance: 0.15,
        foreign_only: false,
        activity: Activity::YouthWork,
        outcome: Some((CultureOutcomeKind::GroupContinued, 0.4)),
    },
];

fn participations(
    people: &[Person],
    events: &[(i64, &Event)],
    rng: &mut Rng,
) -> (
    Vec<participation::ActiveModel>,
    Vec<culture_outcome::ActiveModel>,
) {
    let mut by_measure_and_year: HashMap<(&str, i32), Vec<(i64, &Event)>> = HashMap::new();
    for (id, event) in events {
        by_measure_and_year
            .entry((event.measure, event.held_on.year()))
            .or_default()
            .push((*id, event));
    }
    let mut taking_part = Vec::new();
    let mut outcomes = Vec::new();
    for person in people {
        for offer in OFFERS {
            if (offer.foreign_only && !person.foreign_language()) || !rng.chance(offer.chance) {
                continue;
            }
            let Some(year) = year_aged(rng, person, offer.ages.0, offer.ages.1) else {
                continue;
            };
            let Some(candidates) = by_measure_and_year.get(&(offer.measure, year)) else {
                continue;
            };
            let (event_id, event) = *rng.pick(candidates);
            taking_part.push(participation::ActiveModel {
                id: NotSet,
                client_id: Set(person.id.clone()),
                measure_id: Set(offer.measure.to_owned()),
                body_id: Set(event.body.to_owned()),
                event_id: Set(Some(event_id)),
                activity: Set(offer.activity),
                participated_on: Set(event.held_on),
            });
            if let Some((kind, chance)) = offer.outcome
                && rng.chance(chance)
                && let Some(on) = rng.days_after(event.held_on, 14, 200)
            {
                outcomes.push(culture_outcome::ActiveModel {
                    id: NotSet,
                    client_id: Set(person.id.clone()),
                    measure_id: Set(offer.measure.to_owned()),
                    body_id: Set(event.body.to_owned()),
                    kind: Set(kind),
                    occurred_on: Set(on),
                });
            }
        }
    }
    (taking_part, outcomes)
}

pub async fn seed(db: &DatabaseConnection, people: &[Person], seed: u64) -> Result<u64, DbErr> {
    let mut rng = Rng::new(seed, "culture");
    let events = events::generate(&mut rng, EVENT_PLANS);
    let txn = super::unrestricted(db).await?;
    let first_new = cultural_event::Entity::find()
        .select_only()
        .column_as(cultural_event::Column::Id.max(), "max")
        .into_tuple::<Option<i64>>()
        .one(&txn)
        .await?
        .flatten()
        .unwrap_or(0);
    let mut written =
        insert_rows(&txn, event_rows!(cultural_event, events.iter().cloned())).await?;
    // Participations point at events by id; the ids were assigned in insertion order.
    let ids: Vec<i64> = cultural_event::Entity::find()
        .select_only()
        .column(cultural_event::Column::Id)
        .filter(cultural_event::Column::Id.gt(first_new))
        .order_by_asc(cultural_event::Column::Id)
        .into_tuple()
        .all(&txn)
        .await?;
    let numbered: Vec<(i64, &Event)> = ids.into_iter().zip(events.iter()).collect();
    // A slice of the population at a time, drawing from the one `rng` in the same order.
    for slice in people.chunks(super::PEOPLE_PER_SLICE) {
        let (taking_part, outcomes) = participations(slice, &numbered, &mut rng);
        written += insert_rows(&txn, taking_part).await? + insert_rows(&txn, outcomes).await?;
    }
    txn.commit().await?;
    Ok(written)
}
