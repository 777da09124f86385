//! The population figures: residents by year, major district, mother-tongue group and
//! age group, imported as the city's statistics office publishes them (kind
//! `population`). They serve as denominators and as the ground of the programme-level
//! indicators that describe the population itself (P1, the segregation index); no field
//! hands the figures out as they are.
//!
//! In the request flow this is read by [`crate::indicator_values`] when an indicator
//! needs it.

use std::collections::BTreeMap;

use async_graphql::{Context, Result};
use kotohub_subgraph::access::row_access;
use kotohub_subgraph::internal;
use sea_orm::EntityTrait;

use crate::entity::client_fact::MotherTongueGroup;
use crate::entity::population_figure;

/// The index of dissimilarity between residents whose mother tongue is Finnish or
/// Swedish and the rest, across the major districts, per year with figures: half the sum
/// over districts of the difference between each group's share of its city-wide total
/// living there, in percent. 0 is an even spread; 100, no district shared.
pub async fn dissimilarity(ctx: &Context<'_>) -> Result<Vec<(i32, f64)>> {
    let rows = population_figure::Entity::find()
        .all(row_access(ctx)?.db())
        .await
        .map_err(internal)?;
    let domestic = sea_orm::ActiveEnum::to_value(&MotherTongueGroup::FinnishOrSwedish);
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
