//! `plexmatch match`: match paths against sections and print one answer per path.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;

use super::output::{Printer, Tally};
use super::{CacheArgs, PlexArgs, setup};
use crate::matching::Matcher;
use crate::runtime::Limits;

/// Options of `plexmatch match`.
#[derive(Args, Debug)]
pub struct MatchArgs {
    /// Media paths to match; read one per line from stdin when none is given.
    pub paths: Vec<String>,
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Section to search, by title or id (repeatable; default: every movie and show section).
    #[arg(long = "section", short = 's', value_name = "SECTION")]
    pub sections: Vec<String>,
    /// Matcher plugin (a wasm32-wasip2 component); default: the built-in plugin.
    #[arg(long, value_name = "FILE")]
    pub plugin: Option<PathBuf>,
    /// A plugin setting, key=value (repeatable).
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = setup::parse_setting)]
    pub settings: Vec<(String, String)>,
    /// Print one JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
    /// CPU time a plugin may use per path and section, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub cpu_deadline_ms: u64,
    /// Memory a plugin instance may use, in MiB.
    #[arg(long, default_value_t = 128, value_name = "MIB")]
    pub memory_mib: usize,
}

/// Runs `plexmatch match`.
pub fn run(args: MatchArgs) -> Result<i32> {
    let started = Instant::now();
    let backend = setup::backend(&args.plex, &args.cache)?;
    let limits = Limits {
        cpu_deadline: Duration::from_millis(args.cpu_deadline_ms.max(1)),
        memory_bytes: args.memory_mib.max(1) << 20,
    };
    let plugin = setup::plugin(
        args.plugin.as_deref(),
        args.settings.clone(),
        limits,
        backend.clone(),
    )?;
    let all = backend.sections()?;
    let sections = crate::sections::resolve(&args.sections, &all)?;
    let mut matcher = Matcher::new(plugin, backend.clone());
    let mut printer = Printer::new(args.json);
    let mut tally = Tally::default();
    let mut each = |path: &str| {
        let m = matcher.match_path(path, &sections);
        tally.add(&m);
        printer.row(&m);
    };
    if args.paths.is_empty() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let path = line.trim_end_matches(['\r', '\n']);
            if !path.trim().is_empty() {
                each(path);
            }
        }
    } else {
        for p in &args.paths {
            each(p);
        }
    }
    backend.flush();
    eprintln!("{}", tally.summary(&backend, started.elapsed()));
    Ok(tally.exit_code())
}
