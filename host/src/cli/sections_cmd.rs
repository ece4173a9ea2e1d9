//! `plexmatch sections`: list the server's library sections.

use anyhow::Result;
use clap::Args;

use super::{CacheArgs, PlexArgs, exit, setup};

/// Options of `plexmatch sections`.
#[derive(Args, Debug)]
// Flags this command does not use are accepted (they may come from the environment)
// but not shown.
#[command(mut_arg("page_size", |a| a.hide(true)))]
#[command(mut_arg("pages_in_flight", |a| a.hide(true)))]
#[command(mut_arg("full_listing_every", |a| a.hide(true)))]
#[command(mut_arg("library_cache_mib", |a| a.hide(true)))]
#[command(mut_arg("match_cache_mib", |a| a.hide(true)))]
#[command(mut_arg("compiled_plugins_mib", |a| a.hide(true)))]
pub struct SectionsArgs {
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Print one JSON object per line.
    #[arg(long)]
    pub json: bool,
}

/// Runs `plexmatch sections`.
pub fn run(args: SectionsArgs) -> Result<i32> {
    let backend = setup::backend(&args.plex, &args.cache)?;
    let sections = backend.sections()?;
    for s in &sections {
        if args.json {
            println!("{}", serde_json::to_string(s)?);
        } else {
            let snapshot = match backend.snapshot(s.id) {
                Some((info, fresh)) => format!(
                    "{} items cached{}",
                    info.item_count,
                    if fresh { "" } else { " (stale)" }
                ),
                None => "not cached".into(),
            };
            println!(
                "{:>4}  {:<7}  {:<30}  {}",
                s.id,
                s.kind.as_str(),
                s.title,
                snapshot
            );
        }
    }
    backend.flush();
    Ok(exit::ALL_HIGH)
}
