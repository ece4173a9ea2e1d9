//! How answers are printed: a readable table, or one JSON object per line; and the
//! summary of a run.

use std::io::Write;
use std::time::Duration;

use crate::backend::Backend;
use crate::matching::{Failure, Outcome, PathMatch};

use super::exit;
use crate::text::escape_controls;

/// How answers are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Prints answers as they come.
pub struct Printer {
    format: Format,
    quiet: bool,
    header_done: bool,
    colour: bool,
    /// Answers waiting to be written: one write for a run of answers ready together,
    /// not one per line (stdout alone writes at every newline).
    out: std::io::BufWriter<std::io::Stdout>,
}

/// When tables are coloured (`--color`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    #[default]
    Auto,
    /// Always (even when piped).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether output to stdout is coloured.
    pub fn on(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::IsTerminal::is_terminal(&std::io::stdout())
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// A table row (with any lines under it) in its outcome's colour.
pub fn paint(outcome: Outcome, row: &str) -> String {
    let code = match outcome {
        Outcome::High => "32",
        Outcome::Low => "33",
        Outcome::NotFound => "2",
        Outcome::Error => "31",
    };
    format!("\x1b[{code}m{row}\x1b[0m")
}

impl Printer {
    /// A printer for `format`; `quiet` prints nothing; tables coloured as `color` says.
    pub fn new(format: Format, quiet: bool, color: ColorChoice) -> Printer {
        // Colours only for a person reading a table.
        let colour = format == Format::Table && color.on();
        Printer {
            format,
            quiet,
            header_done: false,
            colour,
            out: std::io::BufWriter::with_capacity(64 << 10, std::io::stdout()),
        }
    }

    /// Prints one answer; the output is flushed unless `more_ready` says another answer
    /// follows at once (a program reading answers as they come never waits on a buffer).
    pub fn row(&mut self, m: &PathMatch, more_ready: bool) {
        if self.quiet {
            return;
        }
        let out = &mut self.out;
        match self.format {
            Format::Json => {
                let line = serde_json::to_string(m).expect("answers serialise");
                let _ = writeln!(out, "{line}");
            }
            Format::Csv => {
                if !self.header_done {
                    let _ = writeln!(
                        out,
                        "path,outcome,rating_key,title,section,plugin,candidates,error"
                    );
                    self.header_done = true;
                }
                let _ = writeln!(out, "{}", csv_row(m));
            }
            Format::Table => {
                if !self.header_done {
                    let _ = writeln!(out, "{}", table_header());
                    self.header_done = true;
                }
                let mut row = table_row(m);
                if let Some(e) = &m.explain {
                    row.push_str(&explain_lines(e));
                }
                if self.colour {
                    let _ = writeln!(out, "{}", paint(m.outcome, &row));
                } else {
                    let _ = writeln!(out, "{row}");
                }
            }
        }
        if !more_ready {
            let _ = out.flush();
        }
    }
}

/// One answer as a CSV record (RFC 4180 quoting); candidates as `key:title` joined by `;`.
pub fn csv_row(m: &PathMatch) -> String {
    let item = m.item.as_ref();
    let candidates = if m.outcome == Outcome::Low {
        m.candidates
            .iter()
            .map(|c| format!("{}:{}", c.rating_key, c.title))
            .collect::<Vec<_>>()
            .join(";")
    } else {
        String::new()
    };
    [
        m.path.clone(),
        m.outcome.label().to_owned(),
        item.map(|i| i.rating_key.clone()).unwrap_or_default(),
        item.map(|i| i.title.clone()).unwrap_or_default(),
        item.map(|i| i.section.clone()).unwrap_or_default(),
        m.plugin.clone(),
        candidates,
        m.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
    ]
    .iter()
    .map(|f| csv_field(&escape_controls(f)))
    .collect::<Vec<_>>()
    .join(",")
}

fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_owned()
    }
}

/// Column widths of the table, in terminal cells.
const WIDTHS: [usize; 5] = [9, 8, 14, 40, 16];

/// LOW candidates listed under their row before the rest are counted.
const MAX_CANDIDATE_LINES: usize = 20;

/// The table's header line.
pub fn table_header() -> String {
    row_cells(["OUTCOME", "KEY", "SECTION", "TITLE", "PLUGIN"], "PATH")
}

fn row_cells(cells: [&str; 5], path: &str) -> String {
    let mut out = String::new();
    for (cell, width) in cells.iter().zip(WIDTHS) {
        out.push_str(&fit(cell, width));
        out.push_str("  ");
    }
    out.push_str(path);
    out
}

/// `s` in exactly `width` terminal cells: cut with `…` when wider (by display width, so
/// CJK and combining characters line up), padded with spaces when narrower.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return format!("{s}{}", " ".repeat(width - s.width()));
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    used += 1;
    format!("{out}{}", " ".repeat(width.saturating_sub(used)))
}

