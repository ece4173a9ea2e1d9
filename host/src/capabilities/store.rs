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

/// Per-call limits of a plugin.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// CPU time one `find` call may use: the thread's own CPU time, so a busy machine or
    /// more workers than cores never stops an honest plugin (time in host calls is not
    /// counted).
    pub cpu_deadline: Duration,
    /// Wall-clock time one call may take, host calls (Plex requests) included.
    pub wall_limit: Duration,
    /// Linear memory a plugin instance may grow to.
    pub memory_bytes: usize,
    /// Plex requests the host makes for a plugin during one `find` call (identical
    /// requests within a run are answered from a memo and not counted).
    pub requests_per_call: u32,
}

/// Default CPU deadline per call.
pub const DEFAULT_CPU_DEADLINE: Duration = Duration::from_secs(5);
/// Default wall-clock limit per call: far above any honest call, which needs a few
/// requests of at most a read timeout (30 s) each only when Plex is slow.
pub const DEFAULT_WALL_LIMIT: Duration = Duration::from_secs(60);
/// Default Plex requests per call: the default plugin needs at most about a dozen
/// (title variants, a listing's refresh counted once, a few checks).
pub const DEFAULT_REQUESTS_PER_CALL: u32 = 40;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            cpu_deadline: DEFAULT_CPU_DEADLINE,
            wall_limit: DEFAULT_WALL_LIMIT,
            memory_bytes: 128 << 20,
            requests_per_call: DEFAULT_REQUESTS_PER_CALL,
        }
    }
}

/// Who the plugin is, and its settings from the user's configuration.
#[derive(Debug, Clone, Default)]
pub struct PluginIdentity {
    /// The plugin's name (from its `info()`, control characters escaped), used to tag its
    /// log lines and its match-cache entries.
    pub name: String,
    /// The first 16 bytes of the component's SHA-256, in hex: which build decided.
    pub digest: String,
    pub settings: Vec<(String, String)>,
}

