//! Small-cell suppression for the statistics tables, applied before any count leaves the
//! programme subgraph.
//!
//! Primary suppression hides every cell that counts 1–4 of anything. Secondary
//! suppression then hides further cells until no hidden cell can be worked out from what
//! is shown: the table's own cells, and every marginal sum of it, which the caller can get
//! by asking again with one dimension fewer. Each such marginal is a linear equation over
//! the hidden cells of one line of the table; a hidden cell is exposed when the equations
//! determine it, which Gaussian elimination tells exactly. Exposed cells get a complement —
//! the smallest shown cell of one of their lines — until none is exposed.
//!
//! The divisions' counts are of distinct people, so a marginal can be smaller than the
//! sum of its line; assuming every marginal is the exact sum gives the caller more than
//! they have, which errs on the side of hiding. A table that cannot be protected — no
//! complement left, or too many hidden cells tied together to solve for — is refused
//! whole rather than shown in part.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// The largest count that is never shown.
pub const THRESHOLD: i64 = 4;

/// Whether a count would identify a small group.
pub fn is_small(count: i64) -> bool {
    (1..=THRESHOLD).contains(&count)
}

/// Most arithmetic spent solving for hidden cells over all rounds of one table: enough
/// for any table a dashboard reads, and a bound on what a caller can make one request
/// cost.
pub const WORK_BUDGET: u64 = 50_000_000;

/// Most rounds of adding complements before a table is refused as too fine.
pub const MAX_ROUNDS: usize = 40;

/// Why a table cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unprotectable {
    #[error("no choice of further hidden cells keeps every small cell from being worked out")]
    NoComplement,
    #[error("its hidden cells depend on one another too widely to solve for")]
    TooFine,
}

/// Which cells of a table to hide. `keys[i]` is cell `i`'s value in each dimension (all
/// of one length) and `counts[i]` what it counts. A cell not listed is one the caller
/// knows to be zero; list zeros that may be hidden (a full grid), or a hidden cell may
/// be pinned between known zeros and the table refused.
pub fn suppress<K: Eq + Hash + Clone>(
    keys: &[Vec<K>],
    counts: &[Vec<i64>],
) -> Result<Vec<bool>, Unprotectable> {
    let mut hidden: Vec<bool> = counts
        .iter()
        .map(|cell| cell.iter().copied().any(is_small))
        .collect();
    if !hidden.iter().any(|&h| h) {
        return Ok(hidden);
    }
    let lines = lines(keys, counts);
    let mut through: Vec<Vec<usize>> = vec![Vec::new(); keys.len()];
    let mut pinned = vec![false; keys.len()];
    for (index, line) in lines.iter().enumerate() {
        for &cell in &line.cells {
            through[cell].push(index);
        }
        // A cell that is the only one counting anything on a line is that line's
        // marginal; a cell of a line that sums to zero is zero. Either way hiding it
        // hides nothing.
        let counting: Vec<usize> = line
            .cells
            .iter()
            .copied()
            .filter(|&cell| counts[cell].iter().any(|&c| c != 0))
            .collect();
        match counting[..] {
            [] => line.cells.iter().for_each(|&cell| pinned[cell] = true),
            [only] => pinned[only] = true,
            _ => {}
        }
    }
    let index = LineIndex {
        lines: &lines,
        through,
        pinned,
    };
    let mut budget = WORK_BUDGET;
    // Each round hides at least one more cell; a table that needs many rounds is one
    // whose small cells are spread too thin to protect at a reasonable cost.
    for _ in 0..MAX_ROUNDS {
        let exposed = exposed(&hidden, &lines, &mut budget)?;
        if exposed.is_empty() {
            return Ok(hidden);
        }
        let mut added = false;
        for cell in exposed {
            if let Some(complement) = complement(cell, &hidden, &index, counts, &mut budget)? {
                hidden[complement] = true;
                added = true;
            }
        }
        if !added {
            return Err(Unprotectable::NoComplement);
        }
    }
    Err(Unprotectable::TooFine)
}

/// A line: cells that differ in one dimension only, whose sum a caller can learn.
struct Line {
    cells: Vec<usize>,
}

/// The lines, and for each cell the lines through it and whether a line pins its value.
struct LineIndex<'a> {
    lines: &'a [Line],
    through: Vec<Vec<usize>>,
    pinned: Vec<bool>,
}

