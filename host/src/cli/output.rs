//! How answers are printed: a readable table, or one JSON object per line; and the
//! summary of a run.

use std::io::Write;
use std::time::Duration;

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
    /// The terminal's width, when the table goes to one: lines are cut to it.
    width: Option<usize>,
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
            width: (format == Format::Table).then(terminal_width).flatten(),
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
                let mut rows = Vec::new();
                if !self.header_done {
                    rows.push(CSV_HEADER.iter().map(|h| h.to_string()).collect());
                    self.header_done = true;
                }
                rows.push(csv_record(m));
                let _ = out.write_all(&csv_bytes(&rows));
            }
            Format::Table => {
                if !self.header_done {
                    let _ = writeln!(out, "{}", table_header());
                    self.header_done = true;
                }
                let mut row = table_row_within(m, self.width);
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

/// The CSV columns: `candidate_keys` space-separated; `candidates` a JSON array of
/// `{rating_key, title, section, file}` (LOW answers only).
pub const CSV_HEADER: [&str; 9] = [
    "path",
    "outcome",
    "rating_key",
    "title",
    "section",
    "plugin",
    "candidate_keys",
    "candidates",
    "error",
];

/// CSV records as bytes, quoted as RFC 4180 says (by the csv crate).
pub fn csv_bytes(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

/// One answer as CSV fields (the csv crate quotes them); control characters escaped.
pub fn csv_record(m: &PathMatch) -> Vec<String> {
    let item = m.item.as_ref();
    let low = m.outcome == Outcome::Low;
    let keys = if low {
        m.candidates
            .iter()
            .map(|c| c.rating_key.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        String::new()
    };
    let candidates = if low {
        serde_json::Value::Array(
            m.candidates
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "rating_key": c.rating_key,
                        "title": c.title,
                        "section": c.section,
                        "file": c.files.first(),
                    })
                })
                .collect(),
        )
        .to_string()
    } else {
        String::new()
    };
    [
        m.path.clone(),
        m.outcome.word().to_owned(),
        item.map(|i| i.rating_key.clone()).unwrap_or_default(),
        item.map(|i| i.title.clone()).unwrap_or_default(),
        item.map(|i| i.section.clone()).unwrap_or_default(),
        m.plugin.clone(),
        keys,
        candidates,
        m.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
    ]
    .iter()
    .map(|f| escape_controls(f).into_owned())
    .collect()
}

/// Column widths of the table, in terminal cells.
const WIDTHS: [usize; 5] = [9, 8, 14, 40, 24];

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

/// Cells before the path: the five columns and their gaps.
const BEFORE_PATH: usize = WIDTHS[0] + WIDTHS[1] + WIDTHS[2] + WIDTHS[3] + WIDTHS[4] + 5 * 2;

/// The terminal's width in cells, when stdout is a terminal.
pub fn terminal_width() -> Option<usize> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct for a terminal file descriptor.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// `s` in at most `width` cells, cut at the start (`…` first) so that the end, a path's
/// file name, stays.
pub fn fit_end(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return s.to_owned();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in s.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

/// [`table_row`] with its lines cut to a terminal `width` (the path keeps its end).
pub fn table_row_within(m: &PathMatch, width: Option<usize>) -> String {
    let row = table_row(m);
    let Some(width) = width else { return row };
    row.lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                // The first line: the cells, then the path cut from the left.
                let (cells, path) = split_at_width(line, BEFORE_PATH);
                format!(
                    "{cells}{}",
                    fit_end(path, width.saturating_sub(BEFORE_PATH).max(12))
                )
            } else {
                fit(line, width).trim_end().to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `line` split after `cells` terminal cells.
fn split_at_width(line: &str, cells: usize) -> (&str, &str) {
    use unicode_width::UnicodeWidthChar;
    let mut used = 0;
    for (i, c) in line.char_indices() {
        if used >= cells {
            return line.split_at(i);
        }
        used += c.width().unwrap_or(0);
    }
    (line, "")
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
            (Outcome::Error, Some(Failure::Plugin(_) | Failure::Crash(_))) => {
                self.plugin_errors += 1
            }
            (Outcome::Error, Some(Failure::Input(_) | Failure::Pin(_))) => self.input_errors += 1,
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

    /// One line: counts per outcome, cache hit rates, the run's Plex `requests` and time.
    pub fn summary(&self, requests: u64, elapsed: Duration) -> String {
        let total = self.high
            + self.low
            + self.not_found
            + self.plex_errors
            + self.plugin_errors
            + self.input_errors;
        let errors = self.plex_errors + self.plugin_errors + self.input_errors;
        format!(
            "{total} path(s): {} HIGH, {} LOW, {} NOT-FOUND, {errors} ERROR · {} answered from the caches alone, {} needed Plex · {} Plex request(s), {} of them before matching · {:.2?}",
            self.high,
            self.low,
            self.not_found,
            self.from_caches,
            self.needed_plex,
            requests,
            requests.saturating_sub(self.path_requests),
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

    #[test]
    fn a_long_path_keeps_its_file_name_within_the_terminal() {
        let m = PathMatch {
            path: format!("/media/{}/千と千尋の神隠し (2001).mkv", "deep/".repeat(40)),
            outcome: Outcome::NotFound,
            item: None,
            candidates: Vec::new(),
            plugin: "default".into(),
            error: None,
            requests: 0,
            explain: None,
        };
        let row = table_row_within(&m, Some(160));
        assert!(row.width() <= 160, "{} cells: {row}", row.width());
        assert!(row.ends_with("千と千尋の神隠し (2001).mkv"), "{row}");
        assert!(row.contains('…'));
        assert_eq!(table_row_within(&m, None), table_row(&m));
    }
}
