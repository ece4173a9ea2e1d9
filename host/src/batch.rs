//! The batch engine: many paths matched on every core, answers streamed back in input
//! order, with memory bounded by a window of paths in flight (not by the batch size).
//!
//! A reader thread takes paths from the input (never more than a window ahead of the
//! oldest unanswered one); each worker thread owns one [`Matcher`] (one plugin instance,
//! replaced after a trap); the calling thread dispatches paths and emits answers.
//! Before the first path is matched, the engine brings the chosen sections' snapshots up
//! to date once, several sections at a time: a section with no snapshot is listed, a
//! stale one asks for the items changed since it was taken (two requests when little
//! changed) — cheaper than checking even one path's cached match with a request. Every
//! snapshot refreshed during the batch stays in use until the batch ends.

use std::collections::BTreeMap;
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
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Worker threads (plugin instances).
    pub workers: usize,
    /// Paths dispatched ahead of the oldest unfinished one: bounds memory.
    pub window: usize,
    /// Whether answers carry an explanation (`--explain`).
    pub explain: bool,
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
        }
    }
}

/// One answer of a batch, with how long its path took.
pub struct Answer {
    pub index: usize,
    pub result: PathMatch,
    /// Time spent matching this path (plugin, caches, Plex), not waiting for a worker.
    pub latency: Duration,
    /// Time from handing the path to a worker until its answer was ready.
    pub turnaround: Duration,
    /// Whether the next answer is emitted right after this one: a printer may leave its
    /// output buffered until an answer with `false` (nothing more is ready to print).
    pub more_ready: bool,
}

/// What the engine's main loop hears about: input from the reader thread, answers from
/// the workers.
enum Event {
    Path(usize, Input),
    End,
    Done(Vec<Answer>),
}

/// Paths handed to a worker at once when many are waiting: one hand-over (and one thread
/// wake-up each way) per chunk instead of per path.
const CHUNK: usize = 32;

