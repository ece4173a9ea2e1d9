//! A decision as the match cache keeps it: which plugin decided (its name and build) and
//! what it decided (the item and the very file the path was matched to).

/// Which plugin decided a match: its name and its component's digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decider {
    pub name: String,
    pub digest: String,
}

impl Decider {
    /// A decider by name and digest.
    pub fn new(name: &str, digest: &str) -> Decider {
        Decider {
            name: name.to_owned(),
            digest: digest.to_owned(),
        }
    }
}

/// A remembered match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMatch {
    pub rating_key: String,
    /// The item's Plex file the path was matched to: a hit is verified against it.
    pub file: String,
    /// Unix time the match was last confirmed.
    pub verified_at: i64,
}
