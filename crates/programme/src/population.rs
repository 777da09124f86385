//! The population figures: residents by year, major district, mother-tongue group and
//! age group, imported as the city's statistics office publishes them (kind
//! `population`). They serve as denominators and as the ground of the programme-level
//! indicators that describe the population itself (P1, the segregation index); no field
//! hands the figures out as they are.
//!
//! In the request flow this is read by [`crate::indicator_values`] when an indicator
//! needs it, and by [`crate::statistics::clients`] for a breakdown's clients per 1,000
//! residents ([`Residents`]).

use std::collections::BTreeMap;

use async_graphql::{Context, Result};
use kotohub_subgraph::access::row_access;
use kotohub_subgraph::internal;
use kotohub_subgraph::vocab::District;
use sea_orm::{ActiveEnum, ColumnTrait, EntityTrait, QueryFilter};

use crate::entity::client_fact::{AgeGroup, MotherTongueGroup};
use crate::entity::population_figure;
use crate::statistics::ClientDimension;

/// The residents a breakdown's cells are divided by: the population figures of its
/// years, summed over what a cell does not name.
pub struct Residents {
    rows: Vec<population_figure::Model>,
}

impl Residents {
    /// The figures for a breakdown by `by`, of `year` if one is fixed. Refused when a
    /// dimension is one the figures do not have (a measure's residents are not a thing)
    /// or when neither a year dimension nor a year filter says which year's residents.
    pub async fn read(
        ctx: &Context<'_>,
        by: &[ClientDimension],
        year: Option<i32>,
    ) -> Result<Self> {
        use ClientDimension as D;
        if let Some(other) = by.iter().find(|d| {
            !matches!(
                d,
                D::Year | D::Quarter | D::District | D::MotherTongueGroup | D::AgeGroup
            )
        }) {
            return Err(kotohub_subgraph::bad_input(format!(
                "perResidents divides by the population figures, which have no {other:?}: \
                 break down by YEAR, QUARTER, DISTRICT, MOTHER_TONGUE_GROUP or AGE_GROUP"
            )));
        }
        if year.is_none() && !by.iter().any(|d| matches!(d, D::Year | D::Quarter)) {
            return Err(kotohub_subgraph::bad_input(
                "perResidents needs the year whose residents to divide by: a year filter, or YEAR or QUARTER in by",
            ));
        }
        let mut select = population_figure::Entity::find();
        if let Some(year) = year {
            select = select.filter(population_figure::Column::Year.eq(year));
        }
        let rows = select.all(row_access(ctx)?.db()).await.map_err(internal)?;
        Ok(Self { rows })
    }

    /// The residents of a cell: of its year, and of the district, group and age group
    /// it names; none when the figures have no row for it.
    pub fn of(
        &self,
        year: Option<i32>,
        district: Option<District>,
        tongue: Option<MotherTongueGroup>,
        age: Option<AgeGroup>,
    ) -> Option<i64> {
        let year = year?;
        let district = district.map(|d| d.to_value());
        let tongue = tongue.map(|t| t.to_value());
        let age = age.map(|a| a.to_value());
        let matching: Vec<i64> = self
            .rows
            .iter()
            .filter(|row| row.year == year)
            .filter(|row| district.as_ref().is_none_or(|d| *d == row.district))
            .filter(|row| {
                tongue
                    .as_ref()
                    .is_none_or(|t| *t == row.mother_tongue_group)
            })
            .filter(|row| age.as_ref().is_none_or(|a| *a == row.age_group))
            .map(|row| i64::from(row.residents))
            .collect();
        (!matching.is_empty()).then(|| matching.iter().sum())
    }
}

/// The index of dissimilarity between residents whose mother tongue is Finnish or
/// Swedish and the rest, across the major districts, per year with figures: half the sum
/// over districts of the difference between each group's share of its city-wide total
/// living there, in percent. 0 is an even spread; 100, no district shared.
pub async fn dissimilarity(ctx: &Context<'_>) -> Result<Vec<(i32, f64)>> {
    let rows = population_figure::Entity::find()
        .all(row_access(ctx)?.db())
        .await
        .map_err(internal)?;
    let domestic = MotherTongueGroup::FinnishOrSwedish.to_value();
    // Per year, per district: (Finnish or Swedish, other).
    let mut years: BTreeMap<i32, BTreeMap<String, (f64, f64)>> = BTreeMap::new();
    for row in rows {
        let cell = years
            .entry(row.year)
            .or_default()
            .entry(row.district)
            .or_default();
        if row.mother_tongue_group == domestic {
            cell.0 += f64::from(row.residents);
        } else {
            cell.1 += f64::from(row.residents);
        }
    }
    Ok(years
        .into_iter()
        .filter_map(|(year, districts)| Some((year, index_of(districts.values())?)))
        .collect())
}

/// The index of dissimilarity of `(group a, group b)` counts per area; none when either
/// group has nobody.
fn index_of<'a>(areas: impl Iterator<Item = &'a (f64, f64)> + Clone) -> Option<f64> {
    let (a_total, b_total) = areas
        .clone()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y));
    if a_total <= 0.0 || b_total <= 0.0 {
        return None;
    }
    let sum: f64 = areas.map(|(a, b)| (a / a_total - b / b_total).abs()).sum();
    Some(50.0 * sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_zero_for_an_even_spread_and_a_hundred_for_none_shared() {
        let even = [(100.0, 10.0), (300.0, 30.0)];
        assert_eq!(index_of(even.iter()), Some(0.0));
        let apart = [(100.0, 0.0), (0.0, 50.0)];
        assert_eq!(index_of(apart.iter()), Some(100.0));
        assert_eq!(index_of([(5.0, 0.0)].iter()), None);
    }

    #[test]
    fn the_index_matches_one_worked_out_by_hand() {
        // Shares of the first group 0.2, 0.3, 0.5; of the second 0.5, 0.25, 0.25:
        // differences 0.3, 0.05, 0.25, half their sum 0.3, so 30.
        let areas = [(200.0, 40.0), (300.0, 20.0), (500.0, 20.0)];
        let index = index_of(areas.iter()).unwrap();
        assert!((index - 30.0).abs() < 1e-9, "{index}");
    }
}
