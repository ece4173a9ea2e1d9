//! The batch engine: many paths matched on every core, answers streamed back in input
//! order, with memory bounded by a window of paths in flight (not by the batch size).
//!
//! A reader thread takes paths from the input (never more than a window ahead of the
//! oldest unanswered one) into a queue; each worker thread owns one [`Matcher`] (one
//! plugin instance, replaced after a trap) and takes paths from the queue a chunk at a
//! time; the calling thread emits the answers.
//! Before the first path is matched, the engine brings the chosen sections' snapshots up
//! to date once, several sections at a time: a section with no snapshot is listed, a
//! stale one asks for the items changed since it was taken (two requests when little
//! changed) — cheaper than checking even one path's cached match with a request. A
//! batch that outlives the library TTL (a long list, a co-process reading stdin) brings
//! each section up to date again as its TTL passes, once, while the other workers answer
//! from the previous snapshot ([`Backend::keep_current`]).

use std::collections::{BTreeMap, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::chain::Chain;
use crate::input::Input;
use crate::matching::PathMatch;
use crate::plex::Section;
use crate::runtime::Plugin;

/// Most worker threads: matching is CPU-bound once snapshots are listed, and each worker
/// holds a plugin instance per plugin of the chain.
pub const MAX_WORKERS: usize = 64;

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Worker threads (plugin instances).
    pub workers: usize,
    /// Paths dispatched ahead of the oldest unfinished one: bounds memory.
    pub window: usize,
    /// Whether answers carry an explanation (`--explain`).
    pub explain: bool,
    /// How the caller's paths become the server's (`--map`).
    pub mapping: Option<std::sync::Arc<crate::paths::Mapping>>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        BatchOptions {
            workers,
            window: 256 * workers,
            explain: false,
            mapping: None,
        }
    }
}

/// One answer of a batch, with how long its path took.
pub struct Answer {
    pub index: usize,
    pub result: PathMatch,
    /// Time spent matching this path (plugin, caches, Plex), not waiting for a worker.
    pub latency: Duration,
    /// Time from a worker taking the path (with the rest of its chunk) until its answer
    /// was ready.
    pub turnaround: Duration,
    /// Whether the next answer is emitted right after this one: a printer may leave its
    /// output buffered until an answer with `false` (nothing more is ready to print).
    pub more_ready: bool,
}

/// Paths a worker takes at once when many are waiting: one hand-over (and one answer
/// message) per chunk instead of per path. Every message wakes the calling thread, which
/// on a machine with as many cores as workers takes a core from a worker mid-path: with
/// 32, a warm batch's p99 was 52–89 µs; with 128 (and the reader woken half a window at a
/// time), 27–65 µs, a third of the context switches.
const CHUNK: usize = 128;

