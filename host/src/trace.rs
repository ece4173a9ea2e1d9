//! What a plugin asked of the host during one call, as typed steps: recorded once (only
//! when explaining), rendered as the lines of `--explain`, the JSON `explain` object and
//! `plugin test`, and read as they are — not parsed back from text — when the host says
//! which step decided an answer.

use std::fmt;

/// How a cached decision was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// Against the section's fresh snapshot.
    Snapshot,
    /// Against the item fetched from Plex.
    Fetch,
    /// Against a file look-up's answer within its TTL.
    Lookup,
}

/// One step of a plugin call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A match-cache entry, verified: its item still holds its file.
    CacheHit {
        rating_key: String,
        file: String,
        by: Verified,
    },
    /// A match-cache entry whose item no longer holds its file: forgotten.
    CacheStale { rating_key: String },
    /// The section snapshot's file-name index (no request): the items holding the name.
    FileIndex { name: String, keys: Vec<String> },
    /// The holders of a name as the host found them for `plex.items-by-file-name`: by a
    /// file look-up (sent, or its answer within the TTL) or the section's snapshot.
    Holders {
        name: String,
        keys: Vec<String>,
        via: crate::backend::Via,
    },
    /// A title search: from the search cache (`cached`), answered earlier in this run
    /// (`repeated`), or asked of Plex.
    TitleSearch {
        title: String,
        keys: Vec<String>,
        cached: bool,
        repeated: bool,
    },
    /// A title search Plex failed.
    TitleSearchFailed { title: String, error: String },
    /// An item fetched by rating key.
    Fetched { rating_key: String, title: String },
    /// A fetch that failed.
    FetchFailed { rating_key: String, error: String },
    /// A log line of the plugin's (escaped).
    Log {
        level: &'static str,
        message: String,
    },
    /// Steps past the cap, not kept.
    More,
}

impl Step {
    /// Whether this step found `rating_key`: a verified cache hit, or a search or index
    /// look-up that listed it.
    pub fn found(&self, rating_key: &str) -> bool {
        match self {
            Step::CacheHit { rating_key: k, .. } => k == rating_key,
            Step::FileIndex { keys, .. }
            | Step::Holders { keys, .. }
            | Step::TitleSearch { keys, .. } => keys.iter().any(|k| k == rating_key),
            _ => false,
        }
    }
}

/// Rating keys, at most eight of them, for a line.
fn keys(keys: &[String]) -> String {
    let mut out: Vec<&str> = keys.iter().take(8).map(String::as_str).collect();
    if keys.len() > 8 {
        out.push("…");
    }
    out.join(", ")
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::CacheHit {
                rating_key,
                file,
                by,
            } => {
                let how = match by {
                    Verified::Snapshot => "the fresh snapshot",
                    Verified::Fetch => "a fetch",
                    Verified::Lookup => "a file look-up within its TTL",
                };
                write!(
                    f,
                    "match cache: item {rating_key} (its file {file:?} verified by {how})"
                )
            }
            Step::CacheStale { rating_key } => {
                write!(f, "match cache: item {rating_key} is stale, forgotten")
            }
            Step::FileIndex { name, keys: k } => write!(
                f,
                "file-name index {name:?} (snapshot, no request): {} item(s) [{}]",
                k.len(),
                keys(k)
            ),
            Step::Holders { name, keys: k, via } => {
                use crate::backend::Via;
                let how = match via {
                    Via::Lookup { cached: false } => "file look-up (1 request)",
                    Via::Lookup { cached: true } => "file look-up (cached, no request)",
                    Via::Snapshot { fresh: true } => "the fresh snapshot (no request)",
                    Via::Snapshot { fresh: false } => "the snapshot, brought up to date",
                };
                write!(
                    f,
                    "holders of {name:?} by {how}: {} item(s) [{}]",
                    k.len(),
                    keys(k)
                )
            }
            Step::TitleSearch {
                title,
                keys: k,
                cached,
                repeated,
            } => write!(
                f,
                "{}: {} item(s) [{}]",
                Step::search_label(title, *cached, *repeated),
                k.len(),
                keys(k)
            ),
            Step::TitleSearchFailed { title, error } => {
                write!(f, "title search {title:?}: {error}")
            }
            Step::Fetched { rating_key, title } => {
                write!(f, "fetch item {rating_key}: {title:?}")
            }
            Step::FetchFailed { rating_key, error } => {
                write!(f, "fetch item {rating_key}: {error}")
            }
            Step::Log { level, message } => write!(f, "log {level}: {message}"),
            Step::More => f.write_str("… (more steps not shown)"),
        }
    }
}

impl Step {
    /// How a title search is named in a line: `title search "X"`, `cached title search
    /// "X"`, `title search "X" (answered this run already)`.
    pub fn search_label(title: &str, cached: bool, repeated: bool) -> String {
        format!(
            "{}title search {title:?}{}",
            if cached { "cached " } else { "" },
            if repeated {
                " (answered this run already)"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_as_the_explain_lines_always_did() {
        let keys = |n: usize| (0..n).map(|i| (100 + i).to_string()).collect::<Vec<_>>();
        assert_eq!(
            Step::FileIndex {
                name: "a.mkv".into(),
                keys: keys(2)
            }
            .to_string(),
            "file-name index \"a.mkv\" (snapshot, no request): 2 item(s) [100, 101]"
        );
        assert_eq!(
            Step::TitleSearch {
                title: "Dune".into(),
                keys: keys(9),
                cached: false,
                repeated: true
            }
            .to_string(),
            "title search \"Dune\" (answered this run already): 9 item(s) [100, 101, 102, 103, 104, 105, 106, 107, …]"
        );
        let hit = Step::CacheHit {
            rating_key: "101".into(),
            file: "/d/a.mkv".into(),
            by: Verified::Fetch,
        };
        assert_eq!(
            hit.to_string(),
            "match cache: item 101 (its file \"/d/a.mkv\" verified by a fetch)"
        );
        assert!(hit.found("101") && !hit.found("10"));
    }
}
