//! Compiled plugins kept on disk: compiling a component with Cranelift takes tens of
//! milliseconds, loading the compiled artifact well under one. An artifact is keyed by
//! the component's SHA-256 and by the engine's compatibility hash (wasmtime version and
//! every setting that changes generated code), so a different build or configuration
//! never loads it.
//!
//! Loading an artifact runs native code that wasmtime compiled earlier into the user's own
//! data dir; a file there that fails wasmtime's checks is recompiled and replaced.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use wasmtime::Engine;
use wasmtime::component::Component;

/// How a component was made ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Compiled now (and stored, if a cache dir was given).
    Compiled(Duration),
    /// Loaded from the compiled-plugin cache.
    Cached(Duration),
}

include!("../../plugin_digest.rs");

/// A component's bytes: given, or in a file read only when they are needed (a start from
/// the compiled-plugin cache reads neither the 18 MB of a Python component nor hashes them).
#[derive(Debug, Clone, Copy)]
pub enum Wasm<'a> {
    /// The bytes themselves (built-in plugins).
    Bytes(&'a [u8]),
    /// A component file.
    File(&'a Path),
}

impl Wasm<'_> {
    /// The size in bytes.
    pub fn size(&self) -> std::io::Result<u64> {
        match self {
            Wasm::Bytes(b) => Ok(b.len() as u64),
            Wasm::File(p) => std::fs::metadata(p).map(|m| m.len()),
        }
    }

    /// The first (up to) 8 bytes: the wasm magic and version.
    pub fn header(&self) -> std::io::Result<Vec<u8>> {
        match self {
            Wasm::Bytes(b) => Ok(b[..b.len().min(8)].to_vec()),
            Wasm::File(p) => {
                use std::io::Read;
                let mut head = Vec::with_capacity(8);
                std::fs::File::open(p)?.take(8).read_to_end(&mut head)?;
                Ok(head)
            }
        }
    }

    /// All the bytes.
    pub fn bytes(&self) -> std::io::Result<std::borrow::Cow<'_, [u8]>> {
        match self {
            Wasm::Bytes(b) => Ok(std::borrow::Cow::Borrowed(b)),
            Wasm::File(p) => std::fs::read(p).map(std::borrow::Cow::Owned),
        }
    }

    /// The component's digest; a file's is remembered under `dir` (see [`remembered`]).
    pub fn digest(&self, dir: Option<&Path>) -> std::io::Result<String> {
        let path = match *self {
            Wasm::File(path) => path,
            Wasm::Bytes(b) => {
                return Ok(crate::builtin::builtin_digest(b).map_or_else(|| digest(b), str::to_owned));
            }
        };
        if let Some(d) = dir.and_then(|dir| remembered(path, dir)) {
            return Ok(d);
        }
        let d = digest(&self.bytes()?);
        if let Some(dir) = dir {
            remember(path, dir, &d);
        }
        Ok(d)
    }
}

/// A file's identity for the digest memo: device, inode, size, modification and change
/// times in nanoseconds; `None` while the file changed in the last two seconds, since a
/// second write within the same clock tick would leave its times unchanged.
fn identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    settled(&meta).then(|| {
        format!(
            "{} {} {} {}.{:09} {}.{:09}",
            meta.dev(),
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.ctime(),
            meta.ctime_nsec()
        )
    })
}

/// Whether a file of this metadata has not changed for more than two seconds (so that its
/// digest may be remembered by its identity).
pub fn settled(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now > meta.ctime().max(meta.mtime()) + 2
}

/// The memo file for the component file `path` under `dir`.
fn memo_path(path: &Path, dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let hash = Sha256::digest(absolute.as_os_str().as_encoded_bytes());
    let name: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    Some(dir.join("digests").join(name))
}

/// The digest remembered for `path`, if the file is still the one it was computed from.
fn remembered(path: &Path, dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(memo_path(path, dir)?).ok()?;
    let (known, d) = text.trim_end().rsplit_once(' ')?;
    (identity(path)? == known && d.len() == 32).then(|| d.to_owned())
}

