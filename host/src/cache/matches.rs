//! The match cache (`matches.sqlite3`): (section id, normalised media path) → rating key,
//! with no TTL; evicted by least recent use when the file outgrows its limit.

use std::path::{Path, PathBuf};
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::db;
use super::pool::Pool;
use super::stats::{Counts, Stats};
use super::usage::Touches;
use plexmatch_matchkit::name_key;

const VERSION: i32 = 2;
const SCHEMA: &str = "
CREATE TABLE matches (section_id INTEGER NOT NULL, path_key TEXT NOT NULL, rating_key TEXT NOT NULL,
                      verified_at INTEGER NOT NULL, last_used INTEGER NOT NULL, -- Unix ms
                      PRIMARY KEY (section_id, path_key)) WITHOUT ROWID;
CREATE INDEX matches_by_use ON matches (last_used);
";

/// Default size limit, as in the reference (50 MiB).
pub const DEFAULT_LIMIT: u64 = 50 << 20;

/// Last uses kept in memory before they are written (one transaction per batch of them).
const TOUCHES_BATCH: usize = 4096;

/// Entries evicted per step while the file is over its limit.
const EVICTION_STEP: i64 = 512;

/// A remembered match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMatch {
    pub rating_key: String,
    /// Unix time the match was last confirmed.
    pub verified_at: i64,
}

/// The match cache file (`matches.sqlite3`).
pub struct MatchCache {
    conns: Pool,
    path: PathBuf,
    limit: u64,
    touches: Touches<(u32, String)>,
    /// Writes since the size was last checked.
    writes: AtomicU64,
    /// Lookup counters (`match`).
    pub stats: Stats,
}

impl MatchCache {
    /// Opens the cache in `dir`, keeping it under `limit` bytes.
    pub fn open(dir: &Path, limit: u64) -> Result<MatchCache> {
        let schema = format!("{SCHEMA}{}", super::stats::SCHEMA);
        let path = dir.join("matches.sqlite3");
        let conns = Pool::open(&path, VERSION, &schema)?;
        Ok(MatchCache {
            conns,
            path,
            limit,
            touches: Touches::default(),
            writes: AtomicU64::new(0),
            stats: Stats::default(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conns.get()
    }

    /// The match for `path` in the section (paths compare case-insensitively, NFC).
    pub fn get(&self, section_id: u32, path: &str) -> Result<Option<CachedMatch>> {
        self.conns.healing(|| {
        let key = name_key(path);
        let found = {
            let conn = self.conn();
            let mut st =
                conn.prepare_cached("SELECT rating_key, verified_at FROM matches WHERE section_id = ?1 AND path_key = ?2")?;
            st.query_row(params![section_id, key], |r| {
                Ok(CachedMatch {
                    rating_key: r.get(0)?,
                    verified_at: r.get(1)?,
                })
            })
            .optional()?
        };
        self.stats.record("match", found.is_some());
        if found.is_some() && self.touches.touch((section_id, key)) >= TOUCHES_BATCH {
            self.conns
                .write(|tx| Ok(write_touches(tx, self.touches.take())?))?;
        }
        Ok(found)
        })
    }

    /// Records (or re-confirms) a match: verified and used now.
    pub fn put(&self, section_id: u32, path: &str, rating_key: &str) -> Result<()> {
        self.conns.healing(|| {
        self.conn()
            .prepare_cached(
                "INSERT OR REPLACE INTO matches (section_id, path_key, rating_key, verified_at, last_used)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![section_id, name_key(path), rating_key, db::now(), db::now_millis()])?;
        // Checking the size costs three pragmas: do it every few writes, not every one.
        if self
            .writes
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(64)
        {
            self.enforce_limit()?;
        }
        Ok(())
        })
    }

    /// Evicts least recently used entries until the file's pages fit in the limit.
    pub fn enforce_limit(&self) -> Result<u64> {
        self.conns.healing(|| {
            let mut conn = self.conn();
            if db::used_bytes(&conn)? <= self.limit {
                return Ok(0);
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write_touches(&tx, self.touches.take())?;
            let mut evicted = 0u64;
            while db::used_bytes(&tx)? > self.limit * 9 / 10 {
                let n = tx.execute(
                    "DELETE FROM matches WHERE (section_id, path_key) IN
                   (SELECT section_id, path_key FROM matches ORDER BY last_used LIMIT ?1)",
                    [EVICTION_STEP],
                )?;
                if n == 0 {
                    break;
                }
                evicted += n as u64;
            }
            tx.commit()?;
            db::shrink(&conn)?;
            tracing::info!(
                "match cache over its limit: evicted {evicted} least recently used entries"
            );
            Ok(evicted)
        })
    }

    /// Forgets one path's match; a missing entry is not an error.
    pub fn invalidate(&self, section_id: u32, path: &str) -> Result<()> {
        self.conns.healing(|| {
            let conn = self.conn();
            conn.prepare_cached("DELETE FROM matches WHERE section_id = ?1 AND path_key = ?2")?
                .execute(params![section_id, name_key(path)])?;
            Ok(())
        })
    }

    /// Forgets every match of a section (an indexed delete: no prefix collisions, W11).
    pub fn invalidate_section(&self, section_id: u32) -> Result<u64> {
        self.conns.healing(|| {
            let conn = self.conn();
            Ok(conn.execute("DELETE FROM matches WHERE section_id = ?1", [section_id])? as u64)
        })
    }

    /// Deletes every match and counter.
    pub fn clear(&self) -> Result<()> {
        self.conns.healing(|| {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM matches", [])?;
            self.stats.reset(&tx)?;
            tx.commit()?;
            db::shrink(&conn)?;
            Ok(())
        })
    }

    /// Entries held.
    pub fn len(&self) -> Result<u64> {
        self.conns.healing(|| {
            let n: i64 = self
                .conn()
                .query_row("SELECT COUNT(*) FROM matches", [], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    /// Whether the cache holds no entry.
    pub fn is_empty(&self) -> Result<bool> {
        self.conns.healing(|| Ok(self.len()? == 0))
    }

    /// Writes this process's lookup counters and last uses to the file.
    pub fn flush(&self) -> Result<()> {
        self.conns.healing(|| {
            self.conns.write(|tx| {
                self.stats.flush(tx)?;
                Ok(write_touches(tx, self.touches.take())?)
            })
        })
    }

    /// Bytes of pages in use (what the limit counts) and of the file with its log.
    pub fn bytes(&self) -> Result<(u64, u64)> {
        self.conns
            .healing(|| Ok((db::used_bytes(&self.conn())?, db::file_bytes(&self.path))))
    }

    /// Persisted lookup counters, by kind.
    pub fn stats_totals(&self) -> Result<std::collections::BTreeMap<String, Counts>> {
        self.conns.healing(|| Ok(Stats::totals(&self.conn())?))
    }
}

fn write_touches(conn: &Connection, touches: Vec<((u32, String), i64)>) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "UPDATE matches SET last_used = max(last_used, ?3) WHERE section_id = ?1 AND path_key = ?2",
    )?;
    for ((section_id, key), at) in touches {
        st.execute(params![section_id, key, at])?;
    }
    Ok(())
}
