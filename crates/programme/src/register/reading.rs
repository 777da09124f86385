//! Turning the register's rows into [`Runs`]: each fact as the database packs it, its
//! values coded by the dictionaries, each client's facts gathered; and a copy brought up
//! to date by putting re-read clients' facts in the place of their old ones.

use std::collections::HashMap;

use sea_orm::DbErr;

use super::facts::{COLUMNS, Dictionaries, Runs};
use crate::statistics::Value;

/// What separates the values of a packed fact; no value the register holds has one.
const SEPARATOR: char = '|';

/// A fact packed into one string by the database, in the order [`Reading::push`] reads
/// it: one value a row instead of sixteen, since the drivers copy and allocate every
/// value they hand over, which took most of the time when each column came on its own.
/// Its months come counted from January 1900, so that one fits in 16 bits: 22,800 is
/// the months before it in `client_fact::month_count`'s count.
pub(super) const PACKED: &str = "client_id || '|' || record_key || '|' \
     || ((year - 1900) * 12 + month - 1) || '|' \
     || coalesce(ended - 22800, (year - 1900) * 12 + month - 1) || '|' || measure_id \
     || '|' || division_id || '|' || body_id || '|' || year || '|' || quarter || '|' \
     || district || '|' || mother_tongue_group || '|' || age_group || '|' || gender \
     || '|' || background || '|' || coalesce(outcome, '') || '|' || record";

/// Facts as they are read, in the order read.
pub(super) struct Reading {
    dictionaries: Dictionaries,
    /// Each distinct combination of a fact's values (what follows its client and key)
    /// and its code in each column: about a third of a million at a million clients,
    /// against 2.5 million facts, so each is taken apart and coded once.
    profiles: HashMap<String, u32>,
    profile_codes: Vec<[u16; COLUMNS]>,
    clients: HashMap<String, u32>,
    /// Each client's record key: the smallest on its facts, which all carry the same one.
    keys: Vec<i64>,
    client_of: Vec<u32>,
    profile_of: Vec<u32>,
    months: Vec<u16>,
    ends: Vec<u16>,
}

fn malformed(what: &str, fact: &str) -> DbErr {
    DbErr::Custom(format!("a fact of the statistics register {what}: {fact}"))
}

impl Reading {
    /// Codes values with `dictionaries`, adding the values they do not know yet.
    pub(super) fn new(dictionaries: Dictionaries) -> Self {
        Self {
            dictionaries,
            profiles: HashMap::new(),
            profile_codes: Vec::new(),
            clients: HashMap::new(),
            keys: Vec::new(),
            client_of: Vec::new(),
            profile_of: Vec::new(),
            months: Vec::new(),
            ends: Vec::new(),
        }
    }

    /// Adds one fact as [`PACKED`] packs it.
    pub(super) fn push(&mut self, fact: &str) -> Result<(), DbErr> {
        let mut fields = fact.splitn(5, SEPARATOR);
        let (Some(client), Some(key), Some(month), Some(end), Some(profile)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return Err(malformed("is cut short", fact));
        };
        let key: i64 = key
            .parse()
            .map_err(|_| malformed("has no number for its key", fact))?;
        let month: u16 = month
            .parse()
            .map_err(|_| malformed("has no month since 1900", fact))?;
        let end: u16 = end
            .parse()
            .map_err(|_| malformed("has no month since 1900 for its end", fact))?;
        let profile = match self.profiles.get(profile) {
            Some(&code) => code,
            None => {
                let codes = self.code(profile).map_err(|what| malformed(what, fact))?;
                let code = u32::try_from(self.profile_codes.len())
                    .map_err(|_| malformed("has too many combinations of values", fact))?;
                self.profile_codes.push(codes);
                self.profiles.insert(profile.to_owned(), code);
                code
            }
        };
        let ordinal = match self.clients.get(client) {
            Some(&ordinal) => {
                let held = &mut self.keys[ordinal as usize];
                *held = (*held).min(key);
                ordinal
            }
            None => {
                let ordinal = u32::try_from(self.keys.len())
                    .map_err(|_| malformed("is one of too many clients'", fact))?;
                self.clients.insert(client.to_owned(), ordinal);
                self.keys.push(key);
                ordinal
            }
        };
        self.client_of.push(ordinal);
        self.profile_of.push(profile);
        self.months.push(month);
        // A period never ends before it began, whatever a source says.
        self.ends.push(end.max(month));
        Ok(())
    }