/// One answer as a table row; a LOW answer's candidates follow on indented lines, each
/// with its rating key, section, title and file.
pub fn table_row(m: &PathMatch) -> String {
    let (key, section, title) = match (m.outcome, &m.item) {
        (Outcome::High, Some(i)) => (i.rating_key.clone(), i.section.clone(), i.title.clone()),
        (Outcome::Low, _) => (
            "-".into(),
            "-".into(),
            format!("{} candidates", m.candidates.len()),
        ),
        (Outcome::Error, _) => (
            "-".into(),
            "-".into(),
            m.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        ),
        _ => ("-".into(), "-".into(), "-".into()),
    };
    // Titles come from Plex, names and errors from plugins: escaped before they are cut,
    // so no control character reaches the terminal and no escape sequence is split.
    let e = |s: &str| escape_controls(s).into_owned();
    let mut out = row_cells(
        [
            m.outcome.label(),
            &e(&key),
            &e(&section),
            &e(&title),
            &e(&m.plugin),
        ],
        &e(&m.path),
    );
    if m.outcome == Outcome::Low {
        for c in m.candidates.iter().take(MAX_CANDIDATE_LINES) {
            out.push_str(&format!(
                "\n    · {}  {}  {}  {}",
                fit(&e(&c.rating_key), 8),
                fit(&e(&c.section), 14),
                fit(&e(&c.title), 40),
                e(c.files.first().map(String::as_str).unwrap_or("-"))
            ));
        }
        if m.candidates.len() > MAX_CANDIDATE_LINES {
            out.push_str(&format!(
                "\n    · … and {} more (--json lists them all)",
                m.candidates.len() - MAX_CANDIDATE_LINES
            ));
        }
    }
    out
}

/// An explanation as indented lines under its row.
pub fn explain_lines(e: &crate::matching::Explain) -> String {
    let mut out = format!(
        "\n    ↳ {} · {} Plex request(s)",
        escape_controls(&e.decided_by),
        e.requests
    );
    for t in &e.sections {
        out.push_str(&format!(
            "\n      {} ({}): {} → {}",
            escape_controls(&t.section),
            escape_controls(&t.plugin),
            if t.steps.is_empty() {
                "no host call".to_owned()
            } else {
                escape_controls(&t.steps.join("; ")).into_owned()
            },
            escape_controls(&t.answer)
        ));
    }
    out
}

/// Counts of a run's answers.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub high: u64,
    pub low: u64,
    pub not_found: u64,
    pub plex_errors: u64,
    pub plugin_errors: u64,
    pub input_errors: u64,
    /// Paths answered without a Plex request (from the caches alone), and those that needed one.
    pub from_caches: u64,
    pub needed_plex: u64,
    /// Plex requests made while matching paths (the rest were made before: the server's
    /// identity, the section list, listings planned up front).
    pub path_requests: u64,
}

impl Tally {
    /// Counts one answer.
    pub fn add(&mut self, m: &PathMatch) {
        self.path_requests += m.requests;
        if !matches!(m.error, Some(Failure::Input(_))) {
            if m.requests == 0 {
                self.from_caches += 1;
            } else {
                self.needed_plex += 1;
            }
        }
        match (m.outcome, &m.error) {
            (Outcome::High, _) => self.high += 1,
            (Outcome::Low, _) => self.low += 1,
            (Outcome::NotFound, _) => self.not_found += 1,
            (Outcome::Error, Some(Failure::Plugin(_))) => self.plugin_errors += 1,
            (Outcome::Error, Some(Failure::Input(_))) => self.input_errors += 1,
            (Outcome::Error, _) => self.plex_errors += 1,
        }
    }

    /// The exit code for the run (see [`exit`]).
    pub fn exit_code(&self) -> i32 {
        if self.plex_errors > 0 {
            exit::PLEX
        } else if self.plugin_errors > 0 {
            exit::PLUGIN
        } else if self.low + self.not_found + self.input_errors > 0 {
            exit::NOT_ALL_HIGH
        } else {
            exit::ALL_HIGH
        }
    }

    /// One line: counts per outcome, cache hit rates, Plex requests and time.
    pub fn summary(&self, backend: &Backend, elapsed: Duration) -> String {
        let total = self.high
            + self.low
            + self.not_found
            + self.plex_errors
            + self.plugin_errors
            + self.input_errors;
        let errors = self.plex_errors + self.plugin_errors + self.input_errors;
        format!(
            "{total} path(s): {} HIGH, {} LOW, {} not found, {errors} error(s) · {} answered from the caches alone, {} needed Plex · {} Plex request(s), {} of them before matching · {:.2?}",
            self.high,
            self.low,
            self.not_found,
            self.from_caches,
            self.needed_plex,
            backend.plex.requests(),
            backend.plex.requests().saturating_sub(self.path_requests),
            elapsed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn cells_fit_by_display_width() {
        assert_eq!(fit("abc", 5), "abc  ");
        // Two cells per CJK character: 4 characters fill 8 cells.
        assert_eq!(fit("千と千尋", 8).width(), 8);
        assert_eq!(fit("千と千尋の神隠し", 8), "千と千… ");
        // A combining accent takes no cell.
        assert_eq!(fit("Ame\u{301}lie", 6).width(), 6);
        let long = "The Lord of the Rings: The Fellowship of the Ring (Extended Edition)";
        assert_eq!(fit(long, 40).width(), 40);
        assert!(fit(long, 40).ends_with('…'));
    }
}