fn lines<K: Eq + Hash + Clone>(keys: &[Vec<K>], counts: &[Vec<i64>]) -> Vec<Line> {
    let dimensions = keys.first().map_or(0, Vec::len);
    let mut lines = Vec::new();
    for dimension in 0..dimensions {
        // A dimension with one value adds nothing: the table without it has the same
        // cells, which the same rule hides in the same way, so its "marginals" are the
        // cells themselves and publish nothing new.
        let values: HashSet<&K> = keys.iter().map(|key| &key[dimension]).collect();
        if values.len() < 2 {
            continue;
        }
        let mut grouped: HashMap<Vec<K>, Vec<usize>> = HashMap::new();
        for (index, key) in keys.iter().enumerate() {
            let mut rest = key.clone();
            rest.remove(dimension);
            grouped.entry(rest).or_default().push(index);
        }
        let mut grouped: Vec<Vec<usize>> = grouped.into_values().collect();
        grouped.sort();
        for cells in grouped {
            // A marginal with a count of 1–4 is itself hidden where it is published;
            // any other is an equation the caller holds.
            let known = (0..counts.first().map_or(0, Vec::len)).all(|measure| {
                let sum: i64 = cells.iter().map(|&cell| counts[cell][measure]).sum();
                !is_small(sum)
            });
            if known {
                lines.push(Line { cells });
            }
        }
    }
    lines
}

/// Hidden cells the shown cells and the marginals determine.
fn exposed(hidden: &[bool], lines: &[Line], budget: &mut u64) -> Result<Vec<usize>, Unprotectable> {
    let variables: Vec<usize> = (0..hidden.len()).filter(|&cell| hidden[cell]).collect();
    let column: HashMap<usize, usize> = variables
        .iter()
        .enumerate()
        .map(|(column, &cell)| (cell, column))
        .collect();
    let equations: Vec<Vec<usize>> = lines
        .iter()
        .map(|line| {
            line.cells
                .iter()
                .filter_map(|cell| column.get(cell).copied())
                .collect::<Vec<_>>()
        })
        .filter(|columns| !columns.is_empty())
        .collect();
    let mut exposed = Vec::new();
    for component in components(variables.len(), &equations) {
        // Elimination costs about rows × rows × columns.
        let (rows, columns) = (
            component.equations.len() as u64,
            component.variables.len() as u64,
        );
        let work = rows.saturating_mul(rows).saturating_mul(columns);
        *budget = budget.checked_sub(work).ok_or(Unprotectable::TooFine)?;
        for column in determined(&component, &equations) {
            exposed.push(variables[column]);
        }
    }
    exposed.sort_unstable();
    Ok(exposed)
}

/// Groups of variables that share equations (so can be solved apart), with the
/// equations of each.
fn components(variables: usize, equations: &[Vec<usize>]) -> Vec<Component> {
    let mut parent: Vec<usize> = (0..variables).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for equation in equations {
        for pair in equation.windows(2) {
            let (a, b) = (root(&mut parent, pair[0]), root(&mut parent, pair[1]));
            parent[a] = b;
        }
    }
    let mut by_root: HashMap<usize, Component> = HashMap::new();
    for variable in 0..variables {
        let r = root(&mut parent, variable);
        by_root.entry(r).or_default().variables.push(variable);
    }
    for (index, equation) in equations.iter().enumerate() {
        let r = root(&mut parent, equation[0]);
        by_root
            .get_mut(&r)
            .expect("every equation's variables belong to a component")
            .equations
            .push(index);
    }
    let mut components: Vec<Component> = by_root.into_values().collect();
    components.sort_by_key(|c| c.variables[0]);
    components
}

#[derive(Default)]
struct Component {
    variables: Vec<usize>,
    equations: Vec<usize>,
}

