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
use super::encoding::{decode_rest, encode_rest, name_hash, name_hash_of_path, split};
use super::pool::Pool;
use super::stats::{Counts, Stats};
use super::usage::Touches;
use crate::plex::{Extras, Item, ItemKind, Section, SectionKind};
use plexmatch_matchkit::{has_file_named, name_key};

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
    /// The changes are in; the snapshot now holds this many items.
    Stored(u32),
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
            for it in changed {
                let key = key_value(&it.rating_key);
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
            Ok(Applied::Stored(held as u32))
        })?;
        if matches!(applied, Applied::Stored(_)) {
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
        self.conns.healing(|| {
            let title_key = name_key(title);
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
    pub fn store_search(&self, section_id: u32, title: &str, items: &[Item]) -> Result<()> {
        self.conns.healing(|| {
            self.conn()
                .prepare_cached(
                    "INSERT OR REPLACE INTO searches (section_id, title_key, stored_at, item_count, last_used, items)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    section_id,
                    name_key(title),
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

    /// Evicts least recently used snapshots and searches until the file's pages fit in
    /// the limit; `keep` (the snapshot just written) is evicted last, never.
    pub fn enforce_limit(&self, keep: Option<u32>) -> Result<u64> {
        self.conns.healing(|| {
            let mut conn = self.conn();
            if db::used_bytes(&conn)? <= self.limit {
                return Ok(0);
            }
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            write_touches(&tx, self.touches.take())?;
            // Stored in-memory copies go first: each can be made again from its snapshot.
            let mut evicted = tx.execute(
                "DELETE FROM residents WHERE section_id IS NOT ?1",
                [keep],
            )? as u64;
            let victims: Vec<(Option<String>, u32, i64)> = {
                let mut st = tx.prepare(
                    "SELECT NULL, section_id, last_used FROM snapshots
                     UNION ALL SELECT title_key, section_id, last_used FROM searches ORDER BY 3",
                )?;
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<rusqlite::Result<_>>()?
            };
            for (title_key, section_id, _) in victims {
                if db::used_bytes(&tx)? <= self.limit * 9 / 10 {
                    break;
                }
                match title_key {
                    Some(t) => {
                        tx.execute(
                            "DELETE FROM searches WHERE section_id = ?1 AND title_key = ?2",
                            params![section_id, t],
                        )?;
                    }
                    None if Some(section_id) == keep => continue,
                    None => {
                        for table in ["entries", "residents", "snapshots"] {
                            tx.execute(
                                &format!("DELETE FROM {table} WHERE section_id = ?1"),
                                [section_id],
                            )?;
                        }
                        tracing::info!(
                            "library cache over its limit: evicted the snapshot of section {section_id}"
                        );
                    }
                }
                evicted += 1;
            }
            tx.commit()?;
            db::shrink(&conn)?;
            if db::used_bytes(&conn)? > self.limit {
                tracing::warn!(
                    "the library cache limit ({} bytes) is smaller than the newest snapshot; raise it to keep more than one section",
                    self.limit
                );
            }
            Ok(evicted)
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

/// Of a listing about to replace the section's snapshot, the items that differ from
/// it (new, or changed in any field), after deleting the rows of those and of the items
/// the listing no longer holds; `None` when there is no snapshot to compare with (or the
/// listing repeats a rating key): then everything is written.
fn changed_items<'a>(
    tx: &Connection,
    section_id: u32,
    items: &'a [Item],
) -> rusqlite::Result<Option<Vec<Item>>> {
    let mut held: HashMap<RowKey, Option<i64>> = HashMap::new();
    {
        let mut st = tx.prepare_cached(
            "SELECT rating_key, item_hash FROM entries WHERE section_id = ?1 AND seq = 0",
        )?;
        let mut rows = st.query([section_id])?;
        while let Some(r) = rows.next()? {
            held.insert(row_key(r.get_ref(0)?), r.get(1)?);
        }
    }
    if held.is_empty() {
        return Ok(None);
    }
    let mut seen: std::collections::HashSet<&str> =
        std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|it| seen.insert(it.rating_key.as_str())) {
        return Ok(None);
    }
    let mut changed: Vec<&'a Item> = Vec::new();
    let mut stale: Vec<RowKey> = Vec::new();
    for it in items {
        let key = row_key((&key_value(&it.rating_key)).into());
        match held.remove(&key) {
            Some(Some(h)) if h == item_hash(it) => {}
            Some(_) => {
                stale.push(key);
                changed.push(it);
            }
            None => changed.push(it),
        }
    }
    stale.extend(held.into_keys());
    let mut delete = tx.prepare_cached(
        // Without the hint SQLite walks the section's primary key.
        "DELETE FROM entries INDEXED BY entries_by_item WHERE section_id = ?1 AND rating_key = ?2",
    )?;
    for key in stale {
        let value = match key {
            RowKey::Int(i) => Value::Integer(i),
            RowKey::Text(t) => Value::Text(t),
        };
        delete.execute(params![section_id, value])?;
    }
    Ok(Some(changed.into_iter().cloned().collect()))
}

/// A stored rating key as the in-memory snapshot keys it.
fn row_key(v: rusqlite::types::ValueRef<'_>) -> RowKey {
    match v {
        rusqlite::types::ValueRef::Integer(i) => RowKey::Int(i),
        other => RowKey::Text(key_text(&other.into())),
    }
}

/// A hash of everything stored of an item (FNV-1a, 64 bits, fields separated): equal
/// hashes mean the stored rows need no rewrite.
fn item_hash(it: &Item) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes.iter().chain(&[0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(it.rating_key.as_bytes());
    eat(it.title.as_bytes());
    eat(&[kind_code(it.kind) as u8]);
    for f in &it.files {
        eat(f.as_bytes());
    }
    eat(&[0xfe]);
    eat(it.extras.packed().unwrap_or("").as_bytes());
    h as i64
}

/// Writes `items` into a section's entries: files by name hash, path prefixes shared.
fn insert_items(tx: &Connection, section_id: u32, items: &[Item]) -> rusqlite::Result<()> {
    let mut prefix_ids: HashMap<&str, i64> = HashMap::new();
    // (name hash, item, file): small rows, the path's rest encoded only when written, so
    // that storing a 100,000-item listing holds little besides the listing.
    let mut rows: Vec<(i64, u32, u32)> = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        for (seq, f) in it.files.iter().enumerate() {
            let (prefix, _) = split(f);
            if !prefix_ids.contains_key(prefix) {
                tx.prepare_cached("INSERT OR IGNORE INTO prefixes (path) VALUES (?1)")?
                    .execute([prefix])?;
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM prefixes WHERE path = ?1")?
                    .query_row([prefix], |r| r.get(0))?;
                prefix_ids.insert(prefix, id);
            }
            rows.push((name_hash_of_path(f), i as u32, seq as u32));
        }
    }
    // Inserting in primary-key order fills B-tree pages completely.
    let item = |i: u32| &items[i as usize];
    rows.sort_by(|a, b| (a.0, &item(a.1).rating_key, a.2).cmp(&(b.0, &item(b.1).rating_key, b.2)));
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO entries (section_id, name_hash, rating_key, seq, kind, title, prefix, rest, extras, item_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (hash, i, seq) in rows {
        let it = item(i);
        let (prefix, rest) = split(&it.files[seq as usize]);
        let first = seq == 0;
        ins.execute(params![
            section_id,
            hash,
            key_value(&it.rating_key),
            seq as i64,
            kind_code(it.kind),
            first.then_some(it.title.as_str()),
            prefix_ids[prefix],
            encode_rest(rest, &it.title),
            if first { it.extras.packed() } else { None },
            first.then(|| item_hash(it)),
        ])?;
    }
    // An item without files has nothing to match, but it exists: keep it findable by key.
    for it in items.iter().filter(|i| i.files.is_empty()) {
        ins.execute(params![
            section_id,
            -1,
            key_value(&it.rating_key),
            0,
            kind_code(it.kind),
            it.title,
            0,
            "",
            it.extras.packed(),
            item_hash(it),
        ])?;
    }
    Ok(())
}

fn write_touches(conn: &Connection, touches: Vec<(Unit, i64)>) -> rusqlite::Result<()> {
    for (unit, at) in touches {
        match unit {
            Unit::Snapshot(id) => conn
                .prepare_cached("UPDATE snapshots SET last_used = max(last_used, ?2) WHERE section_id = ?1")?
                .execute(params![id, at])?,
            Unit::Search(id, t) => conn
                .prepare_cached("UPDATE searches SET last_used = max(last_used, ?3) WHERE section_id = ?1 AND title_key = ?2")?
                .execute(params![id, t, at])?,
        };
    }
    Ok(())
}

fn load_item(conn: &Connection, section_id: u32, rating_key: Value) -> Result<Option<Item>> {
    let mut st = conn.prepare_cached(
        "SELECT e.seq, e.title, e.kind, coalesce(p.path, ''), e.rest, e.name_hash, e.extras
         FROM entries e INDEXED BY entries_by_item
         LEFT JOIN prefixes p ON p.id = e.prefix WHERE e.section_id = ?1 AND e.rating_key = ?2 ORDER BY e.seq",
    )?;
    type Row = (
        i64,
        Option<String>,
        i64,
        String,
        String,
        i64,
        Option<String>,
    );
    let rows: Vec<Row> = st
        .query_map(params![section_id, rating_key], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let Some(first) = rows.iter().find(|r| r.0 == 0) else {
        return Ok(None);
    };
    let title = first.1.clone().unwrap_or_default();
    let kind = kind_from_code(first.2);
    let extras = Extras::from_packed(first.6.clone());
    let files = rows
        .iter()
        .filter(|r| r.5 >= 0)
        .map(|r| format!("{}{}", r.3, decode_rest(&r.4, &title)))
        .collect();
    let rating_key = key_text(&rating_key);
    Ok(Some(Item {
        rating_key,
        title,
        kind,
        section_id,
        files,
        extras,
    }))
}

/// A section's snapshot rows as a [`ResidentSnapshot`] at `version`. The rows are read in
/// the table's own order (one pass over the section; through the item index, each row
/// would cost a seek: 0.77 s instead of a tenth of that for 51,000 items) and grouped by
/// item in memory.
fn read_resident(
    conn: &Connection,
    section_id: u32,
    version: i64,
) -> rusqlite::Result<ResidentSnapshot> {
    let mut b = Builder::new(section_id);
    {
        let mut st = conn.prepare_cached("SELECT id, path FROM prefixes")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            b.prefix(r.get(0)?, r.get_ref(1)?.as_str()?);
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT rating_key, seq, title, kind, prefix, rest, name_hash, extras FROM entries WHERE section_id = ?1",
    )?;
    let mut rows = st.query([section_id])?;
    while let Some(r) = rows.next()? {
        b.row(
            row_key(r.get_ref(0)?),
            r.get(1)?,
            r.get_ref(2)?.as_str_or_null()?,
            kind_from_code(r.get(3)?),
            r.get(4)?,
            r.get_ref(5)?.as_str()?,
            r.get(6)?,
            r.get_ref(7)?.as_str_or_null()?,
        );
    }
    Ok(b.finish(version))
}

/// A stored rating key as text.
fn key_text(key: &Value) -> String {
    match key {
        Value::Integer(i) => i.to_string(),
        Value::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// The next version of a section's snapshot: now in milliseconds, and always more than
/// the version before (two writes in one millisecond, or a clock stepped back).
fn next_version(tx: &Connection, section_id: u32) -> rusqlite::Result<i64> {
    let before: Option<i64> = tx
        .query_row(
            "SELECT version FROM snapshots WHERE section_id = ?1",
            [section_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(db::now_millis().max(before.unwrap_or(0) + 1))
}

/// A rating key as stored: canonical decimal keys as integers (smaller), others as text.
fn key_value(rating_key: &str) -> Value {
    match rating_key.parse::<i64>() {
        Ok(i) if i >= 0 && i.to_string() == rating_key => Value::Integer(i),
        _ => Value::Text(rating_key.to_owned()),
    }
}

/// An item kind as stored.
pub(super) fn kind_code(kind: ItemKind) -> i64 {
    match kind {
        ItemKind::Movie => 1,
        ItemKind::Episode => 2,
        ItemKind::Show => 3,
        ItemKind::Season => 4,
        ItemKind::Other => 0,
    }
}

/// An item kind from its stored code.
pub(super) fn kind_from_code(code: i64) -> ItemKind {
    match code {
        1 => ItemKind::Movie,
        2 => ItemKind::Episode,
        3 => ItemKind::Show,
        4 => ItemKind::Season,
        _ => ItemKind::Other,
    }
}
