//! Reading an import file into rows, before any row is checked: CSV (UTF-8, a header row,
//! `;` or `,` between fields as the header shows, RFC 4180 quoting) or JSON Lines (one
//! object per line). Every row keeps its line number in the file, which is what a rejects
//! file and a person fixing the file go by; a row that cannot be read is rejected on its
//! own and the others are still read.

use std::collections::BTreeMap;

use super::Rejected;

/// How an import file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The format a file name says: `.csv`, or `.jsonl` / `.ndjson`.
    pub fn of_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            Some(Format::JsonLines)
        } else {
            None
        }
    }
}

/// One row of a file: its line and its fields by column name, as text. An empty CSV cell
/// and a JSON `null` are both absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: usize,
    pub fields: BTreeMap<String, String>,
}

impl Row {
    /// The field `column`, when it has a value.
    pub fn get(&self, column: &str) -> Option<&str> {
        self.fields.get(column).map(String::as_str)
    }

    /// The field `column`; a fault when it has no value.
    pub fn required(&self, column: &str, faults: &mut Vec<Rejected>) -> Option<&str> {
        let value = self.get(column);
        if value.is_none() {
            faults.push(Rejected::at(self.line, column, "missing"));
        }
        value
    }

    /// What every kind checks first: a fault for each column that is not one of the
    /// kind's `columns`, and the source record id, which must be there and fit.
    pub fn source_id(
        &self,
        kind: &str,
        columns: &[&str],
        faults: &mut Vec<Rejected>,
    ) -> Option<&str> {
        for column in self.fields.keys() {
            if !columns.contains(&column.as_str()) {
                faults.push(Rejected::at(
                    self.line,
                    column,
                    format!("not a column of {kind}; they are {}", columns.join(", ")),
                ));
            }
        }
        let source_id = self.required("source_id", faults);
        if source_id.is_some_and(|id| id.chars().count() > 64) {
            faults.push(Rejected::at(
                self.line,
                "source_id",
                "longer than 64 characters",
            ));
        }
        source_id
    }
}

/// The file as a whole cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("the file has no header row")]
    NoHeader,
    #[error("the header names the column {0:?} twice")]
    RepeatedColumn(String),
    #[error("a quoted field in the header is not closed")]
    OpenQuote,
    #[error("the file is not UTF-8 (line {0}): save it as UTF-8 and import it again")]
    NotUtf8(usize),
}

/// The rows of the file `bytes`, and the rows that could not be read, all at once.
pub fn read(bytes: &[u8], format: Format) -> Result<(Vec<Row>, Vec<Rejected>), Unreadable> {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for row in Reader::open(bytes, format)? {
        match row {
            Ok(row) => rows.push(row),
            Err(fault) => rejected.push(fault),
        }
    }
    Ok((rows, rejected))
}

/// A file read a row at a time, so that an import holds one batch of rows and not the
/// whole file's. Each item is a row, or why the row at that line could not be read.
pub struct Reader<'a> {
    source: Source<'a>,
    /// The length of the text, for how far the reading has come.
    length: usize,
}

enum Source<'a> {
    Csv {
        records: Records<'a>,
        columns: Vec<String>,
    },
    JsonLines {
        text: &'a str,
        /// Where the next line starts.
        at: usize,
        line: usize,
    },
}