/// Variables of `component` whose value its equations fix: those whose row in the
/// reduced row echelon form has no other non-zero entry.
fn determined(component: &Component, equations: &[Vec<usize>]) -> Vec<usize> {
    const EPSILON: f64 = 1e-9;
    let width = component.variables.len();
    let local: HashMap<usize, usize> = component
        .variables
        .iter()
        .enumerate()
        .map(|(local, &variable)| (variable, local))
        .collect();
    let mut rows: Vec<Vec<f64>> = component
        .equations
        .iter()
        .map(|&equation| {
            let mut row = vec![0.0; width];
            for variable in &equations[equation] {
                row[local[variable]] = 1.0;
            }
            row
        })
        .collect();
    let mut pivots = Vec::new();
    let mut next = 0;
    for column in 0..width {
        let Some(best) = (next..rows.len())
            .filter(|&r| rows[r][column].abs() > EPSILON)
            .max_by(|&a, &b| rows[a][column].abs().total_cmp(&rows[b][column].abs()))
        else {
            continue;
        };
        rows.swap(next, best);
        let pivot = rows[next][column];
        for value in &mut rows[next] {
            *value /= pivot;
        }
        let pivot_row = rows[next].clone();
        for (r, row) in rows.iter_mut().enumerate() {
            if r != next && row[column].abs() > EPSILON {
                let factor = row[column];
                for (value, p) in row.iter_mut().zip(&pivot_row) {
                    *value -= factor * p;
                }
            }
        }
        pivots.push((next, column));
        next += 1;
        if next == rows.len() {
            break;
        }
    }
    pivots
        .into_iter()
        .filter(|&(row, column)| {
            rows[row]
                .iter()
                .enumerate()
                .all(|(c, value)| c == column || value.abs() <= EPSILON)
        })
        .map(|(_, column)| component.variables[column])
        .collect()
}

