//! What the divisions report to the programme after their records are written: which
//! bodies serve which clients (the programme's row rule for the client core), and the
//! statistics register that dashboards' aggregates are counted from — one fact per
//! client record and per event, with the client's district, mother-tongue group and age
//! group at the time already resolved. In production each division's feed sends these;
//! here they are read back from the divisions' databases.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use kotohub_programme::catalog::Catalog;
use kotohub_programme::entity::client_fact::{AgeGroup, MotherTongueGroup, RecordedOutcome};
use kotohub_programme::entity::event_fact::EventLanguages;
use kotohub_programme::entity::{client_fact, event_fact};
use kotohub_subgraph::vocab::{District, language_list};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ActiveEnum, ConnectionTrait, DatabaseTransaction, DbErr, QueryResult, Statement};

use super::population::Person;
use super::rng::Rng;
use super::{Databases, insert_rows, unrestricted};

/// When a client record happened, as its table stores it.
#[derive(Clone, Copy)]
enum Happened {
    /// A date column.
    On(&'static str),
    /// A year column only: joint-application results are published in June, so the
    /// second quarter.
    InYear(&'static str),
}

/// How a client-record table reports to the register, as its kind of import says: its
/// date, whether its `kind` column is an outcome, and through the kind the column that
/// tells its records apart and the one its periods end on.
struct Reported {
    kind: &'static crate::import::kinds::Kind,
    happened: Happened,
    outcome: bool,
}

/// How the table `table` reports; none for a table that is no kind of client record.
fn reported(table: &str) -> Option<Reported> {
    use crate::import::kinds::{Kind, Shape, Type};
    let kind = Kind::named(table)?;
    let Shape::Record {
        happened, outcome, ..
    } = kind.shape
    else {
        return None;
    };
    let column = kind.own.iter().find(|c| c.name == happened)?;
    let happened = match column.kind {
        Type::Year => Happened::InYear(column.stored),
        _ => Happened::On(column.stored),
    };
    Some(Reported {
        kind,
        happened,
        outcome: outcome.is_some(),
    })
}

impl Reported {
    /// The columns to read of the table.
    fn columns(&self) -> String {
        let when = match self.happened {
            Happened::On(column) | Happened::InYear(column) => column,
        };
        let mut columns = vec!["id", "client_id", "measure_id", "body_id", when];
        let detail = self.kind.detail().map(|column| column.stored);
        let ends_on = self.kind.ends_on().map(|column| column.stored);
        let outcome = self.outcome.then_some("kind");
        for column in [detail, ends_on, outcome].into_iter().flatten() {
            if !columns.contains(&column) {
                columns.push(column);
            }
        }
        columns.join(", ")
    }

    /// The register's kind of the record in `row`.
    fn record(&self, row: &QueryResult) -> Result<String, DbErr> {
        use crate::import::kinds::Type;
        Ok(match self.kind.detail() {
            Some(column) if matches!(column.kind, Type::Boolean) => {
                let flag: bool = row.try_get("", column.stored)?;
                self.kind.record_name(None, Some(flag))
            }
            Some(column) => {
                let text: String = row.try_get("", column.stored)?;
                self.kind.record_name(Some(&text), None)
            }
            None => self.kind.record_name(None, None),
        })
    }

    /// The month the record's period ended, when it is one that has.
    fn ended(&self, row: &QueryResult) -> Result<Option<i32>, DbErr> {
        let Some(column) = self.kind.ends_on() else {
            return Ok(None);
        };
        let end: Option<NaiveDate> = row.try_get("", column.stored)?;
        Ok(end.map(|end| client_fact::month_count(end.year(), end.month() as i32)))
    }
}

/// Writes the service relations and the statistics register from the divisions'
/// records; returns how many rows it wrote.
pub async fn report(
    dbs: &Databases,
    catalog: &Catalog,
    people: &[Person],
    seed: u64,
) -> Result<u64, DbErr> {
    let division_of: HashMap<&str, &str> = catalog
        .bodies
        .iter()
        .map(|b| (b.id.as_str(), b.division.as_str()))
        .collect();
    let person: HashMap<&str, &Person> = people.iter().map(|p| (p.id.as_str(), p)).collect();
    // The register is written as it is read, a page at a time: at a million clients it
    // has millions of facts, which held at once took more memory than the rest of
    // seeding.
    let programme = unrestricted(&dbs.programme).await?;
    let mut written = 0;
    let mut client_facts = Vec::new();
    let mut event_facts = Vec::new();
    for (division, tables, events) in kotohub_migrations::DIVISION_TABLES {
        let db = dbs
            .get(division)
            .expect("every division in DIVISION_TABLES has a database");
        let txn = unrestricted(db).await?;
        for table in tables {
            let reported = reported(table).ok_or_else(|| {
                DbErr::Custom(format!("the register does not know the table {table}"))
            })?;
            let columns = reported.columns();
            let mut after = 0;
            while let Some(rows) = page(&txn, table, &columns, &mut after).await? {
                for row in rows {
                    let client_id: String = row.try_get("", "client_id")?;
                    let body_id: String = row.try_get("", "body_id")?;
                    let (year, quarter, month) = period(&row, reported.happened)?;
                    let outcome = if reported.outcome {
                        let kind: String = row.try_get("", "kind")?;
                        RecordedOutcome::try_from_value(&kind).ok()
                    } else {
                        None
                    };
                    let (Some(who), Some(division)) = (
                        person.get(client_id.as_str()),
                        division_of.get(body_id.as_str()),
                    ) else {
                        continue;
                    };
                    client_facts.push(client_fact::ActiveModel {
                        id: NotSet,
                        record_key: Set(record_key(seed, &client_id)),
                        client_id: Set(client_id),
                        measure_id: Set(row.try_get("", "measure_id")?),
                        body_id: Set(body_id),
                        division_id: Set((*division).to_owned()),
                        year: Set(year),
                        quarter: Set(quarter),
                        district: Set(who.district),
                        mother_tongue_group: Set(MotherTongueGroup::of(who.mother_tongue)),
                        age_group: Set(AgeGroup::at(who.age_in(year))),
                        gender: Set(who.gender),
                        background: Set(who.background),
                        outcome: Set(outcome),
                        record: Set(reported.record(&row)?),
                        month: Set(month),
                        ended: Set(reported.ended(&row)?),
                    });
                }
                written += insert_rows(&programme, std::mem::take(&mut client_facts)).await?;
            }
        }
        let rows = txn
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!(
                    "SELECT id, measure_id, body_id, held_on, district, languages, \
                     participant_count FROM {events}"
                ),
            ))
            .await?;
        for row in rows {
            let body_id: String = row.try_get("", "body_id")?;
            let held_on: NaiveDate = row.try_get("", "held_on")?;
            let district: String = row.try_get("", "district")?;
            let languages: String = row.try_get("", "languages")?;
            let (Some(division), Ok(district)) = (
                division_of.get(body_id.as_str()),
                District::try_from_value(&district),
            ) else {
                continue;
            };
            let codes = language_list(&languages);
            event_facts.push(event_fact::ActiveModel {
                id: NotSet,
                measure_id: Set(row.try_get("", "measure_id")?),
                body_id: Set(body_id.clone()),
                division_id: Set((*division).to_owned()),
                year: Set(held_on.year()),
                quarter: Set(quarter_of(held_on)),
                district: Set(district),
                languages: Set(EventLanguages::of(codes.iter().map(String::as_str))),
                participants: Set(row.try_get("", "participant_count")?),
                record_key: Set(record_key(
                    seed,
                    &format!("{events}:{}", row.try_get::<i64>("", "id")?),
                )),
            });
        }
        txn.commit().await?;
    }
    written += insert_rows(&programme, event_facts).await?;
    // A body serves the clients it has records of: exactly the pairs the facts hold,
    // which is also what imports keep the scope table to.
    written += programme
        .execute_unprepared(
            "INSERT INTO client_bodies (client_id, body_id) \
             SELECT DISTINCT client_id, body_id FROM client_facts",
        )
        .await?
        .rows_affected();
    programme.commit().await?;
    Ok(written)
}

