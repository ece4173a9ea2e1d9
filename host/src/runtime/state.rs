//! What a plugin's store holds: its empty WASI context, its limits, the CPU clock that
//! leaves host-call time out, and its handle on the host's services.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::output::CapturedOutput;
use crate::backend::Backend;
use crate::plex::Item;

/// Who the plugin is, and its settings from the user's configuration.
#[derive(Debug, Clone, Default)]
pub struct PluginIdentity {
    /// The plugin's name (from its `info()`), used to tag its log lines.
    pub name: String,
    pub settings: Vec<(String, String)>,
}

/// The CPU time a call may use, with time spent inside host calls not charged.
#[derive(Debug)]
pub struct CallClock {
    pub budget: Duration,
    started: Instant,
    in_host: Duration,
    /// Set when the budget ran out and the call was interrupted.
    pub exceeded: bool,
}

impl CallClock {
    fn new(budget: Duration) -> CallClock {
        CallClock {
            budget,
            started: Instant::now(),
            in_host: Duration::ZERO,
            exceeded: false,
        }
    }

    /// Starts a new call.
    pub fn restart(&mut self) {
        self.started = Instant::now();
        self.in_host = Duration::ZERO;
        self.exceeded = false;
    }

    /// Time the plugin itself has run in this call.
    pub fn used(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.in_host)
    }
}

/// Caps on what a plugin may allocate; records when a cap was hit.
#[derive(Debug)]
pub struct Limiter {
    pub memory_bytes: usize,
    pub memory_exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.memory_exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The data of one plugin store.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    pub clock: CallClock,
    pub backend: Arc<Backend>,
    pub identity: Arc<PluginIdentity>,
    pub stderr: CapturedOutput,
    /// Items the host handed to the plugin during the current call, by rating key: a
    /// plugin's claims about them are checked against these.
    pub served: HashMap<String, Item>,
    /// Match-cache entries the plugin read during the current call, by section: the
    /// host need not write back an answer the cache already holds.
    pub cached_matches: HashMap<u32, crate::cache::CachedMatch>,
}

impl State {
    /// A store's data with nothing granted: no preopened dirs, no sockets, no env, no args.
    pub fn new(
        backend: Arc<Backend>,
        identity: Arc<PluginIdentity>,
        cpu_budget: Duration,
        memory_bytes: usize,
    ) -> State {
        let stderr = CapturedOutput::new();
        let stdout = CapturedOutput::sharing(&stderr);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .stdout(stdout)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        State {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes,
                memory_exceeded: false,
            },
            clock: CallClock::new(cpu_budget),
            backend,
            identity,
            stderr,
            served: HashMap::new(),
            cached_matches: HashMap::new(),
        }
    }

    /// Runs a host function, keeping its duration off the plugin's CPU budget.
    pub fn host_call<R>(&mut self, f: impl FnOnce(&mut State) -> R) -> R {
        let started = Instant::now();
        let r = f(self);
        self.clock.in_host += started.elapsed();
        r
    }

    /// Remembers items handed to the plugin.
    pub fn serve<'a>(&mut self, items: impl IntoIterator<Item = &'a Item>) {
        for i in items {
            self.served.insert(i.rating_key.clone(), i.clone());
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
