//! The engine: what every door into plexmatch opens — the command line today, a service
//! and a Python package next. One [`EngineOptions`] value says everything (the server, the
//! data dir and its cache policy, the plugin chain and its settings, the sections, the
//! limits); [`Engine::open`] finds out which server it is, opens that server's caches, loads
//! the plugins and resolves the sections once; then paths are matched one at a time
//! ([`Engine::match_path`]) or as a stream answered in input order on every core
//! ([`Engine::match_stream`]), however long the engine lives: sections are brought up to
//! date as their TTL passes.

pub mod caches;
pub mod kit;
pub(crate) mod plugins;
mod server;

pub use crate::backend::LookupMode;
pub use crate::batch::MAX_WORKERS;
pub use server::{Server, SnapshotState};

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Result;

use crate::backend::{Backend, CachePolicy, Refreshed};
use crate::batch::{self, Answer, BatchOptions};
use crate::chain::Chain;
use crate::input::Input;
use crate::matching::PathMatch;
use crate::plex::{PlexConfig, Section};
use crate::runtime::{Limits, Plugin};

/// Everything an engine is opened with.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The Plex server and how to reach it (`offline`: send nothing, trust the caches).
    pub plex: PlexConfig,
    /// Where the caches, locks and compiled plugins are.
    pub data_dir: PathBuf,
    /// Cache lifetimes and sizes.
    pub cache: CachePolicy,
    /// The plugin chain, tried in order: built-in names or component files (empty: the
    /// built-in `default`).
    pub plugins: Vec<String>,
    /// The plugins' settings, `key` or `plugin:key`, with their values.
    pub settings: Vec<(String, String)>,
    /// Where each setting from a configuration file was given (`FILE, line N`), by key.
    pub setting_places: Vec<(String, String)>,
    /// What a plugin may use per call.
    pub limits: Limits,
    /// Sections to match in, by title or id (empty: every movie and show section).
    pub sections: Vec<String>,
    /// Plex requests plugins may cause while the engine is open (0: no limit).
    pub requests_per_run: u64,
    /// Worker threads for a stream of paths.
    pub workers: usize,
    /// Bring the chosen sections up to date when the engine opens, even if fresh.
    pub refresh: bool,
    /// Where compiled plugins are kept (default: `plugins/` in the data dir).
    pub plugins_dir: Option<PathBuf>,
    /// How the caller's paths become the server's (`--map FROM=TO`).
    pub maps: crate::paths::PathMaps,
}

impl EngineOptions {
    /// Options for `plex` with the data dir `data_dir` and every default: the built-in
    /// plugin, every movie and show section, one worker per core.
    pub fn new(plex: PlexConfig, data_dir: impl Into<PathBuf>) -> EngineOptions {
        EngineOptions {
            plex,
            data_dir: data_dir.into(),
            cache: CachePolicy::default(),
            plugins: Vec::new(),
            settings: Vec::new(),
            setting_places: Vec::new(),
            limits: Limits::default(),
            sections: Vec::new(),
            requests_per_run: crate::backend::DEFAULT_RUN_REQUEST_BUDGET,
            workers: BatchOptions::default().workers,
            refresh: false,
            plugins_dir: None,
            maps: crate::paths::PathMaps::default(),
        }
    }

    /// Options from resolved settings (see [`crate::options`]); `offline`: send nothing
    /// to Plex and answer from the caches whatever their age.
    pub fn from_settings(s: &crate::options::Settings, offline: bool) -> Result<EngineOptions> {
        let (plex, data_dir) = s.connection(offline)?;
        let chain = s.plugins.len().max(1);
        let wanted = s
            .workers
            .unwrap_or_else(default_workers)
            .clamp(1, MAX_WORKERS);
        Ok(EngineOptions {
            cache: s.policy(),
            plugins: s.plugins.clone(),
            settings: s.plugin_settings.clone(),
            setting_places: s.setting_places.clone(),
            limits: s.limits(),
            sections: s.sections.clone(),
            requests_per_run: s.requests_per_run,
            workers: s.workers_within_memory(wanted, chain)?,
            maps: s.maps.clone(),
            ..EngineOptions::new(plex, data_dir)
        })
    }
}

/// Worker threads when none are asked for: one per core, within [`MAX_WORKERS`].
pub fn default_workers() -> usize {
    BatchOptions::default().workers
}

