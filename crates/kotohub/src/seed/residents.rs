//! The demo's population figures: residents by year, major district, mother-tongue group
//! and age group, shaped like the statistics office's tables for Helsinki — about
//! 650,000 residents, the foreign-language share growing from about 15 % by some 0.7
//! points a year and highest in the east — so that the indicators that divide by the
//! population or describe it (P1) show plausible values. A city imports its real
//! figures as the `population` kind (`crate::import::population`).

use kotohub_programme::entity::client_fact::{AgeGroup, MotherTongueGroup};
use kotohub_programme::entity::population_figure;
use kotohub_subgraph::vocab::District;
use sea_orm::ActiveValue::Set;
use sea_orm::{ActiveEnum, ConnectionTrait, DbErr, Iterable};

use super::events::YEARS;
use super::insert_rows;

const SOURCE: &str = "synthetic demo figures shaped like Helsinki's population by mother tongue";

/// A major district's residents in the first year, and its foreign-language share then.
fn district_base(district: District) -> (f64, f64) {
    match district {
        District::Etelainen => (120_000.0, 0.10),
        District::Lantinen => (118_000.0, 0.13),
        District::Keskinen => (92_000.0, 0.12),
        District::Pohjoinen => (41_000.0, 0.10),
        District::Koillinen => (101_000.0, 0.19),
        District::Kaakkoinen => (56_000.0, 0.17),
        District::Itainen => (100_000.0, 0.26),
        District::Ostersundom => (2_600.0, 0.08),
    }
}

/// How the foreign-language residents divide among the language groups.
fn language_share(group: MotherTongueGroup) -> f64 {
    match group {
        MotherTongueGroup::FinnishOrSwedish => 0.0,
        MotherTongueGroup::Russian => 0.19,
        MotherTongueGroup::Estonian => 0.12,
        MotherTongueGroup::Somali => 0.09,
        MotherTongueGroup::Arabic => 0.09,
        MotherTongueGroup::English => 0.06,
        MotherTongueGroup::Other => 0.45,
    }
}

/// How residents divide by age: the foreign-language population is younger.
fn age_share(group: AgeGroup, foreign_language: bool) -> f64 {
    match (group, foreign_language) {
        (AgeGroup::Age0To15, false) => 0.15,
        (AgeGroup::Age16To29, false) => 0.21,
        (AgeGroup::Age30To44, false) => 0.22,
        (AgeGroup::Age45To64, false) => 0.24,
        (AgeGroup::Age65AndOver, false) => 0.18,
        (AgeGroup::Age0To15, true) => 0.20,
        (AgeGroup::Age16To29, true) => 0.24,
        (AgeGroup::Age30To44, true) => 0.32,
        (AgeGroup::Age45To64, true) => 0.19,
        (AgeGroup::Age65AndOver, true) => 0.05,
    }
}

/// The figures of every year of the demo, rounded to whole residents.
pub fn figures() -> Vec<population_figure::Model> {
    let mut rows = Vec::new();
    for year in YEARS.0..=YEARS.1 {
        let since = f64::from(year - YEARS.0);
        for district in District::iter() {
            let (base, share) = district_base(district);
            let residents = base * (1.0 + 0.008 * since);
            let foreign = (share + 0.007 * since).min(0.9);
            for group in MotherTongueGroup::iter() {
                let of_group = match group {
                    MotherTongueGroup::FinnishOrSwedish => residents * (1.0 - foreign),
                    _ => residents * foreign * language_share(group),
                };
                let foreign_language = group != MotherTongueGroup::FinnishOrSwedish;
                for age in AgeGroup::iter() {
                    rows.push(population_figure::Model {
                        year,
                        district: district.to_value(),
                        mother_tongue_group: group.to_value(),
                        age_group: age.to_value(),
                        residents: (of_group * age_share(age, foreign_language)).round() as i32,
                        source: SOURCE.to_owned(),
                        run_id: None,
                    });
                }
            }
        }
    }
    rows
}

/// Writes the figures; returns how many rows.
pub async fn seed(db: &impl ConnectionTrait) -> Result<u64, DbErr> {
    let rows: Vec<population_figure::ActiveModel> = figures()
        .into_iter()
        .map(|row| population_figure::ActiveModel {
            year: Set(row.year),
            district: Set(row.district),
            mother_tongue_group: Set(row.mother_tongue_group),
            age_group: Set(row.age_group),
            residents: Set(row.residents),
            source: Set(row.source),
            run_id: Set(None),
        })
        .collect();
    insert_rows(db, rows).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_city_is_about_the_size_of_helsinki_and_more_foreign_language_over_time() {
        let rows = figures();
        let total = |year: i32, foreign: Option<bool>| -> i64 {
            rows.iter()
                .filter(|r| r.year == year)
                .filter(|r| {
                    foreign.is_none_or(|f| (r.mother_tongue_group != "finnish_or_swedish") == f)
                })
                .map(|r| i64::from(r.residents))
                .sum()
        };
        let first = total(YEARS.0, None);
        assert!((600_000..700_000).contains(&first), "{first}");
        let share = |year| total(year, Some(true)) as f64 / total(year, None) as f64;
        assert!((0.13..0.19).contains(&share(YEARS.0)), "{}", share(YEARS.0));
        assert!(share(YEARS.1) > share(YEARS.0) + 0.03);
        // Every age group sums to one within each language.
        for foreign in [false, true] {
            let sum: f64 = AgeGroup::iter().map(|a| age_share(a, foreign)).sum();
            assert!((sum - 1.0).abs() < 1e-9);
        }
        let sum: f64 = MotherTongueGroup::iter().map(language_share).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }
}
