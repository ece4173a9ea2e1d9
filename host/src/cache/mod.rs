//! The disk caches (SQLite): the library cache and the match cache, in the data dir.

mod compact;
mod db;
mod decision;
mod encoding;
mod held;
mod library;
mod matches;
mod pins;
mod pool;
mod resident;
mod stats;
mod usage;

pub use decision::{CachedMatch, Decider};
pub use library::{
    Applied, DEFAULT_LIMIT as LIBRARY_DEFAULT_LIMIT, LibraryCache, LibraryFootprint, SnapshotInfo,
};
pub use matches::{DEFAULT_LIMIT as MATCH_DEFAULT_LIMIT, MatchCache};
pub use pins::{Pin, Pins};
pub use resident::{HELD_VERSION, Lookup, RESIDENT_AFTER, ResidentSnapshot, Residents};
pub use stats::{Counts, Kind as LookupKind};

/// Seconds since the Unix epoch, the clock both caches use.
pub fn now() -> i64 {
    db::now()
}

/// Default size limit of the compiled-plugin cache (`plugins/` in the data dir, shared by
/// every server's caches): a Python plugin compiles to tens of MB. The sandbox keeps that
/// cache; its limit is a cache policy like the others.
pub const COMPILED_DEFAULT_LIMIT: u64 = 1 << 30;