/// What the reader, the workers and the calling thread share: the paths read and not yet
/// taken, and how far each side has got. Workers take paths themselves, so that a busy
/// batch wakes no thread per path: the reader wakes a worker only when one is idle, and
/// is woken only when it waits for room in the window and half of it is free.
struct Queue {
    paths: VecDeque<(usize, Input)>,
    /// Paths read so far.
    read: usize,
    /// The input is exhausted.
    ended: bool,
    /// Workers may take paths (the sections are up to date and held).
    open: bool,
    /// Answers emitted: the reader stays within the window of it.
    emitted: usize,
    /// Workers waiting for paths.
    idle: usize,
    /// Whether the reader waits for room, and the calling thread for the first paths.
    reader_waits: bool,
    caller_waits: bool,
    /// Paths (by index) below this one had their cached decisions fetched ahead.
    ahead: usize,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Workers wait here for paths.
    work: Condvar,
    /// The reader waits here for room in the window.
    room: Condvar,
    /// The calling thread waits here for the first paths.
    arrived: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (on the calling thread) until `n` paths are waiting, the input has ended or
    /// `deadline` has passed; how many are waiting.
    fn wait_for_paths(&self, n: usize, deadline: Option<Instant>) -> usize {
        let mut q = self.lock();
        while q.paths.len() < n && !q.ended {
            q.caller_waits = true;
            q = match deadline {
                None => self.arrived.wait(q).unwrap_or_else(|p| p.into_inner()),
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.arrived
                        .wait_timeout(q, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
        q.caller_waits = false;
        q.paths.len()
    }

    /// The next paths for a worker, when they were taken, or `None` when there are none
    /// left to take.
    /// Paths waiting whose cached decisions were not fetched ahead yet (see
    /// [`verify_ahead`]): each is handed out once.
    fn unverified(q: &mut Queue) -> Vec<(usize, Input)> {
        let ahead = q.ahead;
        let fresh: Vec<(usize, Input)> = q
            .paths
            .iter()
            .filter(|(i, _)| *i >= ahead)
            .cloned()
            .collect();
        if let Some((last, _)) = fresh.last() {
            q.ahead = last + 1;
        }
        fresh
    }

    /// The next chunk of paths for a worker, with the paths it is to fetch ahead for.
    #[allow(clippy::type_complexity)]
    fn take(&self, workers: usize) -> Option<(Vec<(usize, Input)>, Vec<(usize, Input)>, Instant)> {
        let mut q = self.lock();
        loop {
            if q.open && !q.paths.is_empty() {
                let ahead = Shared::unverified(&mut q);
                let n = q.paths.len().div_ceil(workers).clamp(1, CHUNK);
                let paths: Vec<_> = q.paths.drain(..n).collect();
                return Some((paths, ahead, Instant::now()));
            }
            if q.open && q.ended {
                return None;
            }
            q.idle += 1;
            q = self.work.wait(q).unwrap_or_else(|p| p.into_inner());
            q.idle -= 1;
        }
    }
}

/// Matches every path of `paths` against `sections` with the plugin chain `plugins` and
/// calls `emit` with each answer, in
/// input order, as soon as it and every earlier answer are ready.
/// Each path is checked first ([`Input`]): an unusable one is answered with its input
/// error without asking a plugin.
pub fn run<P: Into<Input>>(
    plugins: &[Arc<Plugin>],
    backend: &Arc<Backend>,
    sections: &[Section],
    paths: impl Iterator<Item = P> + Send,
    options: BatchOptions,
    mut emit: impl FnMut(Answer),
) {
    // A stream of known length says how many paths are coming, weighed against listing
    // a cold section (see `backend/lookup.rs`).
    if let (lower, Some(upper)) = paths.size_hint()
        && lower == upper
    {
        backend.snapshots.set_expected_paths(Some(lower as u64));
    }
    let workers = options.workers.clamp(1, MAX_WORKERS);
    let window = options.window.max(workers);
    let slack = (window / 2).max(1);
    let shared = Shared {
        queue: Mutex::new(Queue {
            paths: VecDeque::new(),
            read: 0,
            ended: false,
            open: false,
            emitted: 0,
            idle: 0,
            reader_waits: false,
            caller_waits: false,
            ahead: 0,
        }),
        work: Condvar::new(),
        room: Condvar::new(),
        arrived: Condvar::new(),
    };
    let shared = &shared;
    let (answer_tx, answers) = mpsc::channel::<Vec<Answer>>();

    let (mapping, explain) = (&options.mapping, options.explain);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let answer_tx = answer_tx.clone();
            let mut matcher = Chain::new(plugins, backend).with_mapping(mapping.clone());
            matcher.set_explain(explain);
            scope.spawn(move || {
                while let Some((paths, ahead, taken)) = shared.take(workers) {
                    verify_ahead(backend, sections, &ahead, mapping.as_deref());
                    let answers = paths
                        .into_iter()
                        .map(|(index, input)| {
                            let started = Instant::now();
                            let path = match input {
                                Input::Path(p) => p,
                                Input::Invalid { shown, why } => {
                                    return Answer {
                                        index,
                                        result: input_error(shown, why),
                                        latency: started.elapsed(),
                                        turnaround: taken.elapsed(),
                                        more_ready: false,
                                    };
                                }
                            };
                            // A bug that panics must not lose the path (the batch would wait
                            // for its answer for ever): it becomes that path's error.
                            let result =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    matcher.match_path(&path, sections)
                                }))
                                .unwrap_or_else(|panic| {
                                    matcher = Chain::new(plugins, backend).with_mapping(mapping.clone());
                                    matcher.set_explain(explain);
                                    internal_error(&path, panic)
                                });
                            Answer {
                                index,
                                result,
                                latency: started.elapsed(),
                                turnaround: taken.elapsed(),
                                more_ready: false,
                            }
                        })
                        .collect();
                    if answer_tx.send(answers).is_err() {
                        break;
                    }
                }
            });
        }
        // The calling thread hears only from the workers: once they have all stopped,
        // every answer has been sent.
        drop(answer_tx);

        scope.spawn(move || {
            for path in paths.map(Into::into) {
                let mut q = shared.lock();
                while q.read >= q.emitted + window {
                    q.reader_waits = true;
                    q = shared.room.wait(q).unwrap_or_else(|p| p.into_inner());
                }
                q.reader_waits = false;
                let index = q.read;
                q.read += 1;
                q.paths.push_back((index, path));
                if q.open && q.idle > 0 {
                    shared.work.notify_one();
                }
                if q.caller_waits {
                    shared.arrived.notify_one();
                }
            }
            shared.lock().ended = true;
            shared.work.notify_all();
            shared.arrived.notify_one();
        });

        // The first path, or the end of an empty input, before any request.
        let ended = shared.wait_for_paths(1, None) == 0;
        // The request plan. A section with no snapshot at all is listed first whatever the
        // batch's size: on a cold data dir every title-search HIGH needs the listing anyway
        // for its uniqueness check (W29), and every miss ends in it, so searching first only
        // adds requests. A stale snapshot is brought up to date first too: that costs the
        // changed items and a count (a full listing only when items went away), where
        // matching against it would cost a request per cached match to verify.
        if !ended {
            prefetch(backend, sections, workers);
            // A batch that starts with many paths waiting reads what they will look up
            // into memory first, all sections and plugins at once, rather than when the
            // look-ups reach that count mid-batch (its paths then waited on SQLite).
            let deadline = Instant::now() + HOLD_WAIT;
            if shared.wait_for_paths(HOLD_AFTER, Some(deadline)) >= HOLD_AFTER {
                hold(plugins, backend, sections);
            }
            let ahead = Shared::unverified(&mut shared.lock());
            verify_ahead(backend, sections, &ahead, options.mapping.as_deref());
        }
        shared.lock().open = true;
        shared.work.notify_all();

        let mut pending: BTreeMap<usize, Answer> = BTreeMap::new();
        let mut next = 0usize;
        while let Ok(done) = answers.recv() {
            for a in done {
                pending.insert(a.index, a);
            }
            // Take whatever else is already waiting before emitting.
            while let Ok(done) = answers.try_recv() {
                for a in done {
                    pending.insert(a.index, a);
                }
            }
            while let Some(mut a) = pending.remove(&next) {
                next += 1;
                a.more_ready = pending.contains_key(&next);
                emit(a);
            }
            let mut q = shared.lock();
            q.emitted = next;
            // Half a window at a time: a reader woken for every chunk emitted costs a
            // context switch a chunk (see CHUNK).
            if q.reader_waits && q.read + slack <= next + window {
                shared.room.notify_one();
            }
        }
    });
}

