//! The library cache (`library.sqlite3`): the section list, per-section snapshots stored
//! as rows clustered by a file-name hash, and title-search answers; evicted by least
//! recent use when the file outgrows its limit.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::MutexGuard;

use anyhow::Result;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::compact::{Builder, ResidentSnapshot, RowKey};
use super::db;
use super::encoding::{
    decode_rest, encode_rest, kind_code, kind_from_code, name_hash, name_hash_of_path, split,
};
use super::pool::Pool;
use super::stats::{Counts, Stats};
use super::usage::Touches;
use crate::plex::{Extras, Item, Section, SectionKind};
use plexmatch_matchkit::{has_file_named, name_key};

mod evict;
mod rows;
use rows::*;

const VERSION: i32 = 7;
const SCHEMA: &str = "
CREATE TABLE sections (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,
                       listed_at INTEGER NOT NULL);
CREATE TABLE snapshots (section_id INTEGER PRIMARY KEY, refreshed_at INTEGER NOT NULL, item_count INTEGER NOT NULL,
                        last_used INTEGER NOT NULL, newest_update INTEGER, listed_at INTEGER NOT NULL,
                        incrementals INTEGER NOT NULL, version INTEGER NOT NULL);
CREATE TABLE prefixes (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE entries (section_id INTEGER NOT NULL, name_hash INTEGER NOT NULL, rating_key NOT NULL, seq INTEGER NOT NULL,
                      kind INTEGER NOT NULL, title TEXT, prefix INTEGER NOT NULL, rest TEXT NOT NULL,
                      extras TEXT, item_hash INTEGER,
                      PRIMARY KEY (section_id, name_hash, rating_key, seq)) WITHOUT ROWID;
CREATE INDEX entries_by_item ON entries (section_id, rating_key);
CREATE TABLE residents (section_id INTEGER PRIMARY KEY, version INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE searches (section_id INTEGER NOT NULL, title_key TEXT NOT NULL, stored_at INTEGER NOT NULL,
                       item_count INTEGER NOT NULL, last_used INTEGER NOT NULL, items TEXT NOT NULL,
                       PRIMARY KEY (section_id, title_key)) WITHOUT ROWID;
";

/// Default size limit, as in the reference (100 MiB).
pub const DEFAULT_LIMIT: u64 = 100 << 20;

/// A section snapshot's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub item_count: u32,
    /// Unix time of the refresh (full or incremental).
    pub refreshed_at: i64,
    /// The latest `updatedAt` of its items, by the server's clock: changes since then are
    /// what an incremental refresh asks for. `None`: not known, the next refresh is full.
    pub newest_update: Option<i64>,
    /// Unix time of the last full listing.
    pub listed_at: i64,
    /// Incremental refreshes since the last full listing.
    pub incrementals: u32,
    /// Changes with every write of the snapshot (milliseconds, kept increasing): a copy
    /// held in memory is the snapshot's while the versions agree.
    pub version: i64,
}

/// What applying a section's changes did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Applied {
    /// The changes are in: the snapshot now holds `items`, of which `differing` were new or
    /// differed from what it held (by the stored item hash).
    Stored { items: u32, differing: u32 },
    /// Nothing changed: with the changes, the snapshot would hold `held` items, not the
    /// number the server counts (an item deleted or moved away); a full listing is due.
    CountDiffers { held: u32 },
    /// The cache file could not be written.
    #[default]
    NotStored,
}

/// What the library cache holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct LibraryFootprint {
    pub sections: u64,
    pub snapshots: u64,
    pub items: u64,
    pub files: u64,
    pub searches: u64,
    /// Bytes of pages in use (what the limit counts).
    pub used_bytes: u64,
    /// Bytes of the file and its write-ahead log.
    pub file_bytes: u64,
}

/// The searches table's key of a file look-up's answer: no title's key starts with a
/// control character (titles are keyed by their name key, and Plex titles hold none).
fn file_lookup_key(query: &str) -> String {
    format!("\u{1}file\u{1}{}", query.to_ascii_lowercase())
}

/// Something of the library cache that is used and evicted as a whole.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
enum Unit {
    Snapshot(u32),
    Search(u32, String),
}

