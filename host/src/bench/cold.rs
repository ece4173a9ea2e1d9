//! The cold-start benchmark (issue 28): a batch of each size on a new data dir, the
//! section found by file (`--lookup auto`) and listed (`--lookup listing`), with and
//! without a per-page delay at the server — Plex requests and wall time of each run, from
//! opening the engine to the last answer. File look-ups wait at the emulator as listing
//! pages do: each is a filtered listing for the server. A last pass takes a server whose
//! look-ups take a tenth of a page's time (as real servers' do), on data dirs that
//! remember its measured times: `auto` weighs look-ups by them.

use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::batch::{BatchPaths, SEED};
use super::plex_config;
use crate::backend::LookupMode;
use crate::engine::{Engine, EngineOptions};
use crate::matching::Outcome;
use crate::plex::DEFAULT_PAGE_SIZE;
use plexmatch_emulator::{Emulator, Options};

/// One batch on a new data dir.
#[derive(Debug, Clone, Serialize)]
pub struct ColdRun {
    pub paths: usize,
    pub page_delay_ms: u64,
    /// What a file look-up waits at the server.
    pub lookup_delay_ms: u64,
    /// Whether the data dir remembered the server's measured request times.
    pub times_known: bool,
    /// `auto` or `listing`.
    pub lookup: &'static str,
    /// Every request the run sent (identity and sections included).
    pub requests: u64,
    /// Listing pages and counts, and file look-ups, among them.
    pub listing_requests: u64,
    pub lookup_requests: u64,
    pub seconds: f64,
    pub high: usize,
    pub low: usize,
    pub not_found: usize,
    pub errors: usize,
}

/// What the cold-start benchmark measures.
#[derive(Debug, Clone, Serialize)]
pub struct ColdReport {
    /// Items in the generated section.
    pub items: usize,
    pub runs: Vec<ColdRun>,
}

/// One kind of server and data dir: what a page and a look-up wait, and whether the data
/// dir remembers the server's times.
#[derive(Clone, Copy)]
struct Scenario {
    page_ms: u64,
    lookup_ms: u64,
    times_known: bool,
}

/// Runs every batch size at every page delay, `auto` and `listing` side by side; then, at
/// the last delay, against a server whose look-ups take a tenth of a page, its times
/// remembered.
pub fn run(items: usize, sizes: &[usize], delays_ms: &[u64]) -> Result<ColdReport> {
    let library = plexmatch_emulator::generate(items, SEED);
    let emulator = Emulator::start(&library, Options::default())?;
    let input = BatchPaths::new(&library, sizes.iter().copied().max().unwrap_or(1));
    drop(library);
    let mut scenarios: Vec<Scenario> = delays_ms
        .iter()
        .map(|&ms| Scenario {
            page_ms: ms,
            lookup_ms: ms,
            times_known: false,
        })
        .collect();
    if let Some(&last) = delays_ms.last().filter(|&&ms| ms > 0) {
        scenarios.push(Scenario {
            page_ms: last,
            lookup_ms: last / 10,
            times_known: true,
        });
    }
    let mut runs = Vec::new();
    for scenario in scenarios {
        emulator.set_listing_delay(Duration::from_millis(scenario.page_ms));
        emulator.set_lookup_delay(Duration::from_millis(scenario.lookup_ms));
        let times = if scenario.times_known {
            Some(measure_times(&emulator, &input)?)
        } else {
            None
        };
        for &size in sizes {
            for (lookup, mode) in [("auto", LookupMode::Auto), ("listing", LookupMode::Listing)] {
                let dir = tempfile::tempdir()?;
                if let Some((relative, text)) = &times {
                    let file = dir.path().join(relative);
                    std::fs::create_dir_all(file.parent().expect("a server folder"))?;
                    std::fs::write(file, text)?;
                }
                let counted = |e: &Emulator| {
                    (
                        e.requests(),
                        e.requests_to("listing"),
                        e.requests_to("file-lookup"),
                    )
                };
                let before = counted(&emulator);
                let started = Instant::now();
                let mut options =
                    EngineOptions::new(plex_config(&emulator, DEFAULT_PAGE_SIZE), dir.path());
                options.cache.lookup = mode;
                let engine = Engine::open(options)?;
                let mut run = ColdRun {
                    paths: size,
                    page_delay_ms: scenario.page_ms,
                    lookup_delay_ms: scenario.lookup_ms,
                    times_known: scenario.times_known,
                    lookup,
                    requests: 0,
                    listing_requests: 0,
                    lookup_requests: 0,
                    seconds: 0.0,
                    high: 0,
                    low: 0,
                    not_found: 0,
                    errors: 0,
                };
                engine.match_stream(input.iter().take(size), false, |a| match a.result.outcome {
                    Outcome::High => run.high += 1,
                    Outcome::Low => run.low += 1,
                    Outcome::NotFound => run.not_found += 1,
                    Outcome::Error => run.errors += 1,
                });
                run.seconds = started.elapsed().as_secs_f64();
                let after = counted(&emulator);
                run.requests = after.0 - before.0;
                run.listing_requests = after.1 - before.1;
                run.lookup_requests = after.2 - before.2;
                runs.push(run);
            }
        }
    }
    Ok(ColdReport { items, runs })
}

