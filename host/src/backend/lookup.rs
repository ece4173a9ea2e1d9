//! Finding the items that hold a file by asking Plex for them
//! (`/library/sections/{id}/all?type=T&file=NAME`) instead of listing a section that has
//! no snapshot yet: one request for a path rather than a page per thousand items.
//!
//! `file=` is not documented by Plex. What is relied on: `=` on a string means *contains*
//! (Plex's media-query grammar), compared as SQLite's LIKE compares (ASCII letters in
//! either case, every other character exactly). So the answer to an ASCII query holds
//! every item with a file whose path contains it in any ASCII case: a superset of the
//! items holding a file of that name by plexmatch's name rules, which are picked from it.
//! A name with other characters is asked for by its longest ASCII run (its holders may
//! differ from the caller's spelling in Unicode form or case, which LIKE would not fold),
//! and listed when that run is too short to narrow anything. So is a name with `k`, `;` or
//! `` ` ``, which a file may spell with a character that only Unicode folds to them (the
//! Kelvin sign). An answer holding an item
//! with no file that contains the query means the server ignored the filter; an answer
//! refused (HTTP 400 or 500) means it does not do it: both are remembered for the server,
//! said once, and the section is listed instead.

use std::collections::HashMap;
use std::time::Instant;

use super::Snapshots;
use super::snapshots::Via;
use crate::plex::{Item, PlexError};
use plexmatch_matchkit::{has_file_named, name_key};

/// How a section with no snapshot answers which items hold a file (`--lookup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LookupMode {
    /// File look-ups while they cost fewer requests than listing the section would.
    #[default]
    Auto,
    /// File look-ups always (a server that does not do them is still listed).
    File,
    /// The section is listed, as before file look-ups existed.
    Listing,
}

impl LookupMode {
    /// The mode a word names (`auto`, `file`, `listing`).
    pub fn parse(word: &str) -> Result<LookupMode, String> {
        match word.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(LookupMode::Auto),
            "file" => Ok(LookupMode::File),
            "listing" => Ok(LookupMode::Listing),
            other => Err(format!("must be auto, file or listing, not {other:?}")),
        }
    }
}

/// The shortest query worth sending: a shorter one (`.mkv`) narrows nothing.
const SHORTEST_QUERY: usize = 6;

/// The name of the file in a server's cache folder recording that it does not do file
/// look-ups, and why.
pub const UNSUPPORTED_FILE: &str = "file-lookups-unsupported";

/// What a run knows of file look-ups.
#[derive(Default)]
pub(super) struct Lookups {
    /// Why the server does not do them, when it was found not to (this run or before).
    pub(super) unsupported: Option<String>,
    /// Look-ups sent per section, and the section's size in listing pages once asked.
    pub(super) sections: HashMap<u32, (u64, Option<u64>)>,
    /// Answers of this run, by section and query, with when they came.
    memo: HashMap<(u32, String), (Instant, Vec<Item>)>,
    /// Whether this run said it answers from look-ups past their TTL while Plex fails.
    warned_stale: bool,
    /// What the server's cache folder remembers of its costs.
    pub(super) costs: super::cost::Remembered,
}

impl Lookups {
    /// What the server's cache folder says: whether it was found not to do file look-ups.
    pub(super) fn remembered(cache_dir: &std::path::Path) -> Lookups {
        let unsupported = std::fs::read_to_string(cache_dir.join(UNSUPPORTED_FILE))
            .ok()
            .filter(|why| !why.trim().is_empty());
        Lookups {
            unsupported,
            costs: super::cost::Remembered::read(cache_dir),
            ..Lookups::default()
        }
    }
}

/// ASCII characters that a server's file may spell with a character LIKE does not fold to
/// them, while plexmatch's name rules (NFC, then lower case) do: the Kelvin sign is `K`,
/// the Greek question mark `;`, the Greek varia `` ` ``. A query never holds them, so such
/// a file is still in the answer.
const FOLDED_INTO_ASCII: [char; 4] = ['k', 'K', ';', '`'];

