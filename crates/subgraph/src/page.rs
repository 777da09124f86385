//! Keyset paging for list fields: `first` (how many) and `after` (the id of the last row
//! already seen). Keyset rather than offset paging keeps deep pages as cheap as the first
//! and stays stable while rows are added.

use async_graphql::ID;

use crate::error::bad_input;

/// Rows returned when a client does not say `first`.
pub const DEFAULT_PAGE: u64 = 100;
/// The most rows one list field returns; larger requests are refused, not truncated,
/// so a client never mistakes a cut list for a complete one.
pub const MAX_PAGE: u64 = 1000;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u64,
    /// Return only rows whose id is greater than this.
    pub after: Option<i64>,
}

impl Page {
    /// Validates the `first` and `after` arguments of a list field.
    pub fn new(first: Option<i32>, after: Option<&ID>) -> async_graphql::Result<Self> {
        let limit = match first {
            None => DEFAULT_PAGE,
            Some(n) if n >= 1 && (n as u64) <= MAX_PAGE => n as u64,
            Some(n) => {
                return Err(bad_input(format!(
                    "`first` must be between 1 and {MAX_PAGE}, got {n}"
                )));
            }
        };
        let after = match after {
            None => None,
            Some(id) => Some(id.parse::<i64>().map_err(|_| {
                bad_input(format!(
                    "`after` must be the id of a row, got {:?}",
                    id.as_str()
                ))
            })?),
        };
        Ok(Self { limit, after })
    }

    /// Applies the page to rows already loaded and sorted by id (lists under one client).
    pub fn slice<T>(&self, rows: &[T], id_of: impl Fn(&T) -> i64) -> Vec<T>
    where
        T: Clone,
    {
        rows.iter()
            .filter(|row| self.after.is_none_or(|after| id_of(row) > after))
            .take(self.limit as usize)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(Page::new(None, None).unwrap().limit, DEFAULT_PAGE);
        assert_eq!(Page::new(Some(1000), None).unwrap().limit, 1000);
        assert!(Page::new(Some(1001), None).is_err());
        assert!(Page::new(Some(0), None).is_err());
        assert!(Page::new(Some(-5), None).is_err());
        assert!(Page::new(None, Some(&ID::from("x"))).is_err());
        assert_eq!(
            Page::new(None, Some(&ID::from("42"))).unwrap().after,
            Some(42)
        );
    }

    #[test]
    fn slice_respects_cursor_and_limit() {
        let rows = vec![1_i64, 2, 3, 4, 5];
        let page = Page::new(Some(2), Some(&ID::from("2"))).unwrap();
        assert_eq!(page.slice(&rows, |r| *r), vec![3, 4]);
    }
}
