//! CSV exports that spreadsheet programs open correctly: UTF-8 with a byte-order mark,
//! RFC 4180 quoting, CRLF line ends, and cells that cannot run as formulas.

/// Builds one CSV document row by row.
pub struct CsvWriter {
    out: String,
}

impl Default for CsvWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvWriter {
    pub fn new() -> Self {
        CsvWriter {
            out: String::from("\u{feff}"),
        }
    }

    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) -> &mut Self {
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            push_cell(&mut self.out, cell.as_ref());
        }
        self.out.push_str("\r\n");
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Characters that start a formula in a spreadsheet (OWASP CSV injection).
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
/// Characters a spreadsheet may split a cell on: comma and semicolon (the list separator of
/// Hungarian locales), tab, and line breaks.
const SEPARATORS: [char; 5] = [',', ';', '\t', '\n', '\r'];

fn push_cell(out: &mut String, cell: &str) {
    let needs_quotes =
        cell.contains(SEPARATORS) || cell.contains('"') || cell.starts_with(FORMULA_START);
    if needs_quotes {
        out.push('"');
    }
    // A formula start at the beginning, or right after a character a spreadsheet may split
    // on, is neutralised with an apostrophe: a program that splits the cell anyway sees text.
    let mut at_start = true;
    let mut after_separator = false;
    for c in cell.chars() {
        let formula = ['=', '+', '-', '@'].contains(&c);
        if (at_start && FORMULA_START.contains(&c)) || (after_separator && formula) {
            out.push('\'');
        }
        if c == '"' {
            out.push('"');
        }
        out.push(c);
        at_start = false;
        after_separator = SEPARATORS.contains(&c);
    }
    if needs_quotes {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_quotes_and_no_formulas() {
        let mut w = CsvWriter::new();
        w.row(&["név", "megjegyzés"])
            .row(&["Kovács, János", "=1+1"])
            .row(&["say \"hi\"", "sor\nsor"]);
        assert_eq!(
            w.finish(),
            "\u{feff}név,megjegyzés\r\n\"Kovács, János\",\"'=1+1\"\r\n\"say \"\"hi\"\"\",\"sor\nsor\"\r\n"
        );
    }

    #[test]
    fn a_semicolon_is_quoted_and_a_formula_after_any_separator_is_neutralised() {
        let mut w = CsvWriter::new();
        w.row(&["Kovacs;=HYPERLINK(1)", "a,+1", "x\n@SUM(A1)", "plain-text"]);
        assert_eq!(
            w.finish(),
            "\u{feff}\"Kovacs;'=HYPERLINK(1)\",\"a,'+1\",\"x\n'@SUM(A1)\",plain-text\r\n"
        );
    }
}
