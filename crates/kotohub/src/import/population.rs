//! The `population` kind: residents by year, major district, mother-tongue group and age
//! group, as the city's statistics office publishes them, imported into the programme's
//! `population_figures` to serve as denominators of programme-level indicators
//! (`kotohub_programme::population`). A row is one cell of the published table; a cell
//! imported again takes the new figure, so a corrected release is imported as it is.
//!
//! | column | value |
//! |---|---|
//! | `year` | the year the figures describe (residents at its end), not in the future |
//! | `district` | the major district of Helsinki |
//! | `mother_tongue_group` | `finnish_or_swedish`, `russian`, `estonian`, `somali`, `arabic`, `english` or `other` |
//! | `age_group` | `0-15`, `16-29`, `30-44`, `45-64` or `65-` |
//! | `residents` | a whole number, 0 to 10,000,000 |
//! | `source` | who published the figures, and when (1–500 characters) |

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use kotohub_programme::entity::client_fact::{AgeGroup, MotherTongueGroup};
use kotohub_subgraph::vocab::District;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveEnum, ConnectionTrait, DatabaseConnection, DbErr, Iterable, TransactionTrait, Value,
};

use super::Rejected;
use super::commit::{Counts, Run};
use super::table::Row;

/// The columns of the kind, in the order its example file has them: also the table's
/// columns they are stored in.
pub const COLUMNS: [&str; 6] = [
    "year",
    "district",
    "mother_tongue_group",
    "age_group",
    "residents",
    "source",
];

/// One cell of the published table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub year: i32,
    pub district: String,
    pub mother_tongue_group: String,
    pub age_group: String,
    pub residents: i32,
    pub source: String,
}

