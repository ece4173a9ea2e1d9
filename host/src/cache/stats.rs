//! Hit and miss counters, kept per kind of lookup and persisted across runs.

use std::collections::BTreeMap;
use std::sync::Mutex;

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

/// Counters since this process started; [`Stats::flush`] adds them to the file's totals.
#[derive(Default)]
pub struct Stats {
    /// This process's counters, and those not yet written: one lock for both, taken on
    /// every look-up of every worker.
    counts: Mutex<Both>,
}

#[derive(Default)]
struct Both {
    session: BTreeMap<&'static str, Counts>,
    unflushed: BTreeMap<&'static str, Counts>,
}

/// The table counters are persisted in.
pub const SCHEMA: &str =
    "CREATE TABLE stats (kind TEXT PRIMARY KEY, hits INTEGER NOT NULL, misses INTEGER NOT NULL);";

impl Stats {
    /// Counts one lookup of `kind`.
    pub fn record(&self, kind: &'static str, hit: bool) {
        let mut both = self.lock();
        let Both { session, unflushed } = &mut *both;
        for m in [session, unflushed] {
            let c = m.entry(kind).or_default();
            if hit {
                c.hits += 1;
            } else {
                c.misses += 1;
            }
        }
    }

    /// Counters of this process, by kind.
    pub fn session(&self) -> BTreeMap<&'static str, Counts> {
        self.lock().session.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Both> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds the counters not yet written to the persisted totals.
    pub fn flush(&self, conn: &Connection) -> rusqlite::Result<()> {
        let pending = std::mem::take(&mut self.lock().unflushed);
        for (kind, c) in pending {
            conn.execute(
                "INSERT INTO stats (kind, hits, misses) VALUES (?1, ?2, ?3)
                 ON CONFLICT(kind) DO UPDATE SET hits = hits + excluded.hits, misses = misses + excluded.misses",
                rusqlite::params![kind, c.hits as i64, c.misses as i64],
            )?;
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
        let mut both = self.lock();
        both.session.clear();
        both.unflushed.clear();
        conn.execute("DELETE FROM stats", []).map(|_| ())
    }
}
