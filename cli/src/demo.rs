//! `plexmatch demo`: the bundled sample library on the emulator, matched twice — with
//! cold caches, then warm — to show the outcomes and what the caches save.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use super::exit;
use super::output::{Layout, Tally};
use plexmatch_emulator::{Emulator, LibraryFile, Options};
use plexmatch_engine::{Engine, EngineOptions, PlexConfig};

/// The paths the demo matches (comments start with `#`).
const DEMO_PATHS: &str = include_str!("../demo/paths.txt");

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

/// One pass with its own engine (as a separate run would have); returns its Plex requests.
fn pass(emulator: &Emulator, dir: &std::path::Path, paths: &[&str], title: &str) -> Result<u64> {
    let started = Instant::now();
    let config = PlexConfig {
        client_id: "plexmatch-demo".into(),
        ..PlexConfig::new(emulator.url(), emulator.token())
    };
    // Everything this pass costs, the server's identity included.
    let before = emulator.requests();
    let engine = Engine::open(EngineOptions::new(config, dir))
        .context("the emulator did not answer as a Plex server")?;
    let sections = engine.sections();
    let plugin = engine.plugins().remove(0);
    println!();
    println!("== {title}");
    println!(
        "   plugin {} {}; sections: {}",
        plugin.name,
        plugin.version,
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
        &[plugin.name.as_str()],
    );
    println!("{}", layout.header());
    let mut tally = Tally::default();
    // The batch engine `plexmatch match` runs: what the demo shows is what a run costs.
    let colour = super::output::ColorChoice::Auto.on();
    engine.match_stream(paths.iter().map(|p| p.to_string()), false, |a| {
        tally.add(&a.result);
        // Coloured like `match` on a terminal (NO_COLOR respected).
        let row = layout.row(&a.result);
        if colour {
            println!("{}", super::output::paint(a.result.outcome, &row));
        } else {
            println!("{row}");
        }
    });
    engine.flush();
    let requests = emulator.requests() - before;
    println!("-- {}", tally.summary(engine.requests(), started.elapsed()));
    println!("-- the emulator served {requests} request(s) in this pass");
    Ok(requests)
}
