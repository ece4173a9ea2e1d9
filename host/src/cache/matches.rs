//! The match cache (`matches.sqlite3`): (section id, normalised media path, deciding
//! plugin) → rating key and the Plex file the path was matched to, with no TTL; evicted by
//! least recent use when the file outgrows its limit.
//!
//! Every entry records which plugin decided it (name and component digest) and is read
//! back only by that plugin: nothing one plugin writes can make another answer
//! differently from what it would answer on a clean data dir.

use std::path::{Path, PathBuf};
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::db;
use super::decision::{CachedMatch, Decider};
use super::held::{self, Held, HeldEntry, Which};
use super::pool::Pool;
use super::stats::{Counts, Kind, Stats};
use super::usage::Touches;
use plexmatch_matchkit::name_key;

const VERSION: i32 = 3;
const SCHEMA: &str = "
CREATE TABLE matches (section_id INTEGER NOT NULL, path_key TEXT NOT NULL, plugin TEXT NOT NULL, digest TEXT NOT NULL,
                      rating_key TEXT NOT NULL, file TEXT NOT NULL,
                      verified_at INTEGER NOT NULL, last_used INTEGER NOT NULL, -- Unix ms
                      PRIMARY KEY (section_id, path_key, plugin, digest)) WITHOUT ROWID;
CREATE INDEX matches_by_use ON matches (last_used);
CREATE INDEX matches_by_plugin ON matches (plugin);
";

/// Default size limit, as in the reference (50 MiB).
pub const DEFAULT_LIMIT: u64 = 50 << 20;

/// Last uses kept in memory before they are written (one transaction per batch of them).
const TOUCHES_BATCH: usize = 4096;

/// Entries evicted per step while the file is over its limit.
const EVICTION_STEP: i64 = 512;

/// The match cache file (`matches.sqlite3`).
pub struct MatchCache {
    conns: Pool,
    path: PathBuf,
    limit: u64,
    touches: Touches<(u32, String, Decider)>,
    /// Entries found to hold still, whose `verified_at` is written with the touches.
    reconfirmed: Touches<(u32, String, Decider)>,
    /// Writes since the size was last checked.
    writes: AtomicU64,
    /// How much newer a use must be than the recorded one to be written (ms).
    use_grain_ms: std::sync::atomic::AtomicI64,
    /// Entries held in memory for the run, by section and plugin.
    held: Held,
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
            reconfirmed: Touches::default(),
            writes: AtomicU64::new(0),
            use_grain_ms: std::sync::atomic::AtomicI64::new(USE_GRAIN_MS),
            held: Held::default(),
            stats: Stats::default(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conns.get()
    }

    /// The match `by` decided for `path` in the section (paths compare
    /// case-insensitively, NFC): from memory once the run has looked up enough of `by`'s
    /// entries in the section ([`held`]), else one query.
    pub fn get(&self, section_id: u32, path: &str, by: &Decider) -> Result<Option<CachedMatch>> {
        self.conns.healing(|| {
            let key = name_key(path);
            let (at, grain) = (db::now_millis(), self.use_grain());
            let mut lookup = self.held.lookup(section_id, by, &key, at, grain);
            if let held::Lookup::Load = lookup {
                self.load_held(section_id, by);
                lookup = self.held.lookup(section_id, by, &key, at, grain);
            }
            let (found, worth_writing) = match lookup {
                held::Lookup::Held(entry, worth) => (entry.map(|e| e.found), worth),
                held::Lookup::Load | held::Lookup::Sqlite => {
                    let conn = self.conn();
                    let mut st = conn.prepare_cached(
                        "SELECT rating_key, file, verified_at FROM matches
                         WHERE section_id = ?1 AND path_key = ?2 AND plugin = ?3 AND digest = ?4",
                    )?;
                    let found = st
                        .query_row(params![section_id, key, by.name, by.digest], |r| {
                            Ok(CachedMatch {
                                rating_key: r.get(0)?,
                                file: r.get(1)?,
                                verified_at: r.get(2)?,
                            })
                        })
                        .optional()?;
                    (found, true)
                }
            };
            self.stats.record(Kind::Match, found.is_some());
            // A use is written only when it moves the recorded one by more than the grain:
            // for held entries that is known here, without a write per path at the end.
            if found.is_some()
                && worth_writing
                && self.touches.touch((section_id, key, by.clone())) >= TOUCHES_BATCH
            {
                self.conns
                    .write(|tx| Ok(write_touches(tx, self.touches.take(), self.use_grain())?))?;
            }
            Ok(found)
        })
    }

    /// The rating keys `path`'s entries in the section name, whoever decided them (no use
    /// recorded: this only says what to fetch ahead of verifying them).
    pub fn keys_for(&self, section_id: u32, path: &str) -> Result<Vec<String>> {
        self.conns.healing(|| {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT rating_key FROM matches WHERE section_id = ?1 AND path_key = ?2",
            )?;
            let keys = st
                .query_map(params![section_id, name_key(path)], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(keys)
        })
    }