/// The library cache file.
pub struct LibraryCache {
    conns: Pool,
    path: PathBuf,
    limit: u64,
    touches: Touches<Unit>,
    /// Lookup counters (`sections`, `file-name`, `search`).
    pub stats: Stats,
}

impl LibraryCache {
    /// Opens the cache in `dir`, keeping it under `limit` bytes.
    pub fn open(dir: &Path, limit: u64) -> Result<LibraryCache> {
        let schema = format!("{SCHEMA}{}", super::stats::SCHEMA);
        let path = dir.join("library.sqlite3");
        let conns = Pool::open(&path, VERSION, &schema)?;
        Ok(LibraryCache {
            conns,
            path,
            limit,
            touches: Touches::default(),
            stats: Stats::default(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conns.get()
    }

    /// The cached section list and when it was listed.
    pub fn sections(&self) -> Result<Option<(Vec<Section>, i64)>> {
        self.conns.healing(|| {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT id, uuid, title, kind, listed_at FROM sections ORDER BY rowid",
            )?;
            let rows: Vec<(Section, i64)> = st
                .query_map([], |r| {
                    let kind = SectionKind::parse(&r.get::<_, String>(3)?);
                    Ok((
                        Section {
                            id: r.get(0)?,
                            uuid: r.get(1)?,
                            title: r.get(2)?,
                            kind,
                        },
                        r.get(4)?,
                    ))
                })?
                .collect::<rusqlite::Result<_>>()?;
            let listed_at = rows.iter().map(|(_, t)| *t).min();
            Ok(listed_at.map(|t| (rows.into_iter().map(|(s, _)| s).collect(), t)))
        })
    }

    /// Replaces the cached section list.
    pub fn store_sections(&self, sections: &[Section]) -> Result<()> {
        self.conns.healing(|| {
            self.conns.write(|tx| {
                tx.execute("DELETE FROM sections", [])?;
                let now = db::now();
                for s in sections {
                    tx.execute(
                        "INSERT OR REPLACE INTO sections (id, uuid, title, kind, listed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![s.id, s.uuid, s.title, s.kind.as_str(), now],
                    )?;
                }
                Ok(())
            })
        })
    }

    /// Forgets the cached section list (it is out of date).
    pub fn forget_sections(&self) -> Result<()> {
        self.conns.healing(|| {
            self.conns
                .write(|tx| Ok(tx.execute("DELETE FROM sections", []).map(|_| ())?))
        })
    }

    /// The section's snapshot bookkeeping, if there is a snapshot.
    pub fn snapshot_info(&self, section_id: u32) -> Result<Option<SnapshotInfo>> {
        self.conns.healing(|| {
            let conn = self.conn();
            let mut st = conn.prepare_cached(
                "SELECT item_count, refreshed_at, newest_update, listed_at, incrementals, version FROM snapshots WHERE section_id = ?1",
            )?;
            Ok(st
                .query_row([section_id], |r| {
                    Ok(SnapshotInfo {
                        item_count: r.get(0)?,
                        refreshed_at: r.get(1)?,
                        newest_update: r.get(2)?,
                        listed_at: r.get(3)?,
                        incrementals: r.get(4)?,
                        version: r.get(5)?,
                    })
                })
                .optional()?)
        })
    }

    /// Replaces a section's snapshot in one transaction (readers, in this process or
    /// another, see the old one or the new one), then keeps the file under its limit.
    /// `newest_update` is the latest `updatedAt` of the listing (see [`SnapshotInfo`]).
    /// Only what differs from the snapshot before is written: each item's rows carry a
    /// hash of the item, so a full listing of a section that barely changed rewrites a
    /// few items, not all of them (300 ms for 51,000 items).
    pub fn replace_snapshot(
        &self,
        section_id: u32,
        items: &[Item],
        newest_update: Option<i64>,
    ) -> Result<()> {
        self.conns.healing(|| {
            {
                let mut conn = self.conn();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute("DELETE FROM residents WHERE section_id = ?1", [section_id])?;
                match changed_items(&tx, section_id, items)? {
                    Some(changed) => insert_items(&tx, section_id, &changed)?,
                    None => {
                        tx.execute("DELETE FROM entries WHERE section_id = ?1", [section_id])?;
                        insert_items(&tx, section_id, items)?;
                    }
                }
                let now = db::now();
                let version = next_version(&tx, section_id)?;
                tx.execute(
                    "INSERT OR REPLACE INTO snapshots (section_id, refreshed_at, item_count, last_used, newest_update, listed_at, incrementals, version)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?2, 0, ?6)",
                    params![section_id, now, items.len() as i64, db::now_millis(), newest_update, version],
                )?;
                tx.commit()?;
            }
            self.enforce_limit(Some(section_id))?;
            Ok(())
        })
    }

    /// Brings a section's snapshot up to date with `changed`, the items added or changed
    /// since it was taken, in one transaction: each replaces the item of its rating key or
    /// is added. Kept only if the snapshot then holds `server_count` items (the server's
    /// count for the section); otherwise nothing changes and a full listing is due.
    pub fn apply_changes(
        &self,
        section_id: u32,
        changed: &[Item],
        newest_update: Option<i64>,
        server_count: u64,
    ) -> Result<Applied> {
        let applied = self.conns.healing(|| {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some((count, newest, incrementals)) = tx
                .query_row(
                    "SELECT item_count, newest_update, incrementals FROM snapshots WHERE section_id = ?1",
                    [section_id],
                    |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, i64>(2)?)),
                )
                .optional()?
            else {
                return Ok(Applied::CountDiffers { held: 0 });
            };
            let mut added = 0i64;
            let mut differing = 0u32;
            for it in changed {
                let key = key_value(&it.rating_key);
                differing += u32::from(differs_from_stored(&tx, section_id, &key, it)?);
                let held = tx
                    .prepare_cached(
                        // Without the hint SQLite walks the section's primary key.
                        "DELETE FROM entries INDEXED BY entries_by_item WHERE section_id = ?1 AND rating_key = ?2",
                    )?
                    .execute(params![section_id, key])?;
                if held == 0 {
                    added += 1;
                }
            }
            let held = count + added;
            if held as u64 != server_count {
                // Dropping the transaction rolls it back.
                return Ok(Applied::CountDiffers { held: held as u32 });
            }
            insert_items(&tx, section_id, changed)?;
            tx.execute("DELETE FROM residents WHERE section_id = ?1", [section_id])?;
            let version = next_version(&tx, section_id)?;
            tx.execute(
                "UPDATE snapshots SET refreshed_at = ?2, item_count = ?3, newest_update = ?4, incrementals = ?5, version = ?6
                 WHERE section_id = ?1",
                params![section_id, db::now(), held, newest.max(newest_update), incrementals + 1, version],
            )?;
            tx.commit()?;
            Ok(Applied::Stored {
                items: held as u32,
                differing,
            })
        })?;
        if matches!(applied, Applied::Stored { .. }) {
            self.enforce_limit(Some(section_id))?;
        }
        Ok(applied)
    }

