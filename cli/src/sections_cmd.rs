//! `plexmatch sections`: list the server's library sections.

use anyhow::Result;
use clap::Args;

use super::{CacheArgs, PlexArgs, exit, setup};

/// Options of `plexmatch sections`.
#[derive(Args, Debug)]
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
    let server = setup::server(&args.plex, &args.cache)?;
    let sections = server.sections()?;
    if !args.json {
        println!("{:>4}  {:<7}  {:<30}  SNAPSHOT", "ID", "TYPE", "TITLE");
    }
    for s in &sections {
        if args.json {
            println!("{}", serde_json::to_string(s)?);
        } else {
            let snapshot = match server.snapshot(s.id) {
                Some(snap) => format!(
                    "{} items cached{}",
                    snap.items,
                    if snap.fresh { "" } else { " (stale)" }
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
    server.flush();
    Ok(exit::ALL_HIGH)
}
