//! `match-cache`: the host's path → item cache, with writes checked so that a plugin
//! cannot store a mapping that Plex contradicts.

use crate::runtime::State;
use crate::runtime::bindings::plexmatch::plugin::match_cache::{CachedMatch, Host};
use crate::runtime::bindings::plexmatch::plugin::types::CacheError;

impl Host for State {
    fn get(&mut self, section_id: u32, path: String) -> Option<CachedMatch> {
        self.host_call(|s| match s.backend.matches.get(section_id, &path) {
            Ok(m) => m.map(|m| {
                s.cached_matches.insert(section_id, m.clone());
                CachedMatch {
                    rating_key: m.rating_key,
                    verified_at: m.verified_at.max(0) as u64,
                }
            }),
            Err(e) => {
                tracing::warn!("cannot read the match cache: {e:#}");
                None
            }
        })
    }

    fn put(&mut self, section_id: u32, path: String, rating_key: String) -> Result<(), CacheError> {
        self.host_call(|s| {
            let known = s.served.get(&rating_key).cloned();
            s.backend
                .confirm(section_id, &path, &rating_key, known.as_ref())
                .map_err(CacheError::Rejected)?;
            s.backend
                .matches
                .put(section_id, &path, &rating_key)
                .map_err(|e| CacheError::Storage(format!("{e:#}")))
        })
    }

    fn invalidate(&mut self, section_id: u32, path: String) {
        self.host_call(|s| {
            if let Err(e) = s.backend.matches.invalidate(section_id, &path) {
                tracing::warn!("cannot update the match cache: {e:#}");
            }
        })
    }

    fn invalidate_section(&mut self, section_id: u32) {
        self.host_call(|s| {
            if let Err(e) = s.backend.matches.invalidate_section(section_id) {
                tracing::warn!("cannot update the match cache: {e:#}");
            }
        })
    }
}
