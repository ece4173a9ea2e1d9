//! How answers are printed: a readable table, or one JSON object per line; and the
//! summary of a run.

use std::io::Write;
use std::time::Duration;

use plexmatch_engine::{Failure, Outcome, PathMatch};

use super::exit;
pub use super::table::{Layout, fit, terminal_width};
use plexmatch_engine::text::escape_controls;

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
    /// The table's columns (cut to the terminal's width when it goes to one).
    layout: Layout,
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
    /// A printer for `format`; `quiet` prints nothing; tables coloured as `color` says,
    /// their columns sized for answers from `sections` (titles) by `plugins` (names).
    pub fn new(
        format: Format,
        quiet: bool,
        color: ColorChoice,
        sections: &[&str],
        plugins: &[&str],
    ) -> Printer {
        // Colours only for a person reading a table.
        let colour = format == Format::Table && color.on();
        let width = (format == Format::Table).then(terminal_width).flatten();
        Printer {
            format,
            quiet,
            header_done: false,
            colour,
            layout: Layout::new(width, sections, plugins),
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
                    let _ = writeln!(out, "{}", self.layout.header());
                    self.header_done = true;
                }
                let mut row = self.layout.row(m);
                if let Some(e) = &m.explain {
                    let lines = explain_lines(e);
                    match self.layout.width() {
                        // Explanations are for reading on the screen: cut to it.
                        Some(w) => lines
                            .split('\n')
                            .skip(1)
                            .for_each(|l| row.push_str(&format!("\n{}", fit(l, w).trim_end()))),
                        None => row.push_str(&lines),
                    }
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

/// An explanation as indented lines under its row.
pub fn explain_lines(e: &plexmatch_engine::Explain) -> String {
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
    /// Counts one answer. An error is neither answered from the caches nor by Plex: it
    /// is counted as an error only.
    pub fn add(&mut self, m: &PathMatch) {
        self.path_requests += m.requests;
        if m.outcome != Outcome::Error {
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
        let g = super::progress::grouped;
        let before = requests.saturating_sub(self.path_requests);
        // "From the caches alone" only when the run asked Plex nothing up front either:
        // answers from a snapshot this run listed first are not.
        let without = if before == 0 {
            "answered from the caches alone"
        } else {
            "answered with no request of their own"
        };
        format!(
            "{} path(s): {} HIGH, {} LOW, {} NOT-FOUND, {} ERROR · {} {without}, {} needed Plex · {} Plex request(s), {} of them before matching · {:.2?}",
            g(total),
            g(self.high),
            g(self.low),
            g(self.not_found),
            g(errors),
            g(self.from_caches),
            g(self.needed_plex),
            g(requests),
            g(before),
            elapsed
        )
    }
}