    /// Reads `by`'s entries in the section into memory now (a batch known to be large),
    /// unless they are held or being read already.
    pub fn hold(&self, section_id: u32, by: &Decider) {
        if self.held.claim(section_id, by) {
            self.load_held(section_id, by);
        }
    }

    fn load_held(&self, section_id: u32, by: &Decider) {
        let entries = self
            .conns
            .healing(|| self.read_held(section_id, by))
            .unwrap_or_else(|e| {
                tracing::warn!(
                    "cannot read the match cache's entries of section {section_id}: {e:#}"
                );
                None
            });
        self.held.loaded(section_id, by, entries);
    }

    /// Every entry `by` decided in the section, with its last use; `None` when there are
    /// more than [`held::HELD_MAX`]. The `+` keeps SQLite on the primary key (one pass
    /// over the section) rather than the plugin index and a seek per entry (50 ms instead
    /// of 31 for 9,119 entries).
    fn read_held(&self, section_id: u32, by: &Decider) -> Result<Option<Vec<(String, HeldEntry)>>> {
        let started = std::time::Instant::now();
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT path_key, rating_key, file, verified_at, last_used FROM matches
             WHERE section_id = ?1 AND +plugin = ?2 AND +digest = ?3 LIMIT ?4",
        )?;
        let entries: Vec<(String, HeldEntry)> = st
            .query_map(
                params![section_id, by.name, by.digest, held::HELD_MAX as i64 + 1],
                |r| {
                    Ok((
                        r.get(0)?,
                        HeldEntry {
                            found: CachedMatch {
                                rating_key: r.get(1)?,
                                file: r.get(2)?,
                                verified_at: r.get(3)?,
                            },
                            last_used: r.get(4)?,
                        },
                    ))
                },
            )?
            .collect::<rusqlite::Result<_>>()?;
        tracing::debug!(
            "section {section_id}: {} match-cache entries of {} read into memory in {:.0?}",
            entries.len(),
            by.name,
            started.elapsed()
        );
        Ok((entries.len() <= held::HELD_MAX).then_some(entries))
    }

    /// Whether any plugin has a match for `path` in the section.
    pub fn has_any(&self, section_id: u32, path: &str) -> Result<bool> {
        self.conns.healing(|| {
            let n: i64 = self.conn().query_row(
                "SELECT COUNT(*) FROM matches WHERE section_id = ?1 AND path_key = ?2",
                params![section_id, name_key(path)],
                |r| r.get(0),
            )?;
            Ok(n > 0)
        })
    }

    /// Records (or re-confirms) `by`'s match of `path` to `file` of item `rating_key`:
    /// verified and used now.
    pub fn put(
        &self,
        section_id: u32,
        path: &str,
        by: &Decider,
        rating_key: &str,
        file: &str,
    ) -> Result<()> {
        self.conns.healing(|| {
            self.conn()
                .prepare_cached(
                    "INSERT OR REPLACE INTO matches (section_id, path_key, plugin, digest, rating_key, file, verified_at, last_used)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    section_id,
                    name_key(path),
                    by.name,
                    by.digest,
                    rating_key,
                    file,
                    db::now(),
                    db::now_millis()
                ])?;
            self.held.put(
                section_id,
                by,
                &name_key(path),
                CachedMatch {
                    rating_key: rating_key.to_owned(),
                    file: file.to_owned(),
                    verified_at: db::now(),
                },
                db::now_millis(),
            );
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
            write_touches(&tx, self.touches.take(), self.use_grain())?;
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
            self.held.forget(None, None, Which::All);
            db::shrink(&conn)?;
            tracing::info!(
                "match cache over its limit: evicted {evicted} least recently used entries"
            );
            Ok(evicted)
        })
    }

    /// Forgets one path's match (`by` one plugin's only, or every plugin's); returns how
    /// many entries were removed.
    pub fn invalidate(&self, section_id: u32, path: &str, by: Option<&Decider>) -> Result<u64> {
        self.conns.healing(|| {
            let conn = self.conn();
            let n = match by {
                Some(d) => conn
                    .prepare_cached("DELETE FROM matches WHERE section_id = ?1 AND path_key = ?2 AND plugin = ?3 AND digest = ?4")?
                    .execute(params![section_id, name_key(path), d.name, d.digest])?,
                None => conn
                    .prepare_cached("DELETE FROM matches WHERE section_id = ?1 AND path_key = ?2")?
                    .execute(params![section_id, name_key(path)])?,
            };
            let which = by.map_or(Which::All, Which::Decider);
            self.held.forget(Some(section_id), Some(&name_key(path)), which);
            Ok(n as u64)
        })
    }

    /// Forgets every match of a section (`by` one plugin's only, or every plugin's; an
    /// indexed delete: no prefix collisions, W11).
    pub fn invalidate_section(&self, section_id: u32, by: Option<&Decider>) -> Result<u64> {
        self.conns.healing(|| {
            let conn = self.conn();
            let n = match by {
                Some(d) => conn.execute(
                    "DELETE FROM matches WHERE section_id = ?1 AND plugin = ?2 AND digest = ?3",
                    params![section_id, d.name, d.digest],
                )?,
                None => conn.execute("DELETE FROM matches WHERE section_id = ?1", [section_id])?,
            };
            let which = by.map_or(Which::All, Which::Decider);
            self.held.forget(Some(section_id), None, which);
            Ok(n as u64)
        })
    }

    /// Forgets the plugin called `name`'s decisions (every build of it) for one path.
    pub fn invalidate_plugin_path(&self, name: &str, section_id: u32, path: &str) -> Result<u64> {
        self.conns.healing(|| {
            let n = self.conn().execute(
                "DELETE FROM matches WHERE plugin = ?1 AND section_id = ?2 AND path_key = ?3",
                params![name, section_id, name_key(path)],
            )?;
            self.held
                .forget(Some(section_id), Some(&name_key(path)), Which::Named(name));
            Ok(n as u64)
        })
    }

    /// Forgets every decision of the plugin called `name` (any build of it), in one section
    /// or all; returns how many.
    pub fn invalidate_plugin(&self, name: &str, section_id: Option<u32>) -> Result<u64> {
        self.conns.healing(|| {
            let conn = self.conn();
            let n = match section_id {
                Some(id) => conn.execute(
                    "DELETE FROM matches WHERE plugin = ?1 AND section_id = ?2",
                    params![name, id],
                )?,
                None => conn.execute("DELETE FROM matches WHERE plugin = ?1", [name])?,
            };
            self.held.forget(section_id, None, Which::Named(name));
            Ok(n as u64)
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
            self.held.forget(None, None, Which::All);
            db::compact(&conn)?;
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

    /// Sets how much newer a use must be than the one recorded before it is written
    /// (default 10 minutes: eviction needs only a rough order); zero keeps the exact order.
    pub fn set_use_grain(&self, grain: std::time::Duration) {
        self.use_grain_ms
            .store(grain.as_millis() as i64, Ordering::Relaxed);
    }

    fn use_grain(&self) -> i64 {
        self.use_grain_ms.load(Ordering::Relaxed)
    }

    /// Records that `by`'s entry for `path` was verified again and still holds: written
    /// with the last uses, in batches, not as one write transaction per path (a warm
    /// batch of 10,000 paths otherwise committed 10,000 times once the entries were older
    /// than the library TTL).
    pub fn reconfirm(&self, section_id: u32, path: &str, by: &Decider) -> Result<()> {
        self.held
            .reconfirmed(section_id, by, &name_key(path), db::now());
        if self
            .reconfirmed
            .touch((section_id, name_key(path), by.clone()))
            >= TOUCHES_BATCH
        {
            self.conns.healing(|| {
                self.conns
                    .write(|tx| Ok(write_reconfirmed(tx, self.reconfirmed.take())?))
            })?;
        }
        Ok(())
    }

    /// Writes this process's lookup counters, last uses and re-confirmations to the file.
    pub fn flush(&self) -> Result<()> {
        self.conns.healing(|| {
            self.conns.write(|tx| {
                self.stats.flush(tx)?;
                write_reconfirmed(tx, self.reconfirmed.take())?;
                Ok(write_touches(tx, self.touches.take(), self.use_grain())?)
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

/// Sets `verified_at` (seconds) of the entries re-confirmed at the given times (ms).
fn write_reconfirmed(
    conn: &Connection,
    confirmed: Vec<((u32, String, Decider), i64)>,
) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "UPDATE matches SET verified_at = ?3
         WHERE section_id = ?1 AND path_key = ?2 AND plugin = ?4 AND digest = ?5 AND verified_at < ?3",
    )?;
    for ((section_id, key, by), at) in confirmed {
        st.execute(params![section_id, key, at / 1000, by.name, by.digest])?;
    }
    Ok(())
}

/// How recent a last use needs to be before it is written again: eviction needs only a
/// rough order, and rewriting every entry a batch used cost a warm batch of 10,000 paths
/// 8,500 page writes (strace).
const USE_GRAIN_MS: i64 = 10 * 60 * 1000;

fn write_touches(
    conn: &Connection,
    touches: Vec<((u32, String, Decider), i64)>,
    grain_ms: i64,
) -> rusqlite::Result<()> {
    let mut st = conn.prepare_cached(
        "UPDATE matches SET last_used = ?3
         WHERE section_id = ?1 AND path_key = ?2 AND plugin = ?4 AND digest = ?5 AND last_used < ?3 - ?6",
    )?;
    for ((section_id, key, by), at) in touches {
        st.execute(params![section_id, key, at, by.name, by.digest, grain_ms])?;
    }
    Ok(())
}