/// Rows a division table holds after id `after`, a page at a time in id order; none when
/// the table has no more. `after` moves to the page's last id.
async fn page(
    txn: &DatabaseTransaction,
    table: &str,
    columns: &str,
    after: &mut i64,
) -> Result<Option<Vec<QueryResult>>, DbErr> {
    const PAGE: usize = 20_000;
    let rows = txn
        .query_all_raw(Statement::from_string(
            txn.get_database_backend(),
            format!("SELECT {columns} FROM {table} WHERE id > {after} ORDER BY id LIMIT {PAGE}"),
        ))
        .await?;
    match rows.last() {
        None => Ok(None),
        Some(last) => {
            *after = last.try_get("", "id")?;
            Ok(Some(rows))
        }
    }
}

/// A record's key in the register (see `kotohub_programme::disclosure`): random-looking
/// and fixed for the same seed, like the rest of the demo data, and the same on every row
/// of one client. Imports draw theirs at random.
fn record_key(seed: u64, record: &str) -> i64 {
    let drawn = Rng::new(seed, &format!("record key {record}")).next_u64();
    (drawn % kotohub_programme::disclosure::RECORD_KEY_RANGE as u64) as i64
}

/// The year, quarter and month a record happened in.
fn period(row: &QueryResult, happened: Happened) -> Result<(i32, i32, i32), DbErr> {
    Ok(match happened {
        Happened::On(column) => {
            let on: NaiveDate = row.try_get("", column)?;
            (on.year(), quarter_of(on), on.month() as i32)
        }
        Happened::InYear(column) => (row.try_get("", column)?, 2, 6),
    })
}

fn quarter_of(date: NaiveDate) -> i32 {
    (date.month0() / 3 + 1) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_record_table_reports_to_the_register() {
        for (division, tables, _) in kotohub_migrations::DIVISION_TABLES {
            for table in tables {
                assert!(reported(table).is_some(), "{division}.{table} has no entry");
            }
        }
    }

    #[test]
    fn every_outcome_a_division_records_has_a_name_in_the_register() {
        use kotohub_culture::entity::culture_outcome::CultureOutcomeKind;
        use kotohub_employment::entity::employment_outcome::EmploymentOutcomeKind;
        use kotohub_social::entity::social_outcome::SocialOutcomeKind;
        use sea_orm::Iterable;
        let kinds = EmploymentOutcomeKind::iter()
            .map(|k| k.to_value())
            .chain(SocialOutcomeKind::iter().map(|k| k.to_value()))
            .chain(CultureOutcomeKind::iter().map(|k| k.to_value()));
        for kind in kinds {
            assert!(
                RecordedOutcome::try_from_value(&kind).is_ok(),
                "{kind} is not a RecordedOutcome"
            );
        }
    }

    #[test]
    fn quarters_follow_the_calendar() {
        let day = |m, d| NaiveDate::from_ymd_opt(2024, m, d).unwrap();
        assert_eq!(quarter_of(day(1, 1)), 1);
        assert_eq!(quarter_of(day(3, 31)), 1);
        assert_eq!(quarter_of(day(4, 1)), 2);
        assert_eq!(quarter_of(day(12, 31)), 4);
    }
}
