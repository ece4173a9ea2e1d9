//! Choosing, for a section with no snapshot, between a file look-up a path and listing the
//! section: by expected cost. A listing costs its pages (the section's size, counted once
//! and remembered for a day); the paths still to come cost a look-up each. Each side is
//! weighed by the server's measured time for that kind of request (a real server may
//! answer a look-up in 100 ms and a page of 1,000 items in 2 s), remembered per server for
//! a week; with no measurement yet, a request is a request.

use std::collections::HashMap;
use std::path::Path;

use super::Snapshots;
use crate::plex::{Measured, RequestKind};

/// Look-ups sent for one section of a stream of unknown length before its size is asked
/// (one request) to weigh listing it instead. A batch of known length asks at once unless
/// it is one path: on a section of a page or two, ten paths cost more by look-ups.
pub const FIRST_LOOKUPS: u64 = 2;

/// The name of the file in a server's cache folder recording each section's size as last
/// counted (`section items unix-time` a line): only a cost estimate, never an answer, so
/// a warm batch does not pay a count to choose between look-ups and a listing.
pub const SIZES_FILE: &str = "section-sizes";

/// The name of the file in a server's cache folder recording its measured time per kind
/// of request (`kind microseconds samples unix-time` a line).
pub const TIMES_FILE: &str = "request-times";

/// How long a counted size is used to weigh look-ups against a listing.
const SIZE_TRUSTED: i64 = 24 * 3600;

/// How long a measured time is used (a server's speed changes with its hardware and
/// library, not from hour to hour).
const TIMES_TRUSTED: i64 = 7 * 24 * 3600;

/// Answers of this run needed before its own measurement replaces the remembered one.
const RUN_SAMPLES: u64 = 3;

/// The most a measurement may move the break-even either way: a look-up weighs at least
/// 1/20 and at most 20 listing pages, so one slow answer cannot make a run send thousands
/// of look-ups or list a huge section for two paths.
const WEIGHT_BOUNDS: (f64, f64) = (0.05, 20.0);

/// What a server's cache folder remembers of its costs.
#[derive(Default)]
pub(super) struct Remembered {
    /// Sections' sizes in items as last counted (this run or within [`SIZE_TRUSTED`]).
    sizes: HashMap<u32, (u64, i64)>,
    /// Measured times per kind (within [`TIMES_TRUSTED`]).
    times: HashMap<RequestKind, Measured>,
    /// This run's samples of each kind when the times were last written.
    written: HashMap<RequestKind, u64>,
}

