//! A plugin's match-cache entries for one section, held in memory for the run once it has
//! looked up enough of them: a warm batch then reads each entry from a hash map instead of
//! a SQLite query per path (the match cache file, about 1 KB an entry with its indexes,
//! outgrows SQLite's page cache, so most queries also read pages through the kernel).
//!
//! A held entry can only be older than the file's, never wrong in a way that shows: every
//! hit is verified against the item's file before a plugin sees it, and this process's own
//! writes and invalidations update the held copy as they go to the file.

use std::collections::HashMap;
use std::sync::Mutex;

use super::decision::{CachedMatch, Decider};

/// Look-ups of one plugin's entries in a section after which they are read into memory: a
/// run that matches a few paths never reads a whole section's entries.
pub const HELD_AFTER: u32 = 256;

/// The most entries held for one plugin and section (about 250 bytes each in memory): a
/// larger set stays on SQLite for the run.
pub const HELD_MAX: usize = 100_000;

/// One held entry and its last use as recorded (Unix ms).
#[derive(Debug, Clone)]
pub struct HeldEntry {
    pub found: CachedMatch,
    pub last_used: i64,
}

/// Where one (section, plugin) stands in this process.
enum State {
    /// Looked up this many times, not held.
    Counting(u32),
    /// Being read by one caller; the others ask SQLite meanwhile.
    Loading,
    /// Held, by normalised path.
    Ready(HashMap<String, HeldEntry>),
    /// Too many entries to hold: SQLite for the rest of the run.
    TooMany,
}

/// What a caller should do for one look-up.
pub enum Lookup {
    /// The entry as held (`None`: the plugin has no entry for the path), and whether its
    /// use is worth writing (see [`Held::lookup`]).
    Held(Option<HeldEntry>, bool),
    /// Read the entries into memory ([`Held::loaded`]), then look up.
    Load,
    /// Ask SQLite.
    Sqlite,
}

/// The held entries of one match cache, by section and plugin (a run uses a few).
#[derive(Default)]
pub struct Held {
    sets: Mutex<Vec<(u32, Decider, State)>>,
}

type Sets = Vec<(u32, Decider, State)>;

impl Held {
    fn sets(&self) -> std::sync::MutexGuard<'_, Sets> {
        self.sets.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn state<'a>(sets: &'a mut Sets, section_id: u32, by: &Decider) -> Option<&'a mut State> {
        sets.iter_mut()
            .find(|(s, d, _)| *s == section_id && d == by)
            .map(|(_, _, state)| state)
    }

    /// How the look-up of `key` (a normalised path) by `by` in the section, at `at` (Unix
    /// ms), is served. A held entry found records its use at `at` in the held copy when
    /// that moves the recorded one by more than `grain_ms`, and says so (the use is then
    /// worth writing): one lock for both, where a warm path took it twice.
    pub fn lookup(
        &self,
        section_id: u32,
        by: &Decider,
        key: &str,
        at: i64,
        grain_ms: i64,
    ) -> Lookup {
        self.next(section_id, by, Some((key, at, grain_ms)))
    }

    /// Claims the reading of `by`'s entries in the section now, whatever the look-ups so
    /// far: whether the caller is to read them (not held, not being read, not too many).
    pub fn claim(&self, section_id: u32, by: &Decider) -> bool {
        matches!(self.next(section_id, by, None), Lookup::Load)
    }

    /// One look-up of a key at a time with a grain, or a claim (`None`).
    fn next(&self, section_id: u32, by: &Decider, key: Option<(&str, i64, i64)>) -> Lookup {
        let mut sets = self.sets();
        if Self::state(&mut sets, section_id, by).is_none() {
            sets.push((section_id, by.clone(), State::Counting(0)));
        }
        let state = Self::state(&mut sets, section_id, by).expect("just added");
        match state {
            State::Ready(entries) => {
                let Some((k, at, grain_ms)) = key else {
                    return Lookup::Held(None, false);
                };
                match entries.get_mut(k) {
                    Some(entry) => {
                        let worth = at - entry.last_used > grain_ms;
                        if worth {
                            entry.last_used = at;
                        }
                        Lookup::Held(Some(entry.clone()), worth)
                    }
                    None => Lookup::Held(None, false),
                }
            }
            State::Loading | State::TooMany => Lookup::Sqlite,
            State::Counting(n) => {
                *n += 1;
                if key.is_none() || *n >= HELD_AFTER {
                    *state = State::Loading;
                    Lookup::Load
                } else {
                    Lookup::Sqlite
                }
            }
        }
    }

    /// Finishes a [`Lookup::Load`]: the entries read (`None`: too many, or unreadable).
    pub fn loaded(&self, section_id: u32, by: &Decider, entries: Option<Vec<(String, HeldEntry)>>) {
        let mut sets = self.sets();
        let state = match entries {
            Some(e) => State::Ready(e.into_iter().collect()),
            None => State::TooMany,
        };
        match Self::state(&mut sets, section_id, by) {
            Some(s) => *s = state,
            None => sets.push((section_id, by.clone(), state)),
        }
    }

    /// Mirrors a write of `by`'s entry for `key`.
    pub fn put(&self, section_id: u32, by: &Decider, key: &str, found: CachedMatch, at: i64) {
        let mut sets = self.sets();
        if let Some(entries) = Self::ready(&mut sets, section_id, by) {
            entries.insert(
                key.to_owned(),
                HeldEntry {
                    found,
                    last_used: at,
                },
            );
        }
    }

    /// Mirrors a new verification time of `by`'s entry for `key`.
    pub fn reconfirmed(&self, section_id: u32, by: &Decider, key: &str, verified_at: i64) {
        let mut sets = self.sets();
        if let Some(e) = Self::ready(&mut sets, section_id, by).and_then(|e| e.get_mut(key)) {
            e.found.verified_at = e.found.verified_at.max(verified_at);
        }
    }

    /// Mirrors the removal of entries: for `key` in the section (`None`: every path), by
    /// the decider `by` (`None`: every plugin) or by any build of the plugin `name`.
    pub fn forget(&self, section_id: Option<u32>, key: Option<&str>, which: Which<'_>) {
        let mut sets = self.sets();
        for (s, d, state) in sets.iter_mut() {
            let plugin = match which {
                Which::All => true,
                Which::Decider(by) => d == by,
                Which::Named(name) => d.name == name,
            };
            if !plugin || section_id.is_some_and(|id| id != *s) {
                continue;
            }
            match (key, state) {
                (Some(k), State::Ready(entries)) => {
                    entries.remove(k);
                }
                (Some(_), _) => {}
                (None, state) => *state = State::Counting(0),
            }
        }
    }

    fn ready<'a>(
        sets: &'a mut Sets,
        section_id: u32,
        by: &Decider,
    ) -> Option<&'a mut HashMap<String, HeldEntry>> {
        match Self::state(sets, section_id, by)? {
            State::Ready(e) => Some(e),
            _ => None,
        }
    }
}