/// The server's request times as a data dir that has used it remembers them: one run
/// that listed the section and one that looked four files up, each on its own data dir;
/// the file's path inside a data dir, and its lines.
fn measure_times(emulator: &Emulator, input: &BatchPaths) -> Result<(std::path::PathBuf, String)> {
    let mut found = None;
    let mut text = String::new();
    for (mode, paths) in [(LookupMode::Listing, 1), (LookupMode::File, 4)] {
        let dir = tempfile::tempdir()?;
        let mut options = EngineOptions::new(plex_config(emulator, DEFAULT_PAGE_SIZE), dir.path());
        options.cache.lookup = mode;
        Engine::open(options)?.match_stream(input.iter().take(paths), false, |_| {});
        // The server's folder: `servers/<id>/` in the data dir.
        for entry in std::fs::read_dir(dir.path().join("servers"))? {
            let file = entry?.path().join(crate::backend::TIMES_FILE);
            if let Ok(lines) = std::fs::read_to_string(&file) {
                text.push_str(&lines);
                found = Some(file.strip_prefix(dir.path())?.to_owned());
            }
        }
    }
    let relative =
        found.ok_or_else(|| anyhow::anyhow!("no run recorded the server's request times"))?;
    Ok((relative, text))
}

impl ColdReport {
    /// The figures as a table, `auto` beside `listing` for each batch.
    pub fn table(&self) -> String {
        let mut out = format!(
            "cold-start benchmark: a generated section of {} items, each batch on a new data dir\n",
            self.items
        );
        out.push_str(
            "  paths  page delay   auto: requests (look-ups)   time     listing: requests   time      answers (auto = listing)\n",
        );
        let mut shown_times = false;
        for pair in self.runs.chunks(2) {
            let [auto, listing] = pair else { continue };
            if auto.times_known && !std::mem::replace(&mut shown_times, true) {
                out.push_str(&format!(
                    "  a server whose file look-ups wait {} ms, its times remembered by the data dir:\n",
                    auto.lookup_delay_ms
                ));
            }
            let same = (auto.high, auto.low, auto.not_found, auto.errors)
                == (listing.high, listing.low, listing.not_found, listing.errors);
            out.push_str(&format!(
                "  {:>5}  {:>7} ms   {:>8} ({:>5})            {:>7.2} s  {:>8}            {:>7.2} s  {} HIGH, {} LOW, {} not found, {} errors{}\n",
                auto.paths,
                auto.page_delay_ms,
                auto.requests,
                auto.lookup_requests,
                auto.seconds,
                listing.requests,
                listing.seconds,
                auto.high,
                auto.low,
                auto.not_found,
                auto.errors,
                if same { "" } else { " (DIFFERENT from listing)" }
            ));
        }
        out
    }
}
