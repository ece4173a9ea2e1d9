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

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> Result<i32> {
    match cmd {
        BenchCommand::Cache(a) => {
            if a.items == 0 || a.page_sizes.contains(&0) || a.page_sizes.is_empty() {
                bail!("--items and every --page-sizes value must be positive");
            }
            let report = crate::bench::cache::run(a.items, &a.page_sizes, a.lookups.max(1))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
            }
        }
    }
    Ok(exit::ALL_HIGH)
}
