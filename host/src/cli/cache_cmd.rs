//! `plexmatch cache`: statistics and clearing.

use anyhow::Result;
use clap::{Args, Subcommand};

use super::{CacheArgs, exit, setup};
use crate::cache::{Counts, LibraryCache, MatchCache};

/// Cache subcommands.
#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Show what the caches hold and their hit rates (persisted across runs).
    ///
    /// Example: plexmatch cache stats --json
    Stats(StatsArgs),
    /// Delete cached data: everything, or one section's.
    ///
    /// Example: plexmatch cache clear --section 1
    Clear(ClearArgs),
}

/// Options of `plexmatch cache stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch cache clear`.
#[derive(Args, Debug)]
pub struct ClearArgs {
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Only this section id (its snapshot, searches and matches).
    #[arg(long, value_name = "ID")]
    pub section: Option<u32>,
}

/// Runs a cache subcommand.
pub fn run(cmd: CacheCommand) -> Result<i32> {
    match cmd {
        CacheCommand::Stats(a) => stats(a),
        CacheCommand::Clear(a) => clear(a),
    }
}

fn stats(args: StatsArgs) -> Result<i32> {
    let dir = setup::data_dir(&args.cache)?;
    let library = LibraryCache::open(&dir)?;
    let matches = MatchCache::open(&dir)?;
    let (items, files, library_bytes) = library.footprint()?;
    let entries = matches.len()?;
    let lib_stats = library.stats_totals()?;
    let match_stats = matches.stats_totals()?;
    if args.json {
        let kinds = |m: &std::collections::BTreeMap<String, Counts>| {
            m.iter()
                .map(|(k, c)| (k.clone(), serde_json::json!({"hits": c.hits, "misses": c.misses, "hit_rate": c.hit_rate()})))
                .collect::<serde_json::Map<_, _>>()
        };
        let v = serde_json::json!({
            "data_dir": dir,
            "library": {"items": items, "files": files, "bytes": library_bytes, "lookups": kinds(&lib_stats)},
            "match": {"entries": entries, "lookups": kinds(&match_stats)},
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("data dir: {}", dir.display());
        println!("library cache: {items} items, {files} files, {library_bytes} bytes");
        for (k, c) in &lib_stats {
            println!(
                "  {k:<10} {:>5.1}% hits ({} hits, {} misses)",
                c.hit_rate(),
                c.hits,
                c.misses
            );
        }
        println!("match cache: {entries} entries");
        for (k, c) in &match_stats {
            println!(
                "  {k:<10} {:>5.1}% hits ({} hits, {} misses)",
                c.hit_rate(),
                c.hits,
                c.misses
            );
        }
    }
    Ok(exit::ALL_HIGH)
}

fn clear(args: ClearArgs) -> Result<i32> {
    let dir = setup::data_dir(&args.cache)?;
    let library = LibraryCache::open(&dir)?;
    let matches = MatchCache::open(&dir)?;
    library.clear(args.section)?;
    match args.section {
        Some(id) => {
            let n = matches.invalidate_section(id)?;
            println!("cleared section {id}: its snapshot, searches and {n} match(es)");
        }
        None => {
            matches.clear()?;
            println!("cleared both caches in {}", dir.display());
        }
    }
    Ok(exit::ALL_HIGH)
}