impl<'a> Reader<'a> {
    /// Opens the file `bytes`, reading its header. A file that is not UTF-8 is refused
    /// whole: read another way, its names would be stored garbled.
    pub fn open(bytes: &'a [u8], format: Format) -> Result<Reader<'a>, Unreadable> {
        let text = std::str::from_utf8(bytes).map_err(|error| {
            let before = &bytes[..error.valid_up_to()];
            Unreadable::NotUtf8(before.iter().filter(|&&b| b == b'\n').count() + 1)
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let source = match format {
            Format::Csv => {
                let (records, columns) = open_csv(text)?;
                Source::Csv { records, columns }
            }
            Format::JsonLines => Source::JsonLines {
                text,
                at: 0,
                line: 0,
            },
        };
        Ok(Reader {
            source,
            length: text.len(),
        })
    }

    /// How much of the file has been read, from 0 to 1.
    pub fn progress(&self) -> f64 {
        let at = match &self.source {
            Source::Csv { records, .. } => records.at,
            Source::JsonLines { at, .. } => *at,
        };
        if self.length == 0 {
            1.0
        } else {
            at as f64 / self.length as f64
        }
    }
}

impl Iterator for Reader<'_> {
    type Item = Result<Row, Rejected>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Csv { records, columns } => loop {
                let record = records.next()?;
                if let Some(read) = csv_row(record, columns) {
                    return Some(read);
                }
            },
            Source::JsonLines { text, at, line } => loop {
                if *at >= text.len() {
                    return None;
                }
                let rest = &text[*at..];
                let end = rest.find('\n').map_or(rest.len(), |i| i + 1);
                let content = rest[..end].trim_end_matches(['\n', '\r']);
                *at += end;
                *line += 1;
                if !content.trim().is_empty() {
                    return Some(json_row(content, *line));
                }
            },
        }
    }
}

/// One line of JSON Lines as a row.
fn json_row(line: &str, number: usize) -> Result<Row, Rejected> {
    let object = match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => object,
        Ok(_) => return Err(Rejected::row(number, "the line is not a JSON object")),
        Err(e) => return Err(Rejected::row(number, format!("the line is not JSON: {e}"))),
    };
    let mut fields = BTreeMap::new();
    for (column, value) in object {
        let text = match value {
            serde_json::Value::Null => continue,
            serde_json::Value::String(text) => text,
            serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
            serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                return Err(Rejected::at(
                    number,
                    &column,
                    "a field is a single value, not a list or an object",
                ));
            }
        };
        fields.insert(column, text);
    }
    Ok(Row {
        line: number,
        fields,
    })
}

/// One CSV record as it was read: its fields and the line it started on.
struct Record {
    line: usize,
    fields: Vec<String>,
    /// A quote was opened and the file ended before it closed.
    open_quote: bool,
}

/// The records of a CSV text, a quoted field running over line breaks.
struct Records<'a> {
    text: &'a str,
    separator: char,
    /// The byte where the next record starts.
    at: usize,
    /// The line the next record starts on.
    line: usize,
}