/// Remembers `d` as the digest of `path`. The identity is read after the bytes were, so a
/// file replaced in between has changed within the last two seconds and is not remembered.
fn remember(path: &Path, dir: &Path, d: &str) {
    let (Some(memo), Some(identity)) = (memo_path(path, dir), identity(path)) else {
        return;
    };
    let folder = dir.join("digests");
    let _ = std::fs::create_dir_all(&folder).and_then(|()| {
        let tmp = tempfile::NamedTempFile::new_in(&folder)?;
        std::fs::write(tmp.path(), format!("{identity} {d}\n"))?;
        tmp.persist(&memo).map(|_| ()).map_err(|e| e.error)
    });
}

/// The cache file for the component of `digest` under `dir`.
pub fn artifact_path(engine: &Engine, dir: &Path, digest: &str) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{digest}-{:016x}.cwasm", h.finish()))
}

/// The component for `wasm` (of `digest`; its bytes are read only to compile it): from `cache_dir` if compiled there before, else
/// compiled (and stored there, the cache kept under `limit` bytes); `announce` is called
/// just before a compile.
pub fn load(
    engine: &Engine,
    wasm: Wasm<'_>,
    digest: &str,
    cache_dir: Option<&Path>,
    limit: u64,
    announce: impl FnOnce(),
) -> wasmtime::Result<(Component, Readiness)> {
    let started = Instant::now();
    let Some(dir) = cache_dir else {
        announce();
        let c = Component::new(engine, &*wasm.bytes()?)?;
        return Ok((c, Readiness::Compiled(started.elapsed())));
    };
    let path = artifact_path(engine, dir, digest);
    if path.is_file() {
        // SAFETY: the file was written by `store` below from `Component::serialize` for an
        // engine with the same compatibility hash (it is in the name); wasmtime checks the
        // header and refuses artifacts from another version or configuration.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => {
                // Its modification time is its last use: eviction goes by it.
                let _ = std::fs::File::options()
                    .append(true)
                    .open(&path)
                    .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                return Ok((c, Readiness::Cached(started.elapsed())));
            }
            Err(e) => tracing::warn!(
                "compiled plugin {} is unusable ({e}); compiling again",
                path.display()
            ),
        }
    }
    announce();
    let c = Component::new(engine, &*wasm.bytes()?)?;
    let compiled = started.elapsed();
    if let Err(e) = store(&c, dir, &path) {
        tracing::warn!("cannot keep the compiled plugin in {}: {e}", dir.display());
    }
    match evict(dir, limit, &path) {
        Ok(0) => {}
        Ok(n) => {
            tracing::info!("compiled-plugin cache over its limit: removed {n} least recently used")
        }
        Err(e) => tracing::debug!("cannot trim the compiled-plugin cache: {e}"),
    }
    Ok((c, Readiness::Compiled(compiled)))
}

/// Default size limit of the compiled-plugin cache (a cache policy, with the others).
pub use crate::cache::COMPILED_DEFAULT_LIMIT as DEFAULT_LIMIT;

/// The compiled plugins in `dir`: how many, and their bytes.
pub fn footprint(dir: &Path) -> (u64, u64) {
    artifacts(dir)
        .map(|a| (a.len() as u64, a.iter().map(|(_, len, _)| len).sum()))
        .unwrap_or((0, 0))
}

fn artifacts(dir: &Path) -> std::io::Result<Vec<(PathBuf, u64, std::time::SystemTime)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let path = e.path();
        if path.extension().is_some_and(|x| x == "cwasm") {
            let meta = e.metadata()?;
            out.push((path, meta.len(), meta.modified()?));
        }
    }
    Ok(out)
}

