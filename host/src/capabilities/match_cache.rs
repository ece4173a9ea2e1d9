//! `match-cache`: the host's path → item cache. A plugin reads and writes only its own
//! decisions (by name and component digest), only for the section it was asked about;
//! writes are checked against Plex, and every hit is verified against the very file it
//! was matched to before the plugin sees it.

use crate::backend::holds_file;
use crate::wit::bindings::plexmatch::plugin::match_cache::{CachedMatch, Host};
use crate::wit::bindings::plexmatch::plugin::types::CacheError;
use std::collections::HashMap;
use std::sync::Arc;

use super::State;
use crate::backend::{Backend, Decisions, Snapshots};
use crate::cache::Decider;
use crate::trace::{Step, Verified};

/// What the match-cache interface keeps per store: the decision store, the snapshots
/// (every claim is checked against them), who decides, and what the current call read and
/// may write.
pub struct MatchState {
    pub(crate) decisions: Arc<Decisions>,
    pub(crate) snapshots: Arc<Snapshots>,
    /// The identity match-cache entries are written and read under.
    pub decider: Decider,
    /// Match-cache entries the plugin read during the current call, by section: the
    /// host need not write back an answer the cache already holds.
    pub cached_matches: HashMap<u32, crate::cache::CachedMatch>,
    /// The section the current `find` is about: the only one the plugin may write for.
    pub section: Option<u32>,
}

impl MatchState {
    /// The state of a new store over `backend`'s decisions, deciding as `decider`.
    pub fn new(backend: &Backend, decider: Decider) -> MatchState {
        MatchState {
            decisions: backend.decisions.clone(),
            snapshots: backend.snapshots.clone(),
            decider,
            cached_matches: HashMap::new(),
            section: None,
        }
    }

    /// Forgets what the last call read; no section is being matched.
    pub fn begin_call(&mut self) {
        self.cached_matches.clear();
        self.section = None;
    }
}

impl State {
    /// Refuses a write for another section than the one asked about.
    fn own_section(&self, section_id: u32) -> Result<(), String> {
        match self.matches.section {
            Some(s) if s == section_id => Ok(()),
            Some(s) => Err(format!(
                "a plugin asked about section {s} may write match-cache entries for that section only, not {section_id}"
            )),
            None => Err("match-cache writes are allowed only while matching a path".into()),
        }
    }

    /// Whether the entry's item still holds the entry's file, and how that was learnt:
    /// from a fresh snapshot, a file look-up's answer within its TTL, this run's memo, or
    /// one request. `None`: it cannot be told now (Plex failing).
    fn still_holds(
        &mut self,
        section_id: u32,
        m: &crate::cache::CachedMatch,
    ) -> Option<(bool, Verified)> {
        if self.library.snapshot(section_id).is_some_and(|(_, fresh)| fresh) {
            // Every holder of the file's name: the plugin usually asks for them next.
            let name = plexmatch_matchkit::file_name(&m.file)?;
            let holders = self.library.snapshot_items(section_id, name)?;
            let holds = holders
                .iter()
                .any(|i| i.rating_key == m.rating_key && holds_file(&i.files, &m.file));
            self.library.index_memo = Some((section_id, plexmatch_matchkit::name_key(name), holders));
            return Some((holds, Verified::Snapshot));
        }
        if let Some(name) = plexmatch_matchkit::file_name(&m.file)
            && let Some(holders) = self.library.snapshots.cached_holders(section_id, name)
        {
            let holds = holders
                .iter()
                .any(|i| i.rating_key == m.rating_key && holds_file(&i.files, &m.file));
            self.serve(&holders);
            self.plex.current = holders;
            return Some((holds, Verified::Lookup));
        }
        let gateway = self.plex.gateway.clone();
        let fetched = match gateway.memo_item(&m.rating_key) {
            Some(r) => r,
            None => {
                self.charge_request().ok()?;
                gateway.fetch_item(&m.rating_key)
            }
        };
        match fetched {
            Ok(item) => {
                let holds = item.section_id == section_id && holds_file(&item.files, &m.file);
                self.serve([&item]);
                Some((holds, Verified::Fetch))
            }
            Err(crate::plex::PlexError::NotFound(_)) => Some((false, Verified::Fetch)),
            Err(_) => None,
        }
    }
}

impl Host for State {
    fn get(&mut self, section_id: u32, path: String) -> Option<CachedMatch> {
        self.host_call(|s| {
            let m = match s.matches.decisions.matches.get(section_id, &path, &s.matches.decider) {
                Ok(m) => m?,
                Err(e) => {
                    tracing::warn!("cannot read the match cache: {e:#}");
                    return None;
                }
            };
            match s.still_holds(section_id, &m) {
                Some((true, by)) => s.note(|| Step::CacheHit {
                    rating_key: m.rating_key.clone(),
                    file: m.file.clone(),
                    by,
                }),
                Some((false, _)) => {
                    s.note(|| Step::CacheStale {
                        rating_key: m.rating_key.clone(),
                    });
                    tracing::info!(
                        "cached match {} of {path:?} is stale: the item no longer holds {:?}",
                        m.rating_key,
                        m.file
                    );
                    let _ = s
                        .matches
                        .decisions
                        .matches
                        .invalidate(section_id, &path, Some(&s.matches.decider));
                    return None;
                }
                None => return None,
            }
            s.matches.cached_matches.insert(section_id, m.clone());
            Some(CachedMatch {
                rating_key: m.rating_key,
                verified_at: m.verified_at.max(0) as u64,
                file: m.file,
            })
        })
    }

    fn put(
        &mut self,
        section_id: u32,
        path: String,
        rating_key: String,
        matched_file: Option<String>,
    ) -> Result<(), CacheError> {
        self.host_call(|s| {
            s.own_section(section_id).map_err(CacheError::Rejected)?;
            let known = s.served.get(&rating_key).cloned();
            let (snapshots, decisions) = (s.matches.snapshots.clone(), s.matches.decisions.clone());
            let (_, file) = snapshots
                .confirm(
                    section_id,
                    &path,
                    &rating_key,
                    matched_file.as_deref(),
                    known,
                    || s.charge_request(),
                )
                .map_err(CacheError::Rejected)?;
            decisions
                .matches
                .put(section_id, &path, &s.matches.decider, &rating_key, &file)
                .map_err(|e| CacheError::Storage(format!("{e:#}")))
        })
    }

    fn invalidate(&mut self, section_id: u32, path: String) {
        self.host_call(|s| {
            if let Err(why) = s.own_section(section_id) {
                tracing::debug!("invalidate refused: {why}");
                return;
            }
            if let Err(e) = s
                .matches
                .decisions
                .matches
                .invalidate(section_id, &path, Some(&s.matches.decider))
            {
                tracing::warn!("cannot update the match cache: {e:#}");
            }
        })
    }

    fn invalidate_section(&mut self, section_id: u32) {
        self.host_call(|s| {
            if let Err(why) = s.own_section(section_id) {
                tracing::debug!("invalidate-section refused: {why}");
                return;
            }
            if let Err(e) = s
                .matches
                .decisions
                .matches
                .invalidate_section(section_id, Some(&s.matches.decider))
            {
                tracing::warn!("cannot update the match cache: {e:#}");
            }
        })
    }
}