impl Iterator for Records<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let start = self.line;
        let mut chars = self.text[self.at..].char_indices().peekable();
        while let Some((offset, c)) = chars.next() {
            match c {
                '"' if quoted => {
                    if chars.peek().map(|(_, c)| *c) == Some('"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                }
                '"' if field.is_empty() => quoted = true,
                '\n' if quoted => {
                    self.line += 1;
                    field.push('\n');
                }
                '\r' if !quoted && chars.peek().map(|(_, c)| *c) == Some('\n') => {}
                '\n' => {
                    fields.push(field);
                    self.at += offset + 1;
                    self.line += 1;
                    return Some(Record {
                        line: start,
                        fields,
                        open_quote: false,
                    });
                }
                c if c == self.separator && !quoted => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        self.at = self.text.len();
        if quoted || !field.is_empty() || !fields.is_empty() {
            fields.push(field);
            return Some(Record {
                line: start,
                fields,
                open_quote: quoted,
            });
        }
        None
    }
}

/// The records of a CSV file after its header, and the header's columns.
fn open_csv(text: &str) -> Result<(Records<'_>, Vec<String>), Unreadable> {
    let header_line = text.lines().next().ok_or(Unreadable::NoHeader)?;
    // Spreadsheets in Finland write `;`; the header, which has no commas of its own, says.
    let separator = if header_line.matches(';').count() > header_line.matches(',').count() {
        ';'
    } else {
        ','
    };
    let mut records = Records {
        text,
        separator,
        at: 0,
        line: 1,
    };
    let header = records.next().ok_or(Unreadable::NoHeader)?;
    if header.open_quote {
        return Err(Unreadable::OpenQuote);
    }
    let columns: Vec<String> = header.fields.iter().map(|c| c.trim().to_owned()).collect();
    if columns.iter().all(String::is_empty) {
        return Err(Unreadable::NoHeader);
    }
    for (index, column) in columns.iter().enumerate() {
        if columns[..index].contains(column) {
            return Err(Unreadable::RepeatedColumn(column.clone()));
        }
    }
    Ok((records, columns))
}

/// A CSV record as a row; none for a blank one.
fn csv_row(record: Record, columns: &[String]) -> Option<Result<Row, Rejected>> {
    if record.fields.iter().all(|f| f.trim().is_empty()) {
        return None;
    }
    if record.open_quote {
        return Some(Err(Rejected::row(
            record.line,
            "a quoted field is not closed before the end of the file",
        )));
    }
    if record.fields.len() != columns.len() {
        return Some(Err(Rejected::row(
            record.line,
            format!(
                "the row has {} fields and the header {}",
                record.fields.len(),
                columns.len()
            ),
        )));
    }
    let fields = columns
        .iter()
        .zip(record.fields)
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(column, value)| (column.clone(), value.trim().to_owned()))
        .collect();
    Some(Ok(Row {
        line: record.line,
        fields,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field<'a>(row: &'a Row, column: &str) -> &'a str {
        row.get(column).unwrap_or("<absent>")
    }

    #[test]
    fn a_semicolon_file_with_quotes_and_a_line_break_in_a_field() {
        let text = "\u{feff}source_id;name;note\r\nA1;\"Virtanen; Aino\";\"said \"\"hei\"\"\"\r\nA2;Bo;\"two\nlines\"\r\nA3;;x\r\n";
        let (rows, rejected) = read(text.as_bytes(), Format::Csv).expect("a file");
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(rows.len(), 3);
        assert_eq!(field(&rows[0], "name"), "Virtanen; Aino");
        assert_eq!(field(&rows[0], "note"), "said \"hei\"");
        assert_eq!(field(&rows[1], "note"), "two\nlines");
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[2].line, 5, "the line break in a field counts");
        assert_eq!(rows[2].get("name"), None, "an empty cell is absent");
    }

    #[test]
    fn a_comma_file_and_a_row_of_the_wrong_width() {
        let text = "source_id,name\nA1,Aino\nA2,Bo,extra\nA3,Cid";
        let (rows, rejected) = read(text.as_bytes(), Format::Csv).expect("a file");
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].line, 3);
        assert!(rejected[0].reason.contains("3 fields"), "{:?}", rejected[0]);
    }

    #[test]
    fn a_header_that_names_a_column_twice_is_refused() {
        let text = "source_id,name,name\nA1,a,b\n";
        assert_eq!(
            read(text.as_bytes(), Format::Csv),
            Err(Unreadable::RepeatedColumn("name".to_owned()))
        );
    }

    #[test]
    fn an_empty_file_has_no_header() {
        assert_eq!(read(b"", Format::Csv), Err(Unreadable::NoHeader));
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_with_the_line() {
        // "Mäkinen" in Latin-1 on line 3.
        let text = b"source_id,name\nA1,Aino\nA2,M\xe4kinen\n";
        assert_eq!(read(text, Format::Csv), Err(Unreadable::NotUtf8(3)));
    }

    #[test]
    fn json_lines_with_a_broken_line_and_a_nested_value() {
        let text = "{\"source_id\": \"A1\", \"arrival_year\": 2019, \"note\": null}\nnot json\n\n{\"source_id\": \"A2\", \"tags\": [1]}\n[1]\n";
        let (rows, rejected) = read(text.as_bytes(), Format::JsonLines).expect("a file");
        assert_eq!(rows.len(), 1);
        assert_eq!(field(&rows[0], "arrival_year"), "2019");
        assert_eq!(rows[0].get("note"), None);
        let lines: Vec<usize> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 4, 5]);
        assert_eq!(rejected[1].column.as_deref(), Some("tags"));
    }

    #[test]
    fn the_format_comes_from_the_file_name() {
        assert_eq!(Format::of_name("clients.CSV"), Some(Format::Csv));
        assert_eq!(Format::of_name("events.jsonl"), Some(Format::JsonLines));
        assert_eq!(Format::of_name("events.xlsx"), None);
    }
}
