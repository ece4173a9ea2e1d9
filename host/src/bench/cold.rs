//! The cold-start benchmark (issue 28): a batch of each size on a new data dir, the
//! section found by file (`--lookup auto`) and listed (`--lookup listing`), with and
//! without a per-page delay at the server — Plex requests and wall time of each run, from
//! opening the engine to the last answer. File look-ups wait at the emulator as listing
//! pages do: each is a filtered listing for the server.

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

/// Runs every batch size at every page delay, `auto` and `listing` side by side.
pub fn run(items: usize, sizes: &[usize], delays_ms: &[u64]) -> Result<ColdReport> {
    let library = plexmatch_emulator::generate(items, SEED);
    let emulator = Emulator::start(&library, Options::default())?;
    let input = BatchPaths::new(&library, sizes.iter().copied().max().unwrap_or(1));
    drop(library);
    let mut runs = Vec::new();
    for &delay in delays_ms {
        emulator.set_listing_delay(Duration::from_millis(delay));
        for &size in sizes {
            for (lookup, mode) in [("auto", LookupMode::Auto), ("listing", LookupMode::Listing)] {
                let dir = tempfile::tempdir()?;
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
                    page_delay_ms: delay,
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
        for pair in self.runs.chunks(2) {
            let [auto, listing] = pair else { continue };
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