/// The lines of `file` that read as whitespace-separated fields, split.
fn lines(file: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

impl Remembered {
    /// What `cache_dir` records within its trust windows; a line that does not read is
    /// skipped (the files are only estimates).
    pub(super) fn read(cache_dir: &Path) -> Remembered {
        let now = crate::cache::now();
        let sizes = lines(&cache_dir.join(SIZES_FILE))
            .into_iter()
            .filter_map(|w| {
                let [id, n, at] = <[String; 3]>::try_from(w).ok()?;
                let (id, n, at) = (id.parse::<u32>().ok()?, n.parse::<u64>().ok()?, at.parse().ok()?);
                (now.saturating_sub(at) < SIZE_TRUSTED).then_some((id, (n, at)))
            })
            .collect();
        let times = lines(&cache_dir.join(TIMES_FILE))
            .into_iter()
            .filter_map(|w| {
                let [kind, micros, samples, at] = <[String; 4]>::try_from(w).ok()?;
                let kind = RequestKind::from_word(&kind)?;
                let micros: f64 = micros.parse().ok()?;
                let (samples, at): (u64, i64) = (samples.parse().ok()?, at.parse().ok()?);
                (micros.is_finite() && micros > 0.0 && samples > 0)
                    .then_some(())
                    .filter(|_| now.saturating_sub(at) < TIMES_TRUSTED)?;
                Some((kind, Measured { micros, samples }))
            })
            .collect();
        Remembered {
            sizes,
            times,
            written: HashMap::new(),
        }
    }
}

/// Writes `text` to `file` whole (a scratch file renamed over it): a reader sees the old
/// or the new, never half.
fn write_whole(file: &Path, text: &str) -> std::io::Result<()> {
    let mut scratch = file.as_os_str().to_owned();
    scratch.push(".new");
    std::fs::write(&scratch, text).and_then(|_| std::fs::rename(&scratch, file))
}

impl Snapshots {
    /// Tells how many paths the run is to match (`None`: not known): a batch known to be
    /// large lists a cold section at once rather than looking its files up one by one.
    pub fn set_expected_paths(&self, n: Option<u64>) {
        self.expected_paths
            .store(n.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
    }

    fn expected_paths(&self) -> Option<u64> {
        match self.expected_paths.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    /// Whether this section's next look-up is a file look-up (see [`super::LookupMode`]).
    pub(super) fn chooses_lookup(&self, section_id: u32) -> bool {
        let mode = self.lookup_mode;
        if mode == super::LookupMode::Listing || self.gateway.plex.is_offline() {
            return false;
        }
        let (sent, pages) = {
            let state = self.lookups_state();
            if state.unsupported.is_some() {
                return false;
            }
            state.sections.get(&section_id).copied().unwrap_or((0, None))
        };
        if mode == super::LookupMode::File {
            return true;
        }
        // One path: a look-up is never dearer than a count and a listing. A stream of
        // unknown length: the first few, before the section's size is asked.
        let expected = self.expected_paths();
        if expected == Some(1) || (expected.is_none() && sent < FIRST_LOOKUPS) {
            return true;
        }
        // Otherwise a look-up a path while the paths still to come cost less than listing
        // the section (its size asked once).
        let pages = match pages {
            Some(p) => p,
            // The count failed: so would a listing. A look-up may still be answered
            // from this run's answers while Plex fails.
            None => match self.listing_pages(section_id) {
                Some(p) => p,
                None => return true,
            },
        };
        let lookups = match expected {
            Some(n) => n.saturating_sub(sent),
            None => sent,
        };
        (lookups as f64) * self.lookup_weight() < pages as f64
    }

    /// What one file look-up costs in listing pages, by the server's measured times; 1
    /// (a request is a request) until both kinds are measured.
    pub fn lookup_weight(&self) -> f64 {
        let (Some(lookup), Some(item)) = (
            self.measured(RequestKind::FileLookup),
            self.measured(RequestKind::ListingItem),
        ) else {
            return 1.0;
        };
        let page = item * self.gateway.plex.page_size() as f64;
        (lookup / page).clamp(WEIGHT_BOUNDS.0, WEIGHT_BOUNDS.1)
    }

    /// The server's time for one request of `kind` in microseconds (per item for a listing
    /// page): this run's once it has a few answers, else as remembered, else this run's.
    pub fn measured(&self, kind: RequestKind) -> Option<f64> {
        let run = self.gateway.plex.request_times().get(kind);
        let remembered = self.lookups_state().costs.times.get(&kind).copied();
        match remembered {
            Some(r) if run.samples < RUN_SAMPLES => Some(r.micros),
            _ => (run.samples > 0).then_some(run.micros),
        }
    }

    /// The pages a listing of the section takes: from its size as last counted, else one
    /// request for its count (recorded for the runs after).
    fn listing_pages(&self, section_id: u32) -> Option<u64> {
        let known = self.lookups_state().costs.sizes.get(&section_id).map(|(n, _)| *n);
        let count = match known {
            Some(n) => n,
            None => {
                let section = self.section(section_id).ok()?;
                let item_type = section.kind.leaf_type()?;
                let n = self
                    .gateway
                    .ask(None, || self.gateway.plex.count_items(section_id, item_type))
                    .ok()?;
                self.record_size(section_id, n);
                n
            }
        };
        let pages = count.div_ceil(self.gateway.plex.page_size().max(1) as u64) + 1;
        self.lookups_state()
            .sections
            .entry(section_id)
            .or_default()
            .1 = Some(pages);
        Some(pages)
    }

    /// Records a section's size for this run and, in the server's cache folder, for the
    /// runs after (a failure to write is only a count more next time).
    pub(super) fn record_size(&self, section_id: u32, items: u64) {
        let mut state = self.lookups_state();
        let sizes = &mut state.costs.sizes;
        sizes.insert(section_id, (items, crate::cache::now()));
        let text: String = sizes
            .iter()
            .map(|(id, (n, at))| format!("{id} {n} {at}\n"))
            .collect();
        if let Some(dir) = self.locks_dir.parent()
            && let Err(e) = write_whole(&dir.join(SIZES_FILE), &text)
        {
            tracing::debug!("cannot record section sizes: {e}");
        }
    }

    /// Records the server's measured times in its cache folder for the runs after, when
    /// this run has measured a kind anew: at its 1st, 4th, 16th … answer, so a long batch
    /// writes the file a handful of times.
    pub(super) fn remember_times(&self) {
        let run = self.gateway.plex.request_times();
        let mut state = self.lookups_state();
        let costs = &mut state.costs;
        let mut changed = false;
        for kind in RequestKind::ALL {
            let m = run.get(kind);
            let written = costs.written.get(&kind).copied().unwrap_or(0);
            if m.samples == 0 || m.samples < written.saturating_mul(4).max(1) {
                continue;
            }
            costs.written.insert(kind, m.samples);
            // A first answer or two do not replace a server's remembered measurement.
            if m.samples >= RUN_SAMPLES || !costs.times.contains_key(&kind) {
                costs.times.insert(kind, m);
                changed = true;
            }
        }
        if !changed {
            return;
        }
        let now = crate::cache::now();
        let text: String = RequestKind::ALL
            .into_iter()
            .filter_map(|k| {
                let m = costs.times.get(&k)?;
                Some(format!("{} {:.0} {} {now}\n", k.word(), m.micros, m.samples))
            })
            .collect();
        if let Some(dir) = self.locks_dir.parent()
            && let Err(e) = write_whole(&dir.join(TIMES_FILE), &text)
        {
            tracing::debug!("cannot record the server's request times: {e}");
        }
    }
}
