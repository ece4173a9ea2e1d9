//! Hit and miss counters, kept per kind of lookup and persisted across runs.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::Connection;
use serde::Serialize;

/// Counters for one kind of lookup.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub hits: u64,
    pub misses: u64,
}

impl Counts {
    /// Hits as a percentage of lookups (0 when there were none), as the reference reports it.
    pub fn hit_rate(&self) -> f64 {
        let total = self.hits + self.misses;
        if total == 0 {
            0.0
        } else {
            self.hits as f64 * 100.0 / total as f64
        }
    }
}

/// What a counted look-up was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A match-cache entry.
    Match,
    /// The file-name index of a section snapshot.
    FileName,
    /// A cached title search.
    Search,
    /// The cached section list.
    Sections,
}

impl Kind {
    const ALL: [Kind; 4] = [Kind::Match, Kind::FileName, Kind::Search, Kind::Sections];

    /// The name the counters are reported and stored under.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Match => "match",
            Kind::FileName => "file-name",
            Kind::Search => "search",
            Kind::Sections => "sections",
        }
    }
}

/// Counters since this process started; [`Stats::flush`] adds them to the file's totals.
#[derive(Default)]
pub struct Stats {
    /// This process's hits and misses per kind: counted without a lock, since every worker
    /// counts on every look-up (a shared lock there was taken twice a path).
    session: [[AtomicU64; 2]; Kind::ALL.len()],
    /// How much of `session` is in the file's totals.
    flushed: Mutex<[Counts; Kind::ALL.len()]>,
}

/// The table counters are persisted in.
pub const SCHEMA: &str =
    "CREATE TABLE stats (kind TEXT PRIMARY KEY, hits INTEGER NOT NULL, misses INTEGER NOT NULL);";

impl Stats {
    /// Counts one lookup of `kind`.
    pub fn record(&self, kind: Kind, hit: bool) {
        self.session[kind as usize][usize::from(!hit)].fetch_add(1, Ordering::Relaxed);
    }

    fn counts(&self, kind: Kind) -> Counts {
        let [hits, misses] = &self.session[kind as usize];
        Counts {
            hits: hits.load(Ordering::Relaxed),
            misses: misses.load(Ordering::Relaxed),
        }
    }

    /// Counters of this process, by kind (the kinds looked up).
    pub fn session(&self) -> BTreeMap<&'static str, Counts> {
        Kind::ALL
            .iter()
            .map(|k| (k.name(), self.counts(*k)))
            .filter(|(_, c)| c.hits + c.misses > 0)
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, [Counts; Kind::ALL.len()]> {
        self.flushed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds the counters not yet written to the persisted totals.
    pub fn flush(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut flushed = self.lock();
        for kind in Kind::ALL {
            let now = self.counts(kind);
            let done = &mut flushed[kind as usize];
            let (hits, misses) = (now.hits - done.hits, now.misses - done.misses);
            if hits + misses == 0 {
                continue;
            }
            conn.execute(
                "INSERT INTO stats (kind, hits, misses) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kind) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses",
                rusqlite::params![kind.name(), hits as i64, misses as i64],
            )?;
            *done = now;
        }
        Ok(())
    }

    /// The persisted totals, by kind.
    pub fn totals(conn: &Connection) -> rusqlite::Result<BTreeMap<String, Counts>> {
        let mut st = conn.prepare("SELECT kind, hits, misses FROM stats ORDER BY kind")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Counts {
                    hits: r.get::<_, i64>(1)? as u64,
                    misses: r.get::<_, i64>(2)? as u64,
                },
            ))
        })?;
        rows.collect()
    }

    /// Forgets every counter, persisted or not.
    pub fn reset(&self, conn: &Connection) -> rusqlite::Result<()> {
        let mut flushed = self.lock();
        for (counters, done) in self.session.iter().zip(flushed.iter_mut()) {
            for c in counters {
                c.store(0, Ordering::Relaxed);
            }
            *done = Counts::default();
        }
        conn.execute("DELETE FROM stats", []).map(|_| ())
    }
}