/// Whether a long first compile of a large plugin is said on stderr (on by default).
pub fn announce_compiles(on: bool) {
    crate::runtime::ANNOUNCE_COMPILES.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// The answer for `path` when it cannot be matched at all, with `failure` (a run that
/// cannot reach Plex still answers every path it reads).
pub fn failed_answer(path: impl Into<String>, failure: crate::matching::Failure) -> PathMatch {
    batch::failed(path.into(), failure)
}

/// An open engine: one server's caches, a loaded plugin chain and the chosen sections.
pub struct Engine {
    server: Server,
    backend: Arc<Backend>,
    plugins: Vec<Arc<Plugin>>,
    sections: Vec<Section>,
    workers: usize,
    /// Chains (one plugin instance each) ready for single paths, reused between calls.
    idle: Mutex<Vec<Chain>>,
    /// How the caller's paths become the server's, and what the rules did.
    mapping: Arc<crate::paths::Mapping>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.mapping.warn_unknown();
    }
}

impl Engine {
    /// Opens the engine: the server's identity (remembered, or one request that also
    /// checks the token), its caches, the plugins (their settings checked) and the sections.
    pub fn open(options: EngineOptions) -> Result<Engine> {
        let mut backend = Backend::open(&options.plex, &options.data_dir, options.cache)?;
        if let Some(dir) = &options.plugins_dir {
            backend = backend.with_plugins_dir(dir.clone());
        }
        Engine::with_backend(Arc::new(backend), &options)
    }

    /// The engine over an opened `server`, as `options` say (its server and data dir
    /// options aside).
    pub fn with_server(server: &Server, options: &EngineOptions) -> Result<Engine> {
        Engine::with_backend(server.backend.clone(), options)
    }

    /// The engine over an opened `backend` (its server and caches), as `options` say.
    pub(crate) fn with_backend(backend: Arc<Backend>, options: &EngineOptions) -> Result<Engine> {
        backend
            .gateway
            .set_run_request_budget(options.requests_per_run);
        backend.gateway.plex.stop_listings_on(&crate::input::STOP);
        let plugins = plugins::plugins(
            &options.plugins,
            &options.settings,
            &options.setting_places,
            options.limits,
            &backend,
        )?;
        let all = backend.snapshots.sections()?;
        let sections = crate::sections::resolve(&options.sections, &all)?;
        if options.refresh {
            for s in sections.iter().filter(|s| s.kind.leaf_type().is_some()) {
                backend.snapshots.force_refresh(s.id, false)?;
            }
        }
        Ok(Engine {
            server: Server {
                backend: backend.clone(),
            },
            backend,
            plugins,
            sections,
            workers: options.workers.clamp(1, batch::MAX_WORKERS),
            idle: Mutex::new(Vec::new()),
            mapping: Arc::new(crate::paths::Mapping::new(options.maps.clone())),
        })
    }

    /// The sections paths are matched in.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The plugin chain, in order, as each plugin describes itself.
    pub fn plugins(&self) -> Vec<kit::PluginInfo> {
        self.plugins.iter().map(|p| kit::info_of(p)).collect()
    }

    /// The server: its caches and Plex client (sections, pins, refreshes).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Plex requests sent since the engine opened.
    pub fn requests(&self) -> u64 {
        self.backend.gateway.plex.requests()
    }

    /// The answer for one path (with an explanation when `explain`). A path that cannot be
    /// matched as given is answered with its input error.
    pub fn match_path(&self, path: &str, explain: bool) -> PathMatch {
        self.match_path_in(path, &self.sections, explain)
    }

    /// The answer for one path in the sections `selectors` name (titles or ids; none:
    /// every movie and show section) rather than the engine's.
    pub fn match_in(&self, path: &str, selectors: &[String], explain: bool) -> Result<PathMatch> {
        let sections = self.server.choose(selectors)?;
        Ok(self.match_path_in(path, &sections, explain))
    }

    /// [`Engine::match_path`] in the given sections rather than the engine's.
    pub fn match_path_in(&self, path: &str, sections: &[Section], explain: bool) -> PathMatch {
        let path = match Input::from(path) {
            Input::Path(p) => p,
            Input::Invalid { shown, why } => {
                return batch::failed(shown, crate::matching::Failure::Input(why));
            }
        };
        let chain = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut chain = chain.unwrap_or_else(|| {
            Chain::new(&self.plugins, &self.backend).with_mapping(Some(self.mapping.clone()))
        });
        chain.set_explain(explain);
        let answer = chain.match_path(&path, sections);
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(chain);
        answer
    }

