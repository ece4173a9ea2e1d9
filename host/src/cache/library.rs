//! The library cache: the section list, per-section snapshots stored as rows with a
//! file-name index, and title-search results.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::Result;
use rusqlite::{Connection, OptionalExtension, params};

use super::db;
use super::stats::{Counts, Stats};
use crate::plex::{Item, ItemKind, Section, SectionKind};
use plexmatch_matchkit::{file_name, name_key};

const VERSION: i32 = 2;
const SCHEMA: &str = "
CREATE TABLE sections (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL, listed_at INTEGER NOT NULL);
CREATE TABLE snapshots (section_id INTEGER PRIMARY KEY, refreshed_at INTEGER NOT NULL, item_count INTEGER NOT NULL);
CREATE TABLE items (section_id INTEGER NOT NULL, rating_key TEXT NOT NULL, title TEXT NOT NULL, kind TEXT NOT NULL,
                    PRIMARY KEY (section_id, rating_key)) WITHOUT ROWID;
CREATE TABLE files (section_id INTEGER NOT NULL, rating_key TEXT NOT NULL, name_key TEXT NOT NULL, path TEXT NOT NULL);
CREATE INDEX files_by_name ON files (section_id, name_key);
CREATE INDEX files_by_item ON files (section_id, rating_key);
CREATE TABLE searches (section_id INTEGER NOT NULL, title_key TEXT NOT NULL, stored_at INTEGER NOT NULL, item_count INTEGER NOT NULL, items TEXT NOT NULL,
                       PRIMARY KEY (section_id, title_key)) WITHOUT ROWID;
";

/// A section snapshot's bookkeeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub item_count: u32,
    /// Unix time of the refresh.
    pub refreshed_at: i64,
}

/// The library cache file (`library.sqlite3`).
pub struct LibraryCache {
    conn: Mutex<Connection>,
    /// Lookup counters (`sections`, `file-name`, `search`).
    pub stats: Stats,
}