    /// Items of the section's snapshot with a file named like `file_name` (an indexed query).
    pub fn items_by_file_name(&self, section_id: u32, file_name: &str) -> Result<Vec<Item>> {
        self.conns.healing(|| {
            let key = name_key(file_name);
            let conn = self.conn();
            let keys: Vec<Value> = {
                let mut st = conn.prepare_cached(
                "SELECT DISTINCT rating_key FROM entries WHERE section_id = ?1 AND name_hash = ?2",
            )?;
                st.query_map(params![section_id, name_hash(file_name)], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            let mut out = Vec::with_capacity(keys.len());
            for k in keys {
                // Equal hashes are not equal names: check.
                if let Some(item) = load_item(&conn, section_id, k)?
                    && has_file_named(&item.files, &key)
                {
                    out.push(item);
                }
            }
            self.touches.touch(Unit::Snapshot(section_id));
            Ok(out)
        })
    }

    /// Every item of the section's snapshot, in one read (ordered by rating key as
    /// stored: numeric keys first, in numeric order).
    pub fn snapshot_items(&self, section_id: u32) -> Result<Vec<Item>> {
        Ok(self
            .versioned_snapshot(section_id)?
            .map(|(_, items)| items)
            .unwrap_or_default())
    }

    /// The section's snapshot version and every item, read in one transaction (so the
    /// items are that version's); `None` without a snapshot.
    pub fn versioned_snapshot(&self, section_id: u32) -> Result<Option<(i64, Vec<Item>)>> {
        Ok(self
            .resident_snapshot(section_id)?
            .map(|(r, _)| (r.version(), r.items().collect())))
    }

    /// The section's snapshot in its in-memory form, read in one transaction: its stored
    /// copy when that is of the snapshot's version (`false`), else built from the rows
    /// (`true`: worth storing with [`LibraryCache::store_resident`]). `None` without a
    /// snapshot.
    pub fn resident_snapshot(&self, section_id: u32) -> Result<Option<(ResidentSnapshot, bool)>> {
        self.conns.healing(|| {
            let mut conn = self.conn();
            let tx = conn.transaction()?;
            let Some(version) = tx
                .query_row(
                    "SELECT version FROM snapshots WHERE section_id = ?1",
                    [section_id],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
            else {
                return Ok(None);
            };
            // Read straight into one buffer, which becomes the copy's text.
            let stored = match tx
                .query_row(
                    "SELECT length(data) FROM residents WHERE section_id = ?1 AND version = ?2",
                    params![section_id, version],
                    |r| r.get::<_, i64>(0),
                )
                .optional()?
            {
                Some(len) => {
                    use std::io::Read;
                    let mut data = Vec::with_capacity(len.max(0) as usize);
                    tx.blob_open(rusqlite::MAIN_DB, "residents", "data", section_id.into(), true)?
                        .read_to_end(&mut data)?;
                    Some(ResidentSnapshot::from_bytes(data, section_id))
                }
                None => None,
            };
            let found = match stored {
                Some(Some(r)) if r.version() == version => (r, false),
                Some(_) => {
                    tracing::warn!(
                        "the stored copy of section {section_id}'s snapshot is damaged; reading the snapshot instead"
                    );
                    (read_resident(&tx, section_id, version)?, true)
                }
                None => (read_resident(&tx, section_id, version)?, true),
            };
            tx.commit()?;
            Ok(Some(found))
        })
    }

    /// Stores `r` so that the next run reads it in one piece; nothing if the snapshot
    /// changed since `r` was read.
    pub fn store_resident(&self, section_id: u32, r: &ResidentSnapshot) -> Result<()> {
        let data = r.to_bytes();
        self.conns.healing(|| {
            self.conns.write(|tx| {
                tx.execute(
                    "INSERT OR REPLACE INTO residents (section_id, version, data)
                     SELECT section_id, version, ?3 FROM snapshots WHERE section_id = ?1 AND version = ?2",
                    params![section_id, r.version(), data],
                )?;
                Ok(())
            })
        })
    }

    /// Records a use of the section's snapshot (for least-recently-used eviction).
    pub fn touch_snapshot(&self, section_id: u32) {
        self.touches.touch(Unit::Snapshot(section_id));
    }

    /// One item of the section's snapshot.
    pub fn item(&self, section_id: u32, rating_key: &str) -> Result<Option<Item>> {
        self.conns.healing(|| {
            self.touches.touch(Unit::Snapshot(section_id));
            load_item(&self.conn(), section_id, key_value(rating_key))
        })
    }

    /// A cached search answer younger than its TTL: `ttl_secs` for an answer with items,
    /// `negative_ttl_secs` for an empty one. The reader's TTLs apply, not the writer's, so
    /// a run with a shorter TTL never sees older answers.
    pub fn cached_search(
        &self,
        section_id: u32,
        title: &str,
        ttl_secs: u64,
        negative_ttl_secs: u64,
    ) -> Result<Option<Vec<Item>>> {
        self.cached_by_key(section_id, &name_key(title), ttl_secs, negative_ttl_secs)
    }

    fn cached_by_key(
        &self,
        section_id: u32,
        title_key: &str,
        ttl_secs: u64,
        negative_ttl_secs: u64,
    ) -> Result<Option<Vec<Item>>> {
        self.conns.healing(|| {
            let title_key = title_key.to_owned();
            let json: Option<String> = {
                let conn = self.conn();
                let mut st = conn.prepare_cached(
                    "SELECT items FROM searches WHERE section_id = ?1 AND title_key = ?2
                   AND stored_at > ?3 - (CASE WHEN item_count = 0 THEN ?5 ELSE ?4 END)",
                )?;
                st.query_row(
                    params![
                        section_id,
                        title_key,
                        db::now(),
                        ttl_secs as i64,
                        negative_ttl_secs as i64
                    ],
                    |r| r.get(0),
                )
                .optional()?
            };
            let found = json.and_then(|j| serde_json::from_str(&j).ok());
            if found.is_some() {
                self.touches.touch(Unit::Search(section_id, title_key));
            }
            Ok(found)
        })
    }

    /// Stores a search answer.
    /// A cached file look-up's answer (see [`LibraryCache::store_file_lookup`]), if still valid.
    pub fn cached_file_lookup(
        &self,
        section_id: u32,
        query: &str,
        ttl_secs: u64,
        negative_ttl_secs: u64,
    ) -> Result<Option<Vec<Item>>> {
        self.cached_by_key(section_id, &file_lookup_key(query), ttl_secs, negative_ttl_secs)
    }

    /// Stores a file look-up's answer beside the title searches, under a key no title has.
    pub fn store_file_lookup(&self, section_id: u32, query: &str, items: &[Item]) -> Result<()> {
        self.store_by_key(section_id, &file_lookup_key(query), items)
    }

    pub fn store_search(&self, section_id: u32, title: &str, items: &[Item]) -> Result<()> {
        self.store_by_key(section_id, &name_key(title), items)
    }

    fn store_by_key(&self, section_id: u32, title_key: &str, items: &[Item]) -> Result<()> {
        self.conns.healing(|| {
            self.conn()
                .prepare_cached(
                    "INSERT OR REPLACE INTO searches (section_id, title_key, stored_at, item_count, last_used, items)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    section_id,
                    title_key,
                    db::now(),
                    items.len() as i64,
                    db::now_millis(),
                    serde_json::to_string(items)?
                ])?;
            self.enforce_limit(None)?;
            Ok(())
        })
    }

    /// Deletes everything cached, or everything about one section.
    pub fn clear(&self, section_id: Option<u32>) -> Result<()> {
        self.conns.healing(|| {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            match section_id {
                Some(id) => {
                    for table in ["entries", "residents", "searches", "snapshots"] {
                        tx.execute(&format!("DELETE FROM {table} WHERE section_id = ?1"), [id])?;
                    }
                }
                None => {
                    tx.execute_batch(
                        "DELETE FROM entries; DELETE FROM residents; DELETE FROM prefixes; DELETE FROM searches; DELETE FROM snapshots; DELETE FROM sections;",
                    )?;
                    self.stats.reset(&tx)?;
                }
            }
            tx.commit()?;
            db::compact(&conn)?;
            Ok(())
        })
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

    /// Persisted lookup counters, by kind.
    pub fn stats_totals(&self) -> Result<BTreeMap<String, Counts>> {
        self.conns.healing(|| Ok(Stats::totals(&self.conn())?))
    }

    /// What the cache holds and its size.
    pub fn footprint(&self) -> Result<LibraryFootprint> {
        self.conns.healing(|| {
            let conn = self.conn();
            let count = |sql: &str| -> Result<u64> {
                Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
            };
            Ok(LibraryFootprint {
                sections: count("SELECT COUNT(*) FROM sections")?,
                snapshots: count("SELECT COUNT(*) FROM snapshots")?,
                items: count("SELECT COUNT(*) FROM entries WHERE seq = 0")?,
                files: count("SELECT COUNT(*) FROM entries WHERE name_hash >= 0")?,
                searches: count("SELECT COUNT(*) FROM searches")?,
                used_bytes: db::used_bytes(&conn)?,
                file_bytes: db::file_bytes(&self.path),
            })
        })
    }
}
