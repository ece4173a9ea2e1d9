//! `plexmatch config show`: the effective configuration, where each value came from, and
//! the token masked.

use anyhow::Result;
use clap::{Args, Subcommand};

use super::{CacheArgs, MatchOptions, PlexArgs, exit};
use plexmatch_engine::options::Shown;

/// Configuration subcommands.
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the effective configuration (flags > environment > file > defaults) and the
    /// source of each value; the token is never printed.
    ///
    /// Example: plexmatch config show --config ./plexmatch.toml
    Show(Box<ShowArgs>),
    /// Print where the default configuration file is.
    ///
    /// Example: plexmatch config path
    Path,
}

/// Options of `plexmatch config show`: every option `plexmatch match` reads.
#[derive(Args, Debug)]
pub struct ShowArgs {
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub options: MatchOptions,
    #[command(flatten)]
    pub serve: super::options::ServeFlags,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a config subcommand; `shown` is what the layering recorded.
pub fn run(cmd: ConfigCommand, file: Option<&std::path::Path>, shown: &[Shown]) -> Result<i32> {
    match cmd {
        ConfigCommand::Path => {
            match plexmatch_engine::options::default_path() {
                Some(p) => println!("{}", p.display()),
                None => anyhow::bail!(
                    "this system has no user configuration directory; use --config FILE"
                ),
            }
            Ok(exit::ALL_HIGH)
        }
        ConfigCommand::Show(args) => {
            let file = file
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none)".into());
            // Which server the URL reaches, as remembered (no request is sent).
            let value = |key: &str| shown.iter().find(|s| s.key == key).map(|s| s.value.clone());
            let data_dir = value("cache.dir")
                .map(std::path::PathBuf::from)
                .or_else(|| dirs::cache_dir().map(|d| d.join("plexmatch")));
            let server = match (data_dir, value("plex.url")) {
                (Some(dir), Some(url)) => {
                    plexmatch_engine::engine::caches::remembered_server(&dir, &url)
                }
                _ => None,
            };
            if args.json {
                let values: Vec<_> = shown
                    .iter()
                    .map(|s| serde_json::json!({"key": s.key, "value": s.typed, "shown": s.value, "source": s.source.to_string(), "flag": s.flag, "env": s.env}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "file": file,
                        "server": server.as_ref().map(|s| serde_json::json!({"name": s.name, "machine_id": s.machine_id})),
                        "values": values
                    }))?
                );
            } else {
                println!("configuration file: {file}");
                match &server {
                    Some(s) => println!("server: {}", s.describe()),
                    None => println!("server: (not asked yet; `plexmatch doctor` asks it)"),
                }
                let width = shown.iter().map(|s| s.key.len()).max().unwrap_or(0);
                for s in shown {
                    println!("{:<width$}  {:<40}  ({})", s.key, s.value, s.source);
                }
            }
            Ok(exit::ALL_HIGH)
        }
    }
}
