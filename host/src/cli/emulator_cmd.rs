//! `plexmatch emulator`: serve a library on loopback for trying plexmatch and for
//! plugin authors.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use plexmatch_emulator::{Emulator, LibraryFile, Options};

/// Options of `plexmatch emulator`.
#[derive(Args, Debug)]
#[command(group = clap::ArgGroup::new("source").required(true))]
pub struct EmulatorArgs {
    /// Library file to serve (TOML, or JSON with a .json extension; format in the README).
    #[arg(long, group = "source", value_name = "FILE")]
    pub library: Option<PathBuf>,
    /// Serve a generated movie section of N items instead.
    #[arg(long, group = "source", value_name = "N")]
    pub generate: Option<usize>,
    /// Serve the bundled sample library (the demo's).
    #[arg(long, group = "source")]
    pub sample: bool,
    /// Seed of the generated library.
    #[arg(long, default_value_t = 1, requires = "generate")]
    pub seed: u64,
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 32400)]
    pub port: u16,
    /// Token clients must send.
    #[arg(long, default_value = "plexmatch-emulator-token")]
    pub token: String,
}

/// Runs `plexmatch emulator` until the process is stopped.
pub fn run(args: EmulatorArgs) -> Result<i32> {
    let library = match (&args.library, args.generate) {
        (Some(path), _) => LibraryFile::load(path)?,
        (None, Some(n)) => plexmatch_emulator::generate(n, args.seed),
        (None, None) => LibraryFile::sample(),
    };
    let emulator = Emulator::start(
        &library,
        Options {
            port: args.port,
            token: args.token.clone(),
        },
    )?;
    println!(
        "Plex emulator serving {} section(s) at {}",
        library.sections.len(),
        emulator.url()
    );
    println!("  export PLEX_URL={}", emulator.url());
    println!("  export PLEX_TOKEN={}", emulator.token());
    println!("Stop it with Ctrl-C.");
    emulator.serve_forever();
    Ok(0)
}
