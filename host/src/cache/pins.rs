//! Pins (`pins.sqlite3`): a person's decision that a media path is one Plex item
//! (`plexmatch pin`). Beside the match cache, in a file of its own, so that no eviction,
//! `cache clear`, schema change of the match cache or plugin can overwrite or lose one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::pool::Pool;
use plexmatch_matchkit::name_key;

const VERSION: i32 = 1;
const SCHEMA: &str = "
CREATE TABLE pins (path_key TEXT PRIMARY KEY, path TEXT NOT NULL, section_id INTEGER NOT NULL,
                   rating_key TEXT NOT NULL, title TEXT NOT NULL, file TEXT NOT NULL,
                   pinned_at INTEGER NOT NULL) WITHOUT ROWID;
";

/// How long this process answers from its copy of the pins before reading the file again
/// (so a pin set by another process is seen within this time).
const MEMO: Duration = Duration::from_secs(1);

/// A person's decision: `path` is item `rating_key` of section `section_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    /// The path as it was pinned (matched case-insensitively, NFC).
    pub path: String,
    pub section_id: u32,
    pub rating_key: String,
    /// The item's title when it was pinned, for messages.
    pub title: String,
    /// The item's file the path was pinned to (its best match at the time; may differ).
    pub file: String,
    /// Unix time of the pin.
    pub pinned_at: i64,
}

/// Every pin, by path key.
type PinMap = Arc<HashMap<String, Pin>>;

/// The pins file of one server's caches, opened only once there is one (most data dirs
/// never hold a pin, and an open file costs memory in every process).
pub struct Pins {
    path: std::path::PathBuf,
    conns: std::sync::OnceLock<Pool>,
    /// Every pin by path key, read at most every [`MEMO`]: a batch asks per path.
    memo: Mutex<Option<(Instant, PinMap)>>,
}

impl Pins {
    /// The pins of `dir` (`pins.sqlite3`, opened on first use, created by the first pin).
    pub(crate) fn open(dir: &Path) -> Pins {
        Pins {
            path: dir.join("pins.sqlite3"),
            conns: std::sync::OnceLock::new(),
            memo: Mutex::new(None),
        }
    }

    /// The open file; `create`: make it if there is none. `None`: no file, nothing pinned.
    fn pool(&self, create: bool) -> Result<Option<&Pool>> {
        if let Some(p) = self.conns.get() {
            return Ok(Some(p));
        }
        if !create && !self.path.exists() {
            return Ok(None);
        }
        let pool = Pool::open(&self.path, VERSION, SCHEMA)?;
        Ok(Some(self.conns.get_or_init(|| pool)))
    }

    /// The pin of `path`, if it has one.
    pub(crate) fn get(&self, path: &str) -> Option<Pin> {
        let all = self.all_memo()?;
        all.get(&name_key(path)).cloned()
    }

    /// The pins, `None` when there are none: asked on every path by every worker, so an
    /// empty set is answered without touching the shared count of the map's `Arc`.
    fn all_memo(&self) -> Option<PinMap> {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, all)) = memo.as_ref()
            && at.elapsed() < MEMO
        {
            return (!all.is_empty()).then(|| Arc::clone(all));
        }
        let all = match self.list() {
            Ok(pins) => Arc::new(pins.into_iter().map(|p| (name_key(&p.path), p)).collect()),
            Err(e) => {
                tracing::warn!("cannot read the pins: {e:#}");
                Arc::new(HashMap::new())
            }
        };
        *memo = Some((Instant::now(), Arc::clone(&all)));
        (!all.is_empty()).then_some(all)
    }

    /// Pins `path` (replacing an earlier pin of it); returns the pin it replaced.
    pub(crate) fn set(&self, pin: &Pin) -> Result<Option<Pin>> {
        let before = self.find(&pin.path)?;
        let conns = self.pool(true)?.expect("created");
        // Not `healing`: a pin that cannot be written is an error, never a silent skip.
        conns
            .write(|tx| {
                tx.execute(
                    "INSERT OR REPLACE INTO pins (path_key, path, section_id, rating_key, title, file, pinned_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        name_key(&pin.path),
                        pin.path,
                        pin.section_id,
                        pin.rating_key,
                        pin.title,
                        pin.file,
                        pin.pinned_at
                    ],
                )?;
                Ok(())
            })
            .map_err(|e| e.context("cannot write the pin"))?;
        self.forget_memo();
        Ok(before)
    }

    /// Removes the pin of `path`; returns it, or `None` if there was none.
    pub fn remove(&self, path: &str) -> Result<Option<Pin>> {
        let before = self.find(path)?;
        if let (Some(_), Some(conns)) = (&before, self.pool(false)?) {
            conns
                .write(|tx| {
                    tx.execute("DELETE FROM pins WHERE path_key = ?1", [name_key(path)])?;
                    Ok(())
                })
                .map_err(|e| e.context("cannot remove the pin"))?;
            self.forget_memo();
        }
        Ok(before)
    }

    /// The pin of `path`, read from the file.
    fn find(&self, path: &str) -> Result<Option<Pin>> {
        let Some(conns) = self.pool(false)? else {
            return Ok(None);
        };
        conns.healing(|| {
            Ok(conns
                .get()
                .query_row(
                    "SELECT path, section_id, rating_key, title, file, pinned_at FROM pins WHERE path_key = ?1",
                    [name_key(path)],
                    row,
                )
                .optional()?)
        })
    }

    /// Every pin, by path.
    pub fn list(&self) -> Result<Vec<Pin>> {
        let Some(conns) = self.pool(false)? else {
            return Ok(Vec::new());
        };
        conns.healing(|| {
            let conn = conns.get();
            let mut st = conn.prepare(
                "SELECT path, section_id, rating_key, title, file, pinned_at FROM pins ORDER BY path",
            )?;
            let pins = st.query_map([], row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(pins)
        })
    }

    fn forget_memo(&self) {
        *self.memo.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn row(r: &rusqlite::Row) -> rusqlite::Result<Pin> {
    Ok(Pin {
        path: r.get(0)?,
        section_id: r.get(1)?,
        rating_key: r.get(2)?,
        title: r.get(3)?,
        file: r.get(4)?,
        pinned_at: r.get(5)?,
    })
}
