//! Disclosure control against analysts who difference tables. Each test writes a
//! statistics register of its own, in which every client has exactly one record, so that
//! every table is an exact sum of the finest cells: the strongest position an analyst
//! can be in. Then:
//!
//! - the attacker asks every table one scope can ask (every set of up to three
//!   dimensions with every filter), turns every number shown into a linear equation over
//!   the finest cells, solves them exactly as far as they go, and must pin down no
//!   count of 1–4;
//! - the issue's four differencing examples are rebuilt with the issue's own numbers and
//!   asked through the gateway, on both backends.
//!
//! Every number in every answer is also checked to be exactly what the cell-key method
//! makes of its cell's true count and contributors, so the same people get the same
//! number in every table.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kotohub_auth::Principal;
use kotohub_programme::disclosure::{Counted, MAX_NOISE, RECORD_KEY_RANGE, publish};
use kotohub_programme::entity::client::{Background, Gender};
use kotohub_programme::entity::client_fact::{self, AgeGroup, MotherTongueGroup, RecordedOutcome};
use kotohub_programme::entity::event_fact::{self, EventLanguages};
use kotohub_subgraph::vocab::District;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait};
use serde_json::{Value, json};

use crate::helpers::{Backend, Hub};

crate::on_both_backends!(the_issues_differencing_examples_work_out_nothing);

fn analyst(division: &str) -> Principal {
    crate::statistics::analyst(Some(division))
}

/// The division whose bodies record each measure the tests use.
fn division_of(measure: &str) -> &'static str {
    match measure {
        "1.2" | "1.3" => "employment",
        "4.4" | "4.14" => "education",
        "7.5" => "culture",
        other => panic!("no division for {other}"),
    }
}

