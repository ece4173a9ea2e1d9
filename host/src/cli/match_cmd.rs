//! `plexmatch match`: match paths against sections and print one answer per path.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Args;

use super::output::{Printer, Tally};
use super::{CacheArgs, PlexArgs, setup};
use crate::batch::{self, Answer, BatchOptions};
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
    /// Paths matched at once (one plugin instance each); default: one per core.
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
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
    let mut printer = Printer::new(args.json);
    let mut tally = Tally::default();
    let options = BatchOptions {
        workers: args
            .workers
            .unwrap_or(BatchOptions::default().workers)
            .max(1),
        ..BatchOptions::default()
    };
    let emit = |a: Answer| {
        tally.add(&a.result);
        printer.row(&a.result);
    };
    if args.paths.is_empty() {
        let lines = std::io::BufReader::new(std::io::stdin())
            .lines()
            .map_while(Result::ok)
            .map(|l| l.trim_end_matches(['\r', '\n']).to_owned())
            .filter(|l| !l.trim().is_empty());
        batch::run(&plugin, &backend, &sections, lines, options, emit);
    } else {
        batch::run(
            &plugin,
            &backend,
            &sections,
            args.paths.clone().into_iter(),
            options,
            emit,
        );
    }
    backend.flush();
    eprintln!("{}", tally.summary(&backend, started.elapsed()));
    Ok(tally.exit_code())
}
