//! Imports from the divisions' systems: rows of their files turned into the hub's
//! records. A file is read into rows ([`table`]); each row is checked against the typed
//! schema of its kind ([`clients`]), which names its client by the Finnish personal
//! identity code, checked and turned into the pseudonymous client id before anything else
//! reads the row ([`identity`]) — the code itself goes no further. Every row that fails
//! is reported with its line, column and reason ([`Rejected`], [`rejects_csv`]).

pub mod clients;
pub mod identity;
pub mod table;

/// A row that was not imported, and why. The reason never repeats an identity code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The row's line in the file (the header is line 1).
    pub line: usize,
    /// The column at fault, when one is.
    pub column: Option<String>,
    pub reason: String,
}

impl Rejected {
    pub fn row(line: usize, reason: impl Into<String>) -> Self {
        Self {
            line,
            column: None,
            reason: reason.into(),
        }
    }

    pub fn at(line: usize, column: &str, reason: impl Into<String>) -> Self {
        Self {
            line,
            column: Some(column.to_owned()),
            reason: reason.into(),
        }
    }
}

/// The rejects file: `line,column,reason`, one record per rejected row and column, in
/// file order, as a spreadsheet opens it.
pub fn rejects_csv(rejected: &[Rejected]) -> String {
    let mut sorted: Vec<&Rejected> = rejected.iter().collect();
    sorted.sort_by_key(|r| r.line);
    let mut out = String::new();
    kotohub_gateway::csv::write_line(&mut out, ["line", "column", "reason"].into_iter().map(Some));
    for rejected in sorted {
        let line = rejected.line.to_string();
        kotohub_gateway::csv::write_line(
            &mut out,
            [
                Some(line.as_str()),
                rejected.column.as_deref(),
                Some(rejected.reason.as_str()),
            ]
            .into_iter(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejects_file_lists_rows_in_file_order_quoting_what_needs_it() {
        let rejected = [
            Rejected::at(7, "gender", "\"x\" is not one of: female, male, other"),
            Rejected::row(3, "the row has 2 fields and the header 3"),
        ];
        assert_eq!(
            rejects_csv(&rejected),
            "line,column,reason\r\n3,,the row has 2 fields and the header 3\r\n7,gender,\"\"\"x\"\" is not one of: female, male, other\"\r\n"
        );
    }
}
