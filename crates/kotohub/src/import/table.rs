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

/// The rows of the file `bytes`, and the rows that could not be read. A file that is not
/// UTF-8 is refused whole: read another way, its names would be stored garbled.
pub fn read(bytes: &[u8], format: Format) -> Result<(Vec<Row>, Vec<Rejected>), Unreadable> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let before = &bytes[..error.valid_up_to()];
        Unreadable::NotUtf8(before.iter().filter(|&&b| b == b'\n').count() + 1)
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Csv => read_csv(text),
        Format::JsonLines => Ok(read_json_lines(text)),
    }
}

fn read_json_lines(text: &str) -> (Vec<Row>, Vec<Rejected>) {
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(object)) => object,
            Ok(_) => {
                rejected.push(Rejected::row(number, "the line is not a JSON object"));
                continue;
            }
            Err(e) => {
                rejected.push(Rejected::row(number, format!("the line is not JSON: {e}")));
                continue;
            }
        };
        let mut fields = BTreeMap::new();
        let mut readable = true;
        for (column, value) in object {
            let text = match value {
                serde_json::Value::Null => continue,
                serde_json::Value::String(text) => text,
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => value.to_string(),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => {
                    rejected.push(Rejected::at(
                        number,
                        &column,
                        "a field is a single value, not a list or an object",
                    ));
                    readable = false;
                    break;
                }
            };
            fields.insert(column, text);
        }
        if readable {
            rows.push(Row {
                line: number,
                fields,
            });
        }
    }
    (rows, rejected)
}

/// One CSV record as it was read: its fields and the line it started on.
struct Record {
    line: usize,
    fields: Vec<String>,
    /// A quote was opened and the file ended before it closed.
    open_quote: bool,
}

/// Splits `text` into records, a quoted field running over line breaks.
fn records(text: &str, separator: char) -> Vec<Record> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut start = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            }
            '"' if field.is_empty() => quoted = true,
            '\n' if quoted => {
                line += 1;
                field.push('\n');
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push(Record {
                    line: start,
                    fields: std::mem::take(&mut fields),
                    open_quote: false,
                });
                line += 1;
                start = line;
            }
            c if c == separator && !quoted => fields.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    if quoted || !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push(Record {
            line: start,
            fields,
            open_quote: quoted,
        });
    }
    records
}

fn read_csv(text: &str) -> Result<(Vec<Row>, Vec<Rejected>), Unreadable> {
    let header_line = text.lines().next().ok_or(Unreadable::NoHeader)?;
    // Spreadsheets in Finland write `;`; the header, which has no commas of its own, says.
    let separator = if header_line.matches(';').count() > header_line.matches(',').count() {
        ';'
    } else {
        ','
    };
    let mut records = records(text, separator).into_iter();
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
    let mut rows = Vec::new();
    let mut rejected = Vec::new();
    for record in records {
        if record.fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if record.open_quote {
            rejected.push(Rejected::row(
                record.line,
                "a quoted field is not closed before the end of the file",
            ));
            continue;
        }
        if record.fields.len() != columns.len() {
            rejected.push(Rejected::row(
                record.line,
                format!(
                    "the row has {} fields and the header {}",
                    record.fields.len(),
                    columns.len()
                ),
            ));
            continue;
        }
        let fields = columns
            .iter()
            .zip(record.fields)
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(column, value)| (column.clone(), value.trim().to_owned()))
            .collect();
        rows.push(Row {
            line: record.line,
            fields,
        });
    }
    Ok((rows, rejected))
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
