//! A few SQLite connections to one cache file, so that threads matching in parallel do
//! not queue on one connection's mutex: WAL lets them read at the same time, and SQLite
//! itself serialises writers (waiting up to the busy timeout).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::Result;
use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::db;

/// Connections to one cache file.
pub struct Pool {
    conns: Vec<Mutex<Connection>>,
}

impl Pool {
    /// Opens (creating or rebuilding if needed) the file with one connection per core, at most 8.
    pub fn open(path: &Path, version: i32, schema: &str) -> Result<Pool> {
        let first = db::open(path, version, schema)?;
        let size = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let mut conns = vec![Mutex::new(first)];
        for _ in 1..size {
            conns.push(Mutex::new(db::open_more(path)?));
        }
        Ok(Pool { conns })
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
