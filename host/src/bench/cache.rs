//! The cache benchmark: a generated section on the emulator, listed into the library
//! cache at several page sizes, then file-name lookups, bytes on disk and match-cache
//! invalidation measured on the real SQLite files.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde::Serialize;

use super::{Latency, plex_config};
use crate::backend::{Backend, CachePolicy};
use plexmatch_emulator::{Emulator, Options};

/// What the cache benchmark measures.
#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    /// Items in the generated section.
    pub items: usize,
    /// One full refresh per page size tried.
    pub refreshes: Vec<Refresh>,
    /// `items-by-file-name` on the snapshot: names that exist and names that don't.
    pub lookup: Latency,
    /// Bytes of the library cache's pages per item, after one snapshot.
    pub bytes_per_item: f64,
    /// Match-cache entries invalidated at once (one section's).
    pub invalidated: u64,
    /// Time to invalidate them.
    pub invalidate_section_ms: f64,
    /// Time to invalidate one path, averaged.
    pub invalidate_path_us: f64,
}

/// One snapshot refresh.
#[derive(Debug, Clone, Serialize)]
pub struct Refresh {
    pub page_size: usize,
    pub millis: f64,
    /// Requests the emulator served for it.
    pub requests: u64,
}

/// Runs the cache benchmark on a generated section of `items` movies.
pub fn run(items: usize, page_sizes: &[usize], lookups: usize) -> Result<CacheReport> {
    let library = plexmatch_emulator::generate(items, 7);
    let names: Vec<String> = library.sections[0]
        .items
        .iter()
        .flat_map(|i| i.files.iter().flat_map(|f| f.parts()).map(str::to_owned))
        .collect();
    let emulator = Emulator::start(&library, Options::default())?;
    let dir = tempfile::tempdir()?;

    let mut refreshes = Vec::new();
    let mut backend = None;
    for &page_size in page_sizes {
        let config = plex_config(&emulator, page_size);
        let b = Arc::new(Backend::open(&config, dir.path(), CachePolicy::default())?);
        b.snapshots.sections()?;
        let before = emulator.requests();
        let started = Instant::now();
        b.snapshots.force_refresh(1, true)?;
        refreshes.push(Refresh {
            page_size,
            millis: started.elapsed().as_secs_f64() * 1e3,
            requests: emulator.requests() - before,
        });
        backend = Some(b);
    }
    let backend = backend.expect("at least one page size");

    // Lookups: nine names that exist for one that does not, spread over the section.
    let mut samples = Vec::with_capacity(lookups);
    for i in 0..lookups {
        let name = if i % 10 == 9 {
            format!("missing file {i}.mkv")
        } else {
            let path = &names[(i * 7919) % names.len()];
            plexmatch_matchkit::file_name(path)
                .unwrap_or(path)
                .to_owned()
        };
        let started = Instant::now();
        let found = backend.snapshots.library.items_by_file_name(1, &name)?;
        samples.push(started.elapsed());
        if i % 10 != 9 && found.is_empty() {
            anyhow::bail!("benchmark lookup of {name:?} found nothing: the snapshot is wrong");
        }
    }
    let lookup = Latency::of(&mut samples);
    let footprint = backend.snapshots.library.footprint()?;
    let bytes_per_item = footprint.used_bytes as f64 / footprint.items.max(1) as f64;

    // Invalidation: 10,000 entries in section 1 among as many in section 2.
    let n = 10_000u64;
    let bench = crate::cache::Decider::new("bench", "0");
    for i in 0..n {
        backend.decisions.matches.put(
            1,
            &format!("/stash/a/file {i}.mkv"),
            &bench,
            &i.to_string(),
            "/data/f.mkv",
        )?;
        backend.decisions.matches.put(
            2,
            &format!("/stash/b/file {i}.mkv"),
            &bench,
            &i.to_string(),
            "/data/f.mkv",
        )?;
    }
    let started = Instant::now();
    for i in 0..1000u64 {
        backend
            .decisions
            .matches
            .invalidate(2, &format!("/stash/b/file {i}.mkv"), None)?;
    }
    let invalidate_path_us = started.elapsed().as_secs_f64() * 1e6 / 1000.0;
    let started = Instant::now();
    let invalidated = backend.decisions.matches.invalidate_section(1, None)?;
    let invalidate_section_ms = started.elapsed().as_secs_f64() * 1e3;

    Ok(CacheReport {
        items,
        refreshes,
        lookup,
        bytes_per_item,
        invalidated,
        invalidate_section_ms,
        invalidate_path_us,
    })
}

impl CacheReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "cache benchmark: one generated section of {} items\n",
            self.items
        );
        for r in &self.refreshes {
            out += &format!(
                "  snapshot refresh, page size {:>6}: {:>8.1} ms, {:>4} Plex requests\n",
                r.page_size, r.millis, r.requests
            );
        }
        out += &format!(
            "  file-name lookup: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs over {} lookups\n",
            us(self.lookup.p50),
            us(self.lookup.p99),
            us(self.lookup.max),
            self.lookup.count
        );
        out += &format!(
            "  library cache on disk: {:.1} bytes per item\n",
            self.bytes_per_item
        );
        out += &format!(
            "  match cache: invalidating a section of {} entries {:.2} ms; one path {:.1} µs\n",
            self.invalidated, self.invalidate_section_ms, self.invalidate_path_us
        );
        out
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