/// Removes the least recently used artifacts until those left fit in `limit` bytes
/// (`keep`, the one just stored, stays); returns how many were removed.
pub fn evict(dir: &Path, limit: u64, keep: &Path) -> std::io::Result<usize> {
    let mut all = artifacts(dir)?;
    let mut total: u64 = all.iter().map(|(_, len, _)| len).sum();
    all.sort_by_key(|(_, _, used)| *used);
    let mut removed = 0;
    for (path, len, _) in all {
        if total <= limit {
            break;
        }
        if path == keep {
            continue;
        }
        std::fs::remove_file(&path)?;
        total -= len;
        removed += 1;
    }
    Ok(removed)
}

/// Writes the artifact atomically (a reader never sees half a file).
fn store(c: &Component, dir: &Path, path: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = c.serialize()?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("artifact"),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_in_plugin_s_digest_from_the_build_is_its_bytes_digest_and_other_bytes_are_hashed() {
        for (name, bytes) in crate::builtin::BUILTIN_PLUGINS {
            assert_eq!(
                crate::builtin::builtin_digest(bytes),
                Some(digest(bytes).as_str()),
                "{name}"
            );
            assert_eq!(Wasm::Bytes(bytes).digest(None).unwrap(), digest(bytes));
            // A single byte changed is another component, hashed.
            let mut other = bytes.to_vec();
            *other.last_mut().unwrap() ^= 1;
            assert_eq!(crate::builtin::builtin_digest(&other), None);
            assert_eq!(Wasm::Bytes(&other).digest(None).unwrap(), digest(&other));
            assert_ne!(digest(&other), digest(bytes));
        }
    }

    #[test]
    fn a_settled_file_s_digest_is_remembered_and_a_changed_file_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.wasm");
        std::fs::write(&file, b"\0asm\x0d\0\x01\0first").unwrap();
        let wasm = Wasm::File(&file);
        // Just written: hashed, not remembered (a same-tick rewrite would look the same).
        assert_eq!(
            wasm.digest(Some(dir.path())).unwrap(),
            digest(&std::fs::read(&file).unwrap())
        );
        assert!(!dir.path().join("digests").exists());
        std::thread::sleep(Duration::from_millis(3100));
        let real = wasm.digest(Some(dir.path())).unwrap();
        let memo = memo_path(&file, dir.path()).unwrap();
        assert!(memo.is_file());
        // The memo answers without the bytes: a planted digest for the same identity wins.
        let text = std::fs::read_to_string(&memo).unwrap();
        let planted = text.replace(&real, &"e".repeat(32));
        std::fs::write(&memo, planted).unwrap();
        assert_eq!(wasm.digest(Some(dir.path())).unwrap(), "e".repeat(32));
        // Other bytes of the same size: the identity changed, so they are hashed again.
        std::fs::write(&file, b"\0asm\x0d\0\x01\0other").unwrap();
        assert_eq!(
            wasm.digest(Some(dir.path())).unwrap(),
            digest(&std::fs::read(&file).unwrap())
        );
        assert_ne!(wasm.digest(Some(dir.path())).unwrap(), real);
    }

    #[test]
    fn the_least_recently_used_artifacts_go_first_and_the_new_one_stays() {
        let dir = tempfile::tempdir().unwrap();
        let at = |secs: u64| std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs);
        let make = |name: &str, len: usize, used: u64| {
            let p = dir.path().join(name);
            std::fs::write(&p, vec![0u8; len]).unwrap();
            std::fs::File::options()
                .append(true)
                .open(&p)
                .unwrap()
                .set_modified(at(used))
                .unwrap();
            p
        };
        make("old.cwasm", 400, 1);
        make("recent.cwasm", 400, 3);
        // Just stored, yet with the oldest time: kept all the same.
        let new = make("new.cwasm", 400, 0);
        make("notes.txt", 10_000, 0);
        assert_eq!(footprint(dir.path()), (3, 1200));
        assert_eq!(evict(dir.path(), 900, &new).unwrap(), 1);
        assert!(!dir.path().join("old.cwasm").exists());
        assert!(dir.path().join("recent.cwasm").exists() && new.exists());
        assert!(
            dir.path().join("notes.txt").exists(),
            "only artifacts are evicted"
        );
        assert_eq!(evict(dir.path(), 900, &new).unwrap(), 0);
    }
}
