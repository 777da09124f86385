//! Households and resettlement: what ties the synthetic people to each other, and the
//! one path that carries a refugee family across divisions. Drawn after the population,
//! from streams of their own, before any division writes its records, so that every
//! division's seed reads the same families and the same resettlements.
//!
//! Households group people of one language and district: parents with children whose
//! ages fit, couples, people living alone, and minors who arrived without a guardian.
//! A member who arrived later than the household's first adult came by family
//! reunification, and the household records when (seed 002). Quota refugees and
//! municipal placements who arrived in the programme years are resettled: the
//! immigration unit opens an integration case for the household on its placement and
//! closes it with the move to basic services (the Koto model, seed 002), and refers
//! adults to the Skill Center (seed 001's measure 1.1).

use std::collections::{BTreeMap, HashMap, VecDeque};

use chrono::NaiveDate;
use kotohub_programme::entity::client::{Background, EntryRoute};
use kotohub_programme::entity::household::HouseholdKind;
use kotohub_programme::entity::household_member::HouseholdRole;
use kotohub_programme::entity::{household, household_member, referral};
use kotohub_subgraph::vocab::District;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{DatabaseTransaction, DbErr};

use super::events;
use super::population::Person;
use super::rng::Rng;
use super::{insert_rows, rng::last_day};

/// A household and its members (indexes into the population), the first an adult.
#[derive(Debug, Clone)]
pub struct Household {
    pub id: String,
    pub kind: HouseholdKind,
    pub reunified_on: Option<NaiveDate>,
    pub members: Vec<(usize, HouseholdRole)>,
}

/// A refugee household's resettlement in Helsinki, as one member lives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resettlement {
    /// The household's placement in the municipality (arrival, for quota refugees).
    pub placed_on: NaiveDate,
    /// When the immigration unit's integration case closed; none while it is open.
    pub case_closed_on: Option<NaiveDate>,
    /// Whether the case closed with the move to the City's basic services.
    pub moved_to_basic_services: bool,
    /// The member's referral to the Skill Center, for adults of working age.
    pub skill_center: Option<SkillCenterReferral>,
}

/// A referral from the immigration unit to the Skill Center's skill assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkillCenterReferral {
    pub referred_on: NaiveDate,
    /// The day the Skill Center assessed the member's skills; none if it never did.
    pub assessed_on: Option<NaiveDate>,
}

/// The body of the immigration unit's integration cases (its division's, as the
/// programme records them under measure 9.5).
pub const INTEGRATION_CASE_BODY: &str = "social-services-health-care";
const SKILL_CENTER: &str = "helsinki-skill-center";
const TE_SERVICES: &str = "te-services";