/// Whose entries a removal concerns.
#[derive(Clone, Copy)]
pub enum Which<'a> {
    /// Every plugin's.
    All,
    /// One build of one plugin's.
    Decider(&'a Decider),
    /// Every build of the plugin of this name.
    Named(&'a str),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> HeldEntry {
        HeldEntry {
            found: CachedMatch {
                rating_key: key.into(),
                file: format!("/m/{key}.mkv"),
                verified_at: 1,
            },
            last_used: 1_000,
        }
    }

    /// A look-up of `key` in section 1 whose use is never worth writing.
    fn look(held: &Held, by: &Decider, key: &str) -> Lookup {
        held.lookup(1, by, key, 0, i64::MAX)
    }

    #[test]
    fn holds_after_enough_lookups_and_mirrors_writes() {
        let held = Held::default();
        let a = Decider::new("a", "1");
        let b = Decider::new("b", "1");
        for _ in 1..HELD_AFTER {
            assert!(matches!(look(&held, &a, "/x"), Lookup::Sqlite));
        }
        assert!(matches!(look(&held, &a, "/x"), Lookup::Load));
        assert!(
            matches!(look(&held, &a, "/x"), Lookup::Sqlite),
            "one loader"
        );
        held.loaded(1, &a, Some(vec![("/x".into(), entry("7"))]));
        assert!(
            matches!(look(&held, &a, "/x"), Lookup::Held(Some(e), _) if e.found.rating_key == "7")
        );
        assert!(matches!(look(&held, &a, "/y"), Lookup::Held(None, _)));
        assert!(
            matches!(look(&held, &b, "/x"), Lookup::Sqlite),
            "another plugin's are not held"
        );

        held.put(1, &a, "/y", entry("8").found, 2_000);
        assert!(
            matches!(look(&held, &a, "/y"), Lookup::Held(Some(e), _) if e.found.rating_key == "8")
        );
        held.forget(Some(1), Some("/x"), Which::Decider(&a));
        assert!(matches!(look(&held, &a, "/x"), Lookup::Held(None, _)));
        held.forget(Some(2), None, Which::All);
        assert!(
            matches!(look(&held, &a, "/y"), Lookup::Held(Some(_), _)),
            "another section"
        );
        held.forget(None, None, Which::Named("a"));
        assert!(
            matches!(look(&held, &a, "/y"), Lookup::Sqlite),
            "counting again"
        );
    }

    #[test]
    fn uses_are_worth_writing_only_past_the_grain() {
        let held = Held::default();
        let a = Decider::new("a", "1");
        held.loaded(1, &a, Some(vec![("/x".into(), entry("7"))]));
        let worth = |key: &str, at: i64| match held.lookup(1, &a, key, at, 1_000) {
            Lookup::Held(Some(_), worth) => Some(worth),
            Lookup::Held(None, false) => None,
            _ => panic!("held"),
        };
        assert_eq!(worth("/x", 1_500), Some(false));
        assert_eq!(worth("/x", 2_500), Some(true));
        assert_eq!(worth("/x", 3_000), Some(false), "recorded at 2,500");
        assert_eq!(worth("/nope", 3_000), None);
    }

    #[test]
    fn too_many_stays_on_sqlite() {
        let held = Held::default();
        let a = Decider::new("a", "1");
        held.loaded(1, &a, None);
        assert!(matches!(look(&held, &a, "/x"), Lookup::Sqlite));
    }
}
