//! The plugin-language benchmark: for the built-in default plugin and each component file
//! given (a Python or JavaScript plugin from `plexmatch plugin new`, say), what a user
//! waits for and pays: the first compile, a start from the compiled-plugin cache, a fresh
//! instance, and the CPU time per match of a warm batch on one worker.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::batch::{BatchPaths, ChildEmulator, run_pass};
use crate::backend::{Backend, CachePolicy};
use crate::plex::{DEFAULT_PAGE_SIZE, PlexConfig};
use crate::runtime::{Limits, Plugin, Wasm};

/// One plugin's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PluginFigures {
    /// The plugin's own name (its `info()`).
    pub name: String,
    /// The component file (`None`: built in).
    pub file: Option<PathBuf>,
    pub size_bytes: u64,
    /// Reading, compiling and starting it with an empty compiled-plugin cache.
    pub first_compile_ms: f64,
    /// The same from the compiled-plugin cache (digest remembered, nothing read or hashed).
    pub cached_start_ms: f64,
    /// A fresh instance from the `InstancePre`, averaged.
    pub fresh_instance_us: f64,
    /// CPU time (user + system) of this process per path, warm batch, one worker.
    pub cpu_per_match_us: f64,
    /// Peak resident memory of this process during the warm batch, MiB.
    pub peak_rss_mib: f64,
    pub high: usize,
    pub low: usize,
    pub not_found: usize,
    pub errors: usize,
}

/// What the benchmark measures.
#[derive(Debug, Clone, Serialize)]
pub struct PluginsReport {
    pub items: usize,
    pub paths: usize,
    pub plugins: Vec<PluginFigures>,
}

/// Runs the benchmark for the default plugin and `files`.
pub fn run(items: usize, paths: usize, files: &[PathBuf]) -> Result<PluginsReport> {
    let emulator = ChildEmulator::start(items)?;
    let library = plexmatch_emulator::generate(items, super::batch::SEED);
    let input = BatchPaths::new(&library, paths);
    drop(library);
    let config = super::config_for(&emulator.url, &emulator.token, DEFAULT_PAGE_SIZE);
    let mut plugins = Vec::new();
    for file in std::iter::once(None).chain(files.iter().map(Some)) {
        let wasm = match file {
            None => Wasm::Bytes(crate::builtin::DEFAULT_PLUGIN),
            Some(f) => Wasm::File(f),
        };
        plugins.push(
            measure(&emulator, &config, wasm, file, &input)
                .with_context(|| format!("benchmarking {}", origin(file)))?,
        );
    }
    Ok(PluginsReport {
        items,
        paths,
        plugins,
    })
}

fn origin(file: Option<&PathBuf>) -> String {
    file.map_or("the default plugin".into(), |f| f.display().to_string())
}

fn measure(
    emulator: &ChildEmulator,
    config: &PlexConfig,
    wasm: Wasm<'_>,
    file: Option<&PathBuf>,
    input: &BatchPaths,
) -> Result<PluginFigures> {
    let data = tempfile::tempdir()?;
    let backend = Arc::new(Backend::open(config, data.path(), CachePolicy::default())?);
    let load = |backend: &Arc<Backend>| {
        Plugin::load_from(
            &origin(file),
            wasm,
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )
    };
    // A file's digest is remembered only once it has not changed for 2 s (see
    // compile_cache): a plugin built a moment ago would otherwise be hashed on each start.
    if let Some(f) = file {
        settle(f);
    }
    let started = Instant::now();
    let plugin = Arc::new(load(&backend)?);
    let first_compile_ms = started.elapsed().as_secs_f64() * 1e3;
    drop(plugin);
    let started = Instant::now();
    let plugin = Arc::new(load(&backend)?);
    let cached_start_ms = started.elapsed().as_secs_f64() * 1e3;

    // Instances for about a second (a Python instance costs far more than a Rust one).
    let started = Instant::now();
    let mut made = 0u32;
    while made < 1000 && (made < 10 || started.elapsed() < Duration::from_secs(1)) {
        drop(plugin.instantiate().map_err(|e| anyhow::anyhow!("{e}"))?);
        made += 1;
    }
    let fresh_instance_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(made);

    // The first pass fills the caches; the second is the warm batch measured.
    run_pass(emulator, &backend, &plugin, input, 1)?;
    let cpu_before = cpu_time();
    let warm = run_pass(emulator, &backend, &plugin, input, 1)?;
    let cpu = cpu_time() - cpu_before;
    Ok(PluginFigures {
        name: plugin.name().to_owned(),
        file: file.cloned(),
        size_bytes: wasm.size()?,
        first_compile_ms,
        cached_start_ms,
        fresh_instance_us,
        cpu_per_match_us: cpu.as_secs_f64() * 1e6 / input.len() as f64,
        peak_rss_mib: warm.peak_rss_mib,
        high: warm.high,
        low: warm.low,
        not_found: warm.not_found,
        errors: warm.errors,
    })
}

/// Waits until `file` has been unchanged for more than 2 s.
fn settle(file: &Path) {
    while let Ok(meta) = std::fs::metadata(file) {
        if crate::runtime::compile_cache::settled(&meta) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// This process's CPU time so far (user + system).
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

impl PluginsReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "plugin benchmark: a warm batch of {} paths on one worker against a generated section of {} items\n",
            self.paths, self.items
        );
        out += "  plugin                    size MB   first compile   cached start   fresh instance   CPU/match   peak RSS   HIGH / LOW / not found / errors\n";
        for p in &self.plugins {
            out += &format!(
                "  {:<24} {:>8.1} {:>13.0} ms {:>11.1} ms {:>13.0} µs {:>8.1} µs {:>6.0} MiB   {} / {} / {} / {}\n",
                crate::text::clip_bytes(&crate::text::escape_controls(&p.name), 24),
                p.size_bytes as f64 / 1e6,
                p.first_compile_ms,
                p.cached_start_ms,
                p.fresh_instance_us,
                p.cpu_per_match_us,
                p.peak_rss_mib,
                p.high,
                p.low,
                p.not_found,
                p.errors
            );
        }
        out
    }
}