/// Paths for one worker, and when they were handed over.
type Job = (Vec<(usize, Input)>, Instant);

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
    let workers = options.workers.clamp(1, MAX_WORKERS);
    let window = options.window.max(workers);
    let _pin = backend.pin_snapshots();
    // How many answers were emitted: the reader stays within `window` of it.
    let emitted = Arc::new((Mutex::new(0usize), Condvar::new()));
    let (event_tx, events) = mpsc::channel::<Event>();
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(workers);
    let job_rx = Arc::new(Mutex::new(job_rx));

    std::thread::scope(|scope| {
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let event_tx = event_tx.clone();
            let mut matcher = Chain::new(plugins, backend);
            matcher.set_explain(options.explain);
            scope.spawn(move || {
                loop {
                    let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((paths, dispatched)) = job else { break };
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
                                        turnaround: dispatched.elapsed(),
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
                                    matcher = Chain::new(plugins, backend);
                                    matcher.set_explain(options.explain);
                                    internal_error(&path, panic)
                                });
                            Answer {
                                index,
                                result,
                                latency: started.elapsed(),
                                turnaround: dispatched.elapsed(),
                                more_ready: false,
                            }
                        })
                        .collect();
                    if event_tx.send(Event::Done(answers)).is_err() {
                        break;
                    }
                }
            });
        }

        let reader_emitted = Arc::clone(&emitted);
        let reader_tx = event_tx.clone();
        scope.spawn(move || {
            let (lock, cvar) = &*reader_emitted;
            for (index, path) in paths.map(Into::into).enumerate() {
                let mut done = lock.lock().unwrap_or_else(|p| p.into_inner());
                while index >= *done + window {
                    done = cvar.wait(done).unwrap_or_else(|p| p.into_inner());
                }
                drop(done);
                if reader_tx.send(Event::Path(index, path)).is_err() {
                    return;
                }
            }
            let _ = reader_tx.send(Event::End);
        });
        drop(event_tx);

        // The first path, or the end of an empty input, before any request.
        let mut head: Vec<(usize, Input)> = Vec::new();
        let mut ended = false;
        match events.recv() {
            Ok(Event::Path(i, p)) => head.push((i, p)),
            Ok(Event::Done(_)) => unreachable!("nothing was dispatched yet"),
            Ok(Event::End) | Err(_) => ended = true,
        }
        // The request plan. A section with no snapshot at all is listed first whatever the
        // batch's size: on a cold data dir every title-search HIGH needs the listing anyway
        // for its uniqueness check (W29), and every miss ends in it, so searching first only
        // adds requests. A stale snapshot is brought up to date first too: that costs the
        // changed items and a count (a full listing only when items went away), where
        // matching against it would cost a request per cached match to verify.
        if !ended {
            prefetch(backend, sections, workers);
        }
        // A batch that starts with many paths waiting reads what they will look up into
        // memory first, all sections and plugins at once, rather than when the look-ups
        // reach that count mid-batch (its paths then waited on SQLite meanwhile).
        let deadline = Instant::now() + HOLD_WAIT;
        while !ended && head.len() < HOLD_AFTER {
            match events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Event::Path(i, p)) => head.push((i, p)),
                Ok(Event::End) => ended = true,
                Ok(Event::Done(_)) => unreachable!("nothing was dispatched yet"),
                Err(_) => break,
            }
        }
        if head.len() >= HOLD_AFTER {
            hold(plugins, backend, sections);
        }

        let mut job_tx = Some(job_tx);
        let mut queue: Vec<(usize, Input)> = head;
        let mut dispatched = 0usize;
        let mut pending: BTreeMap<usize, Answer> = BTreeMap::new();
        let mut next = 0usize;
        loop {
            // Hand waiting paths to the workers: several per chunk when many wait, but
            // never fewer chunks than workers, and never hold a path back.
            if !queue.is_empty()
                && let Some(tx) = &job_tx
            {
                let size = queue.len().div_ceil(workers).clamp(1, CHUNK);
                for chunk in std::mem::take(&mut queue).chunks(size) {
                    dispatched += chunk.len();
                    let _ = tx.send((chunk.to_vec(), Instant::now()));
                }
            }
            if ended {
                // No more input: let idle workers stop once the queue is empty.
                job_tx = None;
                if next == dispatched {
                    break;
                }
            }
            let Ok(first) = events.recv() else { break };
            let mut handle = |event: Event| match event {
                Event::Path(i, p) => queue.push((i, p)),
                Event::End => ended = true,
                Event::Done(answers) => {
                    for a in answers {
                        pending.insert(a.index, a);
                    }
                    while let Some(mut a) = pending.remove(&next) {
                        next += 1;
                        a.more_ready = pending.contains_key(&next);
                        emit(a);
                    }
                    let (lock, cvar) = &*emitted;
                    *lock.lock().unwrap_or_else(|p| p.into_inner()) = next;
                    cvar.notify_all();
                }
            };
            handle(first);
            // Take whatever else is already waiting before handing paths out.
            while let Ok(event) = events.try_recv() {
                handle(event);
            }
        }
        drop(job_tx);
    });
}

/// The answer for a line that is not a usable path.
fn input_error(shown: String, why: String) -> PathMatch {
    PathMatch {
        path: shown,
        outcome: crate::matching::Outcome::Error,
        item: None,
        candidates: Vec::new(),
        plugin: String::new(),
        error: Some(crate::matching::Failure::Input(why)),
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
            scope.spawn(|| backend.hold_snapshot(s.id));
            for p in plugins {
                let by = crate::cache::Decider::new(&p.identity().name, &p.identity().digest);
                scope.spawn(move || backend.matches.hold(s.id, &by));
            }
        }
    });
    tracing::debug!(
        "sections and match entries held in {:.0?}",
        started.elapsed()
    );
}

/// Refreshes the missing or stale snapshots of `sections`, several at a time.
fn prefetch(backend: &Arc<Backend>, sections: &[Section], workers: usize) {
    if backend.plex.is_offline() {
        return;
    }
    let stale: Vec<&Section> = sections
        .iter()
        .filter(|s| {
            s.kind.leaf_type().is_some() && !backend.snapshot(s.id).is_some_and(|(_, fresh)| fresh)
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
                    if let Err(e) = backend.refresh_if_stale(s.id) {
                        // The plugin will meet the same error per path and report it there.
                        tracing::info!("cannot list section {:?} ahead of the batch: {e}", s.title);
                    }
                }
            });
        }
    });
}