/// One client with one record, in a register a test writes.
#[derive(Clone)]
struct ClientRow {
    measure: &'static str,
    year: i32,
    quarter: i32,
    district: (District, &'static str),
    tongue: (MotherTongueGroup, &'static str),
    age: (AgeGroup, &'static str),
    gender: (Gender, &'static str),
    outcome: bool,
    key: i64,
}

impl ClientRow {
    /// The row's value of each field a statistics cell can carry, as the API names it.
    fn fields(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("measureId", self.measure.to_owned()),
            ("divisionId", division_of(self.measure).to_owned()),
            ("year", self.year.to_string()),
            ("quarter", self.quarter.to_string()),
            ("district", self.district.1.to_owned()),
            ("motherTongueGroup", self.tongue.1.to_owned()),
            ("ageGroup", self.age.1.to_owned()),
            ("gender", self.gender.1.to_owned()),
        ])
    }
}

/// One event in a register a test writes.
#[derive(Clone)]
struct EventRow {
    measure: &'static str,
    year: i32,
    quarter: i32,
    district: (District, &'static str),
    languages: (EventLanguages, &'static str),
    participants: i64,
    key: i64,
}

impl EventRow {
    fn fields(&self) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("measureId", self.measure.to_owned()),
            ("divisionId", division_of(self.measure).to_owned()),
            ("year", self.year.to_string()),
            ("quarter", self.quarter.to_string()),
            ("district", self.district.1.to_owned()),
            ("languages", self.languages.1.to_owned()),
        ])
    }
}

/// A mother-tongue group as stored and as the API names it.
type Tongue = (MotherTongueGroup, &'static str);

const ITAINEN: (District, &str) = (District::Itainen, "ITAINEN");
const KOILLINEN: (District, &str) = (District::Koillinen, "KOILLINEN");
const RUSSIAN: (MotherTongueGroup, &str) = (MotherTongueGroup::Russian, "RUSSIAN");
const SOMALI: (MotherTongueGroup, &str) = (MotherTongueGroup::Somali, "SOMALI");
const ARABIC: (MotherTongueGroup, &str) = (MotherTongueGroup::Arabic, "ARABIC");
const YOUNG: (AgeGroup, &str) = (AgeGroup::Age16To29, "AGE_16_29");
const ADULT: (AgeGroup, &str) = (AgeGroup::Age30To44, "AGE_30_44");
const FEMALE: (Gender, &str) = (Gender::Female, "FEMALE");
const MALE: (Gender, &str) = (Gender::Male, "MALE");

/// Distinct record keys, random-looking and fixed.
struct Keys {
    state: u64,
    used: BTreeSet<i64>,
}

impl Keys {
    fn new(seed: u64) -> Self {
        Self {
            state: seed,
            used: BTreeSet::new(),
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.state >> 11
    }

    /// A key no other row has, so a sum over distinct keys is a sum over rows.
    fn key(&mut self) -> i64 {
        loop {
            let key = (self.next_u64() % RECORD_KEY_RANGE as u64) as i64;
            if self.used.insert(key) {
                return key;
            }
        }
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Replaces the programme's statistics register with exactly these rows.
async fn write_register(hub: &Hub, clients: &[ClientRow], events: &[EventRow]) {
    let db = &hub.dbs.programme;
    if db.get_database_backend() == DbBackend::Postgres {
        // The register's row-level security lets nobody delete; its owner may truncate.
        db.execute_unprepared("TRUNCATE client_facts, event_facts")
            .await
            .unwrap();
    } else {
        db.execute_unprepared("DELETE FROM client_facts")
            .await
            .unwrap();
        db.execute_unprepared("DELETE FROM event_facts")
            .await
            .unwrap();
    }
    let txn = kotohub::seed::unrestricted(db).await.unwrap();
    let rows: Vec<client_fact::ActiveModel> = clients
        .iter()
        .enumerate()
        .map(|(index, row)| client_fact::ActiveModel {
            id: NotSet,
            client_id: Set(format!("t{index:07}")),
            measure_id: Set(row.measure.to_owned()),
            body_id: Set("test-body".to_owned()),
            division_id: Set(division_of(row.measure).to_owned()),
            year: Set(row.year),
            quarter: Set(row.quarter),
            district: Set(row.district.0),
            mother_tongue_group: Set(row.tongue.0),
            age_group: Set(row.age.0),
            gender: Set(row.gender.0),
            background: Set(Background::Immigrant),
            outcome: Set(row.outcome.then_some(RecordedOutcome::Employed)),
            record: Set(if row.outcome {
                "employment_outcomes:employed".to_owned()
            } else {
                "guidance_sessions".to_owned()
            }),
            month: Set(row.quarter * 3 - 2),
            ended: Set(None),
            record_key: Set(row.key),
        })
        .collect();
    for chunk in rows.chunks(500) {
        client_fact::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await
            .unwrap();
    }
    let rows: Vec<event_fact::ActiveModel> = events
        .iter()
        .map(|row| event_fact::ActiveModel {
            id: NotSet,
            measure_id: Set(row.measure.to_owned()),
            body_id: Set("test-body".to_owned()),
            division_id: Set(division_of(row.measure).to_owned()),
            year: Set(row.year),
            quarter: Set(row.quarter),
            district: Set(row.district.0),
            languages: Set(row.languages.0),
            participants: Set(i32::try_from(row.participants).unwrap()),
            record_key: Set(row.key),
        })
        .collect();
    for chunk in rows.chunks(500) {
        event_fact::Entity::insert_many(chunk.to_vec())
            .exec(&txn)
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
}

/// A cell's coordinates: its non-null dimension fields and the filters of its table.
fn coordinates(cell: &Value, filters: &[(&'static str, String)]) -> BTreeMap<String, String> {
    let mut at: BTreeMap<String, String> = filters
        .iter()
        .map(|(field, value)| ((*field).to_owned(), value.clone()))
        .collect();
    for field in [
        "measureId",
        "divisionId",
        "year",
        "quarter",
        "district",
        "motherTongueGroup",
        "ageGroup",
        "gender",
        "languages",
    ] {
        match &cell[field] {
            Value::Null => {}
            Value::String(text) => {
                at.insert(field.to_owned(), text.clone());
            }
            other => {
                at.insert(field.to_owned(), other.to_string());
            }
        }
    }
    at
}

/// What a group of rows adds up to: for clients, how many, their keys, how many had an
/// outcome and their keys; for events, how many, their keys and their participants.
#[derive(Clone, Copy, Default)]
struct Sums([i64; 4]);

impl Sums {
    fn of_clients<'a>(rows: impl IntoIterator<Item = &'a ClientRow>) -> Self {
        let mut sums = [0; 4];
        for row in rows {
            sums[0] += 1;
            sums[1] += row.key;
            if row.outcome {
                sums[2] += 1;
                sums[3] += row.key;
            }
        }
        Self(sums)
    }

    fn of_events<'a>(rows: impl IntoIterator<Item = &'a EventRow>) -> Self {
        let mut sums = [0; 4];
        for row in rows {
            sums[0] += 1;
            sums[1] += row.key;
            sums[2] += row.participants;
        }
        Self(sums)
    }

    fn add(&mut self, other: &Self) {
        for (sum, more) in self.0.iter_mut().zip(other.0) {
            *sum += more;
        }
    }

    /// What the cell-key method must publish for a cell of clients: (clients, with an
    /// outcome), `None` when suppressed.
    fn clients(&self) -> Option<(i64, i64)> {
        let [clients, key, with, with_key] = self.0;
        let clients = publish(clients, key, Counted::Clients)?;
        let with = publish(with, with_key, Counted::Clients)?;
        Some((clients, with.min(clients)))
    }

    /// The same for a cell of events: (events, participants).
    fn events(&self) -> Option<(i64, i64)> {
        let [events, key, participants, _] = self.0;
        Some((
            publish(events, key, Counted::Events)?,
            publish(participants, key, Counted::Participants)?,
        ))
    }
}

fn expected_clients(rows: &[&ClientRow]) -> Option<(i64, i64)> {
    Sums::of_clients(rows.iter().copied()).clients()
}

fn expected_events(rows: &[&EventRow]) -> Option<(i64, i64)> {
    Sums::of_events(rows.iter().copied()).events()
}

/// A cell's published counts, `None` when suppressed; checks that a suppressed cell
/// shows no number and a shown one shows every count.
fn published(cell: &Value, counts: [&str; 2]) -> Option<(i64, i64)> {
    if cell["suppressed"] == true {
        assert!(
            counts.iter().all(|c| cell[*c].is_null()),
            "a suppressed cell with a count: {cell}"
        );
        return None;
    }
    let first = cell[counts[0]]
        .as_i64()
        .expect("a shown cell's first count");
    let second = cell[counts[1]]
        .as_i64()
        .expect("a shown cell's second count");
    for count in [first, second] {
        assert!(!(1..=4).contains(&count), "a count of 1–4 shown: {cell}");
    }
    Some((first, second))
}

/// What an analyst holds about one quantity (clients, those with an outcome, events or
/// participants): the finest cells' true values, every shown number as an equation over
/// them (cells given by which finest cells they add up), and the hidden cells.
struct Knowledge {
    name: &'static str,
    truth: Vec<i64>,
    shown: HashMap<Vec<bool>, i64>,
    hidden: BTreeSet<Vec<bool>>,
}

impl Knowledge {
    fn new(name: &'static str, truth: Vec<i64>) -> Self {
        Self {
            name,
            truth,
            shown: HashMap::new(),
            hidden: BTreeSet::new(),
        }
    }

    fn learn(&mut self, cell: Vec<bool>, value: Option<i64>) {
        match value {
            Some(value) => {
                // The same finest cells are the same people: one number, whichever
                // table shows it, or averaging the answers would strip the noise.
                let before = self.shown.insert(cell, value);
                assert!(
                    before.is_none_or(|before| before == value),
                    "{}: one cell published as {before:?} and {value}",
                    self.name
                );
            }
            None => {
                self.hidden.insert(cell);
            }
        }
    }
}

/// What the exact attack found about the hidden cells of true size 1–4.
#[derive(Debug, Default)]
struct Findings {
    /// Small hidden cells the shown numbers determine, taken as exact.
    determined: usize,
    /// Of them, those whose value the attack got right to the unit.
    hit: usize,
    /// Of them, those the attacker can be sure of: only one value in 1–4 is within the
    /// published noise of what the equations give.
    pinned: Vec<(i64, f64)>,
}

/// Solves the shown numbers for every hidden cell, treating them as exact, and keeps
/// for each solution how it combines the shown numbers, which says how much noise it
/// carries. (Floating point is exact enough here: the coefficients stay small, and a
/// tolerance of 1e-6 on sums of a few hundred unit entries is far from both 0 and 1.)
fn attack(knowledge: &Knowledge) -> Findings {
    let width = knowledge.truth.len();
    let mut equations: Vec<(&Vec<bool>, &i64)> = knowledge.shown.iter().collect();
    equations.sort();
    let count = equations.len();
    // Rows of the reduced echelon form: coefficients, right-hand side, pivot column, and
    // the combination of shown numbers the row is.
    let mut basis: Vec<(Vec<f64>, f64, usize, Vec<f64>)> = Vec::new();
    let reduce = |basis: &[(Vec<f64>, f64, usize, Vec<f64>)],
                  row: &mut Vec<f64>,
                  value: &mut f64,
                  combination: &mut Vec<f64>| {
        for (pivot_row, pivot_value, pivot, pivot_combination) in basis {
            let factor = row[*pivot];
            if factor.abs() > 1e-12 {
                for (entry, p) in row.iter_mut().zip(pivot_row) {
                    *entry -= factor * p;
                }
                *value -= factor * pivot_value;
                for (entry, p) in combination.iter_mut().zip(pivot_combination) {
                    *entry -= factor * p;
                }
            }
        }
    };
    for (index, (cell, value)) in equations.iter().enumerate() {
        let mut row: Vec<f64> = cell.iter().map(|&m| f64::from(u8::from(m))).collect();
        let mut value = **value as f64;
        let mut combination = vec![0.0; count];
        combination[index] = 1.0;
        reduce(&basis, &mut row, &mut value, &mut combination);
        let Some(pivot) = (0..width)
            .filter(|&c| row[c].abs() > 1e-6)
            .max_by(|&a, &b| row[a].abs().total_cmp(&row[b].abs()))
        else {
            continue;
        };
        let scale = row[pivot];
        row.iter_mut().for_each(|entry| *entry /= scale);
        combination.iter_mut().for_each(|entry| *entry /= scale);
        value /= scale;
        for (other, other_value, _, other_combination) in &mut basis {
            let factor = other[pivot];
            if factor.abs() > 1e-12 {
                for (entry, p) in other.iter_mut().zip(&row) {
                    *entry -= factor * p;
                }
                *other_value -= factor * value;
                for (entry, p) in other_combination.iter_mut().zip(&combination) {
                    *entry -= factor * p;
                }
            }
        }
        basis.push((row, value, pivot, combination));
    }
    let mut findings = Findings::default();
    for cell in &knowledge.hidden {
        let truth: i64 = cell
            .iter()
            .zip(&knowledge.truth)
            .filter(|(m, _)| **m)
            .map(|(_, t)| t)
            .sum();
        if !(1..=4).contains(&truth) {
            continue;
        }
        // Reducing the hidden cell by the basis leaves nothing exactly when it is a
        // combination of shown numbers; the negated value and combination are then that
        // combination's value and coefficients.
        let mut row: Vec<f64> = cell.iter().map(|&m| f64::from(u8::from(m))).collect();
        let mut value = 0.0;
        let mut combination = vec![0.0; count];
        reduce(&basis, &mut row, &mut value, &mut combination);
        if row.iter().any(|entry| entry.abs() > 1e-6) {
            continue;
        }
        let solved = -value;
        findings.determined += 1;
        if solved.round() as i64 == truth {
            findings.hit += 1;
        }
        // Zeros are exact; every other number shown carries up to MAX_NOISE.
        let spread: f64 = equations
            .iter()
            .zip(&combination)
            .filter(|((_, shown), _)| **shown != 0)
            .map(|(_, c)| c.abs() * MAX_NOISE as f64)
            .sum();
        let candidates: Vec<i64> = (1..=4)
            .filter(|&c| (c as f64 - solved).abs() <= spread + 1e-6)
            .collect();
        assert!(
            candidates.contains(&truth),
            "{}: the truth {truth} is further than {spread} from {solved}: the noise is \
             larger than published",
            knowledge.name
        );
        if candidates.len() == 1 {
            findings.pinned.push((truth, solved));
        }
    }
    findings
}

/// Every set of up to three of `dimensions`, never YEAR with QUARTER.
fn tables(dimensions: &[&'static str]) -> Vec<Vec<&'static str>> {
    let mut sets: Vec<Vec<&'static str>> = vec![Vec::new()];
    for (i, a) in dimensions.iter().enumerate() {
        sets.push(vec![a]);
        for (j, b) in dimensions.iter().enumerate().skip(i + 1) {
            sets.push(vec![a, b]);
            for c in dimensions.iter().skip(j + 1) {
                sets.push(vec![a, b, c]);
            }
        }
    }
    sets.retain(|set| !(set.contains(&"YEAR") && set.contains(&"QUARTER")));
    sets
}

/// Every combination of filters that does not fix an asked dimension.
fn filters_for(by: &[&str]) -> Vec<Vec<(&'static str, String)>> {
    let mut all = vec![Vec::new()];
    let options: [(&str, &str, Vec<String>); 3] = [
        (
            "measureId",
            "MEASURE",
            ["4.14", "4.4", "1.3", "7.5"].map(str::to_owned).to_vec(),
        ),
        (
            "divisionId",
            "DIVISION",
            ["education", "employment", "culture"]
                .map(str::to_owned)
                .to_vec(),
        ),
        ("year", "YEAR", vec!["2019".to_owned(), "2020".to_owned()]),
    ];
    for (field, dimension, values) in options {
        if by.contains(&dimension) || (field == "year" && by.contains(&"QUARTER")) {
            continue;
        }
        let mut more = Vec::new();
        for combination in &all {
            for value in &values {
                let mut with: Vec<(&'static str, String)> = combination.clone();
                with.push((field, value.clone()));
                more.push(with);
            }
        }
        all.extend(more);
    }
    all
}

fn arguments(filters: &[(&'static str, String)]) -> String {
    filters
        .iter()
        .map(|(field, value)| match *field {
            "measureId" => format!(", measure: \"{value}\""),
            "divisionId" => format!(", division: \"{value}\""),
            _ => format!(", year: {value}"),
        })
        .collect()
}

const CLIENT_CELL: &str = "measureId divisionId year quarter district motherTongueGroup \
    ageGroup gender clients withOutcome suppressed";
const EVENT_CELL: &str = "measureId divisionId year quarter district languages events \
    participants suppressed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_asking_every_table_pins_down_no_small_cell() {
    let hub = Hub::start_with(Backend::Sqlite, 0).await.unwrap();
    let mut keys = Keys::new(0x5eed_cafe);
    // Finest cells: three measures of two divisions, two years of two quarters, two
    // districts, mother-tongue groups, age groups and genders; a third of them small.
    let mut clients = Vec::new();
    for measure in ["4.14", "4.4", "1.3"] {
        for (year, quarter) in [(2019, 1), (2019, 3), (2020, 1), (2020, 3)] {
            for district in [ITAINEN, KOILLINEN] {
                for tongue in [RUSSIAN, SOMALI] {
                    for age in [YOUNG, ADULT] {
                        for gender in [FEMALE, MALE] {
                            // Sparse, as records of one measure are in cells this
                            // fine: many margins a table shows then count 1–4.
                            let count = match keys.below(10) {
                                0..=3 => 0,
                                4..=6 => 1,
                                7 => 2 + keys.below(3),
                                _ => 5 + keys.below(10),
                            };
                            for _ in 0..count {
                                let outcome = keys.below(5) < 2;
                                let key = keys.key();
                                clients.push(ClientRow {
                                    measure,
                                    year,
                                    quarter,
                                    district,
                                    tongue,
                                    age,
                                    gender,
                                    outcome,
                                    key,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    let mut events = Vec::new();
    for measure in ["7.5", "1.3"] {
        for (year, quarter) in (2019..=2020).flat_map(|y| (1..=4).map(move |q| (y, q))) {
            for district in [ITAINEN, KOILLINEN] {
                for languages in [
                    (EventLanguages::FinnishOrSwedish, "FINNISH_OR_SWEDISH"),
                    (EventLanguages::Mixed, "MIXED"),
                    (EventLanguages::OtherLanguages, "OTHER_LANGUAGES"),
                ] {
                    let count = match keys.below(20) {
                        0..=7 => 0,
                        8..=13 => 1,
                        14..=16 => 2 + keys.below(2),
                        _ => 5 + keys.below(5),
                    };
                    for _ in 0..count {
                        // Half of them small groups, so that a hidden cell's
                        // participants can be small too.
                        let participants = if keys.below(2) == 0 {
                            1 + keys.below(3) as i64
                        } else {
                            5 + keys.below(20) as i64
                        };
                        let key = keys.key();
                        events.push(EventRow {
                            measure,
                            year,
                            quarter,
                            district,
                            languages,
                            participants,
                            key,
                        });
                    }
                }
            }
        }
    }
    write_register(&hub, &clients, &events).await;
    let city = analyst("city");

    // The finest cells, each with what its rows add up to.
    let mut client_cells: BTreeMap<BTreeMap<&'static str, String>, Sums> = BTreeMap::new();
    for row in &clients {
        client_cells
            .entry(row.fields())
            .or_default()
            .add(&Sums::of_clients([row]));
    }
    let mut event_cells: BTreeMap<BTreeMap<&'static str, String>, Sums> = BTreeMap::new();
    for row in &events {
        event_cells
            .entry(row.fields())
            .or_default()
            .add(&Sums::of_events([row]));
    }
    let client_cells: Vec<_> = client_cells.into_iter().collect();
    let event_cells: Vec<_> = event_cells.into_iter().collect();
    let truth = |cells: &[(BTreeMap<&'static str, String>, Sums)], at: usize| {
        cells
            .iter()
            .map(|(_, sums)| sums.0[at])
            .collect::<Vec<i64>>()
    };
    let mut knowledge = [
        Knowledge::new("clients", truth(&client_cells, 0)),
        Knowledge::new("clients with an outcome", truth(&client_cells, 2)),
        Knowledge::new("events", truth(&event_cells, 0)),
        Knowledge::new("participants", truth(&event_cells, 2)),
    ];
    // The finest cells a published cell adds up, and their sums.
    let covered = |cells: &[(BTreeMap<&'static str, String>, Sums)],
                   at: &BTreeMap<String, String>| {
        let mut sums = Sums::default();
        let member: Vec<bool> = cells
            .iter()
            .map(|(fields, cell)| {
                let inside = at.iter().all(|(f, v)| fields.get(f.as_str()) == Some(v));
                if inside {
                    sums.add(cell);
                }
                inside
            })
            .collect();
        (member, sums)
    };

    let mut asked = 0;
    for events_table in [false, true] {
        // Every dimension but BACKGROUND, which this register holds one value of.
        let dimensions: Vec<&'static str> = if events_table {
            crate::statistics::EVENT_DIMENSIONS.to_vec()
        } else {
            crate::statistics::CLIENT_DIMENSIONS
                .into_iter()
                .filter(|d| *d != "BACKGROUND")
                .collect()
        };
        for by in tables(&dimensions) {
            for filters in filters_for(&by) {
                let query = if events_table {
                    format!(
                        "{{ t: eventStatistics(by: [{}]{}) {{ total {{ {EVENT_CELL} }} \
                         cells {{ {EVENT_CELL} }} }} }}",
                        by.join(", "),
                        arguments(&filters)
                    )
                } else {
                    format!(
                        "{{ t: clientStatistics(by: [{}]{}, outcomes: [EMPLOYED]) {{ \
                         total {{ {CLIENT_CELL} }} cells {{ {CLIENT_CELL} }} }} }}",
                        by.join(", "),
                        arguments(&filters)
                    )
                };
                let body = hub.query_as("programme", &city, &query, json!({})).await;
                assert!(body.get("errors").is_none(), "{query}: {body}");
                asked += 1;
                let table = &body["data"]["t"];
                let mut cells: Vec<&Value> = table["cells"].as_array().unwrap().iter().collect();
                cells.push(&table["total"]);
                for cell in cells {
                    let at = coordinates(cell, &filters);
                    if events_table {
                        let (member, sums) = covered(&event_cells, &at);
                        let shown = published(cell, ["events", "participants"]);
                        assert_eq!(shown, sums.events(), "{query}: {cell}");
                        knowledge[2].learn(member.clone(), shown.map(|s| s.0));
                        knowledge[3].learn(member, shown.map(|s| s.1));
                    } else {
                        let (member, sums) = covered(&client_cells, &at);
                        let shown = published(cell, ["clients", "withOutcome"]);
                        assert_eq!(shown, sums.clients(), "{query}: {cell}");
                        knowledge[0].learn(member.clone(), shown.map(|s| s.0));
                        // A count clipped to the clients shown is no equation.
                        let with = shown.filter(|s| s.1 < s.0).map(|s| s.1);
                        if shown.is_none() || with.is_some() {
                            knowledge[1].learn(member, with);
                        }
                    }
                }
            }
        }
    }
    eprintln!("{asked} tables asked");
    assert!(asked > 1_000, "only {asked} tables asked");
    let findings: Vec<Findings> = knowledge.iter().map(attack).collect();
    for (known, findings) in knowledge.iter().zip(&findings) {
        eprintln!(
            "{}: {} numbers shown, {} cells hidden: {findings:?}",
            known.name,
            known.shown.len(),
            known.hidden.len()
        );
    }
    for (known, findings) in knowledge.iter().zip(findings) {
        assert!(
            findings.pinned.is_empty(),
            "{}: small cells pinned down (truth, solved): {:?}",
            known.name,
            findings.pinned
        );
        // Without noise every determined cell would come out exact; with it the
        // attack lands on the true value only by chance.
        assert!(
            findings.determined >= 10,
            "{}: the attack had too little to work on",
            known.name
        );
        assert!(
            findings.hit * 2 < findings.determined,
            "{}: the attack got {} of {} small cells right",
            known.name,
            findings.hit,
            findings.determined
        );
    }
    hub.stop().await;
}

/// Clients of one measure, one record each: per mother-tongue group, how many in each of
/// the years 2018–2025 (or quarters of 2024–2025) and how many of those had an outcome.
fn clients_by_year(
    measure: &'static str,
    per_group: &[(Tongue, [i64; 8], [i64; 8])],
    quarters: bool,
    keys: &mut Keys,
) -> Vec<ClientRow> {
    let mut rows = Vec::new();
    for (tongue, counts, outcomes) in per_group {
        for (slot, (&count, &with)) in counts.iter().zip(outcomes).enumerate() {
            let (year, quarter) = if quarters {
                (2024 + slot as i32 / 4, 1 + slot as i32 % 4)
            } else {
                (2018 + slot as i32, 1)
            };
            for index in 0..count {
                rows.push(ClientRow {
                    measure,
                    year,
                    quarter,
                    district: ITAINEN,
                    tongue: *tongue,
                    age: ADULT,
                    gender: if index % 2 == 0 { FEMALE } else { MALE },
                    outcome: index < with,
                    key: keys.key(),
                });
            }
        }
    }
    rows
}

/// What differencing a hidden cell out of a margin and the shown cells beside it gives,
/// checked against the truth: the hidden cell is really small, and every value of 1–4
/// stays possible within the published noise.
fn difference(margin: i64, shown: &[i64], truth: i64, context: &str) {
    assert!(
        (1..=4).contains(&truth),
        "{context}: the example's cell is {truth}"
    );
    let solved = margin - shown.iter().sum::<i64>();
    // Each of the numbers differenced carries noise of up to MAX_NOISE.
    let spread = MAX_NOISE * (1 + shown.len() as i64);
    let possible = (1..=4).filter(|c| (c - solved).abs() <= spread).count();
    assert_eq!(
        possible, 4,
        "{context}: differencing gives {solved}, which rules values out"
    );
}

async fn the_issues_differencing_examples_work_out_nothing(backend: Backend) {
    let Some(hub) = Hub::start_with(backend, 0).await else {
        return;
    };
    let mut keys = Keys::new(0x1550e15);
    let none = [0; 8];
    // Education, measure 4.14: RUSSIAN 10, [2], 6, 12, 8, 8, 19, 17 over 2018–2025.
    let mut clients = clients_by_year(
        "4.14",
        &[
            (RUSSIAN, [10, 2, 6, 12, 8, 8, 19, 17], none),
            (SOMALI, [9, 11, 7, 14, 6, 8, 12, 10], none),
            (ARABIC, [6, 5, 9, 7, 8, 6, 5, 11], none),
        ],
        false,
        &mut keys,
    );
    // Employment, measure 1.2: those continuing to work or education among the RUSSIAN
    // group, 2 of 9 in 2019.
    clients.extend(clients_by_year(
        "1.2",
        &[
            (
                RUSSIAN,
                [12, 9, 10, 11, 8, 13, 9, 10],
                [6, 2, 5, 7, 5, 6, 5, 8],
            ),
            (
                SOMALI,
                [10, 8, 12, 9, 7, 11, 10, 9],
                [5, 5, 6, 5, 5, 7, 6, 5],
            ),
        ],
        false,
        &mut keys,
    ));
    // Education, measure 4.4 by quarter of 2024–2025: RUSSIAN's second quarter of 2024
    // holds 3.
    clients.extend(clients_by_year(
        "4.4",
        &[
            (RUSSIAN, [9, 3, 8, 11, 7, 10, 6, 12], none),
            (SOMALI, [8, 10, 9, 7, 12, 6, 9, 8], none),
        ],
        true,
        &mut keys,
    ));
    // Culture, events of 7.5: KOILLINEN 7, [2], 5, 6, 7, 7, 8, 10 over 2018–2025.
    let mut events = Vec::new();
    for (district, counts) in [
        (KOILLINEN, [7, 2, 5, 6, 7, 7, 8, 10]),
        (ITAINEN, [6, 8, 9, 5, 7, 6, 8, 9]),
    ] {
        for (slot, count) in counts.into_iter().enumerate() {
            for index in 0..count {
                events.push(EventRow {
                    measure: "7.5",
                    year: 2018 + slot as i32,
                    quarter: 2,
                    district,
                    languages: (EventLanguages::Mixed, "MIXED"),
                    participants: 6 + index,
                    key: keys.key(),
                });
            }
        }
    }
    write_register(&hub, &clients, &events).await;

    let ask = |division: &'static str, query: String| {
        let hub = &hub;
        async move {
            let body = hub
                .query_as("gateway", &analyst(division), &query, json!({}))
                .await;
            assert!(body.get("errors").is_none(), "{query}: {body}");
            body["data"]["t"].clone()
        }
    };
    // The cells of a table by the values of the named fields, with what they publish.
    let cells = |table: &Value, fields: &[&str], counts: [&str; 2]| {
        table["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|cell| {
                let at: Vec<String> = fields.iter().map(|f| cell[*f].to_string()).collect();
                (at, published(cell, counts))
            })
            .collect::<BTreeMap<Vec<String>, Option<(i64, i64)>>>()
    };
    let truth = |measure: &str, tongue: &str, year: i32, quarter: Option<i32>| {
        clients
            .iter()
            .filter(|r| {
                r.measure == measure
                    && r.tongue.1 == tongue
                    && r.year == year
                    && quarter.is_none_or(|q| q == r.quarter)
            })
            .collect::<Vec<&ClientRow>>()
    };

    // 1. Education, 4.14: the RUSSIAN margin minus the years shown beside 2019.
    let query = |by: &str| {
        format!(
            "{{ t: clientStatistics(by: [{by}], measure: \"4.14\", outcomes: [EMPLOYED]) {{ \
             total {{ {CLIENT_CELL} }} cells {{ {CLIENT_CELL} }} }} }}"
        )
    };
    let margin = cells(
        &ask("education", query("MOTHER_TONGUE_GROUP")).await,
        &["motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let table = cells(
        &ask("education", query("YEAR, MOTHER_TONGUE_GROUP")).await,
        &["year", "motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let russian = margin[&vec!["\"RUSSIAN\"".to_owned()]].unwrap();
    let rows: Vec<&ClientRow> = clients
        .iter()
        .filter(|r| r.measure == "4.14" && r.tongue == RUSSIAN)
        .collect();
    assert_eq!(Some(russian), expected_clients(&rows));
    let mut shown = Vec::new();
    for year in 2018..=2025 {
        let cell = table[&vec![year.to_string(), "\"RUSSIAN\"".to_owned()]];
        assert_eq!(
            cell,
            expected_clients(&truth("4.14", "RUSSIAN", year, None))
        );
        match (year, cell) {
            (2019, hidden) => assert_eq!(hidden, None, "2019 must be suppressed"),
            (_, Some((clients, _))) => shown.push(clients),
            (_, None) => {}
        }
    }
    if shown.len() == 7 {
        difference(russian.0, &shown, 2, "4.14 RUSSIAN 2019");
    }

    // 2. Culture, events of 7.5: the KOILLINEN margin minus the years shown beside 2019.
    let query = |by: &str| {
        format!(
            "{{ t: eventStatistics(by: [{by}], measure: \"7.5\") {{ total {{ {EVENT_CELL} }} \
             cells {{ {EVENT_CELL} }} }} }}"
        )
    };
    let margin = cells(
        &ask("culture", query("DISTRICT")).await,
        &["district"],
        ["events", "participants"],
    );
    let table = cells(
        &ask("culture", query("YEAR, DISTRICT")).await,
        &["year", "district"],
        ["events", "participants"],
    );
    let in_district = |year: Option<i32>| {
        events
            .iter()
            .filter(|e| e.district == KOILLINEN && year.is_none_or(|y| y == e.year))
            .collect::<Vec<&EventRow>>()
    };
    let koillinen = margin[&vec!["\"KOILLINEN\"".to_owned()]].unwrap();
    assert_eq!(Some(koillinen), expected_events(&in_district(None)));
    let mut shown = Vec::new();
    for year in 2018..=2025 {
        let cell = table[&vec![year.to_string(), "\"KOILLINEN\"".to_owned()]];
        assert_eq!(cell, expected_events(&in_district(Some(year))));
        match (year, cell) {
            (2019, hidden) => assert_eq!(hidden, None, "2019 must be suppressed"),
            (_, Some((events, _))) => shown.push(events),
            (_, None) => {}
        }
    }
    if shown.len() == 7 {
        difference(koillinen.0, &shown, 2, "7.5 KOILLINEN 2019");
    }

    // 3. Employment, 1.2: those with an outcome, the same way.
    let query = |by: &str| {
        format!(
            "{{ t: clientStatistics(by: [{by}], measure: \"1.2\", outcomes: [EMPLOYED]) {{ \
             total {{ {CLIENT_CELL} }} cells {{ {CLIENT_CELL} }} }} }}"
        )
    };
    let margin = cells(
        &ask("employment", query("MOTHER_TONGUE_GROUP")).await,
        &["motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let table = cells(
        &ask("employment", query("YEAR, MOTHER_TONGUE_GROUP")).await,
        &["year", "motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let russian = margin[&vec!["\"RUSSIAN\"".to_owned()]].unwrap();
    let mut shown = Vec::new();
    for year in 2018..=2025 {
        let cell = table[&vec![year.to_string(), "\"RUSSIAN\"".to_owned()]];
        assert_eq!(cell, expected_clients(&truth("1.2", "RUSSIAN", year, None)));
        match (year, cell) {
            (2019, hidden) => assert_eq!(hidden, None, "2019 must be suppressed"),
            (_, Some((_, with))) => shown.push(with),
            (_, None) => {}
        }
    }
    if shown.len() == 7 {
        difference(russian.1, &shown, 2, "1.2 RUSSIAN with an outcome in 2019");
    }

    // 4. Education, 4.4 by quarter, and a filtered table against an unfiltered one: the
    // same cells publish the same numbers whichever table holds them, so no table says
    // more about the hidden quarter than any other.
    let filtered = cells(
        &ask(
            "education",
            format!(
                "{{ t: clientStatistics(by: [QUARTER, MOTHER_TONGUE_GROUP], measure: \"4.4\", \
                 outcomes: [EMPLOYED]) \
                 {{ total {{ {CLIENT_CELL} }} cells {{ {CLIENT_CELL} }} }} }}"
            ),
        )
        .await,
        &["year", "quarter", "motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let unfiltered = cells(
        &ask(
            "education",
            format!(
                "{{ t: clientStatistics(by: [MEASURE, QUARTER, MOTHER_TONGUE_GROUP], \
                 outcomes: [EMPLOYED]) \
                 {{ total {{ {CLIENT_CELL} }} cells {{ {CLIENT_CELL} }} }} }}"
            ),
        )
        .await,
        &["measureId", "year", "quarter", "motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let margin = cells(
        &ask(
            "education",
            format!(
                "{{ t: clientStatistics(by: [MEASURE, MOTHER_TONGUE_GROUP], outcomes: [EMPLOYED]) \
                 {{ total {{ {CLIENT_CELL} }} cells {{ {CLIENT_CELL} }} }} }}"
            ),
        )
        .await,
        &["measureId", "motherTongueGroup"],
        ["clients", "withOutcome"],
    );
    let mut compared = 0;
    for (at, published) in &filtered {
        let mut wide = vec!["\"4.4\"".to_owned()];
        wide.extend(at.iter().cloned());
        assert_eq!(unfiltered.get(&wide), Some(published), "{at:?}");
        compared += 1;
    }
    assert!(compared >= 16, "{compared} cells compared");
    let russian = margin[&vec!["\"4.4\"".to_owned(), "\"RUSSIAN\"".to_owned()]].unwrap();
    let mut shown = Vec::new();
    for slot in 0..8 {
        let (year, quarter) = (2024 + slot / 4, 1 + slot % 4);
        let cell = filtered[&vec![
            year.to_string(),
            quarter.to_string(),
            "\"RUSSIAN\"".to_owned(),
        ]];
        assert_eq!(
            cell,
            expected_clients(&truth("4.4", "RUSSIAN", year, Some(quarter)))
        );
        match ((year, quarter), cell) {
            ((2024, 2), hidden) => assert_eq!(hidden, None, "2024 Q2 must be suppressed"),
            (_, Some((clients, _))) => shown.push(clients),
            (_, None) => {}
        }
    }
    if shown.len() == 7 {
        difference(russian.0, &shown, 3, "4.4 RUSSIAN in 2024 Q2");
    }
    hub.stop().await;
}
