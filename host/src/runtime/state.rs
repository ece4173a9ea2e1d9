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
    /// The plugin's name (from its `info()`, control characters escaped), used to tag its
    /// log lines and its match-cache entries.
    pub name: String,
    /// The first 16 bytes of the component's SHA-256, in hex: which build decided.
    pub digest: String,
    pub settings: Vec<(String, String)>,
}

impl PluginIdentity {
    /// Who decided, as the match cache records it: this plugin's name and build.
    pub fn decider(&self) -> crate::cache::Decider {
        crate::cache::Decider::new(&self.name, &self.digest)
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

/// The data of one plugin store.
pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: Limiter,
    pub clock: CallClock,
    pub backend: Arc<Backend>,
    pub identity: Arc<PluginIdentity>,
    /// The identity match-cache entries are written and read under.
    pub decider: crate::cache::Decider,
    pub stderr: CapturedOutput,
    /// Items the host handed to the plugin during the current call, by rating key: a
    /// plugin's claims about them are checked against these.
    pub served: HashMap<String, Item>,
    /// Match-cache entries the plugin read during the current call, by section: the
    /// host need not write back an answer the cache already holds.
    pub cached_matches: HashMap<u32, crate::cache::CachedMatch>,
    /// The section the current `find` is about: the only one the plugin may write for.
    pub section: Option<u32>,
    /// Plex requests made for the plugin during the current call, and the most it may make.
    pub requests: u32,
    pub request_budget: u32,
    /// Set when a Plex call was refused because a request budget was spent: what it said.
    pub budget_spent: Option<String>,
    /// Log lines written during the current call, and those dropped past the cap.
    pub log_lines: u32,
    pub log_dropped: u64,
    /// What the plugin asked of the host during the current call, when explaining.
    pub trace: Option<Vec<super::Step>>,
    /// The snapshot's holders of one file name, looked up during the current call (to
    /// verify a match-cache hit): the plugin's own look-up of that name reuses it.
    pub index_memo: Option<(u32, String, Vec<Item>)>,
    /// The sections' snapshot bookkeeping (and freshness) read during the current call:
    /// read once a call, not by every host function that needs it. Forgotten after any
    /// Plex call (which may refresh a snapshot).
    pub snapshots: Vec<(u32, Option<(crate::cache::SnapshotInfo, bool)>)>,
    /// The resident snapshots this instance looks names up in, by section, each with its
    /// look-ups since its use was last recorded: kept from call to call and used while the
    /// snapshot is at that version (no shared lock per look-up).
    residents: Vec<(u32, Option<Arc<crate::cache::ResidentSnapshot>>, u32)>,
}

/// Look-ups in a resident snapshot between two records of its use (for eviction): a
/// shared write per path would cost more than the look-up.
const TOUCH_EVERY: u32 = 256;

/// Steps of one call kept for an explanation; the rest are counted.
const MAX_TRACE: usize = 40;

impl State {
    /// A store's data with nothing granted: no preopened dirs, no sockets, no env, no args.
    pub fn new(
        backend: Arc<Backend>,
        identity: Arc<PluginIdentity>,
        limits: super::Limits,
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
                memory_bytes: limits.memory_bytes,
                memory_exceeded: false,
            },
            clock: CallClock::new(limits.cpu_deadline, limits.wall_limit),
            backend,
            decider: identity.decider(),
            identity,
            stderr,
            served: HashMap::new(),
            cached_matches: HashMap::new(),
            section: None,
            requests: 0,
            request_budget: limits.requests_per_call,
            budget_spent: None,
            log_lines: 0,
            log_dropped: 0,
            trace: None,
            index_memo: None,
            snapshots: Vec::new(),
            residents: Vec::new(),
        }
    }

    /// The section's snapshot bookkeeping and whether it is fresh, read once a call.
    pub fn snapshot(&mut self, section_id: u32) -> Option<(crate::cache::SnapshotInfo, bool)> {
        if let Some((_, known)) = self.snapshots.iter().find(|(id, _)| *id == section_id) {
            return *known;
        }
        let read = self.backend.snapshot(section_id);
        self.snapshots.push((section_id, read));
        read
    }

    /// Items of the section's snapshot (fresh or not) with a file named like `name`;
    /// `None` when there is no snapshot.
    pub fn snapshot_items(&mut self, section_id: u32, name: &str) -> Option<Vec<Item>> {
        let (info, _) = self.snapshot(section_id)?;
        let at = match self.residents.iter().position(|r| r.0 == section_id) {
            Some(at) => at,
            None => {
                self.residents.push((section_id, None, 0));
                self.residents.len() - 1
            }
        };
        let (_, resident, uses) = &mut self.residents[at];
        let items = self
            .backend
            .items_named_in(section_id, &info, resident, name)
            .ok()?;
        if uses.is_multiple_of(TOUCH_EVERY) {
            self.backend.touch_snapshot(section_id);
        }
        *uses = uses.wrapping_add(1);
        Some(items)
    }

    /// Records a step of the current call for its explanation (only when explaining: the
    /// step is not even built otherwise).
    pub fn note(&mut self, step: impl FnOnce() -> super::Step) {
        if let Some(t) = self.trace.as_mut() {
            if t.len() < MAX_TRACE {
                t.push(step());
            } else if t.len() == MAX_TRACE {
                t.push(super::Step::More);
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
        self.snapshots.clear();
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
        if let Some(why) = &self.budget_spent {
            return Err(why.clone());
        }
        let why = if self.requests >= self.request_budget {
            Some(format!(
                "plugin {:?} used its budget of {} Plex requests for one path ([limits] requests_per_path)",
                self.identity.name, self.request_budget
            ))
        } else if !self.backend.charge_run_request() {
            Some(format!(
                "plugins used this run's budget of {} Plex requests ([limits] requests_per_run)",
                self.backend.run_request_budget()
            ))
        } else {
            None
        };
        match why {
            Some(w) => {
                self.budget_spent = Some(w.clone());
                Err(w)
            }
            None => {
                self.requests += 1;
                Ok(())
            }
        }
    }

    /// Counts one log line of the current call; `false` once past [`MAX_LOG_LINES`].
    pub fn log_line_allowed(&mut self) -> bool {
        if self.log_lines >= MAX_LOG_LINES {
            self.log_dropped += 1;
            return false;
        }
        self.log_lines += 1;
        true
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
