//! The copy of the register's client facts, and the one pass that counts a breakdown
//! from it. Each column holds a small code per fact; each client's facts lie side by
//! side, so a client is counted once in each cell it falls in by looking at its own few
//! facts, with no set of clients seen per cell.

use std::collections::HashMap;

use sea_orm::DbErr;

use crate::statistics::{ClientDimension, Value};

/// Most cells counted in one array indexed by cell; a finer grid of possible cells is
/// counted in a map, since most of its cells are empty.
const DENSE_CELLS: u64 = 1 << 18;

/// The stored dimensions, in the order of the columns that hold them; the outcome's
/// column and the kind of record's come after them.
pub(super) const DIMENSIONS: [ClientDimension; 10] = [
    ClientDimension::Measure,
    ClientDimension::Division,
    ClientDimension::Body,
    ClientDimension::Year,
    ClientDimension::Quarter,
    ClientDimension::District,
    ClientDimension::MotherTongueGroup,
    ClientDimension::AgeGroup,
    ClientDimension::Gender,
    ClientDimension::Background,
];

/// The columns: the dimensions', the outcome's, the kind of record's.
pub(super) const COLUMNS: usize = DIMENSIONS.len() + 2;

/// The outcome's column. Its value is an empty text for a fact that is not an outcome.
pub(super) const OUTCOME: usize = DIMENSIONS.len();

/// The kind of record's column (`client_fact::record_name`).
pub(super) const RECORD: usize = DIMENSIONS.len() + 1;

/// What a breakdown asks: whose facts, which of them, counted by what.
#[derive(Default)]
pub struct Question {
    /// The divisions whose facts may be counted; `None` for the whole city.
    pub divisions: Option<Vec<String>>,
    pub measure: Option<String>,
    pub division: Option<String>,
    pub year: Option<i32>,
    /// Which facts count beyond measure, division and year.
    pub selection: Selection,
    /// Who of the clients counted the second count counts.
    pub second: Second,
    pub by: Vec<ClientDimension>,
}

/// Which facts a question counts, beyond its measure, division and year; an empty list
/// keeps every value.
#[derive(Default, Clone, Debug)]
pub struct Selection {
    /// Facts of this responsible body only.
    pub body: Option<String>,
    /// Facts of these kinds of record (`client_fact::record_is`).
    pub records: Vec<String>,
    /// Facts about clients of these mother-tongue groups, backgrounds, age groups.
    pub tongues: Vec<String>,
    pub backgrounds: Vec<String>,
    pub age_groups: Vec<String>,
}

/// Who of the counted clients the second count counts.
#[derive(Default, Clone, Debug)]
pub enum Second {
    /// Nobody.
    #[default]
    Nobody,
    /// Those with one of these outcomes among their counted facts.
    Outcomes(Vec<String>),
    /// Those with a counted fact that also passes this selection.
    Also(Selection),
    /// Those with a fact that is one of these outcomes or kinds of record, of any
    /// measure in the asker's divisions, from the month one of their counted facts
    /// ended (or happened) to `months` after it: "in work within six months of the
    /// service". The client is counted in the cells of the facts it follows.
    FollowUp {
        outcomes: Vec<String>,
        records: Vec<String>,
        months: u16,
    },
}

/// Counts of distinct clients and sums of their record keys: of all the clients
/// counted, and of those with an asked outcome.
pub type Counts = [(i64, i64); 2];

/// What [`Facts::count`] found: the total, and every cell that counts anyone, with its
/// value in each asked dimension.
pub struct Answer {
    pub total: Counts,
    pub cells: Vec<(Vec<Value>, Counts)>,
}

/// Codes for the values of one column, given as values are first met; a code never
/// changes, so a copy made later extends an earlier one's.
#[derive(Clone)]
pub(super) struct Dictionary {
    pub(super) values: Vec<Value>,
    codes: HashMap<Value, u16>,
}

impl Dictionary {
    pub(super) fn new() -> Self {
        Self {
            values: Vec::new(),
            codes: HashMap::new(),
        }
    }

