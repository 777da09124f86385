//! The partner organisations' demo records: community-sponsored integration (seed 004),
//! January 2023 to the end of 2025 with EU funding. Sponsor groups in about fifteen
//! municipalities receiving quota refugees — Helsinki's by major district — with a little
//! over a hundred sponsors recruited and trained by the Red Cross and, for parish-based
//! groups, the Church Council; the quota refugee households placed in Helsinki since 2022
//! that a group supports; "How are you" discussions with their adults; and the trainings
//! and activity evenings Helsinki's groups held for sponsors and refugees.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use kotohub_partners::entity::{
    partner_event, sponsor, sponsor_group, sponsorship, wellbeing_discussion,
};
use kotohub_programme::entity::client::EntryRoute;
use kotohub_subgraph::vocab::District;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QueryOrder};

use super::families::Household;
use super::insert_rows;
use super::population::Person;
use super::rng::Rng;

/// The measure whose work with organisations the project carries on (set 5: "Helsinki
/// will actively form partnerships with NGOs").
const MEASURE: &str = "5.1";
const RED_CROSS: &str = "finnish-red-cross";
const CHURCH_COUNCIL: &str = "church-council";

/// The project's period.
fn project_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).expect("a valid date")
}
fn project_end() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 12, 31).expect("a valid date")
}

/// The earliest placement of a family a group takes on.
fn sponsored_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 1, 1).expect("a valid date")
}

/// Municipalities outside Helsinki with a sponsor group, and the body that formed it.
const OTHER_MUNICIPALITIES: [(&str, &str); 7] = [
    ("Oulu", RED_CROSS),
    ("Vaasa", RED_CROSS),
    ("Turku", RED_CROSS),
    ("Salo", CHURCH_COUNCIL),
    ("Kotka", RED_CROSS),
    ("Lappeenranta", RED_CROSS),
    ("Kouvola", CHURCH_COUNCIL),
];

/// Helsinki's groups, one per major district where quota refugees are placed; the
/// south-eastern one is a parish's.
fn helsinki_body(district: District) -> &'static str {
    if district == District::Kaakkoinen {
        CHURCH_COUNCIL
    } else {
        RED_CROSS
    }
}

/// Helsinki's major districts with a group.
const HELSINKI_DISTRICTS: [District; 7] = [
    District::Etelainen,
    District::Lantinen,
    District::Keskinen,
    District::Pohjoinen,
    District::Koillinen,
    District::Kaakkoinen,
    District::Itainen,
];

