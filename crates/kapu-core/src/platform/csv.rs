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

fn push_cell(out: &mut String, cell: &str) {
    // A leading =, +, - or @ would make a spreadsheet evaluate the cell (OWASP CSV injection).
    let guarded = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let needs_quotes = guarded || cell.contains([',', '"', '\n', '\r']);
    if needs_quotes {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    for c in cell.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
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
}