/// People pooled by language and district, by birth year, each pool in id order.
type Pools = HashMap<(&'static str, District), BTreeMap<i32, VecDeque<usize>>>;

fn pool_key(person: &Person) -> (&'static str, District) {
    (person.mother_tongue, person.district)
}

/// How far into a pool a search looks for someone who fits: the pools are large at city
/// scale, and a household is as plausible with the eighth candidate as with the first.
const LOOK_AHEAD: usize = 8;

/// Takes from `pools` an unplaced person whose birth year is in `years` and who `fits`,
/// the earliest born first.
fn take(
    pools: &mut Pools,
    key: (&'static str, District),
    years: std::ops::RangeInclusive<i32>,
    placed: &[bool],
    fits: impl Fn(usize) -> bool,
) -> Option<usize> {
    let pool = pools.get_mut(&key)?;
    for (_, bucket) in pool.range_mut(years) {
        while bucket.front().is_some_and(|&i| placed[i]) {
            bucket.pop_front();
        }
        let found = bucket
            .iter()
            .take(LOOK_AHEAD)
            .position(|&i| !placed[i] && fits(i));
        if let Some(at) = found {
            return bucket.remove(at);
        }
    }
    None
}

/// Whether `child` can be the child of `parent`: the same origin, and an immigrant child
/// arrived no earlier than the parent, a second-generation one was born after it.
fn child_fits(parent: &Person, child: &Person) -> bool {
    match (parent.background, child.background) {
        (Background::FinnishBackground, Background::FinnishBackground) => true,
        (Background::Immigrant, Background::Immigrant) => child.arrival_year >= parent.arrival_year,
        (Background::Immigrant, Background::SecondGeneration) => parent
            .arrival_year
            .is_some_and(|arrived| child.birth_year >= arrived),
        _ => false,
    }
}

/// Whether two adults can be partners: both of Finnish background, or neither.
fn partner_fits(a: &Person, b: &Person) -> bool {
    (a.background == Background::FinnishBackground)
        == (b.background == Background::FinnishBackground)
}

/// Forms the households of `people`, harmonises members' entry routes with the
/// household's, and draws the resettlements of refugee households.
pub fn form(seed: u64, people: &mut [Person]) -> Vec<Household> {
    use HouseholdKind::*;
    let mut rng = Rng::new(seed, "households");
    let mut children: Pools = HashMap::new();
    let mut adults: Pools = HashMap::new();
    for (i, person) in people.iter().enumerate() {
        let pools = match person.age() {
            0..18 => &mut children,
            18..65 => &mut adults,
            _ => continue,
        };
        pools
            .entry(pool_key(person))
            .or_default()
            .entry(person.birth_year)
            .or_default()
            .push_back(i);
    }
    let mut placed = vec![false; people.len()];
    let mut households = Vec::new();
    // Minors who arrived without a guardian, at 13–17, as asylum seekers or in the quota:
    // picked first, so that no family takes them in as its children.
    for (i, person) in people.iter().enumerate() {
        let arrived_at = person
            .arrival_year
            .map(|arrived| arrived - person.birth_year);
        if !placed[i]
            && person.age() < 18
            && arrived_at.is_some_and(|age| (13..18).contains(&age))
            && matches!(
                person.entry_route,
                Some(EntryRoute::AsylumSeeker | EntryRoute::QuotaRefugee)
            )
            && rng.chance(0.4)
        {
            placed[i] = true;
            households.push(Household {
                id: household_id(households.len()),
                kind: UnaccompaniedMinor,
                reunified_on: None,
                members: vec![(i, HouseholdRole::Child)],
            });
        }
    }
    for first in 0..people.len() {
        let anchor = &people[first];
        if placed[first] || !(20..65).contains(&anchor.age()) {
            continue;
        }
        placed[first] = true;
        let key = pool_key(anchor);
        let born = anchor.birth_year;
        let mut kind = *rng.weighted(&[
            (TwoParentFamily, 30.0),
            (SingleParentFamily, 12.0),
            (Couple, 18.0),
            (SingleAdult, 40.0),
        ]);
        let mut members = vec![(first, HouseholdRole::Adult)];
        if matches!(kind, TwoParentFamily | SingleParentFamily) {
            let wanted = rng.between(1, 4);
            for _ in 0..wanted {
                let child = take(&mut children, key, born + 18..=born + 45, &placed, |i| {
                    child_fits(anchor, &people[i])
                });
                let Some(child) = child else { break };
                placed[child] = true;
                members.push((child, HouseholdRole::Child));
            }
            if members.len() == 1 {
                kind = if kind == TwoParentFamily {
                    Couple
                } else {
                    SingleAdult
                };
            } else {
                members[0].1 = HouseholdRole::Parent;
            }
        }
        if matches!(kind, TwoParentFamily | Couple) {
            let partner = take(&mut adults, key, born - 8..=born + 8, &placed, |i| {
                i != first && partner_fits(anchor, &people[i])
            });
            match partner {
                Some(partner) => {
                    placed[partner] = true;
                    let role = if kind == TwoParentFamily {
                        HouseholdRole::Parent
                    } else {
                        HouseholdRole::Adult
                    };
                    members.insert(1, (partner, role));
                }
                None => {
                    kind = if kind == TwoParentFamily {
                        SingleParentFamily
                    } else {
                        SingleAdult
                    }
                }
            }
        }
        households.push(Household {
            id: household_id(households.len()),
            kind,
            reunified_on: None,
            members,
        });
    }
    let mut resettle = Rng::new(seed, "resettlements");
    for household in &mut households {
        reunite(household, people, &mut rng);
        resettle_household(household, people, &mut resettle);
    }
    households
}

fn household_id(n: usize) -> String {
    format!("h{:08}", n + 1)
}

/// Members who arrived with the household's first adult came the same way; those who
/// arrived later came by family reunification, on a day of their arrival year, which the
/// household records (the latest, when several came).
fn reunite(household: &mut Household, people: &mut [Person], rng: &mut Rng) {
    let (first, _) = household.members[0];
    let (route, arrived) = (people[first].entry_route, people[first].arrival_year);
    let Some(arrived) = arrived else {
        return;
    };
    for &(member, _) in &household.members[1..] {
        let person = &mut people[member];
        let Some(came) = person.arrival_year else {
            continue;
        };
        if came == arrived {
            person.entry_route = route;
        } else if came > arrived {
            person.entry_route = Some(EntryRoute::FamilyReunification);
            let on = rng.date_in(came, came);
            household.reunified_on = household.reunified_on.max(Some(on));
        }
    }
}

/// Draws the resettlement of a household whose first adult is a quota refugee or a
/// municipal placement arrived in the programme years; the members who arrived with
/// them share it.
fn resettle_household(household: &Household, people: &mut [Person], rng: &mut Rng) {
    let (first, _) = household.members[0];
    let head = &people[first];
    let Some(arrived) = head.arrival_year else {
        return;
    };
    if arrived < events::YEARS.0
        || !matches!(
            head.entry_route,
            Some(EntryRoute::QuotaRefugee | EntryRoute::MunicipalPlacement)
        )
        || !rng.chance(0.85)
    {
        return;
    }
    let placed_on = rng.date_in(arrived, arrived);
    // The immigration units answer for a household primarily for three years.
    let case_closed_on = rng.days_after(placed_on, 365, 1100);
    let moved_to_basic_services = case_closed_on.is_some() && rng.chance(0.8);
    for &(member, _) in &household.members {
        let person = &people[member];
        if person.arrival_year != Some(arrived) {
            continue;
        }
        let age = person.age_in(arrived);
        let skill_center = if (20..65).contains(&age) && rng.chance(0.5) {
            rng.days_after(placed_on, 60, 400)
                .map(|referred_on| SkillCenterReferral {
                    referred_on,
                    assessed_on: rng
                        .chance(0.8)
                        .then(|| rng.days_after(referred_on, 14, 60))
                        .flatten(),
                })
        } else {
            None
        };
        people[member].resettled = Some(Resettlement {
            placed_on,
            case_closed_on,
            moved_to_basic_services,
            skill_center,
        });
    }
}

/// Writes the households and their members to the programme database.
pub async fn write_households(
    txn: &DatabaseTransaction,
    people: &[Person],
    households: &[Household],
) -> Result<u64, DbErr> {
    let mut written = 0;
    for chunk in households.chunks(super::PEOPLE_PER_SLICE) {
        let rows = chunk.iter().map(|h| household::ActiveModel {
            id: Set(h.id.clone()),
            kind: Set(h.kind),
            reunified_on: Set(h.reunified_on),
        });
        written += insert_rows(txn, rows.collect()).await?;
        let members = chunk.iter().flat_map(|h| {
            h.members
                .iter()
                .map(|&(member, role)| household_member::ActiveModel {
                    client_id: Set(people[member].id.clone()),
                    household_id: Set(h.id.clone()),
                    role: Set(role),
                })
        });
        written += insert_rows(txn, members.collect()).await?;
    }
    Ok(written)
}

/// Writes the referrals the resettlements made: the immigration unit's to the Skill
/// Center (measure 1.1), and the Skill Center's on to TE Services for job seeking.
pub async fn write_referrals(
    txn: &DatabaseTransaction,
    people: &[Person],
    seed: u64,
) -> Result<u64, DbErr> {
    use referral::ReferralResult::*;
    let mut rng = Rng::new(seed, "referrals");
    let mut rows = Vec::new();
    let mut written = 0;
    for person in people {
        let Some(referred) = person.resettled.and_then(|r| r.skill_center) else {
            continue;
        };
        let result = match referred.assessed_on {
            Some(_) => Started,
            // Recent referrals may still be answered.
            None if (last_day() - referred.referred_on).num_days() < 60 => Pending,
            None => *rng.weighted(&[(Declined, 40.0), (Lapsed, 45.0), (NotSuited, 15.0)]),
        };
        rows.push(referral_row(
            person,
            "1.1",
            (INTEGRATION_CASE_BODY, SKILL_CENTER),
            referred.referred_on,
            referred.assessed_on,
            result,
        ));
        if let Some(assessed) = referred.assessed_on
            && rng.chance(0.3)
            && let Some(on) = rng.days_after(assessed, 30, 200)
        {
            let started = rng
                .chance(0.85)
                .then(|| rng.days_after(on, 0, 14))
                .flatten();
            let result = if started.is_some() { Started } else { Declined };
            rows.push(referral_row(
                person,
                "1.1",
                (SKILL_CENTER, TE_SERVICES),
                on,
                started,
                result,
            ));
        }
        if rows.len() >= super::PEOPLE_PER_SLICE {
            written += insert_rows(txn, std::mem::take(&mut rows)).await?;
        }
    }
    written += insert_rows(txn, rows).await?;
    Ok(written)
}

fn referral_row(
    person: &Person,
    measure: &str,
    (from, to): (&str, &str),
    referred_on: NaiveDate,
    started_on: Option<NaiveDate>,
    result: referral::ReferralResult,
) -> referral::ActiveModel {
    referral::ActiveModel {
        id: NotSet,
        client_id: Set(person.id.clone()),
        measure_id: Set(measure.to_owned()),
        from_body_id: Set(from.to_owned()),
        to_body_id: Set(to.to_owned()),
        referred_on: Set(referred_on),
        started_on: Set(started_on),
        result: Set(result),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::population;

    fn formed() -> (Vec<Person>, Vec<Household>) {
        let mut people = population::generate(2017, 20_000);
        let households = form(2017, &mut people);
        (people, households)
    }

    #[test]
    fn households_are_plausible_families() {
        let (people, households) = formed();
        let mut seen = std::collections::HashSet::new();
        for household in &households {
            let (first, _) = household.members[0];
            assert!(people[first].age() >= 13, "{household:?}");
            for &(member, role) in &household.members {
                assert!(seen.insert(member), "{member} is in two households");
                let person = &people[member];
                assert_eq!(pool_key(person), pool_key(&people[first]));
                if role == HouseholdRole::Child
                    && household.kind != HouseholdKind::UnaccompaniedMinor
                {
                    let gap = person.birth_year - people[first].birth_year;
                    assert!((18..=45).contains(&gap), "{household:?}");
                    assert!(person.age() < 18);
                }
            }
            let children = household
                .members
                .iter()
                .filter(|(_, role)| *role == HouseholdRole::Child)
                .count();
            match household.kind {
                HouseholdKind::TwoParentFamily => {
                    assert!(children >= 1 && household.members.len() == children + 2)
                }
                HouseholdKind::SingleParentFamily => {
                    assert!(children >= 1 && household.members.len() == children + 1)
                }
                HouseholdKind::Couple => assert_eq!(household.members.len(), 2),
                HouseholdKind::SingleAdult | HouseholdKind::UnaccompaniedMinor => {
                    assert_eq!(household.members.len(), 1)
                }
            }
        }
        let families = households
            .iter()
            .filter(|h| {
                matches!(
                    h.kind,
                    HouseholdKind::TwoParentFamily | HouseholdKind::SingleParentFamily
                )
            })
            .count();
        assert!(
            families > households.len() / 10,
            "{families} of {}",
            households.len()
        );
        assert!(
            households
                .iter()
                .any(|h| h.kind == HouseholdKind::UnaccompaniedMinor)
        );
    }

    #[test]
    fn later_arrivals_came_by_family_reunification() {
        let (people, households) = formed();
        let mut reunified = 0;
        for household in households
            .iter()
            .filter(|h| h.kind != HouseholdKind::UnaccompaniedMinor)
        {
            let (first, _) = household.members[0];
            for &(member, _) in &household.members[1..] {
                let (head, person) = (&people[first], &people[member]);
                match (head.arrival_year, person.arrival_year) {
                    (Some(a), Some(b)) if b > a => {
                        assert_eq!(person.entry_route, Some(EntryRoute::FamilyReunification));
                        assert!(household.reunified_on.is_some());
                        reunified += 1;
                    }
                    (Some(a), Some(b)) if a == b => {
                        assert_eq!(person.entry_route, head.entry_route)
                    }
                    _ => {}
                }
            }
        }
        assert!(reunified > 0);
    }

    #[test]
    fn refugee_households_are_resettled_together() {
        let (people, households) = formed();
        let mut resettled = 0;
        for household in &households {
            let (first, _) = household.members[0];
            let Some(head) = people[first].resettled else {
                continue;
            };
            resettled += 1;
            assert!(matches!(
                people[first].entry_route,
                Some(EntryRoute::QuotaRefugee | EntryRoute::MunicipalPlacement)
            ));
            for &(member, _) in &household.members {
                if let Some(theirs) = people[member].resettled {
                    assert_eq!(theirs.placed_on, head.placed_on);
                    assert_eq!(theirs.case_closed_on, head.case_closed_on);
                    if let Some(referral) = theirs.skill_center {
                        assert!(referral.referred_on > theirs.placed_on);
                        assert!(
                            referral
                                .assessed_on
                                .is_none_or(|on| on > referral.referred_on)
                        );
                    }
                }
            }
        }
        assert!(resettled > 50, "{resettled}");
        // Nobody else is resettled.
        assert!(people.iter().filter(|p| p.resettled.is_some()).all(|p| {
            matches!(
                p.entry_route,
                Some(EntryRoute::QuotaRefugee | EntryRoute::MunicipalPlacement)
            )
        }));
    }
}
