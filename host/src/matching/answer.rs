//! What an answer is: its outcome in the one vocabulary (high, low, not-found, error), the
//! item or candidates, the failure by who can fix it, and its explanation.

use serde::Serialize;

use crate::plex::{Item, Section};

/// The answer for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Exactly one item holds the file.
    High,
    /// Several items could hold it.
    Low,
    /// No chosen section holds it.
    NotFound,
    /// No answer: see the error.
    Error,
}

impl Outcome {
    /// The outcome's word, the same in JSON, CSV and (in capitals) the table and summary:
    /// `high`, `low`, `not-found`, `error`.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::High => "high",
            Outcome::Low => "low",
            Outcome::NotFound => "not-found",
            Outcome::Error => "error",
        }
    }

    /// The outcome as the table shows it: its word in capitals.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::High => "HIGH",
            Outcome::Low => "LOW",
            Outcome::NotFound => "NOT-FOUND",
            Outcome::Error => "ERROR",
        }
    }
}

/// What went wrong, by who can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum Failure {
    /// The Plex server refused the token.
    Unauthorized(String),
    /// The Plex server failed or could not be reached (temporary).
    Plex(String),
    /// The plugin answered badly: an error of its own, a malformed answer or a claim the
    /// host could not confirm.
    Plugin(String),
    /// The plugin was stopped: a trap (panic, abort, wasm fault), its CPU deadline,
    /// wall-clock limit or memory cap, or it could not start.
    Crash(String),
    /// The path cannot be matched as given.
    Input(String),
    /// The path is pinned to an item that is gone (`plexmatch pin`).
    Pin(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unauthorized(m)
            | Failure::Plex(m)
            | Failure::Plugin(m)
            | Failure::Crash(m)
            | Failure::Input(m)
            | Failure::Pin(m) => f.write_str(m),
        }
    }
}

/// An item in an answer, with its section's title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatchedItem {
    pub rating_key: String,
    pub title: String,
    pub kind: crate::plex::ItemKind,
    pub section_id: u32,
    pub section: String,
    pub files: Vec<String>,
    /// The item's file the path is, when the plugin named it (a file renamed on one side).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_file: Option<String>,
}

/// The answer for one path.
#[derive(Debug, Clone, Serialize)]
pub struct PathMatch {
    pub path: String,
    pub outcome: Outcome,
    /// The item, when the outcome is HIGH.
    pub item: Option<MatchedItem>,
    /// Every item considered (one for HIGH, several for LOW).
    pub candidates: Vec<MatchedItem>,
    /// The plugin that answered.
    pub plugin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
    /// Plex requests made while matching this path (not those made ahead of a batch).
    #[serde(skip)]
    pub requests: u64,
    /// Why the answer is what it is, when asked for (`--explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

/// Why an answer is what it is.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Explain {
    /// The rule that decided, in a sentence.
    pub decided_by: String,
    /// What the plugin did in each section asked.
    pub sections: Vec<SectionTrace>,
    /// Plex requests this path caused.
    pub requests: u64,
}

/// What a plugin did in one section, and what it answered there.
#[derive(Debug, Clone, Serialize)]
pub struct SectionTrace {
    pub section: String,
    pub plugin: String,
    /// The plugin's steps, as lines.
    pub steps: Vec<String>,
    pub answer: String,
    /// The same steps, typed: what the host reads when it says which step decided.
    #[serde(skip)]
    pub events: Vec<crate::runtime::Step>,
}

impl MatchedItem {
    /// An item of `section` as answers show it.
    pub fn of(i: Item, section: &Section) -> MatchedItem {
        MatchedItem {
            rating_key: i.rating_key,
            title: i.title,
            kind: i.kind,
            section_id: i.section_id,
            section: section.title.clone(),
            files: i.files,
            matched_file: None,
        }
    }
}
