//! The host side of each WIT interface a plugin imports, one module per interface.
//! Every function runs through [`State::host_call`], so its time is not charged to the
//! plugin's CPU deadline.

mod library_cache;
mod log;
mod match_cache;
mod output;
mod plex;
mod request;
mod settings;
mod store;
mod v0_1;

pub use output::CapturedOutput;
pub use request::RequestState;
pub use store::{
    CallClock, DEFAULT_CPU_DEADLINE, DEFAULT_REQUESTS_PER_CALL, DEFAULT_WALL_LIMIT, Limiter, Limits,
    MAX_LOG_LINES, PluginIdentity, State, thread_cpu_time,
};

use crate::plex as model;
use crate::wit::bindings::plexmatch::plugin::types;

impl types::Host for State {}

/// A host item as the WIT `item` record.
pub fn to_wit_item(i: &model::Item) -> types::Item {
    let (year, guids, parts) = i.extras.unpack(i.files.len());
    types::Item {
        rating_key: i.rating_key.clone(),
        title: i.title.clone(),
        kind: match i.kind {
            model::ItemKind::Movie => types::ItemKind::Movie,
            model::ItemKind::Episode => types::ItemKind::Episode,
            model::ItemKind::Show => types::ItemKind::Show,
            model::ItemKind::Season => types::ItemKind::Season,
            model::ItemKind::Other => types::ItemKind::Other,
        },
        section_id: i.section_id,
        files: i.files.clone(),
        year,
        guids,
        parts: i
            .files
            .iter()
            .zip(parts)
            .map(|(f, p)| types::Part {
                file: f.clone(),
                size: p.size,
                duration_ms: p.duration_ms,
            })
            .collect(),
    }
}

/// A host section as the WIT `section` record.
pub fn to_wit_section(s: &model::Section) -> types::Section {
    types::Section {
        id: s.id,
        uuid: s.uuid.clone(),
        title: s.title.clone(),
        kind: match s.kind {
            model::SectionKind::Movie => types::SectionKind::Movie,
            model::SectionKind::Show => types::SectionKind::Show,
            model::SectionKind::Artist => types::SectionKind::Artist,
            model::SectionKind::Photo => types::SectionKind::Photo,
            model::SectionKind::Other => types::SectionKind::Other,
        },
    }
}

/// A host Plex error as the WIT `plex-error` variant.
pub fn to_wit_plex_error(e: model::PlexError) -> types::PlexError {
    match e {
        model::PlexError::Unauthorized(m) => types::PlexError::Unauthorized(m),
        model::PlexError::NotFound(m) => types::PlexError::NotFound(m),
        model::PlexError::Unavailable(m) => types::PlexError::Unavailable(m),
        model::PlexError::Timeout(m) => types::PlexError::Timeout(m),
        model::PlexError::RateLimited(_, s) => types::PlexError::RateLimited(s),
        model::PlexError::BadResponse(m) => types::PlexError::BadResponse(m),
        // Contract 0.1 has no such kinds: unavailable, with the whole sentence, which
        // `PlexError::from_unavailable` recognises when a plugin hands the error back.
        e @ (model::PlexError::Certificate(_) | model::PlexError::Offline(_)) => {
            types::PlexError::Unavailable(e.to_string())
        }
    }
}

/// A WIT `plex-error` as the host's error.
pub fn from_wit_plex_error(e: &types::PlexError) -> model::PlexError {
    match e.clone() {
        types::PlexError::Unauthorized(m) => model::PlexError::Unauthorized(m),
        types::PlexError::NotFound(m) => model::PlexError::NotFound(m),
        types::PlexError::Unavailable(m) => model::PlexError::from_unavailable(m),
        types::PlexError::Timeout(m) => model::PlexError::Timeout(m),
        types::PlexError::RateLimited(s) => {
            model::PlexError::RateLimited("the plugin reported HTTP 429".into(), s)
        }
        types::PlexError::BadResponse(m) => model::PlexError::BadResponse(m),
    }
}
