//! `plexmatch pin` and `plexmatch unpin`: a person settles which item a path is.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::cache_cmd::ServerArg;
use super::{CacheArgs, PlexArgs, exit, setup};
use plexmatch_engine::text::escape_controls;
use plexmatch_engine::{PlexError, Section, Server};

/// Options of `plexmatch pin`.
#[derive(Args, Debug)]
pub struct PinArgs {
    /// The media path.
    #[arg(required_unless_present = "from", requires = "rating_key")]
    pub path: Option<String>,
    /// The Plex item it is (its rating key, as `match --json` or the LOW candidate lines show).
    #[arg(required_unless_present = "from")]
    pub rating_key: Option<String>,
    /// Pin every line of FILE ("-": stdin), each `PATH<TAB>RATING_KEY`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["path", "rating_key"])]
    pub from: Option<PathBuf>,
    /// Section the item must be in, by title or id (repeatable; default: every movie and show section).
    #[arg(long = "section", short = 's', value_name = "SECTION")]
    pub sections: Vec<String>,
    /// Pin even when the item has no file of the path's file name (a renamed file).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Options of `plexmatch unpin`.
#[derive(Args, Debug)]
pub struct UnpinArgs {
    /// The pinned media paths.
    #[arg(required_unless_present = "from")]
    pub paths: Vec<String>,
    /// Unpin every path of FILE ("-": stdin), one per line (anything after a TAB is ignored,
    /// so a `pin --from` file works too).
    #[arg(long, value_name = "FILE", conflicts_with = "paths")]
    pub from: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub server: ServerArg,
}

/// Runs `plexmatch pin`.
pub fn pin(args: PinArgs) -> Result<i32> {
    let wanted: Vec<(String, String)> = match &args.from {
        Some(file) => read_pairs(file)?,
        None => vec![(
            args.path.clone().unwrap_or_default(),
            args.rating_key.clone().unwrap_or_default(),
        )],
    };
    let server = setup::server(&args.plex, &args.cache)?;
    let sections = server.choose(&args.sections)?;
    let mut failed = 0;
    for (path, key) in &wanted {
        match pin_one(&server, &sections, path, key.trim(), args.force) {
            Ok(line) => println!("{line}"),
            // The token refused or the server gone: every further pin would fail alike.
            Err(e) if e.downcast_ref::<PlexError>().is_some_and(stops_the_run) => return Err(e),
            Err(e) => {
                failed += 1;
                eprintln!("error: cannot pin {:?}: {e:#}", escape_controls(path));
            }
        }
    }
    server.flush();
    Ok(if failed == 0 {
        exit::ALL_HIGH
    } else {
        exit::USAGE
    })
}

fn stops_the_run(e: &PlexError) -> bool {
    matches!(e, PlexError::Unauthorized(_)) || e.is_unreachable()
}

/// Pins `path` to `key` (checked against Plex) and says so in one line.
fn pin_one(
    server: &Server,
    sections: &[Section],
    path: &str,
    key: &str,
    force: bool,
) -> Result<String> {
    let (pin, before) = server.pin(sections, path, key, force)?;
    let section = sections
        .iter()
        .find(|s| s.id == pin.section_id)
        .map(|s| s.title.clone())
        .unwrap_or_default();
    let was = match before {
        Some(b) if b.rating_key != pin.rating_key => {
            format!(
                " (was item {} {:?})",
                b.rating_key,
                escape_controls(&b.title)
            )
        }
        Some(_) => " (already pinned there)".to_owned(),
        None => String::new(),
    };
    Ok(format!(
        "pinned {:?} → item {} {:?} of {:?}{was}",
        escape_controls(&pin.path),
        pin.rating_key,
        escape_controls(&pin.title),
        escape_controls(&section)
    ))
}

/// `PATH<TAB>RATING_KEY` lines of `file` ("-": stdin); blank lines and `#` comments skipped.
fn read_pairs(file: &PathBuf) -> Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for (n, line) in read_lines(file)?.into_iter().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((path, key)) = line.rsplit_once('\t') else {
            bail!(
                "{}:{}: expected PATH<TAB>RATING_KEY, found {:?}",
                file.display(),
                n + 1,
                escape_controls(line)
            );
        };
        pairs.push((path.to_owned(), key.trim().to_owned()));
    }
    Ok(pairs)
}

fn read_lines(file: &PathBuf) -> Result<Vec<String>> {
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?,
        ))
    };
    reader
        .lines()
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("cannot read {} (lines must be UTF-8)", file.display()))
}

/// Runs `plexmatch unpin`: needs no Plex server.
pub fn unpin(args: UnpinArgs) -> Result<i32> {
    let paths: Vec<String> = match &args.from {
        Some(file) => read_lines(file)?
            .into_iter()
            .map(|l| {
                l.split('\t')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('\r')
                    .to_owned()
            })
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .collect(),
        None => args.paths.clone(),
    };
    let url = std::env::var("PLEX_URL").ok();
    let pins = plexmatch_engine::engine::caches::pins(
        &args.cache.data_dir()?,
        args.server.server.as_deref(),
        url.as_deref(),
    )?;
    let mut missing = 0;
    for p in &paths {
        match pins.remove(p)? {
            Some(was) => println!(
                "unpinned {:?} (was item {} {:?})",
                escape_controls(p),
                was.rating_key,
                escape_controls(&was.title)
            ),
            None => {
                missing += 1;
                println!("{:?} was not pinned", escape_controls(p));
            }
        }
    }
    Ok(if missing == 0 {
        exit::ALL_HIGH
    } else {
        exit::NOT_ALL_HIGH
    })
}
