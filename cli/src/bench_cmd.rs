//! `plexmatch bench`: run a shipped benchmark and print its figures.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};

use super::exit;

/// Benchmarks.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// The caches: snapshot refresh per page size, file-name lookups, bytes per item, invalidation.
    ///
    /// Example: plexmatch bench cache --items 50000 --json
    Cache(CacheBenchArgs),
    /// Batch matching: cold and warm passes (matches/s, latency, Plex requests, peak RSS), plugin start.
    ///
    /// Example: plexmatch bench batch --items 50000 --paths 10000 --json
    Batch(BatchBenchArgs),
    /// Snapshot refresh: full listings one page at a time and several at a time (with and
    /// without a per-page delay), and incremental ones after no change, 1% changed, deletions.
    ///
    /// Example: plexmatch bench refresh --items 50000 --page-delay-ms 50 --json
    Refresh(RefreshBenchArgs),
    /// Plugins by language: first compile, start from the compiled-plugin cache, fresh
    /// instance and CPU per match (warm batch, one worker) of the built-in default plugin and
    /// of each component given (e.g. Python and JavaScript plugins from `plugin new`).
    ///
    /// Example: plexmatch bench plugins py-matcher/py-matcher.wasm js-matcher/js-matcher.wasm
    Plugins(PluginsBenchArgs),
    /// A new data dir: batches of 1 to 10,000 paths with the section found by file
    /// (`--lookup auto`) and listed (`--lookup listing`), with and without a page delay.
    ///
    /// Example: plexmatch bench cold --items 50000 --page-delay-ms 200 --json
    Cold(ColdBenchArgs),
}

/// Options of `plexmatch bench cold`.
#[derive(Args, Debug)]
pub struct ColdBenchArgs {
    /// Items in the generated section.
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Batch sizes (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 10, 100, 1000, 10000])]
    pub paths: Vec<usize>,
    /// Milliseconds each listing page (and file look-up) waits at the server in the
    /// delayed runs; runs without a delay come first.
    #[arg(long, default_value_t = 200)]
    pub page_delay_ms: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch bench plugins`.
#[derive(Args, Debug)]
pub struct PluginsBenchArgs {
    /// Component files to measure beside the built-in default plugin.
    pub files: Vec<std::path::PathBuf>,
    /// Items in the generated section.
    #[arg(long, default_value_t = 5_000)]
    pub items: usize,
    /// Paths in the warm batch.
    #[arg(long, default_value_t = 2_000)]
    pub paths: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch bench refresh`.
#[derive(Args, Debug)]
pub struct RefreshBenchArgs {
    /// Items in the generated section.
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Milliseconds each listing page waits at the server in the delayed runs.
    #[arg(long, default_value_t = 50)]
    pub page_delay_ms: u64,
    /// Pages in flight to compare with one at a time (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [2usize, 4, 8])]
    pub in_flight: Vec<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch bench batch`.
#[derive(Args, Debug)]
pub struct BatchBenchArgs {
    /// Items in the generated section.
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Paths in the batch.
    #[arg(long, default_value_t = 10_000)]
    pub paths: usize,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch bench cache`.
#[derive(Args, Debug)]
pub struct CacheBenchArgs {
    /// Items in the generated section.
    #[arg(long, default_value_t = 50_000)]
    pub items: usize,
    /// Page sizes to list the section with (comma-separated); the last one's snapshot is measured.
    #[arg(long, value_delimiter = ',', default_values_t = [100usize, 500, 1000, 2000, 5000])]
    pub page_sizes: Vec<usize>,
    /// File-name lookups to time.
    #[arg(long, default_value_t = 20_000)]
    pub lookups: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints a report: JSON for comparing runs, else its table.
fn show<R: serde::Serialize>(report: &R, json: bool, table: impl FnOnce() -> String) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", table());
    }
    Ok(())
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> Result<i32> {
    match cmd {
        BenchCommand::Cache(a) => {
            if a.items == 0 || a.page_sizes.contains(&0) || a.page_sizes.is_empty() {
                bail!("--items and every --page-sizes value must be positive");
            }
            let report =
                plexmatch_engine::bench::cache::run(a.items, &a.page_sizes, a.lookups.max(1))?;
            show(&report, a.json, || report.table())?;
        }
        BenchCommand::Refresh(a) => {
            if a.items == 0 || a.in_flight.iter().any(|n| !(1..=32).contains(n)) {
                bail!("--items must be positive and every --in-flight value from 1 to 32");
            }
            let report = plexmatch_engine::bench::refresh::run(
                a.items,
                std::time::Duration::from_millis(a.page_delay_ms),
                &a.in_flight,
            )?;
            show(&report, a.json, || report.table())?;
        }
        BenchCommand::Plugins(a) => {
            if a.items == 0 || a.paths == 0 {
                bail!("--items and --paths must be positive");
            }
            let report = plexmatch_engine::bench::plugins::run(a.items, a.paths, &a.files)?;
            show(&report, a.json, || report.table())?;
        }
        BenchCommand::Cold(a) => {
            if a.items == 0 || a.paths.is_empty() || a.paths.contains(&0) {
                bail!("--items and every --paths value must be positive");
            }
            let report =
                plexmatch_engine::bench::cold::run(a.items, &a.paths, &[0, a.page_delay_ms])?;
            show(&report, a.json, || report.table())?;
        }
        BenchCommand::Batch(a) => {
            if a.items == 0 || a.paths == 0 {
                bail!("--items and --paths must be positive");
            }
            let workers = a
                .workers
                .unwrap_or(plexmatch_engine::engine::default_workers())
                .max(1);
            let report = plexmatch_engine::bench::batch::run(a.items, a.paths, workers)?;
            show(&report, a.json, || report.table())?;
        }
    }
    Ok(exit::ALL_HIGH)
}
