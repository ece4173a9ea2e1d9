//! The refresh benchmark: a generated section on the emulator, listed in full one page
//! at a time and several at a time (with and without a per-page delay standing in for a
//! real server building metadata), then brought up to date after no change, after 1% of
//! its items changed, and after deletions — requests and time for each.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;

use super::plex_config;
use crate::backend::{Backend, CachePolicy};
use plexmatch_emulator::{Change, Emulator, FileSpec, ItemSpec, Options};

/// What the refresh benchmark measures.
#[derive(Debug, Clone, Serialize)]
pub struct RefreshReport {
    /// Items in the generated section.
    pub items: usize,
    /// The per-page delay of the delayed scenarios, in milliseconds.
    pub page_delay_ms: u64,
    pub scenarios: Vec<Scenario>,
}

/// One refresh, timed.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    /// Milliseconds each listing page waited at the server.
    pub page_delay_ms: u64,
    /// Pages in flight at once.
    pub pages_in_flight: usize,
    /// Whether the section was listed in full.
    pub full: bool,
    /// Items listed (all of them for a full listing, else those changed).
    pub listed: usize,
    /// Requests the emulator served for it.
    pub requests: u64,
    pub millis: f64,
}

/// Runs the refresh benchmark on a generated section of `items` movies, with
/// `in_flight` the parallel settings to compare with one page at a time.
pub fn run(items: usize, page_delay: Duration, in_flight: &[usize]) -> Result<RefreshReport> {
    let library = plexmatch_emulator::generate(items, 7);
    let emulator = Emulator::start(&library, Options::default())?;
    let dir = tempfile::tempdir()?;
    let backend = |pages_in_flight: usize| -> Result<Backend> {
        let mut config = plex_config(&emulator, crate::plex::DEFAULT_PAGE_SIZE);
        config.pages_in_flight = pages_in_flight;
        let b = Backend::open(&config, dir.path(), CachePolicy::default())?;
        b.snapshots.sections()?;
        Ok(b)
    };
    let mut scenarios = Vec::new();
    let mut measure = |name: &str, b: &Backend, full: bool, delay: Duration, in_flight| {
        emulator.set_listing_delay(delay);
        let before = emulator.requests();
        let started = Instant::now();
        let r = b
            .snapshots
            .force_refresh(1, full)?
            .ok_or_else(|| anyhow::anyhow!("another process refreshed the benchmark's section"))?;
        let millis = started.elapsed().as_secs_f64() * 1e3;
        emulator.set_listing_delay(Duration::ZERO);
        scenarios.push(Scenario {
            name: name.to_owned(),
            page_delay_ms: delay.as_millis() as u64,
            pages_in_flight: in_flight,
            full: r.full,
            listed: r.listed,
            requests: emulator.requests() - before,
            millis,
        });
        anyhow::Ok(r)
    };

    for delay in [Duration::ZERO, page_delay] {
        for &n in std::iter::once(&1).chain(in_flight) {
            measure("full listing", &backend(n)?, true, delay, n)?;
        }
    }

    let b = backend(crate::plex::DEFAULT_PAGES_IN_FLIGHT)?;
    let n = crate::plex::DEFAULT_PAGES_IN_FLIGHT;
    for delay in [Duration::ZERO, page_delay] {
        let r = measure("incremental, nothing changed", &b, false, delay, n)?;
        if r.full {
            bail!("nothing changed, yet the section was listed in full");
        }
    }

    // 1% of the items change: a third renamed, a third retitled, a third new.
    let keys = emulator.leaf_keys(1);
    let changes = (keys.len() / 100).max(3);
    for delay in [Duration::ZERO, page_delay] {
        for i in 0..changes {
            let key = keys[(i * 7919 + delay.as_millis() as usize) % keys.len()];
            let change = match i % 3 {
                0 => Change::SetFiles {
                    rating_key: key,
                    files: vec![FileSpec::Single(format!(
                        "/data/movies/renamed/{key}-{i}.mkv"
                    ))],
                },
                1 => Change::SetTitle {
                    rating_key: key,
                    title: format!("Retitled {key}"),
                },
                _ => Change::Add {
                    section: 1,
                    item: ItemSpec {
                        rating_key: None,
                        title: format!("New {i}"),
                        year: None,
                        show: None,
                        season: None,
                        episode: None,
                        files: vec![FileSpec::Single(format!("/data/movies/new/New {i}.mkv"))],
                        guids: Vec::new(),
                    },
                },
            };
            emulator.change(&change)?;
        }
        let r = measure("incremental, 1% changed", &b, false, delay, n)?;
        if r.full {
            bail!("1% changed, yet the section was listed in full");
        }
    }

    // Deletions: the count gives them away, and the section is listed in full.
    for delay in [Duration::ZERO, page_delay] {
        let keys = emulator.leaf_keys(1);
        for i in 0..10 {
            emulator.change(&Change::Delete {
                rating_key: keys[(i * 104_729 + 1) % keys.len()],
            })?;
        }
        let r = measure("incremental, 10 deleted", &b, false, delay, n)?;
        if !r.full {
            bail!("deletions went unnoticed");
        }
    }

    Ok(RefreshReport {
        items,
        page_delay_ms: page_delay.as_millis() as u64,
        scenarios,
    })
}

impl RefreshReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "refresh benchmark: one generated section of {} items (+2% duplicate names), 1,000 items a page\n",
            self.items
        );
        out += &format!(
            "  {:<30} {:>10} {:>9} {:>6} {:>8} {:>9} {:>10}\n",
            "scenario", "page delay", "in flight", "full", "listed", "requests", "time"
        );
        for s in &self.scenarios {
            out += &format!(
                "  {:<30} {:>7} ms {:>9} {:>6} {:>8} {:>9} {:>7.1} ms\n",
                s.name,
                s.page_delay_ms,
                s.pages_in_flight,
                if s.full { "yes" } else { "no" },
                s.listed,
                s.requests,
                s.millis
            );
        }
        out
    }
}