pub async fn seed(
    db: &DatabaseConnection,
    people: &[Person],
    households: &[Household],
    seed: u64,
) -> Result<u64, DbErr> {
    let mut rng = Rng::new(seed, "partners");
    let txn = super::unrestricted(db).await?;
    let mut written = 0;

    let mut groups = Vec::new();
    for district in HELSINKI_DISTRICTS {
        groups.push((
            format!("Helsinki {} sponsor group", district_name(district)),
            "Helsinki",
            helsinki_body(district),
            Some(district),
        ));
    }
    for (municipality, body) in OTHER_MUNICIPALITIES {
        groups.push((
            format!("{municipality} sponsor group"),
            municipality,
            body,
            None,
        ));
    }
    let group_rows: Vec<sponsor_group::ActiveModel> = groups
        .iter()
        .map(|(name, municipality, body, _)| sponsor_group::ActiveModel {
            id: NotSet,
            measure_id: Set(MEASURE.to_owned()),
            body_id: Set((*body).to_owned()),
            name: Set(name.clone()),
            municipality: Set((*municipality).to_owned()),
            formed_on: Set(rng
                .days_after(project_start(), 30, 240)
                .expect("within the data's years")),
            // The project ended with 2025; the groups carry on as local volunteers.
            ended_on: Set(None),
        })
        .collect();
    written += insert_rows(&txn, group_rows).await?;
    let stored = sponsor_group::Entity::find()
        .order_by_asc(sponsor_group::Column::Id)
        .all(&txn)
        .await?;
    let mut group_of_district: HashMap<District, &sponsor_group::Model> = HashMap::new();
    let mut sponsors = Vec::new();
    for (group, (_, _, _, district)) in stored.iter().zip(&groups) {
        if let Some(district) = district {
            group_of_district.insert(*district, group);
        }
        for _ in 0..rng.between(5, 9) {
            let joined_on = rng
                .days_after(group.formed_on, 0, 300)
                .expect("within the data's years");
            sponsors.push(sponsor::ActiveModel {
                id: NotSet,
                measure_id: Set(MEASURE.to_owned()),
                body_id: Set(group.body_id.clone()),
                group_id: Set(group.id),
                joined_on: Set(joined_on),
                trained_on: Set(rng
                    .chance(0.9)
                    .then(|| rng.days_after(joined_on, 0, 60))
                    .flatten()),
                left_on: Set(rng
                    .chance(0.15)
                    .then(|| rng.days_after(joined_on, 120, 700))
                    .flatten()),
            });
        }
    }
    written += insert_rows(&txn, sponsors).await?;

    let mut sponsorships = Vec::new();
    let mut discussions = Vec::new();
    for household in households {
        let (first, _) = household.members[0];
        let head = &people[first];
        let Some(resettled) = head.resettled else {
            continue;
        };
        let Some(group) = group_of_district.get(&head.district) else {
            continue;
        };
        // Quota refugee families placed from a year before the project began; a group
        // takes on a family placed before it was formed once it is.
        if head.entry_route != Some(EntryRoute::QuotaRefugee)
            || resettled.placed_on < sponsored_from()
            || !rng.chance(0.8)
        {
            continue;
        }
        let Some(started_on) = rng.days_after(resettled.placed_on.max(group.formed_on), 0, 30)
        else {
            continue;
        };
        let ended_on = rng
            .days_after(started_on, 180, 540)
            .map(|end| end.min(project_end()));
        for &(member, _) in &household.members {
            let person = &people[member];
            if person.resettled.is_none() {
                continue;
            }
            sponsorships.push(sponsorship::ActiveModel {
                id: NotSet,
                client_id: Set(person.id.clone()),
                measure_id: Set(MEASURE.to_owned()),
                body_id: Set(group.body_id.clone()),
                group_id: Set(group.id),
                started_on: Set(started_on),
                ended_on: Set(ended_on),
            });
            if person.age_in(started_on.year()) < 16 {
                continue;
            }
            // One to three discussions, a few months apart, while the support lasts.
            let mut on = started_on;
            for _ in 0..rng.between(1, 3) {
                let Some(next) = rng.days_after(on, 45, 120) else {
                    break;
                };
                if ended_on.is_some_and(|end| next > end) {
                    break;
                }
                on = next;
                discussions.push(wellbeing_discussion::ActiveModel {
                    id: NotSet,
                    client_id: Set(person.id.clone()),
                    measure_id: Set(MEASURE.to_owned()),
                    body_id: Set(group.body_id.clone()),
                    held_on: Set(on),
                    language: Set(if rng.chance(0.6) {
                        person.mother_tongue.to_owned()
                    } else {
                        "fi".to_owned()
                    }),
                    feels_welcome: Set(*rng.weighted(&[
                        (Some(true), 65.0),
                        (Some(false), 15.0),
                        (None, 20.0),
                    ])),
                    takes_part_in_activities: Set(*rng.weighted(&[
                        (Some(true), 55.0),
                        (Some(false), 25.0),
                        (None, 20.0),
                    ])),
                });
            }
        }
    }
    written += insert_rows(&txn, sponsorships).await?;
    written += insert_rows(&txn, discussions).await?;

    let events = partner_events(&mut rng, &stored, &groups);
    written += insert_rows(&txn, events).await?;
    txn.commit().await?;
    Ok(written)
}

/// Trainings for new sponsors and for the refugees, and activity evenings, held by
/// Helsinki's groups in their districts.
fn partner_events(
    rng: &mut Rng,
    stored: &[sponsor_group::Model],
    groups: &[(String, &str, &str, Option<District>)],
) -> Vec<partner_event::ActiveModel> {
    let mut events = Vec::new();
    for (group, (_, _, _, district)) in stored.iter().zip(groups) {
        let Some(district) = district else {
            continue;
        };
        let plans: [(&str, i32, (i32, i32), &str); 3] = [
            ("Community sponsor training", 2, (6, 15), "fi"),
            (
                "Life in Helsinki: training for newcomers",
                2,
                (5, 20),
                "fi,ar,so",
            ),
            (
                "Activity evening with the sponsor group",
                6,
                (8, 30),
                "fi,ar",
            ),
        ];
        for (title, count, (fewest, most), languages) in plans {
            for _ in 0..count {
                let Some(held_on) = rng.days_after(group.formed_on, 0, 900) else {
                    continue;
                };
                events.push(partner_event::ActiveModel {
                    id: NotSet,
                    measure_id: Set(MEASURE.to_owned()),
                    body_id: Set(group.body_id.clone()),
                    title: Set(title.to_owned()),
                    held_on: Set(held_on),
                    district: Set(*district),
                    languages: Set(languages.to_owned()),
                    participant_count: Set(rng.between(fewest, most)),
                });
            }
        }
    }
    events
}

fn district_name(district: District) -> &'static str {
    match district {
        District::Etelainen => "Southern",
        District::Lantinen => "Western",
        District::Keskinen => "Central",
        District::Pohjoinen => "Northern",
        District::Koillinen => "North-Eastern",
        District::Kaakkoinen => "South-Eastern",
        District::Itainen => "Eastern",
        District::Ostersundom => "Östersundom",
    }
}