    /// The codes of a profile's values, in the order of the columns.
    fn code(&mut self, profile: &str) -> Result<[u16; COLUMNS], &'static str> {
        let fields: Vec<&str> = profile.split(SEPARATOR).collect();
        let [
            measure,
            division,
            body,
            year,
            quarter,
            district,
            tongue,
            age,
            gender,
            background,
            outcome,
            record,
        ] = fields[..]
        else {
            return Err("does not have its twelve values");
        };
        let number = |field: &str| {
            field
                .parse::<i32>()
                .map_err(|_| "has no number for its year or quarter")
        };
        let (year, quarter) = (number(year)?, number(quarter)?);
        let text = |value: &str| Value::Text(value.to_owned());
        let values = [
            text(measure),
            text(division),
            text(body),
            Value::Number(year),
            Value::Quarter(year, quarter),
            text(district),
            text(tongue),
            text(age),
            text(gender),
            text(background),
            text(outcome),
            text(record),
        ];
        let mut codes = [0; COLUMNS];
        for ((code, dictionary), value) in codes.iter_mut().zip(&mut self.dictionaries).zip(values)
        {
            *code = dictionary
                .code(value)
                .map_err(|_| "has a column with more than 65,535 distinct values")?;
        }
        Ok(codes)
    }

    /// The facts grouped by client, clients in the order of their ids, and the
    /// dictionaries that code them.
    pub(super) fn finish(self) -> (Dictionaries, Runs) {
        let mut by_id: Vec<(String, u32)> = self.clients.into_iter().collect();
        by_id.sort_unstable();
        let mut rank = vec![0u32; by_id.len()];
        let mut runs = Runs::default();
        for (place, (id, ordinal)) in by_id.iter().enumerate() {
            rank[*ordinal as usize] = place as u32;
            runs.ids.push(id);
            runs.keys.push(self.keys[*ordinal as usize]);
        }
        drop(by_id);
        // Counting sort by client: where each client's facts begin, then each fact put
        // in the next place of its client's.
        runs.starts = vec![0u32; rank.len() + 1];
        for &client in &self.client_of {
            runs.starts[rank[client as usize] as usize + 1] += 1;
        }
        for client in 0..rank.len() {
            runs.starts[client + 1] += runs.starts[client];
        }
        let mut next = runs.starts.clone();
        let mut order = vec![0u32; self.client_of.len()];
        for (fact, &client) in self.client_of.iter().enumerate() {
            let slot = &mut next[rank[client as usize] as usize];
            order[*slot as usize] = fact as u32;
            *slot += 1;
        }
        for (column, codes) in runs.codes.iter_mut().enumerate() {
            *codes = order
                .iter()
                .map(|&fact| self.profile_codes[self.profile_of[fact as usize] as usize][column])
                .collect();
        }
        runs.months = order.iter().map(|&f| self.months[f as usize]).collect();
        runs.ends = order.iter().map(|&f| self.ends[f as usize]).collect();
        (self.dictionaries, runs)
    }
}

