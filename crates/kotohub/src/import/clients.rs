//! The `clients` kind: the core of each client the programme keeps (`clients` in the
//! programme subgraph), one row per person of a division's system. The identity code
//! gives the client id and the year of birth; the rest is checked against the
//! programme's vocabularies, and every value a row gets wrong is reported, not only the
//! first.
//!
//! | column | value |
//! |---|---|
//! | `source_id` | the source system's record id (1–64 characters): what a re-import updates by |
//! | `identity_code` | the henkilötunnus; never stored |
//! | `name` | the client's name |
//! | `gender` | `female`, `male` or `other` |
//! | `mother_tongue` | ISO 639-1 code, two small letters (`fi`, `so`, `ar` …) |
//! | `district` | the major district of Helsinki the client lives in |
//! | `background` | `immigrant`, `second_generation` or `finnish_background` |
//! | `arrival_year` | year of arrival in Finland; only for `immigrant`, not before birth |
//! | `entry_route` | how they came to live in Finland, optional and only for `immigrant`: `quota_refugee`, `asylum_seeker`, `municipal_placement`, `family_reunification`, `work`, `study`, `eu_citizen` or `other` |

use chrono::{Datelike, NaiveDate};
use kotohub_programme::entity::client::{Background, EntryRoute, Gender, Model as Client};
use kotohub_subgraph::vocab::District;
use sea_orm::{ActiveEnum, Iterable};

use super::Rejected;
use super::identity::Pseudonymiser;
use super::table::Row;

/// The columns of the kind, in the order its example file has them.
pub const COLUMNS: [&str; 9] = [
    "source_id",
    "identity_code",
    "name",
    "gender",
    "mother_tongue",
    "district",
    "background",
    "arrival_year",
    "entry_route",
];

/// A row that passed every check: what it updates by and the client it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub source_id: String,
    pub client: Client,
}

/// Checks `row` as of `today`; `Err` holds every fault, by column.
pub fn check(
    row: &Row,
    pseudonymiser: &Pseudonymiser,
    today: NaiveDate,
) -> Result<Checked, Vec<Rejected>> {
    let mut faults = Vec::new();
    let line = row.line;
    let source_id = row.source_id("clients", &COLUMNS, &mut faults);
    // The code itself is never repeated: only why it is not one.
    let identified = row.required("identity_code", &mut faults).and_then(|code| {
        pseudonymiser
            .identify(code, today)
            .map_err(|invalid| {
                faults.push(Rejected::at(line, "identity_code", invalid.to_string()))
            })
            .ok()
    });
    let name = row.required("name", &mut faults);
    let gender = vocabulary::<Gender>(row, "gender", &mut faults);
    let district = vocabulary::<District>(row, "district", &mut faults);
    let background = vocabulary::<Background>(row, "background", &mut faults);
    let mother_tongue = row.required("mother_tongue", &mut faults);
    if let Some(tongue) = mother_tongue
        && !(tongue.len() == 2 && tongue.bytes().all(|b| b.is_ascii_lowercase()))
    {
        faults.push(Rejected::at(
            line,
            "mother_tongue",
            "an ISO 639-1 code is two small letters (fi, sv, so, ar …)",
        ));
    }
    let arrival_year = match row.get("arrival_year") {
        None => None,
        Some(text) => match text.parse::<i32>() {
            Ok(year) => Some(year),
            Err(_) => {
                faults.push(Rejected::at(line, "arrival_year", "not a year"));
                None
            }
        },
    };
    if let Some(year) = arrival_year {
        if year > today.year() {
            faults.push(Rejected::at(line, "arrival_year", "in the future"));
        }
        if let Some(identified) = &identified
            && year < identified.born.year()
        {
            faults.push(Rejected::at(
                line,
                "arrival_year",
                "before the client was born",
            ));
        }
        if background.is_some_and(|b| b != Background::Immigrant) {
            faults.push(Rejected::at(
                line,
                "arrival_year",
                "only an immigrant has a year of arrival; leave it empty for those born in Finland",
            ));
        }
    }
    // Optional: a source that does not know it leaves the column out or empty.
    let entry_route = row
        .get("entry_route")
        .and_then(|_| vocabulary::<EntryRoute>(row, "entry_route", &mut faults));
    if entry_route.is_some() && background.is_some_and(|b| b != Background::Immigrant) {
        faults.push(Rejected::at(
            line,
            "entry_route",
            "only an immigrant came by an entry route; leave it empty for those born in Finland",
        ));
    }
    match (
        faults.is_empty(),
        source_id,
        identified,
        name,
        gender,
        mother_tongue,
        district,
        background,
    ) {
        (
            true,
            Some(source_id),
            Some(identified),
            Some(name),
            Some(gender),
            Some(mother_tongue),
            Some(district),
            Some(background),
        ) => Ok(Checked {
            source_id: source_id.to_owned(),
            client: Client {
                id: identified.client_id,
                name: name.to_owned(),
                birth_year: identified.born.year(),
                gender,
                mother_tongue: mother_tongue.to_owned(),
                district,
                background,
                arrival_year,
                entry_route,
            },
        }),
        _ => Err(faults),
    }
}

