//! `match-cache`: the host's path → item cache. A plugin reads and writes only its own
//! decisions (by name and component digest), only for the section it was asked about;
//! writes are checked against Plex, and every hit is verified against the very file it
//! was matched to before the plugin sees it.

use crate::backend::holds_file;
use crate::runtime::bindings::plexmatch::plugin::match_cache::{CachedMatch, Host};
use crate::runtime::bindings::plexmatch::plugin::types::CacheError;
use crate::runtime::{State, Step, Verified};

impl State {
    /// Refuses a write for another section than the one asked about.
    fn own_section(&self, section_id: u32) -> Result<(), String> {
        match self.section {
            Some(s) if s == section_id => Ok(()),
            Some(s) => Err(format!(
                "a plugin asked about section {s} may write match-cache entries for that section only, not {section_id}"
            )),
            None => Err("match-cache writes are allowed only while matching a path".into()),
        }
    }

    /// Whether the entry's item still holds the entry's file: from a fresh snapshot, this
    /// run's memo, or one request. `None`: it cannot be told now (Plex failing).
    fn still_holds(&mut self, section_id: u32, m: &crate::cache::CachedMatch) -> Option<bool> {
        if self.snapshot(section_id).is_some_and(|(_, fresh)| fresh) {
            // Every holder of the file's name: the plugin usually asks for them next.
            let name = plexmatch_matchkit::file_name(&m.file)?;
            let holders = self.snapshot_items(section_id, name)?;
            let holds = holders
                .iter()
                .any(|i| i.rating_key == m.rating_key && holds_file(&i.files, &m.file));
            self.index_memo = Some((section_id, plexmatch_matchkit::name_key(name), holders));
            return Some(holds);
        }
        let backend = self.backend.clone();
        let fetched = match backend.memo_item(&m.rating_key) {
            Some(r) => r,
            None => {
                self.charge_request().ok()?;
                backend.fetch_item(&m.rating_key)
            }
        };
        match fetched {
            Ok(item) => {
                let holds = item.section_id == section_id && holds_file(&item.files, &m.file);
                self.serve([&item]);
                Some(holds)
            }
            Err(crate::plex::PlexError::NotFound(_)) => Some(false),
            Err(_) => None,
        }
    }
}

impl Host for State {
    fn get(&mut self, section_id: u32, path: String) -> Option<CachedMatch> {
        self.host_call(|s| {
            let m = match s.backend.matches.get(section_id, &path, &s.decider) {
                Ok(m) => m?,
                Err(e) => {
                    tracing::warn!("cannot read the match cache: {e:#}");
                    return None;
                }
            };
            let fresh = s.snapshot(section_id).is_some_and(|(_, f)| f);
            let by = if fresh {
                Verified::Snapshot
            } else {
                Verified::Fetch
            };
            match s.still_holds(section_id, &m) {
                Some(true) => s.note(|| Step::CacheHit {
                    rating_key: m.rating_key.clone(),
                    file: m.file.clone(),
                    by,
                }),
                Some(false) => {
                    s.note(|| Step::CacheStale {
                        rating_key: m.rating_key.clone(),
                    });
                    tracing::info!(
                        "cached match {} of {path:?} is stale: the item no longer holds {:?}",
                        m.rating_key,
                        m.file
                    );
                    let _ = s
                        .backend
                        .matches
                        .invalidate(section_id, &path, Some(&s.decider));
                    return None;
                }
                None => return None,
            }
            s.cached_matches.insert(section_id, m.clone());
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
            let backend = s.backend.clone();
            let (_, file) = backend
                .confirm(
                    section_id,
                    &path,
                    &rating_key,
                    matched_file.as_deref(),
                    known,
                    || s.charge_request(),
                )
                .map_err(CacheError::Rejected)?;
            backend
                .matches
                .put(section_id, &path, &s.decider, &rating_key, &file)
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
                .backend
                .matches
                .invalidate(section_id, &path, Some(&s.decider))
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
                .backend
                .matches
                .invalidate_section(section_id, Some(&s.decider))
            {
                tracing::warn!("cannot update the match cache: {e:#}");
            }
        })
    }
}