    pub(super) fn code(&mut self, value: Value) -> Result<u16, DbErr> {
        if let Some(&code) = self.codes.get(&value) {
            return Ok(code);
        }
        let code = u16::try_from(self.values.len()).map_err(|_| {
            DbErr::Custom(
                "a column of the statistics register has more than 65,535 distinct values"
                    .to_owned(),
            )
        })?;
        self.values.push(value.clone());
        self.codes.insert(value, code);
        Ok(code)
    }
}

/// Every column's dictionary.
pub(super) type Dictionaries = [Dictionary; COLUMNS];

/// Client ids in order, packed into one string.
#[derive(Default)]
pub(super) struct ClientIds {
    text: String,
    ends: Vec<u32>,
}

impl ClientIds {
    pub(super) fn push(&mut self, id: &str) {
        self.text.push_str(id);
        self.ends
            .push(u32::try_from(self.text.len()).expect("client ids take under 4 GiB"));
    }

    pub(super) fn get(&self, client: usize) -> &str {
        let start = client.checked_sub(1).map_or(0, |before| self.ends[before]) as usize;
        &self.text[start..self.ends[client] as usize]
    }

    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }
}

/// Facts grouped by client, clients in the order of their ids.
#[derive(Default)]
pub(super) struct Runs {
    pub(super) ids: ClientIds,
    /// Where each client's facts begin; one more entry than clients, the last being the
    /// number of facts.
    pub(super) starts: Vec<u32>,
    /// Each client's record key.
    pub(super) keys: Vec<i64>,
    /// Each column's code of each fact.
    pub(super) codes: [Vec<u16>; COLUMNS],
    /// The month each fact happened, and the month its period ended (the same month for
    /// a fact that is no period), counted from January 1900.
    pub(super) months: Vec<u16>,
    pub(super) ends: Vec<u16>,
}

impl Runs {
    pub(super) fn facts(&self) -> usize {
        self.codes[OUTCOME].len()
    }

    /// The facts of `client`.
    pub(super) fn of(&self, client: usize) -> std::ops::Range<usize> {
        self.starts[client] as usize..self.starts[client + 1] as usize
    }
}

/// The register's client facts as of one version of it.
pub struct Facts {
    pub(super) version: i64,
    pub(super) dictionaries: Dictionaries,
    pub(super) runs: Runs,
}

impl Facts {
    /// How many facts the copy holds.
    pub fn len(&self) -> usize {
        self.runs.facts()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many clients have facts.
    pub fn clients(&self) -> usize {
        self.runs.ids.len()
    }

    /// The memory the copy's columns take, in bytes.
    pub fn bytes(&self) -> usize {
        let runs = &self.runs;
        runs.ids.text.capacity()
            + 4 * (runs.ids.ends.capacity() + runs.starts.capacity())
            + 8 * runs.keys.capacity()
            + runs.codes.iter().map(|c| 2 * c.capacity()).sum::<usize>()
            + 2 * (runs.months.capacity() + runs.ends.capacity())
    }

    fn column(dimension: ClientDimension) -> usize {
        DIMENSIONS
            .iter()
            .position(|d| *d == dimension)
            .expect("every dimension is stored")
    }

    /// Which codes of `dimension` pass `keep`.
    fn mask(&self, dimension: ClientDimension, keep: impl Fn(&Value) -> bool) -> Filter<'_> {
        self.mask_column(Self::column(dimension), keep)
    }