/// The answer for a line that is not a usable path.
fn input_error(shown: String, why: String) -> PathMatch {
    failed(shown, crate::matching::Failure::Input(why))
}

/// The answer for `path` when it could not be matched at all, for `why`.
pub fn failed(path: String, why: crate::matching::Failure) -> PathMatch {
    PathMatch {
        path,
        outcome: crate::matching::Outcome::Error,
        item: None,
        candidates: Vec::new(),
        plugin: String::new(),
        error: Some(why),
        requests: 0,
        explain: None,
    }
}

/// The answer for a path whose matching panicked.
fn internal_error(path: &str, panic: Box<dyn std::any::Any + Send>) -> PathMatch {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!("matching {path:?} panicked: {what}");
    PathMatch {
        path: path.to_owned(),
        outcome: crate::matching::Outcome::Error,
        item: None,
        candidates: Vec::new(),
        plugin: String::new(),
        error: Some(crate::matching::Failure::Plugin(format!(
            "internal error while matching: {what}"
        ))),
        requests: 0,
        explain: None,
    }
}

/// Paths waiting at a batch's start that make it read its sections' snapshots and its
/// plugins' match-cache entries into memory before matching: as many as one look-up
/// needs to do so mid-batch.
const HOLD_AFTER: usize = crate::cache::RESIDENT_AFTER as usize;

