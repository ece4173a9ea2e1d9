//! When cache entries were last used, recorded in memory and written in batches: a read
//! that wrote to SQLite every time would cost a write transaction per lookup, while
//! eviction only needs the order of last uses to be roughly right.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Last-use times (Unix milliseconds) not yet written, by entry key.
pub struct Touches<K> {
    pending: Mutex<HashMap<K, i64>>,
}

impl<K: Hash + Eq> Default for Touches<K> {
    fn default() -> Self {
        Touches {
            pending: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Touches<K> {
    /// Records that `key` was used now; returns how many uses wait to be written, so that
    /// the caller can write them before they pile up over a long batch.
    pub fn touch(&self, key: K) -> usize {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.insert(key, super::db::now_millis());
        pending.len()
    }

    /// The recorded uses, emptied.
    pub fn take(&self) -> Vec<(K, i64)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .collect()
    }
}
