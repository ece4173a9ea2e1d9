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

/// The cache file for `wasm` under `dir`.
pub fn artifact_path(engine: &Engine, dir: &Path, wasm: &[u8]) -> PathBuf {
    let digest = Sha256::digest(wasm);
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    dir.join(format!("{hex}-{:016x}.cwasm", h.finish()))
}

/// The component for `wasm`: from `cache_dir` if compiled there before, else compiled
/// (and stored there).
pub fn load(
    engine: &Engine,
    wasm: &[u8],
    cache_dir: Option<&Path>,
) -> wasmtime::Result<(Component, Readiness)> {
    let started = Instant::now();
    let Some(dir) = cache_dir else {
        let c = Component::new(engine, wasm)?;
        return Ok((c, Readiness::Compiled(started.elapsed())));
    };
    let path = artifact_path(engine, dir, wasm);
    if path.is_file() {
        // SAFETY: the file was written by `store` below from `Component::serialize` for an
        // engine with the same compatibility hash (it is in the name); wasmtime checks the
        // header and refuses artifacts from another version or configuration.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok((c, Readiness::Cached(started.elapsed()))),
            Err(e) => tracing::warn!(
                "compiled plugin {} is unusable ({e}); compiling again",
                path.display()
            ),
        }
    }
    let c = Component::new(engine, wasm)?;
    let compiled = started.elapsed();
    if let Err(e) = store(&c, dir, &path) {
        tracing::warn!("cannot keep the compiled plugin in {}: {e}", dir.display());
    }
    Ok((c, Readiness::Compiled(compiled)))
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