    /// Which codes of the column `column` pass `keep`.
    fn mask_column(&self, column: usize, keep: impl Fn(&Value) -> bool) -> Filter<'_> {
        (
            &self.runs.codes[column],
            self.dictionaries[column].values.iter().map(keep).collect(),
        )
    }

    /// The filters a selection puts on each fact.
    fn selecting(&self, selection: &Selection) -> Vec<Filter<'_>> {
        let mut filters = Vec::new();
        if let Some(body) = &selection.body {
            filters.push(self.mask(ClientDimension::Body, text_in(vec![body])));
        }
        if !selection.records.is_empty() {
            filters.push(self.mask_column(RECORD, record_in(&selection.records)));
        }
        for (dimension, kept) in [
            (ClientDimension::MotherTongueGroup, &selection.tongues),
            (ClientDimension::Background, &selection.backgrounds),
            (ClientDimension::AgeGroup, &selection.age_groups),
        ] {
            if !kept.is_empty() {
                let kept = kept.iter().map(String::as_str).collect();
                filters.push(self.mask(dimension, text_in(kept)));
            }
        }
        filters
    }

    /// Counts the distinct clients the question selects, in total and in each cell of
    /// its dimensions, each with the sum of their record keys; the same again for those
    /// the second count counts.
    pub fn count(&self, question: &Question) -> Answer {
        self.count_within(question, DENSE_CELLS)
    }

    /// [`Facts::count`], counting in an array when the grid has at most `dense_cells`.
    fn count_within(&self, question: &Question, dense_cells: u64) -> Answer {
        let mut scope: Vec<Filter<'_>> = Vec::new();
        if let Some(divisions) = &question.divisions {
            let divisions = divisions.iter().map(String::as_str).collect();
            scope.push(self.mask(ClientDimension::Division, text_in(divisions)));
        }
        let mut filters: Vec<Filter<'_>> = self.selecting(&question.selection);
        if let Some(measure) = &question.measure {
            filters.push(self.mask(ClientDimension::Measure, text_in(vec![measure])));
        }
        if let Some(division) = &question.division {
            filters.push(self.mask(ClientDimension::Division, text_in(vec![division])));
        }
        if let Some(year) = question.year {
            filters.push(self.mask(ClientDimension::Year, |value| *value == Value::Number(year)));
        }
        let second = match &question.second {
            Second::Nobody => SecondTest::Nobody,
            Second::Outcomes(outcomes) => {
                let outcomes = outcomes.iter().map(String::as_str).collect();
                SecondTest::Same(vec![self.mask_column(OUTCOME, text_in(outcomes))])
            }
            Second::Also(selection) => SecondTest::Same(self.selecting(selection)),
            Second::FollowUp {
                outcomes,
                records,
                months,
            } => {
                let outcomes: Vec<&str> = outcomes.iter().map(String::as_str).collect();
                let outcome = self.mask_column(OUTCOME, text_in(outcomes));
                let record = self.mask_column(RECORD, record_in(records));
                let followed: Vec<bool> = (0..self.len())
                    .map(|fact| {
                        outcome.1[usize::from(outcome.0[fact])]
                            || record.1[usize::from(record.0[fact])]
                    })
                    .collect();
                SecondTest::Later {
                    followed,
                    months: *months,
                }
            }
        };

        // A cell's number: each dimension's code, the last dimension varying fastest.
        let columns: Vec<usize> = question.by.iter().map(|d| Self::column(*d)).collect();
        let sizes: Vec<u64> = columns
            .iter()
            .map(|&c| self.dictionaries[c].values.len().max(1) as u64)
            .collect();
        let mut strides = vec![1u64; columns.len()];
        let mut cells = 1u64;
        for at in (0..columns.len()).rev() {
            strides[at] = cells;
            cells = cells.saturating_mul(sizes[at]);
        }
        let grouping: Vec<(&[u16], u64)> = columns
            .iter()
            .zip(&strides)
            .map(|(&column, &stride)| (self.runs.codes[column].as_slice(), stride))
            .collect();

        let mut tally = Tally::new(cells, dense_cells);
        let mut total: Counts = [(0, 0); 2];
        let mut seen: Vec<u64> = Vec::new();
        let mut seen_with_outcome: Vec<u64> = Vec::new();
        let passes = |filters: &[Filter<'_>], fact: usize| {
            filters
                .iter()
                .all(|(codes, keep)| keep[usize::from(codes[fact])])
        };
        for (client, &key) in self.runs.keys.iter().enumerate() {
            seen.clear();
            seen_with_outcome.clear();
            let facts = self.runs.of(client);
            for fact in facts.clone() {
                if !passes(&scope, fact) || !passes(&filters, fact) {
                    continue;
                }
                let cell: u64 = grouping
                    .iter()
                    .map(|(codes, stride)| u64::from(codes[fact]) * stride)
                    .sum();
                seen.push(cell);
                let second = match &second {
                    SecondTest::Nobody => false,
                    SecondTest::Same(also) => passes(also, fact),
                    SecondTest::Later { followed, months } => {
                        let (from, months_after) = (self.runs.ends[fact], *months);
                        facts.clone().any(|later| {
                            followed[later]
                                && passes(&scope, later)
                                && (from..=from.saturating_add(months_after))
                                    .contains(&self.runs.months[later])
                        })
                    }
                };
                if second {
                    seen_with_outcome.push(cell);
                }
            }
            // Each client once in the total and once in each cell it falls in.
            for (count, cells) in [(0, &mut seen), (1, &mut seen_with_outcome)] {
                if cells.is_empty() {
                    continue;
                }
                total[count].0 += 1;
                total[count].1 += key;
                cells.sort_unstable();
                cells.dedup();
                for &cell in cells.iter() {
                    let counts = tally.at(cell);
                    counts[count].0 += 1;
                    counts[count].1 += key;
                }
            }
        }

        let cells = tally
            .into_counted()
            .into_iter()
            .map(|(cell, counts)| {
                let values = columns
                    .iter()
                    .zip(strides.iter().zip(&sizes))
                    .map(|(&column, (&stride, &size))| {
                        let code = (cell / stride) % size;
                        self.dictionaries[column].values[code as usize].clone()
                    })
                    .collect();
                (values, counts)
            })
            .collect();
        Answer { total, cells }
    }
}

