//! An answer as CSV (RFC 4180), for people who take saved queries into a spreadsheet.
//! Columns are the dotted paths of the leaf fields the operation selects; every element
//! of a list of objects becomes a row of its own, repeating what lies above it, and
//! sibling lists multiply (each combination is a row). A list of scalars stays in one
//! cell, its items joined by "; ". Text that a spreadsheet would run as a formula gets a
//! leading apostrophe, so opening an export never executes anything.

use serde_json::Value;

/// How many rows one answer may flatten to before the export is refused.
pub const MAX_ROWS: usize = 100_000;

/// The answer flattens to more than [`MAX_ROWS`] rows.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the answer flattens to more than {MAX_ROWS} rows; ask for fewer with the query's paging variables"
)]
pub struct TooManyRows;

type Row = Vec<Option<String>>;

/// `data` as CSV text under `columns`; with `bom`, preceded by a UTF-8 byte order mark so
/// that spreadsheets read the text as UTF-8.
pub fn to_csv(data: &Value, columns: &[String], bom: bool) -> Result<String, TooManyRows> {
    let rows = flatten(data, "", columns)?;
    let mut out = String::new();
    if bom {
        out.push('\u{feff}');
    }
    write_line(&mut out, columns.iter().map(|c| Some(c.as_str())));
    for row in &rows {
        write_line(&mut out, row.iter().map(Option::as_deref));
    }
    Ok(out)
}

/// Writes one CSV record (RFC 4180: quoted when a cell holds a comma, quote or line
/// break), ended by CRLF; a missing cell is empty.
pub fn write_line<'a>(out: &mut String, cells: impl Iterator<Item = Option<&'a str>>) {
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let cell = cell.unwrap_or("");
        if cell.contains([',', '"', '\r', '\n']) {
            out.push('"');
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push_str("\r\n");
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Rows of `value` found at `path`; each row has one cell per column.
fn flatten(value: &Value, path: &str, columns: &[String]) -> Result<Vec<Row>, TooManyRows> {
    if let Some(index) = columns.iter().position(|c| c == path) {
        let mut row = vec![None; columns.len()];
        row[index] = cell(value);
        return Ok(vec![row]);
    }
    match value {
        Value::Object(fields) => {
            let mut rows = vec![vec![None; columns.len()]];
            for (key, field) in fields {
                let below = flatten(field, &join(path, key), columns)?;
                rows = product(rows, below)?;
            }
            Ok(rows)
        }
        Value::Array(items) => {
            let mut rows = Vec::new();
            for item in items {
                rows.extend(flatten(item, path, columns)?);
                if rows.len() > MAX_ROWS {
                    return Err(TooManyRows);
                }
            }
            if rows.is_empty() {
                // An empty list leaves its parent's row standing, with empty cells.
                rows.push(vec![None; columns.len()]);
            }
            Ok(rows)
        }
        // A null object, or a value at no selected path: nothing to add.
        _ => Ok(vec![vec![None; columns.len()]]),
    }
}

/// Every combination of a row of `left` with a row of `right` (their cells are disjoint).
fn product(left: Vec<Row>, right: Vec<Row>) -> Result<Vec<Row>, TooManyRows> {
    if right.len() == 1 {
        let extra = &right[0];
        return Ok(left
            .into_iter()
            .map(|mut row| {
                merge(&mut row, extra);
                row
            })
            .collect());
    }
    if left.len().saturating_mul(right.len()) > MAX_ROWS {
        return Err(TooManyRows);
    }
    let mut rows = Vec::with_capacity(left.len() * right.len());
    for row in &left {
        for extra in &right {
            let mut combined = row.clone();
            merge(&mut combined, extra);
            rows.push(combined);
        }
    }
    Ok(rows)
}

fn merge(row: &mut Row, extra: &Row) {
    for (cell, value) in row.iter_mut().zip(extra) {
        if value.is_some() {
            cell.clone_from(value);
        }
    }
}

fn cell(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(defuse(text)),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) if items.iter().all(|i| !i.is_object() && !i.is_array()) => {
            Some(items.iter().filter_map(cell).collect::<Vec<_>>().join("; "))
        }
        other => Some(defuse(&other.to_string())),
    }
}

/// Text a spreadsheet would take for a formula, made inert.
fn defuse(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn nested_lists_become_rows_repeating_their_parents() {
        let data = json!({ "clients": [
            { "id": "c1", "enrolments": [ { "status": "ACTIVE" }, { "status": "COMPLETED" } ] },
            { "id": "c2", "enrolments": [] },
        ]});
        let cols = columns(&["clients.id", "clients.enrolments.status"]);
        let csv = to_csv(&data, &cols, false).expect("small");
        assert_eq!(
            csv,
            "clients.id,clients.enrolments.status\r\nc1,ACTIVE\r\nc1,COMPLETED\r\nc2,\r\n"
        );
    }

    #[test]
    fn commas_quotes_and_newlines_are_quoted() {
        let data = json!({ "events": [ { "title": "Tea, \"cake\"\nand talk", "n": 3 } ] });
        let csv = to_csv(&data, &columns(&["events.title", "events.n"]), true).expect("small");
        assert_eq!(
            csv,
            "\u{feff}events.title,events.n\r\n\"Tea, \"\"cake\"\"\nand talk\",3\r\n"
        );
    }

    #[test]
    fn scalar_lists_stay_in_one_cell_and_formulas_are_defused() {
        let data = json!({ "e": [ { "languages": ["ar", "so"], "title": "=HYPERLINK(1)" } ] });
        let csv = to_csv(&data, &columns(&["e.languages", "e.title"]), false).expect("small");
        assert_eq!(csv, "e.languages,e.title\r\nar; so,'=HYPERLINK(1)\r\n");
    }

    #[test]
    fn an_answer_too_large_to_flatten_is_refused() {
        let many: Vec<Value> = (0..400).map(|i| json!({ "x": i })).collect();
        let data = json!({ "a": many.clone(), "b": many });
        assert_eq!(
            to_csv(&data, &columns(&["a.x", "b.x"]), false),
            Err(TooManyRows)
        );
    }
}
