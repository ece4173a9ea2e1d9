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
        // A file plexmatch may not write (a read-only data dir or file system) is healthy:
        // read it as it is, and move nothing.
        Err(e) if path.exists() && is_unwritable(&e) => {
            open_read_only(path, version).with_context(|| {
                format!(
                    "cannot open cache file {} (read-only): {e:#}",
                    path.display()
                )
            })
        }
        Err(e) if path.exists() && !is_busy(&e) => {
            set_aside(path, &e)?;
            try_open(path, version, schema)
        }
        Err(e) => Err(e),
    }
}

/// Moves an unusable cache file aside (`<name>.corrupt-<unix time>`, kept for inspection)
/// with one warning, and removes its write-ahead log and shared-memory files.
pub fn set_aside(path: &Path, why: &anyhow::Error) -> Result<()> {
    let aside = aside_name(path);
    tracing::warn!(
        "cache file {} is unusable ({why:#}); moving it to {} and starting afresh",
        path.display(),
        aside.display()
    );
    std::fs::rename(path, &aside)
        .with_context(|| format!("cannot move unusable cache file {} aside", path.display()))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        let _ = std::fs::remove_file(side);
    }
    Ok(())
}

/// Another connection to a file [`open`] has opened (and checked) already.
pub fn open_more(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open cache file {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "journal_size_limit", 4 << 20)?;
    Ok(conn)
}

/// Whether any SQLite error in `e`'s chain has one of `codes`.
pub fn has_sqlite_code(e: &anyhow::Error, codes: &[rusqlite::ErrorCode]) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<rusqlite::Error>()
            .and_then(rusqlite::Error::sqlite_error_code)
            .is_some_and(|code| codes.contains(&code))
    })
}

/// Whether the error says the file or its folder cannot be written (not a broken file).
pub fn is_unwritable(e: &anyhow::Error) -> bool {
    use rusqlite::ErrorCode::{CannotOpen, PermissionDenied, ReadOnly};
    has_sqlite_code(e, &[ReadOnly, CannotOpen, PermissionDenied])
        || e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>().is_some_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
                )
            })
        })
}

/// Whether the error says the database file is damaged.
pub fn is_corrupt(e: &anyhow::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseCorrupt, NotADatabase};
    has_sqlite_code(e, &[DatabaseCorrupt, NotADatabase])
}

/// Opens a cache file that cannot be written: read-only, and `immutable` when even the
/// write-ahead log's shared memory cannot be made; it must hold this plexmatch's schema.
fn open_read_only(path: &Path, version: i32) -> Result<Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
    let uri = |extra: &str| format!("file:{}?mode=ro{extra}", path.display());
    let check = |conn: Connection| -> Result<Connection> {
        let found: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found != version {
            anyhow::bail!("it has schema version {found}, this plexmatch uses {version}");
        }
        Ok(conn)
    };
    match Connection::open_with_flags(uri(""), flags)
        .map_err(anyhow::Error::from)
        .and_then(check)
    {
        Ok(c) => Ok(c),
        Err(_) => check(Connection::open_with_flags(uri("&immutable=1"), flags)?),
    }
}

/// Whether the error is another process holding the file too long (not a broken file).
fn is_busy(e: &anyhow::Error) -> bool {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    has_sqlite_code(e, &[DatabaseBusy, DatabaseLocked])
}

fn sqlite_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn try_open(path: &Path, version: i32, schema: &str) -> Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open cache file {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Switching to WAL takes a lock that SQLite's busy handler does not wait for: when
    // several processes open a new file at once, retry until the busy timeout.
    let started = std::time::Instant::now();
    loop {
        match conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0)) {
            Ok(_) => break,
            Err(e) if sqlite_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(e.into()),
        }
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // After a checkpoint the log is cut back to this size instead of keeping its peak.
    conn.pragma_update(None, "journal_size_limit", 4 << 20)?;
    let found: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found == version {
        return Ok(conn);
    }
    if found != 0 {
        // Another schema (older or newer plexmatch): never misread it; it is only a cache.
        anyhow::bail!("it has schema version {found}, this plexmatch uses {version}");
    }
    // A new file. Another process may be creating it at the same moment: the immediate
    // transaction makes one of them wait, and the second finds the schema in place.
    // Incremental auto-vacuum (set before the first table) lets eviction give pages back
    // to the file system, so a size limit holds for the file itself.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let created = (|| -> Result<()> {
        let found: i32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found == version {
            return Ok(());
        }
        let tables: i64 = conn.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'",
            [],
            |r| r.get(0),
        )?;
        if found != 0 || tables != 0 {
            anyhow::bail!("it holds tables that are not plexmatch's (schema version {found})");
        }
        conn.execute_batch(schema)?;
        conn.pragma_update(None, "user_version", version)?;
        Ok(())
    })();
    match created {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
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

/// Bytes the database's pages take (free pages excluded): what a size limit counts.
pub fn used_bytes(conn: &Connection) -> rusqlite::Result<u64> {
    let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let free: i64 = conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))?;
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    Ok(((pages - free).max(0) * page_size) as u64)
}

/// Bytes of the cache file and its write-ahead log on disk.
pub fn file_bytes(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Returns free pages to the file system after deletions. In WAL mode the file shrinks
/// when the log is copied back; a passive checkpoint does that without waiting on readers.
pub fn shrink(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("PRAGMA incremental_vacuum")?;
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
}

/// Gives every free page back to the file system now, and empties the write-ahead log:
/// what a user clearing a cache expects to see on disk (slower than [`shrink`]).
pub fn compact(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    conn.execute_batch("VACUUM")?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

/// Milliseconds since the Unix epoch: the clock of last uses, fine enough to order them.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
