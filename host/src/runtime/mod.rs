//! The sandbox: one wasmtime engine, plugins compiled once, and instances that run each
//! call under a CPU deadline and a memory cap.

pub mod compile_cache;
pub mod contract;
pub mod settings;
pub(crate) mod v0_1;

pub use crate::wit::{bindings, bindings_v0_1};

mod answer;
pub use answer::{Answer, Claim};
mod failure;
mod wasi_http;
mod wasm_engine;
pub use failure::PluginFailure;
use failure::{classify, explain};
pub use crate::trace::{Step, Verified};
use wasi_http::refuse_http;
pub use wasm_engine::{POOLED_MEMORY_MAX, engine, engine_for};


use std::sync::Arc;

use anyhow::Result;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Engine, Store, UpdateDeadline};

use crate::backend::Backend;
use bindings::Plugin as PluginWorld;
use bindings::exports::plexmatch::plugin::matcher::{PluginInfo, Setting};
use bindings::plexmatch::plugin::types::{MatchError, Section};
pub use compile_cache::DEFAULT_LIMIT as COMPILED_DEFAULT_LIMIT;
pub use compile_cache::Wasm;
pub use crate::capabilities::{PluginIdentity, State};

pub use crate::capabilities::{
    DEFAULT_CPU_DEADLINE, DEFAULT_REQUESTS_PER_CALL, DEFAULT_WALL_LIMIT, Limits,
};

/// Whether a long first compile is announced on stderr (off for `match --quiet`).
pub static ANNOUNCE_COMPILES: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(true);

/// Components from this size on get their first compile announced.
const ANNOUNCE_FROM_BYTES: usize = 1 << 20;

/// A compiled plugin, ready to instantiate cheaply.
pub struct Plugin {
    pre: Pre,
    declared_settings: Vec<Setting>,
    readiness: compile_cache::Readiness,
    declared: contract::Declared,
    identity: Arc<PluginIdentity>,
    info: PluginInfo,
    limits: Limits,
    backend: Arc<Backend>,
}

impl Plugin {
    /// Compiles a component from its bytes (`origin` names it in errors) and reads its `info()`.
    pub fn load(
        origin: &str,
        wasm: &[u8],
        settings: Vec<(String, String)>,
        limits: Limits,
        backend: Arc<Backend>,
    ) -> Result<Plugin> {
        Plugin::load_from(origin, Wasm::Bytes(wasm), settings, limits, backend)
    }