/// Whether a value is one of the texts listed.
fn text_in<'a>(list: Vec<&'a str>) -> impl Fn(&Value) -> bool + 'a {
    move |value| matches!(value, Value::Text(text) if list.contains(&text.as_str()))
}

/// Whether a value is a kind of record one of `wanted` names.
fn record_in(wanted: &[String]) -> impl Fn(&Value) -> bool + '_ {
    move |value| {
        matches!(value, Value::Text(record)
            if wanted.iter().any(|w| crate::entity::client_fact::record_is(record, w)))
    }
}

/// How the second count tests a counted fact.
enum SecondTest<'a> {
    Nobody,
    /// The fact passes these filters too.
    Same(Vec<Filter<'a>>),
    /// A fact of the client's that `followed` marks happened within `months` after it.
    Later {
        followed: Vec<bool>,
        months: u16,
    },
}

/// A filter on one dimension: each fact's code in it, and whether each code passes.
type Filter<'a> = (&'a [u16], Vec<bool>);

/// The counts of every cell, kept by cell number.
enum Tally {
    Dense(Vec<Counts>),
    Sparse(HashMap<u64, Counts>),
}

impl Tally {
    fn new(cells: u64, dense_cells: u64) -> Self {
        if cells <= dense_cells {
            Self::Dense(vec![[(0, 0); 2]; cells as usize])
        } else {
            Self::Sparse(HashMap::new())
        }
    }

    fn at(&mut self, cell: u64) -> &mut Counts {
        match self {
            Self::Dense(counts) => &mut counts[cell as usize],
            Self::Sparse(counts) => counts.entry(cell).or_insert([(0, 0); 2]),
        }
    }

