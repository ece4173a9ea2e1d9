//! A few SQLite connections to one cache file, so that threads matching in parallel do
//! not queue on one connection's mutex: WAL lets them read at the same time, and SQLite
//! itself serialises writers (waiting up to the busy timeout).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use anyhow::Result;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::db;

/// Connections to one cache file.
pub struct Pool {
    conns: Vec<Mutex<Connection>>,
    path: PathBuf,
    version: i32,
    schema: String,
    /// Set once the file was rebuilt in this process: a second corruption is only reported.
    healed: AtomicBool,
    /// Whether the file can only be read; then writes are skipped (warned about once).
    read_only: AtomicBool,
}

impl Pool {
    /// Opens (creating or rebuilding if needed) the file with one connection per core, at most 8.
    pub fn open(path: &Path, version: i32, schema: &str) -> Result<Pool> {
        let first = db::open(path, version, schema)?;
        let read_only = first.is_readonly("main").unwrap_or(false);
        if read_only {
            tracing::warn!(
                "cache file {} cannot be written: it is read, and nothing new is cached this run",
                path.display()
            );
        }
        let size = if read_only {
            1
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .clamp(1, 8)
        };
        let mut conns = vec![Mutex::new(first)];
        for _ in 1..size {
            conns.push(Mutex::new(db::open_more(path)?));
        }
        Ok(Pool {
            conns,
            path: path.to_path_buf(),
            version,
            schema: schema.to_owned(),
            healed: AtomicBool::new(false),
            read_only: AtomicBool::new(read_only),
        })
    }

    /// Runs `f`; if it meets a corrupt database (at any read or write, not only at open),
    /// the file is moved aside and rebuilt empty, with one warning, and `f`'s error is
    /// returned (the caller treats it as a miss: it is only a cache).
    ///
    /// A write to a file that turned out read-only (a read-only data dir) is skipped: the
    /// first such write is warned about, and each gives the empty result.
    pub fn healing<R: Default>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let r = f();
        if let Err(e) = &r
            && db::is_unwritable(e)
        {
            if !self.read_only.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    "cache file {} cannot be written ({e:#}); nothing new is cached this run",
                    self.path.display()
                );
            }
            return Ok(R::default());
        }
        if let Err(e) = &r
            && db::is_corrupt(e)
            && !self.healed.swap(true, Ordering::SeqCst)
        {
            self.rebuild(e);
        }
        r
    }

    /// Moves the damaged file aside and points every connection at a new one. The caller
    /// holds no connection (its guard was dropped with `f`), so locking them all in order
    /// cannot deadlock.
    fn rebuild(&self, cause: &anyhow::Error) {
        let mut guards: Vec<MutexGuard<'_, Connection>> = self
            .conns
            .iter()
            .map(|c| c.lock().unwrap_or_else(|p| p.into_inner()))
            .collect();
        let fresh = db::set_aside(&self.path, cause).and_then(|_| {
            let mut conns = vec![db::open(&self.path, self.version, &self.schema)?];
            for _ in 1..guards.len() {
                conns.push(db::open_more(&self.path)?);
            }
            Ok(conns)
        });
        match fresh {
            Ok(conns) => {
                for (g, c) in guards.iter_mut().zip(conns) {
                    **g = c;
                }
            }
            Err(e) => tracing::warn!(
                "cache file {} is damaged and could not be rebuilt: {e:#}",
                self.path.display()
            ),
        }
    }

    /// A free connection if there is one, else the calling thread's usual one.
    pub fn get(&self) -> MutexGuard<'_, Connection> {
        for c in &self.conns {
            if let Ok(guard) = c.try_lock() {
                return guard;
            }
        }
        let home = thread_slot() % self.conns.len();
        self.conns[home].lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Pool {
    /// Runs `f` in a write transaction, begun IMMEDIATE (so it never has to upgrade a read
    /// lock, which another writer could refuse) and committed if `f` succeeds.
    pub fn write<R>(&self, f: impl FnOnce(&Transaction) -> Result<R>) -> Result<R> {
        let mut conn = self.get();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let r = f(&tx)?;
        tx.commit()?;
        Ok(r)
    }
}

/// A small number that differs between threads.
fn thread_slot() -> usize {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    h.finish() as usize
}
