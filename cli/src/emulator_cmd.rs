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
    /// Milliseconds every page of a section listing waits before it is answered, as a
    /// real server building metadata for a large library does.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub page_delay_ms: u64,
    /// Milliseconds every file look-up waits (default: as long as a page).
    #[arg(long, value_name = "MS")]
    pub lookup_delay_ms: Option<u64>,
    /// Serve the library file's changes while running: it is read again whenever it
    /// changes (checked every second), as a rescan would; changed and new items get
    /// `updatedAt` now, so give items a `rating_key` to keep them the same items.
    #[arg(long, requires = "library")]
    pub watch: bool,
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
    let items: usize = library.sections.iter().map(|s| s.items.len()).sum();
    println!(
        "Plex emulator serving {} item(s) in {} section(s) at {}",
        super::progress::grouped(items as u64),
        library.sections.len(),
        emulator.url()
    );
    if let Some(n) = args.generate
        && items > n
    {
        println!(
            "  (--generate {n}: {} generated, and {} more that hold a file name another item holds too, as real libraries do)",
            super::progress::grouped(n as u64),
            super::progress::grouped((items - n) as u64)
        );
    }
    println!("  export PLEX_URL={}", emulator.url());
    println!("  export PLEX_TOKEN={}", emulator.token());
    if args.page_delay_ms > 0 {
        emulator.set_listing_delay(std::time::Duration::from_millis(args.page_delay_ms));
        println!("  each listing page waits {} ms", args.page_delay_ms);
    }
    if let Some(ms) = args.lookup_delay_ms {
        emulator.set_lookup_delay(std::time::Duration::from_millis(ms));
        println!("  each file look-up waits {ms} ms");
    }
    println!("Stop it with Ctrl-C.");
    match (&args.library, args.watch) {
        (Some(path), true) => {
            println!("Watching {} for changes.", path.display());
            watch(&emulator, path)
        }
        _ => {
            emulator.serve_forever();
            Ok(0)
        }
    }
}

/// Serves `path`'s library again whenever the file changes; a file that does not load
/// is reported and the library served so far stays.
fn watch(emulator: &Emulator, path: &std::path::Path) -> Result<i32> {
    let stamp = |p: &std::path::Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified().map(|t| (t, m.len())))
            .ok()
    };
    let mut seen = stamp(path);
    loop {
        std::thread::sleep(std::time::Duration::from_secs(1));
        let now = stamp(path);
        if now == seen {
            continue;
        }
        seen = now;
        match LibraryFile::load(path).and_then(|lib| {
            emulator.set_library(&lib)?;
            Ok(lib)
        }) {
            Ok(lib) => println!(
                "reloaded {}: {} section(s), {} item(s)",
                path.display(),
                lib.sections.len(),
                lib.sections.iter().map(|s| s.items.len()).sum::<usize>()
            ),
            Err(e) => eprintln!("error: {e:#}; still serving the library as it was"),
        }
    }
}