/// The value of `column` in the vocabulary `E`; a value outside it is reported with the
/// values it may take.
fn vocabulary<E>(row: &Row, column: &str, faults: &mut Vec<Rejected>) -> Option<E>
where
    E: ActiveEnum<Value = String> + Iterable,
{
    let Some(text) = row.get(column) else {
        faults.push(Rejected::at(row.line, column, "missing"));
        return None;
    };
    match E::try_from_value(&text.to_owned()) {
        Ok(value) => Some(value),
        Err(_) => {
            let allowed: Vec<String> = E::iter().map(|value| value.to_value()).collect();
            faults.push(Rejected::at(
                row.line,
                column,
                format!("{text:?} is not one of: {}", allowed.join(", ")),
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const CODE: &str = "131052-308T";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date")
    }

    fn pseudonymiser() -> Pseudonymiser {
        Pseudonymiser::new("a-test-key-that-is-long-enough-0123")
    }

    fn row(fields: &[(&str, &str)]) -> Row {
        let mut all: BTreeMap<String, String> = [
            ("source_id", "SRC-1"),
            ("identity_code", CODE),
            ("name", "Amina Hassan"),
            ("gender", "female"),
            ("mother_tongue", "so"),
            ("district", "itainen"),
            ("background", "immigrant"),
            ("arrival_year", "2015"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        for (column, value) in fields {
            if value.is_empty() {
                all.remove(*column);
            } else {
                all.insert((*column).to_owned(), (*value).to_owned());
            }
        }
        Row {
            line: 2,
            fields: all,
        }
    }

    fn faults(row: &Row) -> Vec<(String, String)> {
        check(row, &pseudonymiser(), today())
            .expect_err("faults")
            .into_iter()
            .map(|r| (r.column.unwrap_or_default(), r.reason))
            .collect()
    }

    #[test]
    fn a_good_row_is_a_client_with_its_year_of_birth_from_the_code() {
        let checked = check(&row(&[]), &pseudonymiser(), today()).expect("a good row");
        assert_eq!(checked.source_id, "SRC-1");
        assert_eq!(checked.client.birth_year, 1952);
        assert_eq!(checked.client.gender, Gender::Female);
        assert_eq!(checked.client.district, District::Itainen);
        assert_eq!(checked.client.arrival_year, Some(2015));
        assert!(checked.client.id.starts_with('p'));
        assert!(!format!("{checked:?}").contains("308T"));
    }

    #[test]
    fn every_fault_of_a_row_is_reported() {
        let bad = row(&[
            ("gender", "f"),
            ("district", "kallio"),
            ("mother_tongue", "Somali"),
            ("name", ""),
        ]);
        let found = faults(&bad);
        let columns: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(columns, ["name", "gender", "district", "mother_tongue"]);
        assert_eq!(found[1].1, "\"f\" is not one of: female, male, other");
        assert!(found[2].1.contains("etelainen"), "{}", found[2].1);
    }

    #[test]
    fn an_invalid_identity_code_is_rejected_without_repeating_it() {
        let found = faults(&row(&[("identity_code", "131052-308U")]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].0, "identity_code");
        assert!(!found[0].1.contains("131052"), "{}", found[0].1);
    }

    #[test]
    fn a_year_of_arrival_must_fit_the_client() {
        assert_eq!(
            faults(&row(&[("arrival_year", "1950")])),
            [(
                "arrival_year".to_owned(),
                "before the client was born".to_owned()
            )]
        );
        assert_eq!(
            faults(&row(&[("arrival_year", "2030")])),
            [("arrival_year".to_owned(), "in the future".to_owned())]
        );
        let born_here = row(&[("background", "second_generation")]);
        assert_eq!(faults(&born_here)[0].0, "arrival_year");
        let born_here = row(&[("background", "second_generation"), ("arrival_year", "")]);
        assert!(check(&born_here, &pseudonymiser(), today()).is_ok());
    }

    #[test]
    fn an_entry_route_is_optional_and_only_for_immigrants() {
        assert_eq!(
            check(&row(&[]), &pseudonymiser(), today())
                .unwrap()
                .client
                .entry_route,
            None,
            "a source that does not say"
        );
        let quota = row(&[("entry_route", "quota_refugee")]);
        assert_eq!(
            check(&quota, &pseudonymiser(), today())
                .unwrap()
                .client
                .entry_route,
            Some(EntryRoute::QuotaRefugee)
        );
        let unknown = faults(&row(&[("entry_route", "refugee")]));
        assert_eq!(unknown[0].0, "entry_route");
        assert!(
            unknown[0].1.contains("municipal_placement"),
            "{}",
            unknown[0].1
        );
        let born_here = row(&[
            ("background", "second_generation"),
            ("arrival_year", ""),
            ("entry_route", "work"),
        ]);
        assert_eq!(
            faults(&born_here),
            [(
                "entry_route".to_owned(),
                "only an immigrant came by an entry route; leave it empty for those born in Finland"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn an_unknown_column_is_named() {
        let found = faults(&row(&[("hetu", "x")]));
        assert_eq!(found[0].0, "hetu");
        assert!(found[0].1.starts_with("not a column of clients"));
    }
}
