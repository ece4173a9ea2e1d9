//! Contract 0.1's types turned into the current contract's and back, for the host
//! interfaces a 0.1 plugin imports. What 0.1 lacks is absent (no year, external ids,
//! sizes or durations), so such a plugin sees exactly what it did under a 0.1 host.

use super::bindings::plexmatch::plugin::{library_cache, log, match_cache, types};
use super::bindings_v0_1::plexmatch::plugin::{
    library_cache as old_library_cache, log as old_log, match_cache as old_match_cache,
    types as old,
};

/// A section as 0.1 describes it.
pub fn section(s: &types::Section) -> old::Section {
    old::Section {
        id: s.id,
        uuid: s.uuid.clone(),
        title: s.title.clone(),
        kind: match s.kind {
            types::SectionKind::Movie => old::SectionKind::Movie,
            types::SectionKind::Show => old::SectionKind::Show,
            types::SectionKind::Artist => old::SectionKind::Artist,
            types::SectionKind::Photo => old::SectionKind::Photo,
            types::SectionKind::Other => old::SectionKind::Other,
        },
    }
}

/// An item as 0.1 describes it.
pub fn item(i: types::Item) -> old::Item {
    old::Item {
        rating_key: i.rating_key,
        title: i.title,
        kind: match i.kind {
            types::ItemKind::Movie => old::ItemKind::Movie,
            types::ItemKind::Episode => old::ItemKind::Episode,
            types::ItemKind::Show => old::ItemKind::Show,
            types::ItemKind::Season => old::ItemKind::Season,
            types::ItemKind::Other => old::ItemKind::Other,
        },
        section_id: i.section_id,
        files: i.files,
    }
}

/// Items as 0.1 describes them.
pub fn items(v: Vec<types::Item>) -> Vec<old::Item> {
    v.into_iter().map(item).collect()
}

/// A Plex error as 0.1 describes it.
pub fn plex_error(e: types::PlexError) -> old::PlexError {
    match e {
        types::PlexError::Unauthorized(m) => old::PlexError::Unauthorized(m),
        types::PlexError::NotFound(m) => old::PlexError::NotFound(m),
        types::PlexError::Unavailable(m) => old::PlexError::Unavailable(m),
        types::PlexError::Timeout(m) => old::PlexError::Timeout(m),
        types::PlexError::RateLimited(s) => old::PlexError::RateLimited(s),
        types::PlexError::BadResponse(m) => old::PlexError::BadResponse(m),
    }
}

/// A 0.1 plugin's Plex error in the current contract's terms.
pub fn plex_error_up(e: old::PlexError) -> types::PlexError {
    match e {
        old::PlexError::Unauthorized(m) => types::PlexError::Unauthorized(m),
        old::PlexError::NotFound(m) => types::PlexError::NotFound(m),
        old::PlexError::Unavailable(m) => types::PlexError::Unavailable(m),
        old::PlexError::Timeout(m) => types::PlexError::Timeout(m),
        old::PlexError::RateLimited(s) => types::PlexError::RateLimited(s),
        old::PlexError::BadResponse(m) => types::PlexError::BadResponse(m),
    }
}

/// A cache error as 0.1 describes it.
pub fn cache_error(e: types::CacheError) -> old::CacheError {
    match e {
        types::CacheError::Rejected(m) => old::CacheError::Rejected(m),
        types::CacheError::Storage(m) => old::CacheError::Storage(m),
    }
}

/// A snapshot's bookkeeping as 0.1 describes it.
pub fn snapshot_info(i: library_cache::SnapshotInfo) -> old_library_cache::SnapshotInfo {
    old_library_cache::SnapshotInfo {
        item_count: i.item_count,
        age_seconds: i.age_seconds,
        fresh: i.fresh,
    }
}

/// A cached match as 0.1 describes it (without its file).
pub fn cached_match(m: match_cache::CachedMatch) -> old_match_cache::CachedMatch {
    old_match_cache::CachedMatch {
        rating_key: m.rating_key,
        verified_at: m.verified_at,
    }
}

/// A log level in the current contract's terms.
pub fn level(l: old_log::Level) -> log::Level {
    match l {
        old_log::Level::Trace => log::Level::Trace,
        old_log::Level::Debug => log::Level::Debug,
        old_log::Level::Info => log::Level::Info,
        old_log::Level::Warn => log::Level::Warn,
        old_log::Level::Error => log::Level::Error,
    }
}
