//! `plexmatch match`: match paths against sections and print one answer per path.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::output::{Format, Printer, Tally};
use super::progress::Progress;
use super::{CacheArgs, MatchOptions, PlexArgs, setup};
use plexmatch_engine::PlexError;
use plexmatch_engine::engine::{MAX_WORKERS, failed_answer};
use plexmatch_engine::input::Input;
use plexmatch_engine::{Answer, Engine, EngineOptions};
use plexmatch_engine::{Failure, PathMatch};

/// Output formats of `plexmatch match`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatArg {
    /// A readable table.
    Table,
    /// One JSON object per line.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// Options of `plexmatch match`.
#[derive(Args, Debug)]
pub struct MatchArgs {
    /// Media paths to match (a folder: the media files under it); read one per line from
    /// stdin when none is given.
    pub paths: Vec<String>,
    /// Read the paths from FILE ("-": stdin), one per line (or NUL-separated with -0).
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub from: Option<std::path::PathBuf>,
    /// Paths on stdin or in --from are separated by NUL bytes, as `find -print0` writes them.
    #[arg(short = '0', long)]
    pub null: bool,
    /// File extensions a folder argument is searched for (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = plexmatch_engine::input::default_extensions(), value_name = "EXT,...")]
    pub extensions: Vec<String>,
    /// Answer from the caches alone: Plex is never contacted, and a path the caches
    /// cannot answer is an error that says so.
    #[arg(long, conflicts_with = "refresh")]
    pub offline: bool,
    /// Bring the chosen sections' snapshots up to date before matching, even if fresh.
    #[arg(long)]
    pub refresh: bool,
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub options: MatchOptions,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Print nothing but errors; the exit code tells the outcome.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Say why each answer is what it is: the rule that decided, what the plugin asked in
    /// each section, and the Plex requests the path caused (lines under each row; an
    /// `explain` object in JSON).
    #[arg(long)]
    pub explain: bool,
    /// Colour the table: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = super::output::ColorChoice::Auto, value_name = "WHEN")]
    pub color: super::output::ColorChoice,
}

/// Opens the engine the options describe.
fn open_engine(args: &MatchArgs) -> Result<Engine> {
    setup::warn_if_insecure(&args.plex);
    let mut options = EngineOptions::from_settings(&args.options, args.offline)?;
    options.refresh = args.refresh;
    Engine::open(options)
}

/// The answer every path gets when the run cannot match at all (the token refused, the
/// server unreachable at start): a Plex failure, else `None` (a usage error, said alone).
fn run_failure(e: &anyhow::Error) -> Option<Failure> {
    let plex = e.chain().find_map(|c| c.downcast_ref::<PlexError>())?;
    let message = format!("{e:#}");
    Some(match plex {
        PlexError::Unauthorized(_) => Failure::Unauthorized(message),
        _ => Failure::Plex(message),
    })
}