/// The shown cell to hide alongside `cell`: on a line through it if one is left there,
/// else on a line through a hidden cell that shares a line with it, else on any line
/// through a hidden cell. A cell a line pins (the only one counting anything on it, or
/// on a line summing to zero) is never one: that line would give it away at once. Among the rest the smallest that
/// counts anything is taken, so the least information is lost while the hidden cell
/// still gets room to hide in; a zero only when nothing else is left, since beside a
/// zero a small cell is known to within its own size.
fn complement(
    cell: usize,
    hidden: &[bool],
    index: &LineIndex<'_>,
    counts: &[Vec<i64>],
    budget: &mut u64,
) -> Result<Option<usize>, Unprotectable> {
    let best = |candidates: &[usize]| {
        candidates
            .iter()
            .copied()
            .filter(|&other| !hidden[other] && !index.pinned[other])
            .min_by_key(|&other| {
                let sum = counts[other].iter().sum::<i64>();
                (sum == 0, sum, other)
            })
    };
    let mut on_lines_of = |cells: &[usize]| -> Result<Vec<usize>, Unprotectable> {
        let size: usize = cells
            .iter()
            .flat_map(|&c| index.through[c].iter())
            .map(|&line| index.lines[line].cells.len())
            .sum();
        // Sorting costs more than the cells it sorts.
        *budget = budget
            .checked_sub(8 * size as u64)
            .ok_or(Unprotectable::TooFine)?;
        let mut found: Vec<usize> = cells
            .iter()
            .flat_map(|&c| index.through[c].iter())
            .flat_map(|&line| index.lines[line].cells.iter().copied())
            .collect();
        found.sort_unstable();
        found.dedup();
        Ok(found)
    };
    let near = on_lines_of(&[cell])?;
    if let Some(found) = best(&near) {
        return Ok(Some(found));
    }
    let hidden_near: Vec<usize> = near.into_iter().filter(|&c| hidden[c]).collect();
    if let Some(found) = best(&on_lines_of(&hidden_near)?) {
        return Ok(Some(found));
    }
    let all_hidden: Vec<usize> = (0..hidden.len()).filter(|&c| hidden[c]).collect();
    Ok(best(&on_lines_of(&all_hidden)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[&[i64]]) -> (Vec<Vec<usize>>, Vec<Vec<i64>>) {
        let mut keys = Vec::new();
        let mut counts = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            for (c, &count) in row.iter().enumerate() {
                keys.push(vec![r, c]);
                counts.push(vec![count]);
            }
        }
        (keys, counts)
    }

    /// Whether any hidden cell is fixed by the shown cells and all marginals.
    fn any_exposed(keys: &[Vec<usize>], counts: &[Vec<i64>], hidden: &[bool]) -> bool {
        let mut unlimited = u64::MAX;
        !exposed(hidden, &lines(keys, counts), &mut unlimited)
            .unwrap()
            .is_empty()
    }

    #[test]
    fn small_counts_are_hidden_and_others_shown_when_nothing_is_small() {
        let keys = vec![vec!["a"], vec!["b"], vec!["c"]];
        assert_eq!(
            suppress(&keys, &[vec![5], vec![0], vec![12]]).unwrap(),
            [false, false, false]
        );
        let hidden = suppress(&keys, &[vec![3], vec![7], vec![12]]).unwrap();
        // 3 is hidden, and so is 7, or the total would give 3 back.
        assert_eq!(hidden, [true, true, false]);
    }

    #[test]
    fn a_single_hidden_cell_in_a_line_gets_a_complement() {
        let (keys, counts) = table(&[&[20, 3, 30], &[40, 50, 60], &[70, 80, 90]]);
        let hidden = suppress(&keys, &counts).unwrap();
        assert!(hidden[1]);
        assert!(hidden.iter().filter(|&&h| h).count() >= 4, "{hidden:?}");
        assert!(!any_exposed(&keys, &counts, &hidden));
    }

    #[test]
    fn a_bridge_between_two_cycles_is_still_exposed_and_gets_fixed() {
        // Hiding the two small cells of each row and column would leave every line with
        // two hidden cells, yet the pattern must still not let any value be solved.
        let (keys, counts) = table(&[
            &[2, 9, 9, 9, 9],
            &[9, 2, 9, 9, 9],
            &[9, 9, 2, 9, 9],
            &[9, 9, 9, 2, 9],
            &[9, 9, 9, 9, 2],
        ]);
        let hidden = suppress(&keys, &counts).unwrap();
        assert!(!any_exposed(&keys, &counts, &hidden));
        for d in 0..5 {
            assert!(hidden[d * 5 + d]);
        }
    }

    #[test]
    fn determined_finds_a_variable_fixed_by_two_equations() {
        // x0 + x1 = a and x1 = b (x1 alone in a line) fix both.
        let component = Component {
            variables: vec![0, 1],
            equations: vec![0, 1],
        };
        let equations = vec![vec![0, 1], vec![1]];
        assert_eq!(determined(&component, &equations), [0, 1]);
        // x0 + x1 = a alone fixes neither.
        let component = Component {
            variables: vec![0, 1],
            equations: vec![0],
        };
        assert!(determined(&component, &equations).is_empty());
    }

    #[test]
    fn a_line_whose_marginal_is_itself_small_is_no_equation() {
        // Row 0 sums to 3: its marginal is hidden wherever it is published, so the lone
        // 3 in it is not exposed by it; its column gives it a complement.
        let (keys, counts) = table(&[&[3, 0, 0], &[40, 50, 60], &[70, 80, 90]]);
        let hidden = suppress(&keys, &counts).unwrap();
        assert!(hidden[0]);
        assert!(!any_exposed(&keys, &counts, &hidden));
    }

    #[test]
    fn a_small_cell_fenced_in_by_known_counts_refuses_the_table() {
        // The 3's only complement is the 40, whose row holds a 50 that is the only
        // count in its column: shown, it gives the 40 and so the 3 away, and hiding a
        // zero beside it would leave the 3 known to within 0–3. Nothing is shown.
        let (keys, counts) = table(&[&[3, 0], &[40, 50]]);
        assert_eq!(suppress(&keys, &counts), Err(Unprotectable::NoComplement));
    }

    #[test]
    fn small_cells_are_paired_even_in_tiny_tables() {
        // A dimension with a single value makes each cell its own marginal; those
        // marginals are small, so hidden where published, and the other dimension's
        // line holds both cells.
        let keys = vec![vec![0, 0], vec![0, 1]];
        let counts = vec![vec![3, 3], vec![40, 4]];
        assert_eq!(suppress(&keys, &counts).unwrap(), [true, true]);
        let keys = vec![vec![0], vec![1]];
        assert_eq!(suppress(&keys, &[vec![3], vec![40]]).unwrap(), [true, true]);
    }

    #[test]
    fn random_tables_never_expose_a_hidden_cell() {
        let mut state: u64 = 7;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as i64
        };
        let mut refused = 0;
        for _ in 0..200 {
            let rows = 1 + (next() % 5) as usize;
            let columns = 1 + (next() % 6) as usize;
            let mut keys = Vec::new();
            let mut counts = Vec::new();
            for r in 0..rows {
                for c in 0..columns {
                    let count = match next() % 4 {
                        0 => next() % 5,
                        _ => next() % 60,
                    };
                    keys.push(vec![r, c]);
                    counts.push(vec![count, count / 2]);
                }
            }
            let Ok(hidden) = suppress(&keys, &counts) else {
                refused += 1;
                continue;
            };
            for (cell, flag) in counts.iter().zip(&hidden) {
                assert!(*flag || !cell.iter().copied().any(is_small));
            }
            assert!(
                !any_exposed(&keys, &counts, &hidden),
                "{counts:?} {hidden:?}"
            );
        }
        // Refusing is the safe way out, not the usual one.
        assert!(refused < 10, "{refused} of 200 tables refused");
    }
}
