//! A few SQLite connections to one cache file, so that threads matching in parallel do
//! not queue on one connection's mutex: WAL lets them read at the same time, and SQLite
//! itself serialises writers (waiting up to the busy timeout).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use anyhow::Result;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::db;

/// Connections to one cache file. The first is opened with the pool; the others when every
/// open one is busy, so that a run on one thread (one path) opens, and at exit closes, one.
pub struct Pool {
    conns: Vec<OnceLock<Mutex<Connection>>>,
    /// Held while a connection is opened or the file rebuilt, so that no connection is
    /// opened to a file being moved aside.
    opening: Mutex<()>,
    /// Set when opening another connection failed: the open ones are shared from then on.
    no_more: AtomicBool,
    path: PathBuf,
    version: i32,
    schema: String,
    /// Set once the file was rebuilt in this process: a second corruption is only reported.
    healed: AtomicBool,
    /// Whether the file can only be read; then writes are skipped (warned about once).
    read_only: AtomicBool,
}

impl Pool {
    /// Opens (creating or rebuilding if needed) the file, with room for one connection per
    /// core, at most 8.
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
        let conns: Vec<OnceLock<Mutex<Connection>>> = (0..size).map(|_| OnceLock::new()).collect();
        let _ = conns[0].set(Mutex::new(first));
        Ok(Pool {
            conns,
            opening: Mutex::new(()),
            no_more: AtomicBool::new(false),
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

    /// Moves the damaged file aside and points every open connection at a new one. The
    /// caller holds no connection (its guard was dropped with `f`), so locking them all in
    /// order cannot deadlock.
    fn rebuild(&self, cause: &anyhow::Error) {
        let _opening = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let mut guards: Vec<MutexGuard<'_, Connection>> = self
            .open_conns()
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

    /// The connections opened so far, in order (the first always is).
    fn open_conns(&self) -> impl Iterator<Item = &Mutex<Connection>> {
        self.conns.iter().map_while(OnceLock::get)
    }

    /// A free connection if there is one (opening another when every open one is busy and
    /// there is room), else the calling thread's usual one.
    pub fn get(&self) -> MutexGuard<'_, Connection> {
        for c in self.open_conns() {
            if let Ok(guard) = c.try_lock() {
                return guard;
            }
        }
        if let Some(c) = self.open_another()
            && let Ok(guard) = c.try_lock()
        {
            return guard;
        }
        let open = self.open_conns().count();
        let home = thread_slot() % open;
        self.conns[home]
            .get()
            .expect("connections open in order")
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Opens the next connection, if there is room and opening has not failed before.
    fn open_another(&self) -> Option<&Mutex<Connection>> {
        if self.no_more.load(Ordering::Relaxed) {
            return None;
        }
        let _opening = self.opening.lock().unwrap_or_else(|p| p.into_inner());
        let slot = self.conns.iter().find(|c| c.get().is_none())?;
        match db::open_more(&self.path) {
            Ok(conn) => {
                let _ = slot.set(Mutex::new(conn));
                slot.get()
            }
            Err(e) => {
                self.no_more.store(true, Ordering::Relaxed);
                tracing::info!(
                    "cannot open another connection to cache file {}: {e:#}",
                    self.path.display()
                );
                None
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_connection_is_opened_only_while_the_open_ones_are_busy() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::open(
            &dir.path().join("t.sqlite3"),
            1,
            "CREATE TABLE IF NOT EXISTS t (x INTEGER);",
        )
        .unwrap();
        for _ in 0..3 {
            pool.get().execute("INSERT INTO t VALUES (1)", []).unwrap();
        }
        assert_eq!(pool.open_conns().count(), 1);
        if pool.conns.len() < 2 {
            return; // a one-core machine: one connection, shared
        }
        let first = pool.get();
        let second = pool.get();
        assert_eq!(pool.open_conns().count(), 2);
        // Both see the same file.
        let n: i64 = second
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3);
        drop((first, second));
        let _again = pool.get();
        assert_eq!(pool.open_conns().count(), 2);
    }
}
