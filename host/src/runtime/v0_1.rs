//! Plugins built for contract 0.1: their types turned into the current contract's and back.
//! What 0.1 lacks is absent (no year, external ids, sizes or durations; a HIGH names no
//! matched file), so such a plugin sees and answers exactly what it did under a 0.1 host.

use super::answer::{Answer, Claim};
use super::bindings::exports::plexmatch::plugin::matcher::PluginInfo;
use super::bindings::plexmatch::plugin::types;
use super::bindings_v0_1::exports::plexmatch::plugin::matcher as old_matcher;
use super::bindings_v0_1::plexmatch::plugin::types as old;
pub use crate::wit::v0_1::section;
use crate::wit::v0_1::plex_error_up;

/// Who the plugin says it is.
pub fn info(i: old_matcher::PluginInfo) -> PluginInfo {
    PluginInfo {
        name: i.name,
        version: i.version,
        description: i.description,
    }
}

/// A 0.1 plugin's answer, as the host reads answers ([`Answer`]).
pub fn answer(r: Result<old::MatchOutcome, old::MatchError>) -> Result<Answer, types::MatchError> {
    match r {
        Ok(o) => Ok(Answer {
            confidence: match o.confidence {
                old::Confidence::High => types::Confidence::High,
                old::Confidence::Low => types::Confidence::Low,
            },
            chosen: o.chosen.map(claim),
            candidates: o.candidates.into_iter().map(claim).collect(),
            matched_file: None,
        }),
        Err(old::MatchError::NotFound(m)) => Err(types::MatchError::NotFound(m)),
        Err(old::MatchError::InvalidInput(m)) => Err(types::MatchError::InvalidInput(m)),
        Err(old::MatchError::Plex(e)) => Err(types::MatchError::Plex(plex_error_up(e))),
    }
}

/// An item a 0.1 plugin answered (the host checks it against Plex anyway): its strings
/// were all copied out of the plugin.
fn claim(i: old::Item) -> Claim {
    let old::Item {
        rating_key,
        title,
        files,
        ..
    } = i;
    Claim::new(
        rating_key,
        std::iter::once(title.as_str()).chain(files.iter().map(String::as_str)),
    )
}