/// `old` with the facts of the `changed` clients (sorted ids) replaced by those in
/// `fresh`, which holds every changed client that still has facts and was coded with
/// dictionaries that extend `old`'s. One pass in the order of client ids.
pub(super) fn merge(old: &Runs, changed: &[String], fresh: &Runs) -> Runs {
    let mut runs = Runs::default();
    runs.starts.push(0);
    let append = |runs: &mut Runs, from: &Runs, client: usize| {
        runs.ids.push(from.ids.get(client));
        runs.keys.push(from.keys[client]);
        let facts = from.of(client);
        for (codes, source) in runs.codes.iter_mut().zip(&from.codes) {
            codes.extend_from_slice(&source[facts.clone()]);
        }
        runs.months.extend_from_slice(&from.months[facts.clone()]);
        runs.ends.extend_from_slice(&from.ends[facts.clone()]);
        runs.starts
            .push(u32::try_from(runs.codes[0].len()).expect("fewer than 4 billion facts"));
    };
    let (mut fresh_at, mut changed_at) = (0, 0);
    for client in 0..old.ids.len() {
        let id = old.ids.get(client);
        while fresh_at < fresh.ids.len() && fresh.ids.get(fresh_at) < id {
            append(&mut runs, fresh, fresh_at);
            fresh_at += 1;
        }
        while changed.get(changed_at).is_some_and(|c| c.as_str() < id) {
            changed_at += 1;
        }
        if changed.get(changed_at).is_some_and(|c| c == id) {
            continue;
        }
        append(&mut runs, old, client);
    }
    for client in fresh_at..fresh.ids.len() {
        append(&mut runs, fresh, client);
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::facts::tests::{ROWS, Row, counted, everyone_by, facts, key, packed};
    use crate::register::facts::{Dictionary, Facts};
    use crate::statistics::ClientDimension;

    #[test]
    fn a_fact_that_does_not_unpack_is_refused_and_adds_nothing() {
        let mut reading = Reading::new(std::array::from_fn(|_| Dictionary::new()));
        for fact in [
            "c1|5|1440",
            "c1|5|1440|1440|1.1|employment|b|2020|1|central|other|30-64|female|immigrant|",
            "c1|5|1440|1440|1.1|employment|b|2020|1|central|other|30-64|female|immigrant||r|x",
            "c1|five|1440|1440|1.1|employment|b|2020|1|central|other|30-64|female|immigrant||r",
            "c1|5|1440|1440|1.1|employment|b|spring|1|central|other|30-64|female|immigrant||r",
            "c1|5|May|1440|1.1|employment|b|2020|1|central|other|30-64|female|immigrant||r",
            "c1|5|1440|-3|1.1|employment|b|2020|1|central|other|30-64|female|immigrant||r",
        ] {
            assert!(reading.push(fact).is_err(), "{fact}");
        }
        assert!(reading.client_of.is_empty() && reading.clients.is_empty());
        reading
            .push("c1|5|1440|1440|1.1|employment|b|2020|1|central|other|30-64|female|immigrant||r")
            .unwrap();
        assert_eq!(reading.client_of, [0]);
    }

    #[test]
    fn a_client_keeps_the_smallest_key_on_its_facts() {
        let mut reading = Reading::new(std::array::from_fn(|_| Dictionary::new()));
        for key in [9, 4, 7] {
            reading
                .push(&format!(
                    "c1|{key}|1440|1440|1.1|employment|b|2020|1|central|other|30-64|female|immigrant||r"
                ))
                .unwrap();
        }
        let (_, runs) = reading.finish();
        assert_eq!((runs.keys, runs.starts), (vec![4], vec![0, 3]));
    }

    #[test]
    fn merging_re_read_clients_gives_what_reading_everything_again_gives() {
        let before = facts(&ROWS);
        // a loses its vocational education and gains a fact of 9.5; c's facts are all
        // gone; f is new; b, d and e are as they were.
        let mut after: Vec<Row> = ROWS
            .iter()
            .filter(|row| row.0 != "c" && !(row.0 == "a" && row.1 == "4.4"))
            .copied()
            .collect();
        after.push(("a", "9.5", "social", 2022, 3, "northern", None));
        after.push((
            "f",
            "1.1",
            "employment",
            2022,
            1,
            "western",
            Some("employed"),
        ));
        let changed: Vec<String> = ["a", "c", "f"].map(str::to_owned).to_vec();

        let mut reading = Reading::new(before.dictionaries.clone());
        for row in after
            .iter()
            .filter(|row| changed.iter().any(|c| c == row.0))
        {
            reading.push(&packed(row, key(row.0))).unwrap();
        }
        let (dictionaries, fresh) = reading.finish();
        let merged = Facts {
            version: 2,
            runs: merge(&before.runs, &changed, &fresh),
            dictionaries,
        };
        let ids: Vec<&str> = (0..merged.runs.ids.len())
            .map(|c| merged.runs.ids.get(c))
            .collect();
        assert_eq!(ids, ["a", "b", "d", "e", "f"]);

        let read_again = facts(&after);
        for by in [
            vec![ClientDimension::Measure, ClientDimension::Year],
            vec![ClientDimension::District, ClientDimension::Division],
            vec![ClientDimension::Quarter],
        ] {
            let question = everyone_by(by);
            assert_eq!(
                counted(merged.count(&question)),
                counted(read_again.count(&question))
            );
        }
    }
}
