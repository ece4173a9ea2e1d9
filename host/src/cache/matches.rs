//! The match cache: (section id, normalised media path) → rating key, with no TTL.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};

use super::db;
use super::stats::{Counts, Stats};
use plexmatch_matchkit::name_key;

const VERSION: i32 = 1;
const SCHEMA: &str = "
CREATE TABLE matches (section_id INTEGER NOT NULL, path_key TEXT NOT NULL, rating_key TEXT NOT NULL,
                      verified_at INTEGER NOT NULL, PRIMARY KEY (section_id, path_key)) WITHOUT ROWID;
";

/// A remembered match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMatch {
    pub rating_key: String,
    /// Unix time the match was last confirmed.
    pub verified_at: i64,
}

/// The match cache file (`matches.sqlite3`).
pub struct MatchCache {
    conn: Mutex<Connection>,
    /// Lookup counters (`match`).
    pub stats: Stats,
}

impl MatchCache {
    /// Opens the cache in `dir`.
    pub fn open(dir: &Path) -> Result<MatchCache> {
        let schema = format!("{SCHEMA}{}", super::stats::SCHEMA);
        let conn = db::open(&dir.join("matches.sqlite3"), VERSION, &schema)?;
        Ok(MatchCache {
            conn: Mutex::new(conn),
            stats: Stats::default(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The match for `path` in the section (paths compare case-insensitively, NFC).
    pub fn get(&self, section_id: u32, path: &str) -> Result<Option<CachedMatch>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT rating_key, verified_at FROM matches WHERE section_id = ?1 AND path_key = ?2",
        )?;
        let found = st
            .query_row(params![section_id, name_key(path)], |r| {
                Ok(CachedMatch {
                    rating_key: r.get(0)?,
                    verified_at: r.get(1)?,
                })
            })
            .optional()?;
        self.stats.record("match", found.is_some());
        Ok(found)
    }

    /// Records (or re-confirms) a match.
    pub fn put(&self, section_id: u32, path: &str, rating_key: &str) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached("INSERT OR REPLACE INTO matches (section_id, path_key, rating_key, verified_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![section_id, name_key(path), rating_key, db::now()])?;
        Ok(())
    }

    /// Forgets one path's match; a missing entry is not an error.
    pub fn invalidate(&self, section_id: u32, path: &str) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached("DELETE FROM matches WHERE section_id = ?1 AND path_key = ?2")?
            .execute(params![section_id, name_key(path)])?;
        Ok(())
    }

    /// Forgets every match of a section (an indexed delete: no prefix collisions, W11).
    pub fn invalidate_section(&self, section_id: u32) -> Result<u64> {
        let conn = self.conn();
        Ok(conn.execute("DELETE FROM matches WHERE section_id = ?1", [section_id])? as u64)
    }

    /// Deletes every match and counter.
    pub fn clear(&self) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM matches", [])?;
        self.stats.reset(&tx)?;
        tx.commit()?;
        Ok(())
    }

    /// Entries held.
    pub fn len(&self) -> Result<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT COUNT(*) FROM matches", [], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Writes this process's lookup counters to the file.
    pub fn flush_stats(&self) -> Result<()> {
        self.stats.flush(&self.conn())?;
        Ok(())
    }

    /// Persisted lookup counters, by kind.
    pub fn stats_totals(&self) -> Result<std::collections::BTreeMap<String, Counts>> {
        Ok(Stats::totals(&self.conn())?)
    }
}