/// How long a batch's start waits for that many paths: input from a file or a pipe
/// fills it in well under a millisecond, a person typing paths never does.
const HOLD_WAIT: Duration = Duration::from_millis(5);

/// Reads the fresh snapshots of `sections` and each plugin's match-cache entries there
/// into memory, all at once (they are independent reads).
fn hold(plugins: &[Arc<Plugin>], backend: &Arc<Backend>, sections: &[Section]) {
    let started = Instant::now();
    std::thread::scope(|scope| {
        for s in sections.iter().filter(|s| s.kind.leaf_type().is_some()) {
            scope.spawn(|| backend.snapshots.hold_snapshot(s.id));
            for p in plugins {
                let by = p.identity().decider();
                scope.spawn(move || backend.decisions.matches.hold(s.id, &by));
            }
        }
    });
    tracing::debug!(
        "sections and match entries held in {:.0?}",
        started.elapsed()
    );
}

/// Refreshes the missing or stale snapshots of `sections`, several at a time.
/// Fetches ahead, grouped into `/library/metadata/k1,k2,…` requests, the items that the
/// cached decisions and pins of `paths` name in sections with no fresh snapshot and no
/// file look-up's answer at hand: verifying them one by one would cost a request each.
fn verify_ahead(
    backend: &Arc<Backend>,
    sections: &[Section],
    paths: &[(usize, Input)],
    mapping: Option<&crate::paths::Mapping>,
) {
    let cold: Vec<u32> = sections
        .iter()
        .filter(|s| s.kind.leaf_type().is_some())
        .filter(|s| !backend.snapshots.snapshot(s.id).is_some_and(|(_, fresh)| fresh))
        .map(|s| s.id)
        .collect();
    if cold.is_empty() || paths.len() < 2 || backend.gateway.plex.is_offline() {
        return;
    }
    let mut keys = Vec::new();
    for (_, input) in paths {
        let Input::Path(given) = input else { continue };
        if let Some(pin) = backend.decisions.pins.get(given)
            && cold.contains(&pin.section_id)
        {
            keys.push(pin.rating_key);
        }
        let path = mapping
            .and_then(|m| m.apply(given))
            .map_or_else(|| given.clone(), |(_, p)| p);
        let Some(name) = plexmatch_matchkit::file_name(&path) else {
            continue;
        };
        for &section in &cold {
            if backend.snapshots.cached_holders(section, name).is_some() {
                continue;
            }
            if let Ok(found) = backend.decisions.matches.keys_for(section, &path) {
                keys.extend(found);
            }
        }
    }
    if keys.len() >= 2 {
        let sent = backend.gateway.fetch_items(&keys);
        tracing::debug!("fetched {} cached decision(s) and pin(s) ahead in {sent} request(s)", keys.len());
    }
}

fn prefetch(backend: &Arc<Backend>, sections: &[Section], workers: usize) {
    if backend.gateway.plex.is_offline() {
        return;
    }
    let stale: Vec<&Section> = sections
        .iter()
        .filter(|s| {
            s.kind.leaf_type().is_some()
                && !backend.snapshots.snapshot(s.id).is_some_and(|(_, fresh)| fresh)
                && backend.snapshots.lists_up_front(s.id)
        })
        .collect();
    let next = Mutex::new(stale.into_iter());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some(s) = next.lock().unwrap_or_else(|p| p.into_inner()).next() else {
                        break;
                    };
                    if let Err(e) = backend.snapshots.refresh_if_stale(s.id) {
                        // The plugin will meet the same error per path and report it there.
                        tracing::info!("cannot list section {:?} ahead of the batch: {e}", s.title);
                    }
                }
            });
        }
    });
}