/// What to send for `name`: its longest run of ASCII characters that a server's file can
/// only spell as they are (the whole name, for most ASCII names); `None` when that is too
/// short to be worth a request.
pub fn query_for(name: &str) -> Option<String> {
    let query = name
        .split(|c: char| !c.is_ascii() || FOLDED_INTO_ASCII.contains(&c))
        .max_by_key(|run| run.len())
        .unwrap_or("");
    (query.len() >= SHORTEST_QUERY).then(|| query.to_owned())
}

/// Whether `path` contains `query` as the server compares (ASCII case folded only).
fn contains(path: &str, query: &str) -> bool {
    path.to_ascii_lowercase()
        .contains(&query.to_ascii_lowercase())
}

impl Snapshots {
    /// Whether the server is known not to do file look-ups, and why.
    pub fn file_lookups_unsupported(&self) -> Option<String> {
        self.lookups_state().unsupported.clone()
    }

    /// Whether a batch lists this section before matching: it has a snapshot to bring up
    /// to date, or the run will not look its files up.
    pub fn lists_up_front(&self, section_id: u32) -> bool {
        self.snapshot(section_id).is_some() || !self.chooses_lookup(section_id)
    }

    pub(super) fn lookups_state(&self) -> std::sync::MutexGuard<'_, Lookups> {
        self.lookups.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The items of a section with no snapshot that hold a file named like `name`, by a
    /// file look-up when this run chooses one; `None`: list the section instead.
    pub(super) fn looked_up(
        &self,
        section_id: u32,
        name: &str,
    ) -> Option<(Result<Vec<Item>, PlexError>, Via)> {
        let query = query_for(name)?;
        // Offline, a look-up's answer of any age is as good as a snapshot of any age.
        if self.gateway.plex.is_offline() {
            return self
                .remembered_lookup(section_id, &query)
                .map(|answer| (Ok(holders(answer, name)), Via::Lookup { cached: true }));
        }
        if !self.chooses_lookup(section_id) {
            return None;
        }
        let (answer, cached) = match self.remembered_lookup(section_id, &query) {
            Some(items) => (items, true),
            None => match self.send_lookup(section_id, &query) {
                Ok(Some(items)) => (items, false),
                Ok(None) => return None,
                Err(e) => match self.stale_lookup(section_id, &query, &e) {
                    Some(items) => (items, true),
                    None => return Some((Err(e), Via::Lookup { cached: false })),
                },
            },
        };
        Some((Ok(holders(answer, name)), Via::Lookup { cached }))
    }

    /// While Plex fails, this run's own answer to `query` past its TTL but under the stale
    /// limit (stale-while-error, as for snapshots: said once, and only for an answer this
    /// run had, so a new run with Plex down says so).
    fn stale_lookup(&self, section_id: u32, query: &str, e: &PlexError) -> Option<Vec<Item>> {
        if matches!(
            e,
            PlexError::NotFound(_) | PlexError::Offline(_) | PlexError::Unauthorized(_)
        ) {
            return None;
        }
        let mut state = self.lookups_state();
        let (at, items) = state.memo.get(&(section_id, query.to_ascii_lowercase()))?;
        if at.elapsed() >= self.policy.stale_limit {
            return None;
        }
        let (age, items) = (at.elapsed(), items.clone());
        if !std::mem::replace(&mut state.warned_stale, true) {
            tracing::warn!(
                "cannot ask Plex which items hold a file ({e}); answering from look-ups of up to {:.0?} ago until Plex answers again (--offline answers from the caches without asking Plex)",
                age
            );
        }
        Some(items)
    }
}

/// Of a look-up's answer, the items holding a file named like `name` by plexmatch's rules.
fn holders(answer: Vec<Item>, name: &str) -> Vec<Item> {
    let key = name_key(name);
    answer
        .into_iter()
        .filter(|i| has_file_named(&i.files, &key))
        .collect()
}

