//! How answers are printed: a readable table, or one JSON object per line; and the
//! summary of a run.

use std::io::Write;
use std::time::Duration;

use crate::backend::Backend;
use crate::matching::{Failure, Outcome, PathMatch};

use super::exit;

/// Prints answers as they come.
pub struct Printer {
    json: bool,
    header_done: bool,
}

impl Printer {
    /// A printer for tables, or for JSON lines.
    pub fn new(json: bool) -> Printer {
        Printer {
            json,
            header_done: false,
        }
    }

    /// Prints one answer.
    pub fn row(&mut self, m: &PathMatch) {
        let mut out = std::io::stdout().lock();
        if self.json {
            let line = serde_json::to_string(m).expect("answers serialise");
            let _ = writeln!(out, "{line}");
        } else {
            if !self.header_done {
                let _ = writeln!(
                    out,
                    "{:<9}  {:<8}  {:<12}  {:<40}  PATH",
                    "OUTCOME", "KEY", "SECTION", "TITLE"
                );
                self.header_done = true;
            }
            let _ = writeln!(out, "{}", table_row(m));
        }
        let _ = out.flush();
    }
}

/// One answer as a table row.
pub fn table_row(m: &PathMatch) -> String {
    let (key, section, title) = match (m.outcome, &m.item) {
        (Outcome::High, Some(i)) => (i.rating_key.clone(), i.section.clone(), i.title.clone()),
        (Outcome::Low, _) => (
            "-".into(),
            "-".into(),
            format!(
                "{} candidates: {}",
                m.candidates.len(),
                m.candidates
                    .iter()
                    .map(|c| format!("{} ({}, {})", c.title, c.rating_key, c.section))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        ),
        (Outcome::Error, _) => (
            "-".into(),
            "-".into(),
            m.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        ),
        _ => ("-".into(), "-".into(), "-".into()),
    };
    format!(
        "{:<9}  {:<8}  {:<12}  {:<40}  {}",
        m.outcome.label(),
        key,
        clip(&section, 12),
        title,
        m.path
    )
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
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
}

impl Tally {
    /// Counts one answer.
    pub fn add(&mut self, m: &PathMatch) {
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
        let m = backend
            .matches
            .stats
            .session()
            .get("match")
            .copied()
            .unwrap_or_default();
        let f = backend
            .library
            .stats
            .session()
            .get("file-name")
            .copied()
            .unwrap_or_default();
        format!(
            "{total} path(s): {} HIGH, {} LOW, {} not found, {errors} error(s) · match cache {:.0}% hits ({}/{}) · snapshot {:.0}% fresh · {} Plex request(s) · {:.2?}",
            self.high,
            self.low,
            self.not_found,
            m.hit_rate(),
            m.hits,
            m.hits + m.misses,
            f.hit_rate(),
            backend.plex.requests(),
            elapsed
        )
    }
}
