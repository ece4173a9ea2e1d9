//! The batch benchmark: a generated section served by an emulator in a child process (so
//! that this process's peak memory is plexmatch's alone), a realistic batch of paths
//! matched with cold caches and then warm, and the plugin's start-up costs.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::{Histogram, Latency};
use crate::backend::{Backend, CachePolicy};
use crate::batch::{self, BatchOptions};
use crate::matching::Outcome;
use crate::plex::DEFAULT_PAGE_SIZE;
use crate::runtime::{Limits, Plugin};

/// What the batch benchmark measures.
#[derive(Debug, Clone, Serialize)]
pub struct BatchReport {
    pub items: usize,
    pub paths: usize,
    pub workers: usize,
    pub cold: Pass,
    pub warm: Pass,
    /// Compiling the default plugin and reading its `info()` (first run, empty cache).
    pub plugin_compile_ms: f64,
    /// The same from the compiled-plugin cache (the next run).
    pub plugin_cached_ms: f64,
    /// A fresh instance from the `InstancePre`, averaged over 1,000.
    pub fresh_instance_us: f64,
    /// `plexmatch match --json` on the batch's paths as a file, warm, start to end.
    pub whole_process: WholeProcess,
}

/// A whole `plexmatch match` process, timed from spawn to exit.
#[derive(Debug, Clone, Serialize)]
pub struct WholeProcess {
    pub seconds: f64,
    pub paths_per_second: f64,
    /// Answer lines it printed (one per path).
    pub answers: usize,
    /// Requests the emulator served meanwhile.
    pub plex_requests: u64,
}

/// One pass over the batch.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    pub seconds: f64,
    pub matches_per_second: f64,
    /// Time spent matching each path.
    pub latency: Latency,
    /// From a worker taking the path to its answer (includes waiting behind the other
    /// paths of its chunk).
    pub turnaround: Latency,
    /// Requests the emulator served during the pass.
    pub plex_requests: u64,
    /// Peak resident memory of this process during the pass, MiB.
    pub peak_rss_mib: f64,
    /// CPU time this process used during the pass (every thread, user and system), per
    /// path, µs: steadier than the rate on a shared machine, where waiting for a core
    /// counts in the wall-clock time but not here.
    pub cpu_us_per_path: f64,
    pub high: usize,
    pub low: usize,
    pub not_found: usize,
    pub errors: usize,
}

/// Runs the batch benchmark.
pub fn run(items: usize, paths: usize, workers: usize) -> Result<BatchReport> {
    let emulator = ChildEmulator::start(items)?;
    let library = plexmatch_emulator::generate(items, SEED);
    // The file names the batch draws from (the section's, not the batch's size); the paths
    // themselves are made as the batch reads them, so the benchmark holds no batch-sized list.
    let input = BatchPaths::new(&library, paths);
    drop(library);
    let dir = tempfile::tempdir()?;
    let config = super::config_for(&emulator.url, &emulator.token, DEFAULT_PAGE_SIZE);

    let mut plugin_compile_ms = 0.0;
    let mut plugin_cached_ms = 0.0;
    let mut fresh_instance_us = 0.0;
    let mut passes = Vec::new();
    for pass in 0..2 {
        // Each pass is a new run: a new backend and plugin on the same data dir.
        let backend = Arc::new(Backend::open(&config, dir.path(), CachePolicy::default())?);
        let started = Instant::now();
        let plugin = Arc::new(Plugin::load(
            "default",
            crate::builtin::DEFAULT_PLUGIN,
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )?);
        if pass == 1 {
            plugin_cached_ms = started.elapsed().as_secs_f64() * 1e3;
        }
        if pass == 0 {
            plugin_compile_ms = started.elapsed().as_secs_f64() * 1e3;
            let started = Instant::now();
            for _ in 0..1000 {
                drop(plugin.instantiate().map_err(|e| anyhow::anyhow!("{e}"))?);
            }
            fresh_instance_us = started.elapsed().as_secs_f64() * 1e6 / 1000.0;
        }
        passes.push(run_pass(&emulator, &backend, &plugin, &input, workers)?);
    }
    let whole_process = whole_process(&emulator, dir.path(), &input)?;
    let warm = passes.pop().expect("two passes");
    let cold = passes.pop().expect("two passes");
    Ok(BatchReport {
        items,
        paths,
        workers,
        cold,
        warm,
        plugin_compile_ms,
        plugin_cached_ms,
        fresh_instance_us,
        whole_process,
    })
}