    /// The cells that count anyone, by number.
    fn into_counted(self) -> Vec<(u64, Counts)> {
        match self {
            Self::Dense(counts) => counts
                .into_iter()
                .enumerate()
                .filter(|(_, counts)| counts[0].0 > 0)
                .map(|(cell, counts)| (cell as u64, counts))
                .collect(),
            Self::Sparse(counts) => counts.into_iter().collect(),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::register::reading::Reading;

    /// A fact: client, measure, division, year, quarter, district, outcome.
    pub(crate) type Row = (
        &'static str,
        &'static str,
        &'static str,
        i32,
        i32,
        &'static str,
        Option<&'static str>,
    );

    /// Each client's record key in the tests: made from its id.
    pub(crate) fn key(client: &str) -> i64 {
        1_000 + 37 * client.bytes().map(i64::from).sum::<i64>()
    }

    /// A fact packed as the register hands it over: its body named after its division,
    /// its kind of record the outcome's table or a plain record, in its quarter's first
    /// month.
    pub(crate) fn packed(row: &Row, key: i64) -> String {
        let (client, measure, division, year, quarter, district, outcome) = *row;
        let month = (year - 1900) * 12 + (quarter - 1) * 3;
        let record = match outcome {
            Some(outcome) => format!("outcomes:{outcome}"),
            None => "records".to_owned(),
        };
        let outcome = outcome.unwrap_or_default();
        format!(
            "{client}|{key}|{month}|{month}|{measure}|{division}|body-of-{division}|{year}|\
             {quarter}|{district}|other|30-64|female|immigrant|{outcome}|{record}"
        )
    }

    pub(crate) fn facts(rows: &[Row]) -> Facts {
        let mut reading = Reading::new(std::array::from_fn(|_| Dictionary::new()));
        for row in rows {
            reading
                .push(&packed(row, key(row.0)))
                .expect("a well-formed fact");
        }
        let (dictionaries, runs) = reading.finish();
        Facts {
            version: 1,
            dictionaries,
            runs,
        }
    }

    /// The same counts worked out the slow way: the set of clients in each cell.
    fn by_sets(
        rows: &[Row],
        keep: impl Fn(&Row) -> bool,
        cell: impl Fn(&Row) -> Vec<Value>,
        outcomes: &[&str],
    ) -> (Counts, BTreeMap<Vec<Value>, Counts>) {
        let mut sets: BTreeMap<Vec<Value>, [BTreeSet<&str>; 2]> = BTreeMap::new();
        let mut total: [BTreeSet<&str>; 2] = Default::default();
        for row in rows.iter().filter(|row| keep(row)) {
            let entry = sets.entry(cell(row)).or_default();
            entry[0].insert(row.0);
            total[0].insert(row.0);
            if row.6.is_some_and(|o| outcomes.contains(&o)) {
                entry[1].insert(row.0);
                total[1].insert(row.0);
            }
        }
        let counts = |sets: &[BTreeSet<&str>; 2]| -> Counts {
            std::array::from_fn(|i| {
                (
                    sets[i].len() as i64,
                    sets[i].iter().map(|client| key(client)).sum(),
                )
            })
        };
        (
            counts(&total),
            sets.iter()
                .map(|(cell, sets)| (cell.clone(), counts(sets)))
                .collect(),
        )
    }

    pub(crate) const ROWS: [Row; 10] = [
        (
            "a",
            "1.1",
            "employment",
            2019,
            1,
            "central",
            Some("employed"),
        ),
        ("a", "1.1", "employment", 2019, 2, "central", None),
        (
            "a",
            "4.4",
            "education",
            2019,
            3,
            "central",
            Some("vocational_education"),
        ),
        ("b", "1.1", "employment", 2019, 1, "eastern", None),
        (
            "b",
            "1.1",
            "employment",
            2020,
            1,
            "eastern",
            Some("employed"),
        ),
        ("c", "4.4", "education", 2020, 4, "southern", None),
        (
            "d",
            "1.1",
            "employment",
            2019,
            1,
            "central",
            Some("employed"),
        ),
        ("a", "1.1", "employment", 2020, 2, "central", None),
        (
            "e",
            "9.5",
            "social",
            2021,
            1,
            "northern",
            Some("child_welfare_ended"),
        ),
        (
            "c",
            "1.1",
            "employment",
            2021,
            1,
            "southern",
            Some("employed"),
        ),
    ];

    /// A question about every client, employed or not, by `by`.
    pub(crate) fn everyone_by(by: Vec<ClientDimension>) -> Question {
        Question {
            second: Second::Outcomes(vec!["employed".to_owned()]),
            by,
            ..Question::default()
        }
    }

    pub(crate) fn counted(answer: Answer) -> (Counts, BTreeMap<Vec<Value>, Counts>) {
        (answer.total, answer.cells.into_iter().collect())
    }

    fn text(value: &str) -> Value {
        Value::Text(value.to_owned())
    }

    #[test]
    fn a_client_is_counted_once_in_each_cell_and_once_in_the_total() {
        let facts = facts(&ROWS);
        let question = everyone_by(vec![ClientDimension::Measure, ClientDimension::Year]);
        let expected = by_sets(
            &ROWS,
            |_| true,
            |row| vec![text(row.1), Value::Number(row.3)],
            &["employed"],
        );
        let (total, cells) = counted(facts.count(&question));
        assert_eq!((total, &cells), (expected.0, &expected.1));
        // Five clients, four of them employed (c in 2021, b in 2020).
        assert_eq!((total[0].0, total[1].0), (5, 4));
        // Client a has three facts of 1.1 over two years: once in each year's cell, with
        // b and d in 2019's.
        let cell = |year| cells[&vec![text("1.1"), Value::Number(year)]][0].0;
        assert_eq!((cell(2019), cell(2020)), (3, 2));
    }

    #[test]
    fn filters_and_the_scope_leave_out_what_they_do_not_select() {
        let facts = facts(&ROWS);
        let question = Question {
            divisions: Some(vec!["employment".to_owned(), "social".to_owned()]),
            year: Some(2019),
            second: Second::Outcomes(vec![
                "employed".to_owned(),
                "vocational_education".to_owned(),
            ]),
            by: vec![ClientDimension::District, ClientDimension::Quarter],
            ..Question::default()
        };
        let expected = by_sets(
            &ROWS,
            |row| ["employment", "social"].contains(&row.2) && row.3 == 2019,
            |row| vec![text(row.5), Value::Quarter(row.3, row.4)],
            &["employed", "vocational_education"],
        );
        let answer = counted(facts.count(&question));
        assert_eq!(answer, expected);
        // Client a's vocational education is the education division's, out of scope.
        let [a, b, d] = ["a", "b", "d"].map(key);
        assert_eq!(answer.0, [(3, a + b + d), (2, a + d)]);
    }

    #[test]
    fn a_filter_nothing_passes_counts_nobody() {
        let facts = facts(&ROWS);
        let answer = facts.count(&Question {
            divisions: Some(vec!["culture".to_owned()]),
            measure: Some("1.1".to_owned()),
            by: vec![ClientDimension::Gender],
            ..Question::default()
        });
        assert_eq!(answer.total, [(0, 0); 2]);
        assert!(answer.cells.is_empty());
    }

    /// Facts packed by hand: client, months (happened, ended), body, mother tongue,
    /// outcome, kind of record; all of measure 9.5 in 2020's first quarter.
    fn written(rows: &[(&str, u16, u16, &str, &str, &str, &str)]) -> Facts {
        let mut reading = Reading::new(std::array::from_fn(|_| Dictionary::new()));
        for (client, month, ended, body, tongue, outcome, record) in rows {
            reading
                .push(&format!(
                    "{client}|{}|{month}|{ended}|9.5|social|{body}|2020|1|central|{tongue}|\
                     30-64|female|immigrant|{outcome}|{record}",
                    key(client)
                ))
                .expect("a well-formed fact");
        }
        let (dictionaries, runs) = reading.finish();
        Facts {
            version: 1,
            dictionaries,
            runs,
        }
    }

    #[test]
    fn a_follow_up_counts_an_outcome_only_within_its_months_after_the_end() {
        const ENDED: &str = "social_outcomes:child_welfare_ended";
        // Periods of January to July 2020 (months 1440 to 1446 since 1900).
        let facts = written(&[
            // Ended four months after the period: within six.
            ("p", 1440, 1446, "helmi", "ar", "", "support_periods:helmi"),
            ("p", 1450, 1450, "helmi", "ar", "child_welfare_ended", ENDED),
            // Nine months after: within twelve, not six.
            ("q", 1440, 1446, "helmi", "so", "", "support_periods:helmi"),
            ("q", 1455, 1455, "helmi", "so", "child_welfare_ended", ENDED),
            // Before the period began.
            ("r", 1440, 1446, "helmi", "fi", "", "support_periods:helmi"),
            ("r", 1438, 1438, "helmi", "fi", "child_welfare_ended", ENDED),
            // Another body's period.
            (
                "s",
                1440,
                1446,
                "division",
                "ar",
                "",
                "support_periods:helmi",
            ),
            (
                "s",
                1447,
                1447,
                "division",
                "ar",
                "child_welfare_ended",
                ENDED,
            ),
            // In the month the period ended, recorded by another body.
            ("t", 1443, 1449, "helmi", "ru", "", "support_periods:helmi"),
            (
                "t",
                1449,
                1449,
                "division",
                "ru",
                "child_welfare_ended",
                ENDED,
            ),
        ]);
        let follow_up = |months| Question {
            selection: Selection {
                body: Some("helmi".to_owned()),
                records: vec!["support_periods".to_owned()],
                ..Selection::default()
            },
            second: Second::FollowUp {
                outcomes: vec!["child_welfare_ended".to_owned()],
                records: Vec::new(),
                months,
            },
            by: vec![ClientDimension::Year],
            ..Question::default()
        };
        let clients = |answer: Answer| (answer.total[0].0, answer.total[1].0);
        // Helmi's periods: p, q, r and t; followed within six months: p and t.
        assert_eq!(clients(facts.count(&follow_up(6))), (4, 2));
        assert_eq!(clients(facts.count(&follow_up(12))), (4, 3));
        assert_eq!(clients(facts.count(&follow_up(0))), (4, 1));
        // Out of the asker's divisions, the outcome is not there to follow.
        let scoped = Question {
            divisions: Some(vec!["employment".to_owned()]),
            ..follow_up(6)
        };
        assert_eq!(clients(facts.count(&scoped)), (0, 0));
    }

    #[test]
    fn a_second_selection_and_a_kind_of_record_pick_facts_by_their_own_values() {
        let facts = written(&[
            ("a", 1440, 1440, "ohjaamo", "ar", "", "guidance_sessions"),
            ("b", 1440, 1440, "ohjaamo", "fi", "", "guidance_sessions"),
            ("c", 1441, 1441, "ohjaamo", "so", "", "service_paths"),
            ("d", 1441, 1441, "ohjaamo", "sv", "", "service_paths"),
            ("e", 1442, 1442, "typ", "ar", "", "guidance_sessions"),
        ]);
        let foreign = Selection {
            tongues: ["ar", "so", "ru"].map(str::to_owned).to_vec(),
            ..Selection::default()
        };
        let question = Question {
            selection: Selection {
                body: Some("ohjaamo".to_owned()),
                ..Selection::default()
            },
            second: Second::Also(foreign),
            ..Question::default()
        };
        // Ohjaamo's a, b, c, d; of them a and c speak neither Finnish nor Swedish.
        let answer = facts.count(&question);
        let [a, c] = ["a", "c"].map(key);
        assert_eq!(answer.total[1], (2, a + c));
        assert_eq!(answer.total[0].0, 4);
        let paths = Question {
            selection: Selection {
                records: vec!["service_paths".to_owned()],
                ..Selection::default()
            },
            ..Question::default()
        };
        assert_eq!(facts.count(&paths).total[0].0, 2);
        // A table's name takes in its kinds, but a name is not a prefix of another's.
        let prefixed = Question {
            selection: Selection {
                records: vec!["service".to_owned()],
                ..Selection::default()
            },
            ..Question::default()
        };
        assert_eq!(facts.count(&prefixed).total[0].0, 0);
    }

    #[test]
    fn a_fine_grid_is_counted_in_a_map_with_the_same_result() {
        let measures = ["1.1", "1.2", "1.3", "4.4", "9.5"];
        let mut rows = Vec::new();
        for i in 0..300usize {
            let client: &'static str = Box::leak(format!("c{i}").into_boxed_str());
            for j in 0..3 {
                rows.push((
                    client,
                    measures[(i + j) % measures.len()],
                    "employment",
                    2000 + ((i * 7 + j) % 60) as i32,
                    1 + ((i + j) % 4) as i32,
                    ["central", "eastern", "southern"][(i * j) % 3],
                    (j == 1).then_some("employed"),
                ));
            }
        }
        let facts = facts(&rows);
        let question = everyone_by(vec![
            ClientDimension::Quarter,
            ClientDimension::Measure,
            ClientDimension::District,
        ]);
        let expected = by_sets(
            &rows,
            |_| true,
            |row| vec![Value::Quarter(row.3, row.4), text(row.1), text(row.5)],
            &["employed"],
        );
        // Hundreds of quarters by five measures by three districts: more possible cells
        // than an array of 100 holds, so they are counted in the map.
        assert_eq!(counted(facts.count_within(&question, 100)), expected);
        assert_eq!(counted(facts.count(&question)), expected);
    }
}
