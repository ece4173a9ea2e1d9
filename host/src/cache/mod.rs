//! The disk caches (SQLite): the library cache and the match cache, in the data dir.

mod db;
mod library;
mod matches;
mod stats;

pub use library::{LibraryCache, SnapshotInfo};
pub use matches::{CachedMatch, MatchCache};
pub use stats::Counts;

/// Seconds since the Unix epoch, the clock both caches use.
pub fn now() -> i64 {
    db::now()
}