/// Runs `plexmatch match --json` on the batch written to a file, on the warm data dir.
fn whole_process(
    emulator: &ChildEmulator,
    data_dir: &std::path::Path,
    input: &BatchPaths,
) -> Result<WholeProcess> {
    let list = data_dir.join("bench-paths.txt");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&list)?);
        for p in input.iter() {
            writeln!(f, "{p}")?;
        }
        f.flush()?;
    }
    let exe = std::env::current_exe().context("cannot find the plexmatch executable")?;
    let before = emulator.requests()?;
    let started = Instant::now();
    let out = Command::new(exe)
        .args(["match", "--json"])
        .args(["--data-dir".as_ref(), data_dir.as_os_str()])
        .env("PLEX_URL", &emulator.url)
        .env("PLEX_TOKEN", &emulator.token)
        .stdin(std::fs::File::open(&list)?)
        .stderr(Stdio::null())
        .output()
        .context("cannot run plexmatch match")?;
    let seconds = started.elapsed().as_secs_f64();
    let answers = out
        .stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    if answers != input.len() {
        bail!(
            "plexmatch match answered {answers} of {} paths (exit {:?})",
            input.len(),
            out.status.code()
        );
    }
    Ok(WholeProcess {
        seconds,
        paths_per_second: input.len() as f64 / seconds,
        answers,
        plex_requests: emulator.requests()? - before,
    })
}

pub(super) fn run_pass(
    emulator: &ChildEmulator,
    backend: &Arc<Backend>,
    plugin: &Arc<Plugin>,
    input: &BatchPaths,
    workers: usize,
) -> Result<Pass> {
    reset_peak_rss();
    let before = emulator.requests()?;
    let sections = crate::sections::resolve(&[], &backend.snapshots.sections()?)?;
    let mut samples = Histogram::default();
    let mut turnarounds = Histogram::default();
    let (mut high, mut low, mut not_found, mut errors) = (0, 0, 0, 0);
    let options = BatchOptions {
        workers,
        ..BatchOptions::default()
    };
    let started = Instant::now();
    let cpu_before = process_cpu_time();
    batch::run(
        std::slice::from_ref(plugin),
        backend,
        &sections,
        input.iter(),
        options,
        |a| {
            samples.add(a.latency);
            turnarounds.add(a.turnaround);
            match a.result.outcome {
                Outcome::High => high += 1,
                Outcome::Low => low += 1,
                Outcome::NotFound => not_found += 1,
                Outcome::Error => errors += 1,
            }
        },
    );
    let seconds = started.elapsed().as_secs_f64();
    let cpu = process_cpu_time().saturating_sub(cpu_before);
    backend.flush();
    Ok(Pass {
        seconds,
        matches_per_second: input.len() as f64 / seconds,
        latency: samples.latency(),
        turnaround: turnarounds.latency(),
        plex_requests: emulator.requests()? - before,
        peak_rss_mib: peak_rss_kib() as f64 / 1024.0,
        cpu_us_per_path: cpu.as_secs_f64() * 1e6 / input.len().max(1) as f64,
        high,
        low,
        not_found,
        errors,
    })
}

pub(super) const SEED: u64 = 42;

/// A realistic batch: file names as the media manager has them (other folders), spread
/// over the section, so it holds plain, quality-suffixed and dated names and the
/// generator's duplicates; one path in twenty is a file Plex does not have.
pub struct BatchPaths {
    names: Vec<String>,
    len: usize,
}

impl BatchPaths {
    /// `len` paths drawn from `library`.
    pub fn new(library: &plexmatch_emulator::LibraryFile, len: usize) -> BatchPaths {
        let names = library
            .sections
            .iter()
            .flat_map(|s| s.items.iter())
            .flat_map(|i| i.files.iter())
            .filter_map(|f| f.parts().first().copied())
            .map(|p| p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned())
            .collect();
        BatchPaths { names, len }
    }

    /// How many paths.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The paths, made one by one.
    pub fn iter(&self) -> impl Iterator<Item = String> + Send + '_ {
        (0..self.len).map(|i| {
            if i % 20 == 19 {
                format!("/stash/incoming/Not In Plex {i} (2024) - 1080p.mkv")
            } else {
                format!(
                    "/stash/library/{}",
                    self.names[(i * 7919) % self.names.len()]
                )
            }
        })
    }
}