impl Snapshots {
    /// The items of a section holding a file named like `name` by a file look-up's answer
    /// still within its TTL (this run's or the library cache's), with no request; `None`
    /// when there is none. Within its TTL such an answer is as good as a fresh snapshot:
    /// a cached decision is verified against it, so a warm run after a cold one that
    /// looked files up asks Plex nothing.
    pub fn cached_holders(&self, section_id: u32, name: &str) -> Option<Vec<Item>> {
        let query = query_for(name)?;
        Some(holders(self.remembered_lookup(section_id, &query)?, name))
    }

    /// An answer to `query` in this section still within its TTL (this run's, or the
    /// library cache's).
    fn remembered_lookup(&self, section_id: u32, query: &str) -> Option<Vec<Item>> {
        let key = (section_id, query.to_ascii_lowercase());
        if let Some((at, items)) = self.lookups_state().memo.get(&key)
            && (self.gateway.plex.is_offline()
                || at.elapsed() < self.policy.ttl_for(items.is_empty()))
        {
            return Some(items.clone());
        }
        let (ttl, negative) = if self.gateway.plex.is_offline() {
            (u64::MAX / 4, u64::MAX / 4)
        } else {
            (
                self.policy.library_ttl.as_secs(),
                self.policy.ttl_for(true).as_secs(),
            )
        };
        self.library
            .cached_file_lookup(section_id, &key.1, ttl, negative)
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read a cached file look-up: {e:#}");
                None
            })
    }

    /// Asks Plex which items of the section have a file containing `query`; `Ok(None)`
    /// when the server does not do it (said once, and remembered).
    fn send_lookup(&self, section_id: u32, query: &str) -> Result<Option<Vec<Item>>, PlexError> {
        let section = self.section(section_id)?;
        let Some(item_type) = section.kind.leaf_type() else {
            return Ok(Some(Vec::new()));
        };
        self.lookups_state()
            .sections
            .entry(section_id)
            .or_default()
            .0 += 1;
        let asked = self.gateway.ask(None, || {
            self.gateway
                .plex
                .items_by_file(section_id, item_type, query)
        });
        let items = match asked {
            Ok(items) => items,
            // A refusal of the filter, not of the server: list instead.
            Err(PlexError::Unavailable(m) | PlexError::BadResponse(m))
                if m.contains("HTTP 500") || m.contains("HTTP 400") =>
            {
                self.file_lookups_fail(&format!("it refused a file look-up ({m})"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        if let Some(stray) = items.iter().find(|i| !i.files.iter().any(|f| contains(f, query))) {
            self.file_lookups_fail(&format!(
                "it answered a file look-up for {query:?} with item {} ({:?}), which has no such file: the filter was ignored",
                stray.rating_key, stray.title
            ));
            return Ok(None);
        }
        let key = (section_id, query.to_ascii_lowercase());
        if let Err(e) = self.library.store_file_lookup(section_id, &key.1, &items) {
            tracing::warn!("cannot cache a file look-up: {e:#}");
        }
        self.remember_times();
        let mut state = self.lookups_state();
        if state.memo.len() >= 50_000 {
            state.memo.clear();
        }
        state.memo.insert(key, (Instant::now(), items.clone()));
        Ok(Some(items))
    }

    /// Remembers that the server does not do file look-ups: for this run, and in its
    /// cache folder for the runs after; said once.
    fn file_lookups_fail(&self, why: &str) {
        let mut state = self.lookups_state();
        if state.unsupported.is_some() {
            return;
        }
        tracing::warn!(
            "the Plex server does not find items by file ({why}); its sections are listed instead"
        );
        state.unsupported = Some(why.to_owned());
        if let Some(dir) = self.locks_dir.parent()
            && let Err(e) = std::fs::write(dir.join(UNSUPPORTED_FILE), why)
        {
            tracing::warn!("cannot record that the server does not find items by file: {e}");
        }
    }
}
