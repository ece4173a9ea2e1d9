//! Section snapshots held in memory for the run: once a section has been looked up often
//! enough in this process, its whole snapshot is read in one go and file names are found
//! with a hash look-up instead of two SQLite queries each. A resident copy is used only
//! while the snapshot on disk has the version it was read at, so a refresh (by this
//! process or another) is seen as soon as the snapshot's bookkeeping is read again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::encoding::name_hash;
use crate::plex::Item;
use plexmatch_matchkit::{file_name, has_file_named, name_key};

/// Look-ups of a section in this process after which its snapshot is read into memory: a
/// run that matches a few paths never pays for reading a whole section.
pub const RESIDENT_AFTER: u32 = 256;

/// The largest section held in memory. Items are held as plain `Item`s, about 700 bytes
/// each with the reading's peak (`plexmatch bench batch`: peak RSS 96 → 132 MiB at 50,000
/// items, 122 → 261 MiB at 100,000): beyond this size a section stays on SQLite, so that
/// the memory target (≤ 150 MB at 100,000 items) holds.
pub const RESIDENT_MAX_ITEMS: u32 = 60_000;

/// The version of a listing that could not be stored and is held in memory only: the
/// newest there is, and held whatever the section's size.
pub const HELD_VERSION: i64 = i64::MAX;

/// One section's snapshot in memory, indexed by file name.
pub struct ResidentSnapshot {
    version: i64,
    items: Vec<Item>,
    /// The file-name hash of every file → the items holding one (indices into `items`).
    by_name: HashMap<u32, Vec<u32>>,
}

impl ResidentSnapshot {
    /// Indexes `items`, the snapshot at `version`.
    pub fn new(version: i64, items: Vec<Item>) -> ResidentSnapshot {
        let mut by_name: HashMap<u32, Vec<u32>> = HashMap::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            for f in &item.files {
                let hash = name_hash(file_name(f).unwrap_or(f)) as u32;
                let holders = by_name.entry(hash).or_default();
                if holders.last() != Some(&(i as u32)) {
                    holders.push(i as u32);
                }
            }
        }
        ResidentSnapshot {
            version,
            items,
            by_name,
        }
    }

    /// Items it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The snapshot version it holds.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// Items with a file named like `file_name`, as the SQLite index would find them.
    pub fn items_named(&self, file_name: &str) -> Vec<Item> {
        let Some(holders) = self.by_name.get(&(name_hash(file_name) as u32)) else {
            return Vec::new();
        };
        let key = name_key(file_name);
        holders
            .iter()
            .map(|&i| &self.items[i as usize])
            // Equal hashes are not equal names: check.
            .filter(|item| has_file_named(&item.files, &key))
            .cloned()
            .collect()
    }
}

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
        if items > RESIDENT_MAX_ITEMS && version != HELD_VERSION {
            return Lookup::Sqlite;
        }
        let mut sections = self.sections.lock().unwrap_or_else(|p| p.into_inner());
        let state = sections.entry(section_id).or_insert(State::Counting(0));
        match state {
            // Versions only grow: a copy newer than the caller's bookkeeping (read up to a
            // second ago) is the snapshot as it is now.
            State::Ready(r) if r.version >= version => Lookup::Resident(Arc::clone(r)),
            // A refreshed snapshot: read the new one at once, this section is in use.
            State::Ready(_) => {
                *state = State::Loading;
                Lookup::Load
            }
            State::Loading => Lookup::Sqlite,
            State::Counting(n) => {
                *n += 1;
                if *n >= RESIDENT_AFTER {
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
    use crate::plex::ItemKind;

    fn item(key: &str, files: &[&str]) -> Item {
        Item {
            rating_key: key.into(),
            title: key.into(),
            kind: ItemKind::Movie,
            section_id: 1,
            files: files.iter().map(|f| f.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn finds_every_holder_by_normalised_name() {
        let r = ResidentSnapshot::new(
            1,
            vec![
                item("1", &["/a/Amélie.mkv", "/b/Amélie.mkv"]),
                item("2", &["/c/AME\u{301}LIE.MKV"]),
                item("3", &["/d/other.mkv"]),
            ],
        );
        let keys: Vec<String> = r
            .items_named("amélie.mkv")
            .into_iter()
            .map(|i| i.rating_key)
            .collect();
        assert_eq!(keys, ["1", "2"], "each holder once");
        assert!(r.items_named("missing.mkv").is_empty());
    }

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
