//! Inserts a write transaction may hold back and send at its end, many rows to a statement.
//! A group of sends filed in one transaction then writes each table a few times instead of
//! once per row: on SQLite every statement is a round trip to the connection's thread, and
//! the one writer's round trips are what every send waits in line for.

use std::sync::OnceLock;

use sqlx::AnyConnection;
use sqlx::any::AnyArguments;

use crate::error::Result;

/// Rows per statement at most. Statements are made for powers of two up to this, so a
/// connection prepares a handful of them per table, whatever the group sizes.
const ROWS_MAX: usize = 32;

/// One value of a row.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

impl From<String> for Cell {
    fn from(v: String) -> Cell {
        Cell::Text(Some(v))
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Cell {
        Cell::Text(Some(v.to_string()))
    }
}

impl From<Option<&str>> for Cell {
    fn from(v: Option<&str>) -> Cell {
        Cell::Text(v.map(str::to_string))
    }
}

impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Cell {
        Cell::Text(v)
    }
}

impl From<i64> for Cell {
    fn from(v: i64) -> Cell {
        Cell::Int(Some(v))
    }
}

impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Cell {
        Cell::Int(v)
    }
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, AnyArguments>;

impl Cell {
    fn bind(self, q: Query<'_>) -> Query<'_> {
        match self {
            Cell::Text(v) => q.bind(v),
            Cell::Int(v) => q.bind(v),
        }
    }
}

/// How a statement marks its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholders {
    /// `$1, $2, …`, as PostgreSQL needs.
    Numbered,
    /// `?, ?, …`: SQLite finds a numbered parameter's name by a linear search, once per
    /// parameter bound, so binding the hundreds of a many-row insert by number costs time
    /// that grows with the square of their count.
    Anonymous,
}

/// A table rows are inserted into, with its columns in the order rows give them.
pub(crate) struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    /// `numbered[k]` and `anonymous[k]` insert `2^k` rows.
    numbered: OnceLock<Vec<String>>,
    anonymous: OnceLock<Vec<String>>,
}

impl Table {
    pub(crate) const fn new(name: &'static str, columns: &'static [&'static str]) -> Table {
        Table {
            name,
            columns,
            numbered: OnceLock::new(),
            anonymous: OnceLock::new(),
        }
    }

    /// The statement inserting `rows` rows; `rows` is a power of two up to [`ROWS_MAX`].
    fn statement(&'static self, rows: usize, marks: Placeholders) -> &'static str {
        let cell = match marks {
            Placeholders::Numbered => &self.numbered,
            Placeholders::Anonymous => &self.anonymous,
        };
        let all = cell.get_or_init(|| {
            let width = self.columns.len();
            let head = format!(
                "INSERT INTO {} ({}) VALUES ",
                self.name,
                self.columns.join(", ")
            );
            (0..=ROWS_MAX.trailing_zeros())
                .map(|k| {
                    let mut sql = head.clone();
                    for r in 0..(1usize << k) {
                        if r > 0 {
                            sql.push_str(", ");
                        }
                        sql.push('(');
                        for c in 0..width {
                            if c > 0 {
                                sql.push_str(", ");
                            }
                            match marks {
                                Placeholders::Numbered => {
                                    sql.push('$');
                                    sql.push_str(&(r * width + c + 1).to_string());
                                }
                                Placeholders::Anonymous => sql.push('?'),
                            }
                        }
                        sql.push(')');
                    }
                    sql
                })
                .collect()
        });
        &all[rows.trailing_zeros() as usize]
    }

    /// Inserts rows now (`cells` holds them one after another).
    pub(crate) async fn insert(
        &'static self,
        conn: &mut AnyConnection,
        cells: Vec<Cell>,
    ) -> Result<()> {
        let width = self.columns.len();
        let marks = if conn.backend_name() == "SQLite" {
            Placeholders::Anonymous
        } else {
            Placeholders::Numbered
        };
        let mut left = cells.len() / width;
        let mut cells = cells.into_iter();
        while left > 0 {
            let rows = chunk(left);
            let mut q = sqlx::query(self.statement(rows, marks));
            for cell in cells.by_ref().take(rows * width) {
                q = cell.bind(q);
            }
            q.execute(&mut *conn).await?;
            left -= rows;
        }
        Ok(())
    }
}

/// The largest power of two not above `left` or [`ROWS_MAX`].
fn chunk(left: usize) -> usize {
    let capped = left.min(ROWS_MAX);
    1 << (usize::BITS - 1 - capped.leading_zeros())
}

/// Rows held back, per table in the order each table was first written: a row that refers
/// to another (a document to its message) goes after it.
#[derive(Default)]
pub(crate) struct HeldRows {
    tables: Vec<(&'static Table, Vec<Cell>)>,
}

impl HeldRows {
    pub(crate) fn push(&mut self, table: &'static Table, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), table.columns.len(), "a row of {}", table.name);
        match self
            .tables
            .iter_mut()
            .find(|(t, _)| std::ptr::eq(*t, table))
        {
            Some((_, cells)) => cells.extend(row),
            None => self.tables.push((table, row)),
        }
    }

    /// Sends every held row.
    pub(crate) async fn flush(&mut self, conn: &mut AnyConnection) -> Result<()> {
        for (table, cells) in self.tables.drain(..) {
            table.insert(conn, cells).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static T: Table = Table::new("t", &["a", "b"]);

    #[test]
    fn chunks_are_powers_of_two_up_to_the_cap() {
        let sizes: Vec<_> = [1, 2, 3, 5, 31, 32, 33, 100].map(chunk).into();
        assert_eq!(sizes, vec![1, 2, 2, 4, 16, 32, 32, 32]);
    }

    #[test]
    fn statements_number_their_placeholders_row_by_row() {
        let n = Placeholders::Numbered;
        assert_eq!(T.statement(1, n), "INSERT INTO t (a, b) VALUES ($1, $2)");
        assert_eq!(
            T.statement(2, n),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
        assert!(T.statement(32, n).ends_with("($63, $64)"));
        let a = Placeholders::Anonymous;
        assert_eq!(
            T.statement(2, a),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?)"
        );
    }
}