    /// [`Plugin::load`] of a component given as bytes or as a file; a file's bytes are read
    /// (and hashed) only when the compiled-plugin cache does not know it.
    pub fn load_from(
        origin: &str,
        wasm: Wasm<'_>,
        settings: Vec<(String, String)>,
        limits: Limits,
        backend: Arc<Backend>,
    ) -> Result<Plugin> {
        let engine = engine_for(limits.memory_bytes);
        let unreadable = |e: std::io::Error| anyhow::anyhow!("cannot read plugin {origin}: {e}");
        let header = wasm.header().map_err(unreadable)?;
        let size = wasm.size().map_err(unreadable)?;
        if header.len() < 8 || !header.starts_with(b"\0asm") {
            anyhow::bail!(
                "plugin {origin} is not a WebAssembly file ({size} bytes, no \\0asm header)"
            );
        }
        if header.get(4..8) == Some(&[1, 0, 0, 0]) {
            anyhow::bail!(
                "plugin {origin} is a core WebAssembly module, not a component: build it for wasm32-wasip2"
            );
        }
        let cache_dir = backend.plugins_dir.clone();
        let digest = wasm.digest(Some(&cache_dir)).map_err(unreadable)?;
        // A large plugin (Python, JavaScript: 12-18 MB) takes seconds to compile the first
        // time: say so rather than pause without a word.
        let announced = size >= ANNOUNCE_FROM_BYTES as u64
            && ANNOUNCE_COMPILES.load(std::sync::atomic::Ordering::Relaxed);
        let announce = || {
            if announced {
                eprintln!(
                    "compiling plugin {} ({:.1} MB, first use)…",
                    crate::text::escape_controls(origin),
                    size as f64 / 1e6
                );
            }
        };
        let (component, readiness) = compile_cache::load(
            engine,
            wasm,
            &digest,
            Some(&cache_dir),
            backend.policy.compiled_limit,
            announce,
        )
        .map_err(|e| {
            explain(
                e,
                format!(
                    "plugin {origin} is not a valid WebAssembly component (truncated or damaged?)"
                ),
            )
        })?;
        // The contract version is checked before anything of the plugin runs.
        let declared = contract::declared(engine, &component);
        contract::check(origin, &declared).map_err(anyhow::Error::msg)?;
        let mut linker: Linker<State> = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|e| explain(e, "cannot link WASI".into()))?;
        PluginWorld::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .and_then(|()| {
                bindings_v0_1::Plugin::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            })
            .map_err(|e| explain(e, "cannot link the host interfaces".into()))?;
        // A plugin may never reach the network, but JavaScript components built with the
        // tool's defaults import wasi:http: its functions refuse by trapping, should one
        // ever be called. Any other import the host lacks is still named by the linker.
        if declared.imports.iter().any(|i| i.starts_with("wasi:http/")) {
            refuse_http(engine, &mut linker, &component)
                .map_err(|e| explain(e, "cannot stub wasi:http".into()))?;
            tracing::debug!("plugin {origin} imports wasi:http: every call to it is refused");
        }
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            explain(
                e,
                format!("plugin {origin} needs imports this host does not provide"),
            )
        })?;
        let series_0_1 = declared
            .version
            .is_some_and(|v| v.major == 0 && v.minor == 1);
        let pre = if series_0_1 {
            bindings_v0_1::PluginPre::new(pre).map(Pre::V0_1)
        } else {
            CurrentPre::new(pre).map(Pre::Current)
        }
        .map_err(|e| {
            explain(
                e,
                format!("plugin {origin} does not export the plexmatch matcher interface"),
            )
        })?;
        if announced && let compile_cache::Readiness::Compiled(took) = readiness {
            eprintln!(
                "compiled plugin {} in {took:.1?}; later starts load it from {}",
                crate::text::escape_controls(origin),
                cache_dir.display()
            );
        }
        let mut plugin = Plugin {
            pre,
            readiness,
            declared,
            identity: Arc::new(PluginIdentity {
                name: crate::text::escape_controls(origin).into_owned(),
                digest: digest.clone(),
                settings: settings.clone(),
            }),
            info: PluginInfo {
                name: origin.to_owned(),
                version: String::new(),
                description: String::new(),
            },
            declared_settings: Vec::new(),
            limits,
            backend,
        };
        let mut inst = plugin.instantiate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let info = inst.info().map_err(|e| anyhow::anyhow!("{e}"))?;
        let declared_settings: Vec<Setting> = inst
            .declared_settings()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_iter()
            .map(|d| Setting {
                name: crate::text::escape_controls(&crate::text::clip_bytes(&d.name, 64))
                    .into_owned(),
                description: crate::text::escape_controls(&crate::text::clip_bytes(
                    &d.description,
                    512,
                ))
                .into_owned(),
                ..d
            })
            .collect();
        // The user's values are checked against the declaration; declared defaults fill in.
        let settings = settings::effective(origin, settings, &declared_settings)?;
        // What a plugin says about itself is shown and logged: never raw, never huge.
        let clean = |s: &str, max: usize| {
            crate::text::escape_controls(&crate::text::clip_bytes(s, max)).into_owned()
        };
        let info = PluginInfo {
            name: clean(&info.name, 64),
            version: clean(&info.version, 64),
            description: clean(&info.description, 512),
        };
        plugin.identity = Arc::new(PluginIdentity {
            name: info.name.clone(),
            digest,
            settings,
        });
        plugin.info = info;
        plugin.declared_settings = declared_settings;
        Ok(plugin)
    }

    /// The settings the plugin declares (none for a plugin built for contract 0.1).
    pub fn declared_settings(&self) -> &[Setting] {
        &self.declared_settings
    }

    /// Whether the plugin declares its settings (contract 0.2 on): a 0.1 plugin may read any.
    pub fn declares_settings(&self) -> bool {
        matches!(self.pre, Pre::Current(..))
    }

    /// The plugin's `info()`.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Whether it was compiled now or loaded compiled, and how long that took.
    pub fn readiness(&self) -> compile_cache::Readiness {
        self.readiness
    }

    /// The contract version it was built for, and its imports and exports.
    pub fn declared(&self) -> &contract::Declared {
        &self.declared
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Who decided, as the match cache records it: the plugin's name and digest.
    pub fn identity(&self) -> &PluginIdentity {
        &self.identity
    }

    /// The limits calls run under.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// A fresh instance in its own store.
    pub fn instantiate(&self) -> Result<Instance, PluginFailure> {
        let state = State::new(&self.backend, Arc::clone(&self.identity), self.limits);
        let engine = match &self.pre {
            Pre::Current(p) => p.pre.engine(),
            Pre::V0_1(p) => p.engine(),
        };
        let mut store = Store::new(engine, state);
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_callback(|mut ctx| {
            // Runs on the thread executing the plugin, every tick: the thread's CPU
            // time is the plugin's (host calls subtracted).
            let clock = &mut ctx.data_mut().clock;
            if clock.used() >= clock.budget {
                clock.exceeded = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            if clock.past_wall_limit() {
                clock.wall_exceeded = true;
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::Continue(1))
        });
        store.set_epoch_deadline(1);
        store.data_mut().clock.restart();
        let bindings = match &self.pre {
            Pre::Current(p) => p.instantiate(&mut store),
            Pre::V0_1(p) => p.instantiate(&mut store).map(World::V0_1),
        }
        .map_err(|e| classify(&mut store, &self.identity.name, e, true))?;
        Ok(Instance {
            store,
            bindings,
            name: self.identity.name.clone(),
        })
    }
}

/// A compiled plugin ready to instantiate, by the contract series it was built for.
enum Pre {
    Current(CurrentPre),
    V0_1(bindings_v0_1::PluginPre<State>),
}

/// A plugin of the current series ready to instantiate: its bindings' export indices,
/// and its `find`, which the host calls with its own view of the answer ([`Answer`]).
struct CurrentPre {
    pre: wasmtime::component::InstancePre<State>,
    indices: bindings::PluginIndices,
    find: wasmtime::component::ComponentExportIndex,
}

/// `find` as the host calls it: its answer read as far as the host uses it.
type FindFunc<'a> = wasmtime::component::TypedFunc<
    (&'a Section, &'a str),
    (Result<answer::LiftedOutcome, MatchError>,),
>;

impl CurrentPre {
    fn new(pre: wasmtime::component::InstancePre<State>) -> wasmtime::Result<CurrentPre> {
        let component = pre.component();
        let find = component
            .get_export_index(None, MATCHER_EXPORT)
            .and_then(|i| component.get_export_index(Some(&i), "find"))
            .ok_or_else(|| wasmtime::format_err!("no export {MATCHER_EXPORT}#find"))?;
        let indices = bindings::PluginIndices::new(&pre)?;
        Ok(CurrentPre { pre, indices, find })
    }

    fn instantiate(&self, store: &mut Store<State>) -> wasmtime::Result<World> {
        let instance = self.pre.instantiate(&mut *store)?;
        let world = self.indices.load(&mut *store, &instance)?;
        let find = instance
            .get_func(&mut *store, self.find)
            .ok_or_else(|| wasmtime::format_err!("no export {MATCHER_EXPORT}#find"))?;
        // Type-checked once here: each call then skips the check (`Instance::find`).
        let _: FindFunc<'_> = find.typed(&*store)?;
        Ok(World::Current(world, find))
    }
}

/// The matcher interface's export name in the current contract.
const MATCHER_EXPORT: &str = "plexmatch:plugin/matcher@0.2.1";

/// An instance's exports, by contract series (with `find` for the current one).
enum World {
    Current(PluginWorld, wasmtime::component::Func),
    V0_1(bindings_v0_1::Plugin),
}

/// A live plugin instance. After a failure it must be dropped: wasmtime refuses further calls.
pub struct Instance {
    store: Store<State>,
    bindings: World,
    name: String,
}

impl Instance {
    /// Calls `info()`.
    pub fn info(&mut self) -> Result<PluginInfo, PluginFailure> {
        self.begin_call();
        let r = match &self.bindings {
            World::Current(b, _) => b.plexmatch_plugin_matcher().call_info(&mut self.store),
            World::V0_1(b) => b
                .plexmatch_plugin_matcher()
                .call_info(&mut self.store)
                .map(v0_1::info),
        };
        let r = r.map_err(|e| classify(&mut self.store, &self.name, e, false));
        self.end_call();
        r
    }

    /// Calls `declared-settings()` (contract 0.2 on; none before).
    pub fn declared_settings(&mut self) -> Result<Vec<Setting>, PluginFailure> {
        if matches!(self.bindings, World::V0_1(_)) {
            return Ok(Vec::new());
        }
        self.begin_call();
        let World::Current(b, _) = &self.bindings else {
            unreachable!("checked above")
        };
        let r = b
            .plexmatch_plugin_matcher()
            .call_declared_settings(&mut self.store);
        let r = r.map_err(|e| classify(&mut self.store, &self.name, e, false));
        self.end_call();
        r
    }

    /// Calls `find(section, path)`; `original` is the caller's path when the host's path
    /// mapping made `path` of it (what `request.original-path` answers).
    pub fn find(
        &mut self,
        section: &Section,
        path: &str,
        original: Option<&str>,
    ) -> Result<Result<Answer, MatchError>, PluginFailure> {
        self.begin_call();
        let data = self.store.data_mut();
        data.matches.section = Some(section.id);
        data.request = crate::capabilities::RequestState {
            path: path.to_owned(),
            original: original.map(str::to_owned),
        };
        let r = match &self.bindings {
            World::Current(_, find) => {
                // SAFETY: `find` was type-checked against these types when the instance
                // was made (`CurrentPre::instantiate`).
                let find: FindFunc<'_> =
                    unsafe { wasmtime::component::TypedFunc::new_unchecked(*find) };
                find.call(&mut self.store, (section, path))
                    .map(|(r,)| r.map(Answer::from))
            }
            World::V0_1(b) => b
                .plexmatch_plugin_matcher()
                .call_find(&mut self.store, &v0_1::section(section), path)
                .map(v0_1::answer),
        };
        // Classify before draining stderr: a panic message there explains the trap.
        let r = r.map_err(|e| classify(&mut self.store, &self.name, e, false));
        self.end_call();
        r
    }

    /// The match-cache entry the plugin read for this section during the last call.
    pub fn cached_match(&self, section_id: u32) -> Option<&crate::cache::CachedMatch> {
        self.store.data().matches.cached_matches.get(&section_id)
    }

    /// Keeps (or stops keeping) the steps of each call for explanations.
    pub fn set_tracing(&mut self, on: bool) {
        self.store.data_mut().trace = on.then(Vec::new);
    }

    /// The steps of the last call, when tracing.
    pub fn trace(&self) -> &[Step] {
        self.store.data().trace.as_deref().unwrap_or(&[])
    }

    /// Why the last call's Plex calls were refused, if a request budget was spent.
    pub fn budget_spent(&self) -> Option<&str> {
        self.store.data().plex.budget_spent.as_deref()
    }

    /// Takes one Plex request from the last call's budget (the host checking its answer).
    pub fn charge_request(&mut self) -> Result<(), String> {
        self.store.data_mut().charge_request()
    }

    /// The item the host served during the last call under this rating key.
    pub fn served(&self, rating_key: &str) -> Option<&crate::plex::Item> {
        self.store.data().served.get(rating_key)
    }

    /// Takes the item the host served during the last call under this rating key.
    pub fn take_served(&mut self, rating_key: &str) -> Option<crate::plex::Item> {
        self.store.data_mut().served.remove(rating_key)
    }

    fn begin_call(&mut self) {
        self.store.data_mut().begin_call();
        self.store.set_epoch_deadline(1);
    }

    fn end_call(&mut self) {
        let data = self.store.data_mut();
        let out = data.stderr.drain();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            if data.log.line_allowed() {
                let line = crate::text::escape_controls(line);
                tracing::info!(target: "plugin", plugin = %self.name, "{line}");
            }
        }
        if data.log.dropped > 0 {
            tracing::warn!(
                target: "plugin",
                plugin = %self.name,
                "{} more log line(s) of this call dropped (at most {} per call)",
                data.log.dropped,
                crate::capabilities::MAX_LOG_LINES
            );
        }
    }
}