    /// Tells the engine how many paths are coming (`None`: not known), so that a section
    /// with no snapshot is listed at once for a large batch rather than looked up path by
    /// path. A stream of known length says so itself.
    pub fn expect_paths(&self, n: Option<u64>) {
        self.backend.snapshots.set_expected_paths(n);
    }

    /// Matches every path of `paths` on the engine's workers and hands each answer to
    /// `sink` in input order, as soon as it and every earlier one are ready.
    pub fn match_stream<P: Into<Input>>(
        &self,
        paths: impl Iterator<Item = P> + Send,
        explain: bool,
        sink: impl FnMut(Answer),
    ) {
        self.match_stream_in(paths, &self.sections, explain, sink);
    }

    /// The sections `selectors` name (titles or ids; none: the engine's own), for
    /// [`Engine::match_stream_in`] and [`Engine::refresh_in`]; an unknown one is an error
    /// naming it and the sections there are.
    pub fn choose(&self, selectors: &[String]) -> Result<Vec<Section>> {
        if selectors.is_empty() {
            return Ok(self.sections.clone());
        }
        self.server.choose(selectors)
    }

    /// [`Engine::match_stream`] in the given sections rather than the engine's.
    pub fn match_stream_in<P: Into<Input>>(
        &self,
        paths: impl Iterator<Item = P> + Send,
        sections: &[Section],
        explain: bool,
        sink: impl FnMut(Answer),
    ) {
        let options = BatchOptions {
            workers: self.workers,
            explain,
            mapping: Some(self.mapping.clone()),
            ..BatchOptions::default()
        };
        batch::run(&self.plugins, &self.backend, sections, paths, options, sink);
        self.mapping.warn_unknown();
    }

    /// Proposes the `--map` rules that turn `paths` (the caller's) into files Plex has:
    /// for each path, the items of the engine's sections holding a file of its name (by
    /// look-up or snapshot, as matching finds them) are the evidence (see
    /// [`crate::paths::suggest`]). A section Plex fails for is an error.
    pub fn suggest_maps(&self, paths: &[String]) -> Result<Vec<crate::paths::Suggestion>> {
        self.expect_paths(Some(paths.len() as u64));
        let mut evidence = Vec::with_capacity(paths.len());
        for path in paths {
            let Some(name) = plexmatch_matchkit::file_name(path) else {
                continue;
            };
            let mut files = Vec::new();
            for s in self
                .sections
                .iter()
                .filter(|s| s.kind.leaf_type().is_some())
            {
                let (found, _) = self.backend.snapshots.holders(s.id, name);
                let key = plexmatch_matchkit::name_key(name);
                files.extend(found?.into_iter().flat_map(|i| i.files).filter(|f| {
                    plexmatch_matchkit::file_name(f)
                        .is_some_and(|n| plexmatch_matchkit::name_key(n) == key)
                }));
            }
            evidence.push((path.clone(), files));
        }
        Ok(crate::paths::suggest(&evidence))
    }

    /// Brings the chosen sections' snapshots up to date now (`full`: list them in full);
    /// each section with what was done (`None`: another process just did it).
    pub fn refresh(&self, full: bool) -> Result<Vec<(Section, Option<Refreshed>)>> {
        self.refresh_in(&self.sections, full)
    }

    /// [`Engine::refresh`] of the given sections.
    pub fn refresh_in(
        &self,
        sections: &[Section],
        full: bool,
    ) -> Result<Vec<(Section, Option<Refreshed>)>> {
        let mut done = Vec::new();
        for s in sections.iter().filter(|s| s.kind.leaf_type().is_some()) {
            done.push((s.clone(), self.backend.snapshots.force_refresh(s.id, full)?));
        }
        Ok(done)
    }

    /// Pins `path` to item `rating_key` of one of the engine's sections, checked against
    /// Plex (see [`Server::pin`]); the pin, and the one it replaced.
    pub fn pin(
        &self,
        path: &str,
        rating_key: &str,
        force: bool,
    ) -> Result<(crate::cache::Pin, Option<crate::cache::Pin>)> {
        self.server.pin(&self.sections, path, rating_key, force)
    }

    /// Removes the pin of `path`; the pin it was, if any.
    pub fn unpin(&self, path: &str) -> Result<Option<crate::cache::Pin>> {
        self.server.unpin(path)
    }

    /// Writes this engine's cache counters and last uses to the cache files.
    pub fn flush(&self) {
        self.backend.flush();
    }
}
