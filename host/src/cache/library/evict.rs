//! Keeping the library cache file under its size limit: least recently used snapshots and
//! searches go first.

use super::*;

impl LibraryCache {
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
}
