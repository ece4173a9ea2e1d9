//! `plexmatch paths suggest`: the `--map` rules that turn the caller's paths into the
//! server's, proposed from evidence (items holding a file of the same name whose folder
//! tails agree).

use std::io::BufRead;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use plexmatch_engine::{Engine, EngineOptions};

use super::{CacheArgs, MatchOptions, PlexArgs, exit, setup};

/// `plexmatch paths …`.
#[derive(Subcommand, Debug)]
pub enum PathsCommand {
    /// Propose --map rules from paths as you see them (arguments, --from FILE, or stdin).
    ///
    /// Example: plexmatch paths suggest /mnt/stash/movies/Heat.mkv
    Suggest(SuggestArgs),
}

/// Options of `plexmatch paths suggest`.
#[derive(Args, Debug)]
pub struct SuggestArgs {
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub options: MatchOptions,
    /// Paths as the caller sees them; read one per line from stdin when none are given.
    pub paths: Vec<String>,
    /// Read the paths from FILE ("-": stdin), one per line.
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub from: Option<std::path::PathBuf>,
    /// Print one JSON object per rule.
    #[arg(long)]
    pub json: bool,
}

impl PathsCommand {
    /// The option groups the configuration file fills.
    pub fn groups(&mut self) -> Vec<&mut dyn super::options::Configured> {
        match self {
            PathsCommand::Suggest(a) => vec![&mut a.plex, &mut a.cache, &mut a.options],
        }
    }
}

/// Runs `plexmatch paths …`.
pub fn run(command: PathsCommand) -> Result<i32> {
    let PathsCommand::Suggest(args) = command;
    let paths = read_paths(&args)?;
    setup::warn_if_insecure(&args.plex);
    let engine = Engine::open(EngineOptions::from_settings(&args.options, false)?)?;
    let suggestions = engine.suggest_maps(&paths)?;
    let explained: usize = suggestions.iter().map(|s| s.explains).sum();
    for s in &suggestions {
        if args.json {
            println!(
                "{}",
                serde_json::json!({
                    "map": s.map.to_string(),
                    "from": s.map.from,
                    "to": s.map.to,
                    "explains": s.explains,
                    "shared_folders": s.shared,
                    "conflicts": s.conflicts,
                })
            );
            continue;
        }
        println!(
            "--map {}    explains {} of {} path(s){}",
            s.map,
            s.explains,
            paths.len(),
            if s.conflicts.is_empty() {
                String::new()
            } else {
                format!(
                    "; {} path(s) fit another rule as well: {}",
                    s.conflicts.len(),
                    s.conflicts
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        );
    }
    if !args.json {
        if suggestions.is_empty() {
            eprintln!(
                "no rule found: no path's file name is held by an item of the sections asked, or the paths are the server's already"
            );
        } else if explained < paths.len() {
            eprintln!(
                "{} path(s) fit no rule (no item holds a file of that name, or the path is the server's already)",
                paths.len().saturating_sub(explained)
            );
        }
    }
    Ok(if suggestions.is_empty() {
        exit::NOT_ALL_HIGH
    } else {
        exit::ALL_HIGH
    })
}

fn read_paths(args: &SuggestArgs) -> Result<Vec<String>> {
    if !args.paths.is_empty() {
        return Ok(args.paths.clone());
    }
    let reader: Box<dyn BufRead> = match args.from.as_deref() {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?,
        )),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut paths = Vec::new();
    for line in reader.lines() {
        let line = line.context("cannot read the paths")?;
        let line = line.trim_end_matches('\r');
        if !line.trim().is_empty() {
            paths.push(line.to_owned());
        }
    }
    Ok(paths)
}