impl PluginIdentity {
    /// Who decided, as the match cache records it: this plugin's name, build and
    /// settings. A decision made under other settings (a path mapping, a rule switched
    /// off) is another plugin's: it was answered HIGH, unchecked, after the settings
    /// changed, when only a fetched item verified it.
    pub fn decider(&self) -> crate::cache::Decider {
        if self.settings.is_empty() {
            return crate::cache::Decider::new(&self.name, &self.digest);
        }
        use sha2::{Digest, Sha256};
        let mut sorted: Vec<&(String, String)> = self.settings.iter().collect();
        sorted.sort();
        let mut h = Sha256::new();
        for (k, v) in sorted {
            h.update(k.as_bytes());
            h.update([0]);
            h.update(v.as_bytes());
            h.update([0]);
        }
        let settings: String = h.finalize()[..6].iter().map(|b| format!("{b:02x}")).collect();
        crate::cache::Decider::new(&self.name, &format!("{}+{settings}", self.digest))
    }
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`): what a plugin running on
/// this thread has really used, however busy the machine or however many workers share
/// its cores.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// A call's limits: the CPU time its plugin may use (the thread's CPU time less the
/// wall-clock time of its host calls) and
/// the wall-clock time the call may take as a whole (host calls included).
#[derive(Debug)]
pub struct CallClock {
    pub budget: Duration,
    pub wall_limit: Duration,
    started: Instant,
    /// The thread's CPU time when the call started, as far as it is known: read at the
    /// call's first epoch tick, not at its start (a system call per path, 7% of a warm
    /// batch's CPU), the call's wall-clock time until then counted as CPU. That counts at
    /// most one tick (10 ms) of waiting for a core as the plugin's, on the safe side.
    started_cpu: Option<Duration>,
    in_host: Duration,
    /// Set when the CPU budget ran out and the call was interrupted.
    pub exceeded: bool,
    /// Set when the wall-clock limit ran out and the call was interrupted.
    pub wall_exceeded: bool,
}

impl CallClock {
    fn new(budget: Duration, wall_limit: Duration) -> CallClock {
        CallClock {
            budget,
            wall_limit,
            started: Instant::now(),
            started_cpu: None,
            in_host: Duration::ZERO,
            exceeded: false,
            wall_exceeded: false,
        }
    }

    /// Starts a new call (on the thread that will run it).
    pub fn restart(&mut self) {
        self.started = Instant::now();
        self.started_cpu = None;
        self.in_host = Duration::ZERO;
        self.exceeded = false;
        self.wall_exceeded = false;
    }

    /// CPU time the plugin itself has used in this call (see `started_cpu`).
    pub fn used(&mut self) -> Duration {
        let now = thread_cpu_time();
        let started = *self
            .started_cpu
            .get_or_insert_with(|| now.saturating_sub(self.started.elapsed()));
        now.saturating_sub(started).saturating_sub(self.in_host)
    }

    /// Whether the call has taken longer than its wall-clock limit.
    pub fn past_wall_limit(&self) -> bool {
        self.started.elapsed() >= self.wall_limit
    }
}

/// Lines a plugin may log (log calls and output lines together) per call; past it, the
/// rest are counted and reported in one line.
pub const MAX_LOG_LINES: u32 = 1000;

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

/// The data of one plugin store: what every interface shares (the WASI context, the
/// limits and clock, who the plugin is, the items handed to it, the trace), and each
/// interface's own state, owned by its module.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    pub clock: CallClock,
    pub identity: Arc<PluginIdentity>,
    pub stderr: CapturedOutput,
    /// Items the host handed to the plugin during the current call, by rating key: a
    /// plugin's claims about them are checked against these.
    pub served: HashMap<String, Item>,
    /// What the plugin asked of the host during the current call, when explaining.
    pub trace: Option<Vec<crate::trace::Step>>,
    /// `plex`: the gateway and the call's request budget.
    pub plex: super::plex::PlexState,
    /// `library-cache`: the snapshots and what the call read of them.
    pub library: super::library_cache::LibraryState,
    /// `match-cache`: the decisions and the section the call may write for.
    pub matches: super::match_cache::MatchState,
    /// `log`: the call's log lines.
    pub log: super::log::LogState,
    /// `request`: the path of the call in progress, as given and as the caller's.
    pub request: super::request::RequestState,
}

/// Steps of one call kept for an explanation; the rest are counted.
const MAX_TRACE: usize = 40;

impl State {
    /// A store's data with nothing granted: no preopened dirs, no sockets, no env, no args;
    /// each interface gets the service it needs of `backend`.
    pub fn new(backend: &Backend, identity: Arc<PluginIdentity>, limits: Limits) -> State {
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
                memory_bytes: limits.memory_bytes,
                memory_exceeded: false,
            },
            clock: CallClock::new(limits.cpu_deadline, limits.wall_limit),
            plex: super::plex::PlexState::new(backend, limits.requests_per_call),
            library: super::library_cache::LibraryState::new(backend),
            matches: super::match_cache::MatchState::new(backend, identity.decider()),
            log: super::log::LogState::default(),
            request: super::request::RequestState::default(),
            identity,
            stderr,
            served: HashMap::new(),
            trace: None,
        }
    }

    /// Forgets what the last call did: every interface starts the next one afresh.
    pub fn begin_call(&mut self) {
        self.served.clear();
        self.plex.begin_call();
        self.library.begin_call();
        self.matches.begin_call();
        self.log = super::log::LogState::default();
        if let Some(t) = self.trace.as_mut() {
            t.clear();
        }
        self.clock.restart();
    }

    /// Records a step of the current call for its explanation and logs it at debug level
    /// (the step is not even built when neither is wanted).
    pub fn note(&mut self, step: impl FnOnce() -> crate::trace::Step) {
        let logged = tracing::enabled!(tracing::Level::DEBUG);
        if self.trace.is_none() && !logged {
            return;
        }
        let step = step();
        // A plugin's own log line is logged as it is written (target `plugin`), once.
        if logged && !matches!(step, crate::trace::Step::Log { .. }) {
            tracing::debug!(plugin = %self.identity.name, "{step}");
        }
        if let Some(t) = self.trace.as_mut() {
            if t.len() < MAX_TRACE {
                t.push(step);
            } else if t.len() == MAX_TRACE {
                t.push(crate::trace::Step::More);
            }
        }
    }

    /// Runs a host function, keeping the time it takes off the plugin's CPU budget. Its
    /// wall-clock time is what is taken off: at least the CPU the host used (so never
    /// charged to the plugin), and reading the thread's CPU clock is a system call (about
    /// 1 µs here) where a monotonic clock read is not (30 ns), on every host call.
    pub fn host_call<R>(&mut self, f: impl FnOnce(&mut State) -> R) -> R {
        let started = Instant::now();
        let r = f(self);
        self.clock.in_host += started.elapsed();
        r
    }

    /// Like [`State::host_call`], for a call that may ask Plex (and so refresh a
    /// snapshot): the call's snapshot bookkeeping is read again afterwards.
    pub fn plex_call<R>(&mut self, f: impl FnOnce(&mut State) -> R) -> R {
        let r = self.host_call(f);
        self.library.forget_reads();
        r
    }

    /// Takes one Plex request from the call's and the run's budgets, or says why not
    /// (also when the call is past its wall-clock limit: it is about to be stopped).
    pub fn charge_request(&mut self) -> Result<(), String> {
        if self.clock.past_wall_limit() {
            return Err(format!(
                "the call is past its wall-clock limit of {:?}; no more Plex requests",
                self.clock.wall_limit
            ));
        }
        self.plex.charge(&self.identity.name)
    }

    /// Remembers items handed to the plugin.
    pub fn serve<'a>(&mut self, items: impl IntoIterator<Item = &'a Item>) {
        for i in items {
            self.served.insert(i.rating_key.clone(), i.clone());
        }
    }

    /// Like [`State::serve`], for items the caller no longer needs (no copy of them).
    pub fn serve_owned(&mut self, items: Vec<Item>) {
        for i in items {
            self.served.insert(i.rating_key.clone(), i);
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
