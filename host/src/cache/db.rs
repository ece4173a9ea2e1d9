//! Opening a cache database: WAL, a busy timeout, schema versioning, and recovery from
//! files that are corrupt or from another schema (it is only a cache: rebuild it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::Connection;

/// How long a writer waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens (creating if needed) the SQLite file at `path` with `schema` at `version`.
/// A file that is not a readable database, or has another schema version, is moved
/// aside (`<name>.corrupt-<unix time>`) or rebuilt, with a warning.
pub fn open(path: &Path, version: i32, schema: &str) -> Result<Connection> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    }
    match try_open(path, version, schema) {
        Ok(conn) => Ok(conn),
        Err(e) if path.exists() => {
            let aside = aside_name(path);
            tracing::warn!(
                "cache file {} is unusable ({e:#}); moving it to {} and starting afresh",
                path.display(),
                aside.display()
            );
            std::fs::rename(path, &aside).with_context(|| {
                format!("cannot move unusable cache file {} aside", path.display())
            })?;
            for suffix in ["-wal", "-shm"] {
                let side = PathBuf::from(format!("{}{suffix}", path.display()));
                let _ = std::fs::remove_file(side);
            }
            try_open(path, version, schema)
        }
        Err(e) => Err(e),
    }
}

fn try_open(path: &Path, version: i32, schema: &str) -> Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open cache file {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let found: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found != version {
        // Another schema: the data cannot be read safely, and a cache can be rebuilt.
        let tx = conn.unchecked_transaction()?;
        let tables: Vec<String> = {
            let mut st = tx.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?;
            st.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        if found != 0 {
            tracing::warn!(
                "cache file {} has schema version {found}, expected {version}; rebuilding it",
                path.display()
            );
        }
        for t in tables {
            tx.execute_batch(&format!("DROP TABLE IF EXISTS \"{t}\""))?;
        }
        tx.execute_batch(schema)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(conn)
}

fn aside_name(path: &Path) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    PathBuf::from(format!("{}.corrupt-{stamp}", path.display()))
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