impl LibraryCache {
    /// Opens the cache in `dir`.
    pub fn open(dir: &Path) -> Result<LibraryCache> {
        let schema = format!("{SCHEMA}{}", super::stats::SCHEMA);
        let conn = db::open(&dir.join("library.sqlite3"), VERSION, &schema)?;
        Ok(LibraryCache {
            conn: Mutex::new(conn),
            stats: Stats::default(),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached section list and when it was listed.
    pub fn sections(&self) -> Result<Option<(Vec<Section>, i64)>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT id, uuid, title, kind, listed_at FROM sections ORDER BY rowid",
        )?;
        let rows: Vec<(Section, i64)> = st
            .query_map([], |r| {
                Ok((
                    Section {
                        id: r.get(0)?,
                        uuid: r.get(1)?,
                        title: r.get(2)?,
                        kind: SectionKind::parse(&r.get::<_, String>(3)?),
                    },
                    r.get(4)?,
                ))
            })?
            .collect::<rusqlite::Result<_>>()?;
        let listed_at = rows.iter().map(|(_, t)| *t).min();
        Ok(listed_at.map(|t| (rows.into_iter().map(|(s, _)| s).collect(), t)))
    }

    /// Replaces the cached section list.
    pub fn store_sections(&self, sections: &[Section]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM sections", [])?;
        let now = db::now();
        for s in sections {
            tx.execute(
                "INSERT OR REPLACE INTO sections (id, uuid, title, kind, listed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.id, s.uuid, s.title, s.kind.as_str(), now],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The section's snapshot bookkeeping, if there is a snapshot.
    pub fn snapshot_info(&self, section_id: u32) -> Result<Option<SnapshotInfo>> {
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT item_count, refreshed_at FROM snapshots WHERE section_id = ?1",
        )?;
        Ok(st
            .query_row([section_id], |r| {
                Ok(SnapshotInfo {
                    item_count: r.get(0)?,
                    refreshed_at: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Replaces a section's snapshot in one transaction: readers see the old one or the new one.
    pub fn replace_snapshot(&self, section_id: u32, items: &[Item]) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM files WHERE section_id = ?1", [section_id])?;
        tx.execute("DELETE FROM items WHERE section_id = ?1", [section_id])?;
        {
            let mut ins_item =
                tx.prepare_cached("INSERT OR REPLACE INTO items (section_id, rating_key, title, kind) VALUES (?1, ?2, ?3, ?4)")?;
            let mut ins_file = tx.prepare_cached("INSERT INTO files (section_id, rating_key, name_key, path) VALUES (?1, ?2, ?3, ?4)")?;
            for it in items {
                ins_item.execute(params![
                    section_id,
                    it.rating_key,
                    it.title,
                    it.kind.as_str()
                ])?;
                for f in &it.files {
                    let key = file_name(f).map(name_key).unwrap_or_default();
                    ins_file.execute(params![section_id, it.rating_key, key, f])?;
                }
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (section_id, refreshed_at, item_count) VALUES (?1, ?2, ?3)",
            params![section_id, db::now(), items.len() as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Items of the section's snapshot with a file named like `file_name` (an indexed query).
    pub fn items_by_file_name(&self, section_id: u32, file_name: &str) -> Result<Vec<Item>> {
        let key = name_key(file_name);
        let conn = self.conn();
        let keys: Vec<String> = {
            let mut st = conn.prepare_cached(
                "SELECT DISTINCT rating_key FROM files WHERE section_id = ?1 AND name_key = ?2",
            )?;
            st.query_map(params![section_id, key], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if let Some(item) = load_item(&conn, section_id, &k)? {
                out.push(item);
            }
        }
        Ok(out)
    }

    /// One item of the section's snapshot.
    pub fn item(&self, section_id: u32, rating_key: &str) -> Result<Option<Item>> {
        load_item(&self.conn(), section_id, rating_key)
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
        let conn = self.conn();
        let mut st = conn.prepare_cached(
            "SELECT items FROM searches WHERE section_id = ?1 AND title_key = ?2
               AND stored_at > ?3 - (CASE WHEN item_count = 0 THEN ?5 ELSE ?4 END)",
        )?;
        let json: Option<String> = st
            .query_row(
                params![
                    section_id,
                    name_key(title),
                    db::now(),
                    ttl_secs as i64,
                    negative_ttl_secs as i64
                ],
                |r| r.get(0),
            )
            .optional()?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Stores a search answer.
    pub fn store_search(&self, section_id: u32, title: &str, items: &[Item]) -> Result<()> {
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT OR REPLACE INTO searches (section_id, title_key, stored_at, item_count, items) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![section_id, name_key(title), db::now(), items.len() as i64, serde_json::to_string(items)?])?;
        Ok(())
    }

    /// Deletes everything cached, or everything about one section.
    pub fn clear(&self, section_id: Option<u32>) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        match section_id {
            Some(id) => {
                for table in ["files", "items", "searches", "snapshots"] {
                    tx.execute(&format!("DELETE FROM {table} WHERE section_id = ?1"), [id])?;
                }
            }
            None => {
                tx.execute_batch("DELETE FROM files; DELETE FROM items; DELETE FROM searches; DELETE FROM snapshots; DELETE FROM sections;")?;
                self.stats.reset(&tx)?;
            }
        }
        tx.commit()?;
        Ok(())
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

    /// Items and files held, and the file's size in bytes.
    pub fn footprint(&self) -> Result<(u64, u64, u64)> {
        let conn = self.conn();
        let items: i64 = conn.query_row("SELECT COUNT(*) FROM items", [], |r| r.get(0))?;
        let files: i64 = conn.query_row("SELECT COUNT(*) FROM files", [], |r| r.get(0))?;
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((items as u64, files as u64, (pages * page_size) as u64))
    }
}

fn load_item(conn: &Connection, section_id: u32, rating_key: &str) -> Result<Option<Item>> {
    let mut st = conn.prepare_cached(
        "SELECT title, kind FROM items WHERE section_id = ?1 AND rating_key = ?2",
    )?;
    let Some((title, kind)) = st
        .query_row(params![section_id, rating_key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let mut st = conn.prepare_cached(
        "SELECT path FROM files WHERE section_id = ?1 AND rating_key = ?2 ORDER BY rowid",
    )?;
    let files = st
        .query_map(params![section_id, rating_key], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(Item {
        rating_key: rating_key.to_owned(),
        title,
        kind: ItemKind::parse(&kind),
        section_id,
        files,
    }))
}