/// `plexmatch emulator` in a child process, killed when dropped.
pub(super) struct ChildEmulator {
    child: Child,
    /// Kept open: the emulator dies of a broken pipe if its stdout is closed early.
    _stdout: std::io::Lines<BufReader<std::process::ChildStdout>>,
    pub(super) url: String,
    pub(super) token: String,
    http: reqwest::blocking::Client,
}

impl ChildEmulator {
    pub(super) fn start(items: usize) -> Result<ChildEmulator> {
        let exe = std::env::current_exe().context("cannot find the plexmatch executable")?;
        let mut child = Command::new(exe)
            .args([
                "emulator",
                "--generate",
                &items.to_string(),
                "--seed",
                &SEED.to_string(),
                "--port",
                "0",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the emulator")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let (mut url, mut token) = (None, None);
        while url.is_none() || token.is_none() {
            let Some(line) = lines.next().transpose()? else {
                bail!("the emulator stopped before printing its address")
            };
            if let Some(u) = line.trim().strip_prefix("export PLEX_URL=") {
                url = Some(u.to_owned());
            }
            if let Some(t) = line.trim().strip_prefix("export PLEX_TOKEN=") {
                token = Some(t.to_owned());
            }
        }
        let http = reqwest::blocking::Client::new();
        Ok(ChildEmulator {
            child,
            _stdout: lines,
            url: url.expect("read"),
            token: token.expect("read"),
            http,
        })
    }

    /// Requests the emulator has served.
    pub(super) fn requests(&self) -> Result<u64> {
        let v: serde_json::Value = self
            .http
            .get(format!("{}{}", self.url, plexmatch_emulator::COUNTERS_PATH))
            .header("X-Plex-Token", &self.token)
            .send()?
            .json()?;
        v["total"]
            .as_u64()
            .context("the emulator's counters have no total")
    }
}

impl Drop for ChildEmulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time this process has used, every thread, user and system.
fn process_cpu_time() -> std::time::Duration {
    // SAFETY: getrusage writes one rusage through a valid pointer.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return std::time::Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec as u64)
            + std::time::Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Starts measuring this process's peak resident memory afresh (Linux).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory since the last reset, KiB (Linux; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

impl BatchReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "batch benchmark: {} paths against a generated section of {} items, {} worker(s)\n",
            self.paths, self.items, self.workers
        );
        out += "  pass   matches/s   p50 µs   p99 µs   CPU µs/path   Plex requests   peak RSS MiB   HIGH / LOW / not found / errors\n";
        out += "                     (time matching one path)\n";
        for (name, p) in [("cold", &self.cold), ("warm", &self.warm)] {
            out += &format!(
                "  {name:<5} {:>10.0} {:>8.1} {:>8.1} {:>13.1} {:>15} {:>14.1}   {} / {} / {} / {}\n",
                p.matches_per_second,
                p.latency.p50.as_secs_f64() * 1e6,
                p.latency.p99.as_secs_f64() * 1e6,
                p.cpu_us_per_path,
                p.plex_requests,
                p.peak_rss_mib,
                p.high,
                p.low,
                p.not_found,
                p.errors
            );
        }
        out += &format!(
            "  turnaround (taken by a worker → answered), p50/p99 µs: cold {:.0}/{:.0}, warm {:.0}/{:.0}\n",
            self.cold.turnaround.p50.as_secs_f64() * 1e6,
            self.cold.turnaround.p99.as_secs_f64() * 1e6,
            self.warm.turnaround.p50.as_secs_f64() * 1e6,
            self.warm.turnaround.p99.as_secs_f64() * 1e6
        );
        out += &format!(
            "  whole process (`plexmatch match --json` < {} paths, warm): {:.2} s, {:.0} paths/s, {} Plex request(s)\n",
            self.whole_process.answers,
            self.whole_process.seconds,
            self.whole_process.paths_per_second,
            self.whole_process.plex_requests
        );
        out += &format!(
            "  plugin ready: compiled {:.1} ms, from the compiled-plugin cache {:.2} ms; fresh instance {:.1} µs\n",
            self.plugin_compile_ms, self.plugin_cached_ms, self.fresh_instance_us
        );
        out
    }
}