/// Runs `plexmatch match`.
pub fn run(args: MatchArgs) -> Result<i32> {
    let started = Instant::now();
    let o = &args.options;
    if let Some(n) = o.workers
        && !(1..=MAX_WORKERS).contains(&n)
    {
        anyhow::bail!("--workers must be between 1 and {}, not {n}", MAX_WORKERS);
    }
    if args.quiet {
        plexmatch_engine::engine::announce_compiles(false);
    }
    // Ctrl-C from here on stops a listing under way too (the run then ends as it would).
    let interrupted = super::interrupt::install();
    // A run that cannot match still answers every path it reads, with the reason: a
    // caller reading one answer per line (a co-process) is never left waiting.
    let engine = match open_engine(&args) {
        Ok(engine) => Ok(engine),
        Err(e) => match run_failure(&e) {
            Some(failure) => {
                eprintln!("{}", setup::error_line(&e));
                Err(failure)
            }
            None => return Err(e),
        },
    };
    let format = match (args.json, args.format) {
        (true, _) | (_, FormatArg::Json) => Format::Json,
        (_, FormatArg::Csv) => Format::Csv,
        (_, FormatArg::Table) => Format::Table,
    };
    let (titles, names): (Vec<&str>, Vec<String>) = match &engine {
        Ok(e) => (
            e.sections().iter().map(|s| s.title.as_str()).collect(),
            e.plugins().into_iter().map(|p| p.name).collect(),
        ),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut printer = Printer::new(format, args.quiet, args.color, &titles, &names);
    // Where the paths come from, and how many there are when that is known up front.
    let end = if args.null { b'\0' } else { b'\n' };
    let (paths, known): (Box<dyn Iterator<Item = Input> + Send>, Option<u64>) = match &args.from {
        Some(file) if file.as_os_str() != "-" => {
            let count = plexmatch_engine::input::count_records(file, end)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let reader = std::fs::File::open(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            (
                Box::new(plexmatch_engine::input::records(
                    std::io::BufReader::new(reader),
                    end,
                )),
                Some(count),
            )
        }
        None if !args.paths.is_empty() => {
            let inputs = plexmatch_engine::input::expand_folders(&args.paths, &args.extensions);
            let n = inputs.len() as u64;
            (Box::new(inputs.into_iter()), Some(n))
        }
        // Bytes, not text: a line that is not UTF-8 is that path's input error, and
        // the lines after it are read as usual.
        _ => {
            if !args.quiet && std::io::stdin().is_terminal() {
                eprintln!(
                    "reading paths from stdin, one per line (Ctrl-D ends; or give paths, a folder or --from FILE)"
                );
            }
            (
                Box::new(plexmatch_engine::input::records(
                    std::io::BufReader::new(plexmatch_engine::input::StoppableStdin),
                    end,
                )),
                None,
            )
        }
    };
    // Progress for anyone watching stderr, whatever the output format.
    let watching = !args.quiet && std::io::stderr().is_terminal();
    let progress = Progress::new(watching, known);
    if let Ok(e) = &engine
        && let Some(watch) = progress.listing_watch(
            e.sections()
                .iter()
                .map(|s| (s.id, s.title.clone()))
                .collect(),
        )
    {
        e.server().watch_listings(watch);
    }
    if let Ok(e) = &engine {
        e.expect_paths(known);
    }
    let paths = paths.take_while(|_| !super::interrupt::stopped());
    let mut tally = Tally::default();
    // The bar is cleared and drawn again around what goes to the same terminal, once per
    // group of answers ready together: around every row, a warm batch on a terminal ran
    // 3.7 times slower than with stderr redirected.
    let rows_on_terminal = std::io::stdout().is_terminal();
    let mut emit = |m: &PathMatch, more_ready: bool| {
        tally.add(m);
        if rows_on_terminal && !more_ready {
            progress.suspend(|| printer.row(m, more_ready));
        } else {
            printer.row(m, more_ready);
        }
        progress.inc();
    };
    let requests = match engine {
        Err(failure) => {
            for input in paths {
                let answer = match input {
                    Input::Path(p) => failed_answer(p, failure.clone()),
                    Input::Invalid { shown, why } => failed_answer(shown, Failure::Input(why)),
                };
                emit(&answer, false);
            }
            0
        }
        Ok(engine) => {
            engine.match_stream(paths, args.explain, |a: Answer| {
                emit(&a.result, a.more_ready)
            });
            engine.flush();
            engine.requests()
        }
    };
    progress.finish();
    let stopped = interrupted && super::interrupt::stopped();
    if !args.quiet || stopped {
        let summary = tally.summary(requests, started.elapsed());
        if stopped {
            eprintln!("interrupted: {summary}");
        } else {
            eprintln!("{summary}");
        }
    }
    Ok(if stopped {
        super::exit::INTERRUPTED
    } else {
        tally.exit_code()
    })
}