/// Checks `row` as of `today`; `Err` holds every fault, by column.
pub fn check(row: &Row, today: NaiveDate) -> Result<Checked, Vec<Rejected>> {
    let line = row.line;
    let mut faults = Vec::new();
    for column in row.fields.keys().map(String::as_str) {
        if !COLUMNS.contains(&column) {
            faults.push(Rejected::at(
                line,
                column,
                format!(
                    "not a column of population; they are {}",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    let year = row
        .required("year", &mut faults)
        .and_then(|text| match text.parse::<i32>() {
            Ok(year) if (1900..=today.year()).contains(&year) => Some(year),
            Ok(_) => {
                faults.push(Rejected::at(line, "year", "not from 1900 to this year"));
                None
            }
            Err(_) => {
                faults.push(Rejected::at(
                    line,
                    "year",
                    format!("{text:?} is not a year"),
                ));
                None
            }
        });
    let mut one_of = |column: &str, allowed: Vec<String>| {
        row.required(column, &mut faults).and_then(|text| {
            if allowed.iter().any(|a| a == text) {
                Some(text.to_owned())
            } else {
                faults.push(Rejected::at(
                    line,
                    column,
                    format!("{text:?} is not one of {}", allowed.join(", ")),
                ));
                None
            }
        })
    };
    let district = one_of("district", District::iter().map(|d| d.to_value()).collect());
    let tongue = one_of(
        "mother_tongue_group",
        MotherTongueGroup::iter().map(|g| g.to_value()).collect(),
    );
    let age = one_of(
        "age_group",
        AgeGroup::iter().map(|g| g.to_value()).collect(),
    );
    let residents =
        row.required("residents", &mut faults)
            .and_then(|text| match text.parse::<i32>() {
                Ok(n) if (0..=10_000_000).contains(&n) => Some(n),
                _ => {
                    faults.push(Rejected::at(
                        line,
                        "residents",
                        format!("{text:?} is not a whole number from 0 to 10,000,000"),
                    ));
                    None
                }
            });
    let source = row.required("source", &mut faults).and_then(|text| {
        if text.chars().count() > 500 {
            faults.push(Rejected::at(line, "source", "longer than 500 characters"));
            None
        } else {
            Some(text.to_owned())
        }
    });
    match (year, district, tongue, age, residents, source) {
        (
            Some(year),
            Some(district),
            Some(mother_tongue_group),
            Some(age_group),
            Some(residents),
            Some(source),
        ) if faults.is_empty() => Ok(Checked {
            year,
            district,
            mother_tongue_group,
            age_group,
            residents,
            source,
        }),
        _ => Err(faults),
    }
}

/// Writes a batch of cells in one transaction: a new cell is inserted, a cell already
/// held takes the figure and source of the file.
pub async fn write(db: &DatabaseConnection, run: &Run, rows: &[Checked]) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    if rows.is_empty() {
        return Ok(counts);
    }
    // The last row of a cell stands, as it would had the rows come one file each.
    let mut cells: BTreeMap<(i32, &str, &str, &str), &Checked> = BTreeMap::new();
    for row in rows {
        let key = (
            row.year,
            row.district.as_str(),
            row.mother_tongue_group.as_str(),
            row.age_group.as_str(),
        );
        cells.insert(key, row);
    }
    let txn = db.begin().await?;
    let mut held: BTreeMap<(i32, String, String, String), (i32, String)> = BTreeMap::new();
    let years: Vec<i32> = cells.keys().map(|k| k.0).collect();
    let select = Query::select()
        .columns(COLUMNS)
        .from("population_figures")
        .and_where(Expr::col("year").is_in(years))
        .to_owned();
    for row in txn.query_all(&select).await? {
        held.insert(
            (
                row.try_get("", "year")?,
                row.try_get("", "district")?,
                row.try_get("", "mother_tongue_group")?,
                row.try_get("", "age_group")?,
            ),
            (row.try_get("", "residents")?, row.try_get("", "source")?),
        );
    }
    let mut upsert = Query::insert()
        .into_table("population_figures")
        .columns(COLUMNS.into_iter().chain(["run_id"]))
        .on_conflict(
            OnConflict::columns(["year", "district", "mother_tongue_group", "age_group"])
                .update_columns(["residents", "source", "run_id"])
                .to_owned(),
        )
        .to_owned();
    let mut any = false;
    for ((year, district, tongue, age), row) in &cells {
        let key = (
            *year,
            (*district).to_owned(),
            (*tongue).to_owned(),
            (*age).to_owned(),
        );
        match held.get(&key) {
            Some((residents, source)) if *residents == row.residents && *source == row.source => {
                counts.unchanged += 1;
                continue;
            }
            Some(_) => counts.updated += 1,
            None => counts.inserted += 1,
        }
        upsert
            .values([
                (*year).into(),
                (*district).into(),
                (*tongue).into(),
                (*age).into(),
                row.residents.into(),
                row.source.clone().into(),
                Value::String(Some(run.id.clone())).into(),
            ])
            .map_err(|e| DbErr::Custom(e.to_string()))?;
        any = true;
    }
    if any {
        txn.execute(&upsert).await?;
    }
    txn.commit().await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::table::{Format, read};

    fn rows(csv: &str) -> Vec<Row> {
        read(csv.as_bytes(), Format::Csv)
            .expect("a readable file")
            .0
    }

    #[test]
    fn a_good_row_is_a_cell_and_every_fault_is_named() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let good = rows(
            "year,district,mother_tongue_group,age_group,residents,source\n\
             2019,itainen,somali,16-29,1520,Helsinki statistics 2020\n",
        );
        let checked = check(&good[0], today).unwrap();
        assert_eq!(
            (checked.year, checked.residents, checked.district.as_str()),
            (2019, 1520, "itainen")
        );
        let bad = rows(
            "year,district,mother_tongue_group,age_group,residents,source,colour\n\
             2030,downtown,klingon,16-18,-4,,blue\n",
        );
        let faults = check(&bad[0], today).unwrap_err();
        let columns: Vec<&str> = faults
            .iter()
            .map(|f| f.column.as_deref().unwrap_or(""))
            .collect();
        for column in std::iter::once("colour").chain(COLUMNS) {
            assert!(columns.contains(&column), "{column}: {columns:?}");
        }
    }
}
