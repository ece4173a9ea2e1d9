//! Section snapshots held in memory for the run: once a section has been looked up often
//! enough in this process (or a batch starts with many paths), its whole snapshot is read
//! in one go ([`ResidentSnapshot`]) and file names are found in memory instead of two
//! SQLite queries each. A resident copy is used only while the snapshot on disk has the
//! version it was read at, so a refresh (by this process or another) is seen as soon as the
//! snapshot's bookkeeping is read again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub use super::compact::ResidentSnapshot;

/// Look-ups of a section in this process after which its snapshot is read into memory: a
/// run that matches a few paths never pays for reading a whole section.
pub const RESIDENT_AFTER: u32 = 256;

/// The largest section held in memory. A held item costs about 170 bytes (its strings in
/// one buffer, fixed-size records for it, its files and the name index); beyond this size
/// a section stays on SQLite, so that the memory target (≤ 150 MB at 100,000 items) holds.
pub const RESIDENT_MAX_ITEMS: u32 = 150_000;

/// The version of a listing that could not be stored and is held in memory only: the
/// newest there is, and held whatever the section's size.
pub const HELD_VERSION: i64 = i64::MAX;

/// Where a section stands.
enum State {
    /// Looked up this many times, not resident yet.
    Counting(u32),
    /// Being read by one caller; the others use SQLite meanwhile.
    Loading,
    Ready(Arc<ResidentSnapshot>),
}

/// The resident snapshots of one library cache.
#[derive(Default)]
pub struct Residents {
    sections: Mutex<HashMap<u32, State>>,
}

/// What a caller should do for one look-up.
pub enum Lookup {
    /// Use this resident copy.
    Resident(Arc<ResidentSnapshot>),
    /// Read the snapshot (at the version given) into memory, then use it.
    Load,
    /// Ask SQLite.
    Sqlite,
}

impl Residents {
    /// How a look-up in the section, whose snapshot is at `version` and holds `items`,
    /// should be served.
    pub fn lookup(&self, section_id: u32, version: i64, items: u32) -> Lookup {
        self.next(section_id, version, items, false)
    }

    /// Claims the loading of the section (at `version`, holding `items`) now, whatever
    /// the look-ups so far: `Load` unless it is held at that version already, being read,
    /// or too large to hold. For a batch known to be large from its start.
    pub fn claim(&self, section_id: u32, version: i64, items: u32) -> Lookup {
        self.next(section_id, version, items, true)
    }

    fn next(&self, section_id: u32, version: i64, items: u32, claim: bool) -> Lookup {
        if items > RESIDENT_MAX_ITEMS && version != HELD_VERSION {
            return Lookup::Sqlite;
        }
        let mut sections = self.sections.lock().unwrap_or_else(|p| p.into_inner());
        let state = sections.entry(section_id).or_insert(State::Counting(0));
        match state {
            // Versions only grow: a copy newer than the caller's bookkeeping (read up to a
            // second ago) is the snapshot as it is now.
            State::Ready(r) if r.version() >= version => Lookup::Resident(Arc::clone(r)),
            // A refreshed snapshot: read the new one at once, this section is in use.
            State::Ready(_) => {
                *state = State::Loading;
                Lookup::Load
            }
            State::Loading => Lookup::Sqlite,
            State::Counting(n) => {
                *n += 1;
                if claim || *n >= RESIDENT_AFTER {
                    *state = State::Loading;
                    Lookup::Load
                } else {
                    Lookup::Sqlite
                }
            }
        }
    }

    /// Finishes a [`Lookup::Load`]: the snapshot read, or `None` if it could not be.
    pub fn loaded(&self, section_id: u32, snapshot: Option<Arc<ResidentSnapshot>>) {
        let mut sections = self.sections.lock().unwrap_or_else(|p| p.into_inner());
        sections.insert(
            section_id,
            match snapshot {
                Some(s) => State::Ready(s),
                None => State::Counting(0),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_once_after_enough_lookups_and_again_after_a_refresh() {
        let rs = Residents::default();
        for _ in 1..RESIDENT_AFTER {
            assert!(matches!(rs.lookup(1, 7, 10), Lookup::Sqlite));
        }
        assert!(matches!(rs.lookup(1, 7, 10), Lookup::Load));
        assert!(matches!(rs.lookup(1, 7, 10), Lookup::Sqlite), "one loader");
        rs.loaded(1, Some(Arc::new(ResidentSnapshot::new(7, Vec::new()))));
        assert!(matches!(rs.lookup(1, 7, 10), Lookup::Resident(_)));
        assert!(
            matches!(rs.lookup(1, 6, 10), Lookup::Resident(_)),
            "newer than asked"
        );
        assert!(matches!(rs.lookup(1, 8, 10), Lookup::Load), "a new version");
        assert!(
            matches!(rs.lookup(2, 1, RESIDENT_MAX_ITEMS + 1), Lookup::Sqlite),
            "too large to hold"
        );
    }
}
