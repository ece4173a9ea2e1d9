//! `plexmatch demo`: the bundled sample library on the emulator, matched twice — with
//! cold caches, then warm — to show the outcomes and what the caches save.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Args;

use super::exit;
use super::output::{Layout, Tally};
use crate::backend::{Backend, CachePolicy};
use crate::batch::{self, BatchOptions};
use crate::plex::PlexConfig;
use crate::runtime::{Limits, Plugin};
use plexmatch_emulator::{Emulator, LibraryFile, Options};

/// The paths the demo matches (comments start with `#`).
const DEMO_PATHS: &str = include_str!("../../demo/paths.txt");

/// Options of `plexmatch demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Keep the caches in this directory (default: a temporary one, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// Runs the demo.
pub fn run(args: DemoArgs) -> Result<i32> {
    let library = LibraryFile::sample();
    let emulator = Emulator::start(&library, Options::default())?;
    let (dir, temporary) = match args.data_dir {
        Some(d) => (d, false),
        None => {
            let d = std::env::temp_dir().join(format!("plexmatch-demo-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&d);
            (d, true)
        }
    };
    let paths: Vec<&str> = DEMO_PATHS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect();

    println!(
        "plexmatch demo: the bundled sample library on a loopback Plex emulator at {}",
        emulator.url()
    );
    println!(
        "caches in {}{}",
        dir.display(),
        if temporary {
            " (removed at the end)"
        } else {
            ""
        }
    );

    let result = (|| -> Result<(u64, u64)> {
        let cold = pass(
            &emulator,
            &dir,
            &paths,
            "Pass 1 — cold caches: each section is listed once, then every path is answered from that snapshot",
        )?;
        let warm = pass(
            &emulator,
            &dir,
            &paths,
            "Pass 2 — warm caches, as a new run sees them (everything is on disk)",
        )?;
        Ok((cold, warm))
    })();
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let (cold, warm) = result?;
    println!();
    println!("Plex requests: {cold} cold, {warm} warm.");
    Ok(exit::ALL_HIGH)
}

/// One pass with its own backend (as a separate run would have); returns its Plex requests.
fn pass(emulator: &Emulator, dir: &std::path::Path, paths: &[&str], title: &str) -> Result<u64> {
    let started = Instant::now();
    let config = PlexConfig {
        url: emulator.url().to_owned(),
        token: emulator.token().to_owned(),
        client_id: "plexmatch-demo".into(),
        connect_timeout: Duration::from_secs(5),
        read_timeout: Duration::from_secs(30),
        page_size: crate::plex::DEFAULT_PAGE_SIZE,
        pages_in_flight: crate::plex::DEFAULT_PAGES_IN_FLIGHT,
        retry: crate::plex::RetryPolicy::default(),
        tls: crate::plex::TlsOptions::default(),
        offline: false,
    };
    // Everything this pass costs, the server's identity included.
    let before = emulator.requests();
    let backend = Arc::new(Backend::open(&config, dir, CachePolicy::default())?);
    let plugin = Arc::new(Plugin::load(
        "default (built in)",
        crate::DEFAULT_PLUGIN,
        Vec::new(),
        Limits::default(),
        backend.clone(),
    )?);
    let all = backend
        .sections()
        .context("the emulator did not list its sections")?;
    let sections = crate::sections::resolve(&[], &all)?;
    println!();
    println!("== {title}");
    println!(
        "   plugin {} {}; sections: {}",
        plugin.info().name,
        plugin.info().version,
        sections
            .iter()
            .map(|s| format!("{} {:?} ({})", s.id, s.title, s.kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let titles: Vec<&str> = sections.iter().map(|s| s.title.as_str()).collect();
    let layout = Layout::new(
        super::output::terminal_width(),
        &titles,
        &[plugin.info().name.as_str()],
    );
    println!("{}", layout.header());
    let mut tally = Tally::default();
    // The batch engine `plexmatch match` runs: what the demo shows is what a run costs.
    let colour = super::output::ColorChoice::Auto.on();
    batch::run(
        &[plugin],
        &backend,
        &sections,
        paths.iter().map(|p| p.to_string()),
        BatchOptions::default(),
        |a| {
            tally.add(&a.result);
            // Coloured like `match` on a terminal (NO_COLOR respected).
            let row = layout.row(&a.result);
            if colour {
                println!("{}", super::output::paint(a.result.outcome, &row));
            } else {
                println!("{row}");
            }
        },
    );
    backend.flush();
    let requests = emulator.requests() - before;
    println!(
        "-- {}",
        tally.summary(backend.plex.requests(), started.elapsed())
    );
    println!("-- the emulator served {requests} request(s) in this pass");
    Ok(requests)
}
