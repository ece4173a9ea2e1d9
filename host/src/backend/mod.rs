//! What plugins reach through the host: the Plex server behind the library cache, and
//! the match cache. Cache trouble is logged and treated as a miss — it is only a cache.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cache::{self, LibraryCache, MatchCache};
use crate::plex::{Item, PlexClient, PlexConfig, PlexError, Section};
use crate::servers::{self, ServerIdentity};

mod freshness;
mod refresh;

pub use freshness::{DEFAULT_STALE_LIMIT, MIN_HOLD};
use plexmatch_matchkit::{file_name, has_file_named, has_key, name_key};
pub use refresh::Refreshed;

/// How long an empty title search is trusted. Plex indexes a new file within a minute or
/// two of it appearing; the reference trusted "nothing found" for an hour (W1), while a
/// search repeated every minute for a path that is really missing costs one request.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(60);

/// Cache lifetimes and sizes.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// How long a section snapshot, the section list and a non-empty search stay fresh.
    pub library_ttl: Duration,
    /// How long an empty search answer is trusted: short, so that an item Plex indexes
    /// a moment later is not hidden for an hour (W1).
    pub negative_ttl: Duration,
    /// Size limit of the library cache file, in bytes.
    pub library_limit: u64,
    /// Size limit of the match cache file, in bytes.
    pub match_limit: u64,
    /// How long a failure is remembered within a run: a section whose listing or search
    /// failed (or a server that could not be reached) is not asked again for every path
    /// meanwhile; the paths that need it get the same error at once.
    pub failure_backoff: Duration,
    /// A stale snapshot is brought up to date with the items changed since it was taken,
    /// but listed in full after this many such refreshes in a row (0: always in full).
    pub full_listing_every: u32,
    /// How far before the snapshot's newest `updatedAt` changes are asked for: items
    /// stamped a little earlier than others that were already listed (a server clock
    /// stepped back, a scan committing late) are still seen.
    pub refresh_margin: Duration,
    /// Size limit of the compiled-plugin cache (`plugins/` in the data dir), in bytes.
    pub compiled_limit: u64,
    /// The oldest a snapshot may be to keep answering from it while Plex cannot be asked
    /// during a run (stale-while-error); older, the paths that need it get the Plex error.
    pub stale_limit: Duration,
}

/// Default library TTL. Bringing a stale snapshot up to date costs two requests when
/// little changed (`plexmatch bench refresh`), so snapshots are trusted for minutes, not
/// the hour the reference used: a deletion or a moved file on the server is seen within
/// this time (BENCHMARKS.md, README "Freshness").
pub const DEFAULT_LIBRARY_TTL: Duration = Duration::from_secs(300);

/// Default incremental refreshes between full listings: with the default TTL, a section
/// in constant use is listed in full about every two hours, a backstop for changes no
/// `updatedAt` shows.
pub const DEFAULT_FULL_LISTING_EVERY: u32 = 24;

/// Default [`CachePolicy::refresh_margin`]: ten minutes.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(600);

/// How long a failed section (or an unreachable server) is not asked again: long enough
/// that a batch of thousands of paths costs one failed listing, short enough that a
/// server back after a restart is used again within the run.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(30);

impl CachePolicy {
    /// How long an answer is trusted: an empty one (no sections, no items, a 404) for the
    /// negative TTL, anything else for the library TTL.
    pub fn ttl_for(&self, empty: bool) -> Duration {
        if empty {
            self.negative_ttl
        } else {
            self.library_ttl
        }
    }
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            library_ttl: DEFAULT_LIBRARY_TTL,
            negative_ttl: NEGATIVE_TTL,
            library_limit: cache::LIBRARY_DEFAULT_LIMIT,
            match_limit: cache::MATCH_DEFAULT_LIMIT,
            failure_backoff: FAILURE_BACKOFF,
            full_listing_every: DEFAULT_FULL_LISTING_EVERY,
            refresh_margin: DEFAULT_REFRESH_MARGIN,
            compiled_limit: crate::runtime::COMPILED_DEFAULT_LIMIT,
            stale_limit: DEFAULT_STALE_LIMIT,
        }
    }
}

/// Plex access and both caches, shared by every plugin instance.
pub struct Backend {
    pub plex: PlexClient,
    pub library: LibraryCache,
    pub matches: MatchCache,
    /// People's decisions (`plexmatch pin`), answered before any plugin is asked.
    pub pinned: cache::Pins,
    /// Where compiled plugins are kept (`plugins/` in the data dir unless set otherwise).
    pub plugins_dir: PathBuf,
    pub policy: CachePolicy,
    /// One lock per section so that concurrent lookups refresh a stale snapshot once.
    refreshing: Mutex<HashMap<u32, Arc<Mutex<()>>>>,
    /// Where the per-section lock files are, which do the same across processes.
    locks_dir: PathBuf,
    /// The data dir (caches, locks, compiled plugins).
    pub data_dir: PathBuf,
    sections: Mutex<Option<Vec<Section>>>,
    /// What this run knows of each snapshot's freshness beyond the cache file: stored
    /// just now, being refreshed, or kept while Plex fails.
    run: freshness::RunFreshness,
    /// Snapshot bookkeeping read recently, by section, and when (every lookup asks for it;
    /// a refresh by another process is seen within [`SNAPSHOT_MEMO`]). No time: a listing
    /// that could not be stored (a full disk, a read-only or broken cache file), held in
    /// `residents` and trusted for the library TTL so that every path does not list the
    /// section again; it is not read from the file.
    snapshot_memo: Mutex<HashMap<u32, MemoSnapshot>>,
    /// The Plex server the caches belong to.
    pub server: ServerIdentity,
    /// The folder of this server's caches and locks.
    pub cache_dir: PathBuf,
    /// Failures remembered within the run.
    failures: Mutex<Failures>,
    /// Whether the section list was listed again this run after a section answered 404.
    relisted: std::sync::atomic::AtomicBool,
    /// Answers to plugins' requests within this run, so that asking twice costs nothing.
    memo: Mutex<Memo>,
    /// Plex requests made for plugins in this run, and the most allowed (0: no limit).
    run_requests: AtomicU64,
    run_budget: AtomicU64,
    /// Snapshots of sections in steady use, held in memory while they are current.
    residents: cache::Residents,
}

/// When a section's snapshot bookkeeping was read (`None`: held in memory, never read
/// from the file), and what it was.
type MemoSnapshot = (Option<Instant>, Option<cache::SnapshotInfo>);

/// Plugins' identical requests within a run, answered once, each with when it was
/// answered: an answer is reused for the TTL its kind of cache entry has (the negative
/// TTL for an empty one), and at least [`MIN_HOLD`], however long the run lives.
#[derive(Default)]
struct Memo {
    searches: HashMap<(u32, String), (Instant, Vec<Item>)>,
    items: HashMap<String, (Instant, Result<Item, PlexError>)>,
}

/// Entries the memo holds before it starts afresh: bounds its memory over a long run.
const MEMO_LIMIT: usize = 50_000;

/// Default Plex requests plugins may cause in one run (`[limits] requests_per_run`).
pub const DEFAULT_RUN_REQUEST_BUDGET: u64 = 20_000;

/// Failures remembered so that they are not repeated for every path.
#[derive(Default)]
struct Failures {
    /// The token was refused: nothing more is asked of the server this run.
    refused: Option<PlexError>,
    /// The server could not be reached (refused connection, timeout), and when.
    server: Option<(Instant, PlexError)>,
    /// Sections whose listing or search failed, and when; [`SECTION_LIST`] for the list.
    sections: HashMap<u32, (Instant, PlexError)>,
}

/// The key under which a failed section list is remembered.
const SECTION_LIST: u32 = u32::MAX;

/// How long this process reuses a section's snapshot bookkeeping without reading it again.
const SNAPSHOT_MEMO: Duration = Duration::from_secs(1);

impl Backend {
    /// Prepares the Plex client, finds out which server it reaches (remembered, or one
    /// request) and opens that server's caches in `data_dir`.
    pub fn open(plex: &PlexConfig, data_dir: &Path, policy: CachePolicy) -> Result<Backend> {
        let client = PlexClient::new(plex)?;
        let server = servers::identify(&client, &plex.url, data_dir, policy.library_ttl)?;
        Backend::with_client(client, server, data_dir, policy)
    }

    /// Like [`Backend::open`], for a server known without asking (tools that need no
    /// Plex server, such as `plugin inspect`).
    pub fn open_for(
        plex: &PlexConfig,
        server: ServerIdentity,
        data_dir: &Path,
        policy: CachePolicy,
    ) -> Result<Backend> {
        Backend::with_client(PlexClient::new(plex)?, server, data_dir, policy)
    }

    fn with_client(
        plex: PlexClient,
        server: ServerIdentity,
        data_dir: &Path,
        policy: CachePolicy,
    ) -> Result<Backend> {
        let cache_dir = servers::prepare(data_dir, &server)?;
        Ok(Backend {
            plex,
            library: LibraryCache::open(&cache_dir, policy.library_limit)?,
            matches: MatchCache::open(&cache_dir, policy.match_limit)?,
            pinned: cache::Pins::open(&cache_dir),
            plugins_dir: data_dir.join("plugins"),
            policy,
            refreshing: Mutex::new(HashMap::new()),
            locks_dir: cache_dir.join("locks"),
            data_dir: data_dir.to_path_buf(),
            sections: Mutex::new(None),
            run: freshness::RunFreshness::new(),
            snapshot_memo: Mutex::new(HashMap::new()),
            server,
            cache_dir,
            failures: Mutex::new(Failures::default()),
            relisted: std::sync::atomic::AtomicBool::new(false),
            memo: Mutex::new(Memo::default()),
            run_requests: AtomicU64::new(0),
            run_budget: AtomicU64::new(DEFAULT_RUN_REQUEST_BUDGET),
            residents: cache::Residents::default(),
        })
    }

    /// The same backend, keeping compiled plugins in `dir` (the plugin kit's scratch
    /// backends use the user's own, so a plugin is compiled once, not per command).
    pub fn with_plugins_dir(mut self, dir: PathBuf) -> Backend {
        self.plugins_dir = dir;
        self
    }

    /// Sets how many Plex requests plugins may cause in this run (0: no limit).
    pub fn set_run_request_budget(&self, n: u64) {
        self.run_budget.store(n, Ordering::Relaxed);
    }

    /// The run's request budget for plugins (0: no limit).
    pub fn run_request_budget(&self) -> u64 {
        self.run_budget.load(Ordering::Relaxed)
    }

    /// Takes one request from the run's budget; `false` when it is spent.
    pub fn charge_run_request(&self) -> bool {
        let budget = self.run_request_budget();
        let used = self.run_requests.fetch_add(1, Ordering::Relaxed);
        if budget != 0 && used >= budget {
            self.run_requests.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Whether a memo entry answered at `at` (`empty`: no items, or a 404) is still reused.
    fn memo_fresh(&self, at: Instant, empty: bool) -> bool {
        self.plex.is_offline() || at.elapsed() < self.policy.ttl_for(empty).max(MIN_HOLD)
    }

    /// A title search already answered in this run, within its TTL.
    pub fn memo_search(&self, section_id: u32, title: &str) -> Option<Vec<Item>> {
        let memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        memo.searches
            .get(&(section_id, name_key(title)))
            .filter(|(at, items)| self.memo_fresh(*at, items.is_empty()))
            .map(|(_, items)| items.clone())
    }

    /// An item already fetched (or found missing) in this run, within its TTL.
    pub fn memo_item(&self, rating_key: &str) -> Option<Result<Item, PlexError>> {
        let memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        memo.items
            .get(rating_key)
            .filter(|(at, r)| self.memo_fresh(*at, r.is_err()))
            .map(|(_, r)| r.clone())
    }

    fn remember(&self, f: impl FnOnce(&mut Memo)) {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if memo.searches.len() + memo.items.len() >= MEMO_LIMIT {
            *memo = Memo::default();
        }
        f(&mut memo);
    }

    /// Whether a request may be sent now: not after the token was refused, nor while the
    /// server or this section (`None`: a request about no section) recently failed.
    fn gate(&self, section: Option<u32>) -> Result<(), PlexError> {
        let f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = &f.refused {
            return Err(e.clone());
        }
        let recent = |(at, e): &(Instant, PlexError)| {
            let age = at.elapsed();
            (age < self.policy.failure_backoff).then(|| {
                e.clone().noted(&format!(
                    "failed {:.0?} ago; not asked again for {:.0?}",
                    age,
                    self.policy.failure_backoff - age
                ))
            })
        };
        if let Some(e) = f.server.as_ref().and_then(recent) {
            return Err(e);
        }
        if let Some(e) = section.and_then(|id| f.sections.get(&id)).and_then(recent) {
            return Err(e);
        }
        Ok(())
    }

    /// Remembers what a failed request says about the server or the section.
    fn note_failure(&self, section: Option<u32>, e: &PlexError) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match e {
            PlexError::Unauthorized(_) => {
                if f.refused.is_none() {
                    tracing::error!("{e}; no further request is sent to the server in this run");
                    f.refused = Some(e.clone().noted(
                        "the token was refused earlier in this run; nothing more was asked",
                    ));
                }
            }
            _ if e.is_unreachable() => f.server = Some((Instant::now(), e.clone())),
            PlexError::NotFound(_) | PlexError::Offline(_) => {}
            _ => {
                if let Some(id) = section {
                    f.sections.insert(id, (Instant::now(), e.clone()));
                }
            }
        }
    }

    /// Sends a request through the gate and remembers its failure.
    fn ask<T>(
        &self,
        section: Option<u32>,
        request: impl FnOnce() -> Result<T, PlexError>,
    ) -> Result<T, PlexError> {
        self.gate(section)?;
        request().inspect_err(|e| self.note_failure(section, e))
    }

    /// One item by rating key, from Plex (through the failure gate); the answer, or a
    /// 404, is remembered for the run.
    pub fn fetch_item(&self, rating_key: &str) -> Result<Item, PlexError> {
        let r = self.ask(None, || self.plex.fetch_item(rating_key));
        if matches!(r, Ok(_) | Err(PlexError::NotFound(_))) {
            self.remember(|m| {
                m.items
                    .insert(rating_key.to_owned(), (Instant::now(), r.clone()));
            });
        }
        r
    }

    /// Every section of the server, from the cache while it is fresh (an empty list only
    /// for the negative TTL).
    pub fn sections(&self) -> Result<Vec<Section>, PlexError> {
        if let Some(s) = self.sections.lock().expect("sections lock").clone() {
            return Ok(s);
        }
        let cached = self.library.sections().unwrap_or_else(|e| {
            tracing::warn!("cannot read the cached section list: {e:#}");
            None
        });
        let fresh = cached.filter(|(s, listed_at)| self.is_fresh_for(*listed_at, s.is_empty()));
        self.library
            .stats
            .record(crate::cache::LookupKind::Sections, fresh.is_some());
        let sections = match fresh {
            Some((s, _)) => s,
            None => {
                let s = self.ask(Some(SECTION_LIST), || self.plex.sections())?;
                if let Err(e) = self.library.store_sections(&s) {
                    tracing::warn!("cannot cache the section list: {e:#}");
                }
                s
            }
        };
        *self.sections.lock().expect("sections lock") = Some(sections.clone());
        Ok(sections)
    }

    /// After a section answered 404, lists the sections again (once per run): the cached
    /// list is out of date.
    fn relist_sections(&self, section_id: u32) {
        if self
            .relisted
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return;
        }
        tracing::info!("section {section_id} answered 404: listing the sections again");
        *self.sections.lock().expect("sections lock") = None;
        if let Err(e) = self.library.forget_sections() {
            tracing::warn!("cannot update the cached section list: {e:#}");
        }
        if let Err(e) = self.sections() {
            tracing::warn!("cannot list the sections again: {e}");
        }
    }

    /// A section's title as this run knows it (quoted), without a request; else its id.
    fn section_title(&self, id: u32) -> String {
        self.sections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .and_then(|all| all.iter().find(|s| s.id == id))
            .map(|s| format!("{:?}", s.title))
            .unwrap_or_else(|| id.to_string())
    }

    /// One section by id.
    pub fn section(&self, id: u32) -> Result<Section, PlexError> {
        self.sections()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| {
                PlexError::NotFound(format!("the server has no library section with id {id}"))
            })
    }

    /// Whether something cached at `at` is still trusted: an empty answer (no sections,
    /// no items) only for the negative TTL, anything else for the library TTL.
    /// Offline, whatever is cached is trusted: it is all there is.
    fn is_fresh_for(&self, at: i64, empty: bool) -> bool {
        self.plex.is_offline()
            || cache::now().saturating_sub(at) < self.policy.ttl_for(empty).as_secs() as i64
    }

    /// The section's snapshot info and whether it is fresh.
    pub fn snapshot(&self, section_id: u32) -> Option<(cache::SnapshotInfo, bool)> {
        let memo = self
            .snapshot_memo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&section_id)
            .copied();
        let read = match memo {
            Some((None, held)) => Ok(held),
            Some((Some(at), info)) if at.elapsed() < SNAPSHOT_MEMO => Ok(info),
            _ => self.library.snapshot_info(section_id).inspect(|info| {
                self.snapshot_memo
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(section_id, (Some(Instant::now()), *info));
            }),
        };
        match read {
            Ok(info) => info.map(|i| {
                let empty = i.item_count == 0;
                (
                    i,
                    self.is_fresh_for(i.refreshed_at, empty) || self.kept(section_id, &i).is_some(),
                )
            }),
            Err(e) => {
                tracing::warn!("cannot read the snapshot of section {section_id}: {e:#}");
                None
            }
        }
    }

    /// Whether a snapshot past its TTL is still used in this run, and why (see [`freshness`]).
    fn kept(&self, section_id: u32, info: &cache::SnapshotInfo) -> Option<freshness::Kept> {
        let empty = info.item_count == 0;
        let ttl = self.policy.ttl_for(empty);
        let refused = self
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refused
            .is_some();
        self.run.keeps(
            section_id,
            info.version,
            info.refreshed_at,
            empty,
            ttl,
            self.policy.failure_backoff,
            self.policy.stale_limit,
            refused,
        )
    }

    /// Brings the snapshots of `sections` up to date where their TTL has passed, before a
    /// path is matched against them: a run honours the TTL however long it lives (a
    /// co-process, a long batch). Each stale section is refreshed once, by the first
    /// caller; the others go on with the previous snapshot meanwhile. A failure is left
    /// to the path's matching, which meets it (or the snapshot kept while Plex fails).
    pub fn keep_current(&self, sections: &[Section]) {
        if self.plex.is_offline() {
            return;
        }
        for s in sections.iter().filter(|s| s.kind.leaf_type().is_some()) {
            if let Some((_, false)) = self.snapshot(s.id)
                && let Err(e) = self.refresh_if_stale(s.id)
            {
                tracing::debug!("cannot bring section {:?} up to date: {e}", s.title);
            }
        }
    }

    /// A title search, asked of Plex and cached (empty answers only briefly).
    pub fn search(&self, section_id: u32, title: &str) -> Result<Vec<Item>, PlexError> {
        let items = self
            .ask(Some(section_id), || self.plex.search(section_id, title))
            .inspect_err(|e| {
                if matches!(e, PlexError::NotFound(_)) {
                    self.relist_sections(section_id);
                }
            })?;
        if let Err(e) = self.library.store_search(section_id, title, &items) {
            tracing::warn!("cannot cache a search answer: {e:#}");
        }
        self.remember(|m| {
            m.searches.insert(
                (section_id, name_key(title)),
                (Instant::now(), items.clone()),
            );
        });
        Ok(items)
    }

    /// A cached search answer, if one is still valid.
    pub fn cached_search(&self, section_id: u32, title: &str) -> Option<Vec<Item>> {
        let (ttl, negative_ttl) = (
            self.policy.library_ttl.as_secs(),
            self.policy.negative_ttl.as_secs(),
        );
        let found = self
            .library
            .cached_search(section_id, title, ttl, negative_ttl)
            .unwrap_or_else(|e| {
                tracing::warn!("cannot read a cached search: {e:#}");
                None
            });
        self.library
            .stats
            .record(crate::cache::LookupKind::Search, found.is_some());
        found
    }

    /// Items of a section with a file named like `name`, refreshing a stale snapshot first.
    pub fn items_by_file_name(&self, section_id: u32, name: &str) -> Result<Vec<Item>, PlexError> {
        let mut snapshot = self.snapshot(section_id);
        let fresh = snapshot.is_some_and(|(_, f)| f);
        self.library
            .stats
            .record(crate::cache::LookupKind::FileName, fresh);
        if !fresh {
            self.refresh_if_stale(section_id)?;
            snapshot = self.snapshot(section_id);
        }
        let lookup = match snapshot {
            Some((info, _)) => self.snapshot_lookup(section_id, &info, name),
            None => self.library.items_by_file_name(section_id, name),
        };
        lookup.map_err(|e| PlexError::BadResponse(format!("cache read failed: {e:#}")))
    }

    /// Items of a section's snapshot named like `name`, with no request; `None` without a snapshot.
    pub fn snapshot_items_by_file_name(&self, section_id: u32, name: &str) -> Option<Vec<Item>> {
        let (info, _) = self.snapshot(section_id)?;
        self.snapshot_lookup(section_id, &info, name).ok()
    }

    /// Items of the section's snapshot (as `info` describes it) named like `name`, its use
    /// recorded.
    fn snapshot_lookup(
        &self,
        section_id: u32,
        info: &cache::SnapshotInfo,
        name: &str,
    ) -> Result<Vec<Item>> {
        let mut resident = None;
        let items = self.items_named_in(section_id, info, &mut resident, name)?;
        // SQLite's look-up records its own use.
        if resident.is_some() {
            self.library.touch_snapshot(section_id);
        }
        Ok(items)
    }

    /// The section's snapshot in memory (as `info` describes it), read now if this
    /// look-up is the one that makes it resident; `None`: ask SQLite.
    fn resident(
        &self,
        section_id: u32,
        info: &cache::SnapshotInfo,
    ) -> Option<Arc<cache::ResidentSnapshot>> {
        let version = info.version;
        match self.residents.lookup(section_id, version, info.item_count) {
            cache::Lookup::Resident(r) => Some(r),
            cache::Lookup::Load => self.load_resident(section_id, version),
            cache::Lookup::Sqlite => None,
        }
    }

    /// Items of the section's snapshot (as `info` describes it) named like `name`: from
    /// memory once the section is resident ([`cache::Residents`]), else from SQLite.
    /// `resident` is the copy the caller last used for this section, replaced when it is
    /// not of that version: while it is, no shared lock is taken. A use of the resident
    /// copy is the caller's to record.
    pub fn items_named_in(
        &self,
        section_id: u32,
        info: &cache::SnapshotInfo,
        resident: &mut Option<Arc<cache::ResidentSnapshot>>,
        name: &str,
    ) -> Result<Vec<Item>> {
        let usable = |r: &cache::ResidentSnapshot| {
            r.section_id() == section_id && r.version() >= info.version
        };
        if !resident.as_deref().is_some_and(usable) {
            *resident = self.resident(section_id, info);
        }
        match resident.as_deref() {
            Some(r) => Ok(r.items_named(name)),
            None => self.library.items_by_file_name(section_id, name),
        }
    }

    /// Records a use of the section's snapshot (for eviction, least recently used first).
    pub fn touch_snapshot(&self, section_id: u32) {
        self.library.touch_snapshot(section_id);
    }

    /// Reads the section's fresh snapshot into memory now, for a batch known to be large
    /// from its start: its paths then never wait on SQLite while it is read mid-batch.
    pub fn hold_snapshot(&self, section_id: u32) {
        let Some((info, true)) = self.snapshot(section_id) else {
            return;
        };
        if let cache::Lookup::Load = self
            .residents
            .claim(section_id, info.version, info.item_count)
        {
            self.load_resident(section_id, info.version);
        }
    }

    /// Reads the section's snapshot into memory (its stored copy, else its rows, storing a
    /// copy for the next run) and makes it the resident one; `None` if it cannot be read
    /// or is older than `version`.
    fn load_resident(&self, section_id: u32, version: i64) -> Option<Arc<cache::ResidentSnapshot>> {
        let started = Instant::now();
        let loaded = self
            .library
            .resident_snapshot(section_id)
            .inspect_err(|e| tracing::warn!("cannot read section {section_id}'s snapshot: {e:#}"))
            .ok()
            .flatten();
        tracing::debug!(
            "section {section_id}: snapshot read into memory ({} items, {}) in {:.0?}",
            loaded.as_ref().map_or(0, |(r, _)| r.len()),
            if loaded.as_ref().is_some_and(|(_, built)| *built) {
                "from its rows"
            } else {
                "its stored copy"
            },
            started.elapsed()
        );
        let loaded = loaded.map(|(r, built)| {
            // The next run reads this copy in one piece instead of row by row.
            if built && let Err(e) = self.library.store_resident(section_id, &r) {
                tracing::warn!("cannot store section {section_id}'s snapshot copy: {e:#}");
            }
            Arc::new(r)
        });
        self.residents.loaded(section_id, loaded.clone());
        // An older version than asked for cannot be: the file was rebuilt meanwhile.
        loaded.filter(|r| r.version() >= version)
    }

    /// Item `rating_key` as known without a request: from the section's fresh snapshot
    /// (`true`), else this run's memo of fetched items (`false`); `None` when only a
    /// request can tell.
    pub fn item_at_hand(
        &self,
        section_id: u32,
        rating_key: &str,
    ) -> Option<(Result<Item, PlexError>, bool)> {
        if let Ok(Some(i)) = self.library.item(section_id, rating_key)
            && self.snapshot(section_id).is_some_and(|(_, fresh)| fresh)
        {
            return Some((Ok(i), true));
        }
        self.memo_item(rating_key).map(|r| (r, false))
    }

    /// Checks that `rating_key` is an item of the section holding `matched_file` (one of its
    /// files, case and Unicode form aside) if given, else a file named like `path`'s file
    /// name, using what is at hand (`known`, then the fresh snapshot, then this run's memo,
    /// then one request, for which `charge` is asked first). Returns the item as Plex
    /// describes it and the file of it the path matches.
    pub fn confirm(
        &self,
        section_id: u32,
        path: &str,
        rating_key: &str,
        matched_file: Option<&str>,
        known: Option<Item>,
        charge: impl FnOnce() -> Result<(), String>,
    ) -> Result<(Item, String), String> {
        let name = file_name(path).ok_or_else(|| format!("{path:?} has no file name"))?;
        let key = name_key(name);
        let item = match known {
            Some(i) => i,
            None => match self.item_at_hand(section_id, rating_key) {
                Some((r, _)) => r,
                None => {
                    charge().map_err(|why| format!("cannot check item {rating_key}: {why}"))?;
                    self.fetch_item(rating_key)
                }
            }
            .map_err(|e| format!("cannot check item {rating_key}: {e}"))?,
        };
        if item.section_id != section_id {
            return Err(format!(
                "item {rating_key} belongs to section {}, not {section_id}",
                item.section_id
            ));
        }
        if let Some(wanted) = matched_file {
            let wanted_key = name_key(wanted);
            let Some(file) = item
                .files
                .iter()
                .find(|f| name_key(f) == wanted_key)
                .cloned()
            else {
                return Err(format!(
                    "item {rating_key} ({:?}) has no file {:?} (its files: {})",
                    item.title,
                    wanted,
                    item.files.join(", ")
                ));
            };
            return Ok((item, file));
        }
        if !has_file_named(&item.files, &key) {
            return Err(format!(
                "item {rating_key} ({:?}) has no file named {name:?}",
                item.title
            ));
        }
        let file = best_file(&item.files, path).unwrap_or_default();
        Ok((item, file))
    }

    /// Writes this process's cache counters and last uses to the cache files.
    pub fn flush(&self) {
        if let Err(e) = self.library.flush().and_then(|_| self.matches.flush()) {
            tracing::warn!("cannot save cache statistics: {e:#}");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Of `files`, the one `path` most likely is: the same path (case and Unicode
/// normalisation aside), else the file of the same name sharing the longest folder tail.
pub fn best_file(files: &[String], path: &str) -> Option<String> {
    use plexmatch_matchkit::paths::{components, shared_tail};
    let Some(name) = file_name(path).map(name_key) else {
        let whole = name_key(path);
        return files.iter().find(|f| name_key(f) == whole).cloned();
    };
    let named: Vec<&String> = files
        .iter()
        .filter(|f| file_name(f).is_some_and(|n| has_key(n, &name)))
        .collect();
    // One file of that name is the answer whichever rule picks it: the common case, and
    // it needs no whole-path key nor folder split.
    if let [one] = named.as_slice() {
        return Some((*one).clone());
    }
    let whole = name_key(path);
    if let Some(f) = named.iter().find(|f| name_key(f) == whole) {
        return Some((*f).clone());
    }
    let mine = components(path);
    named
        .into_iter()
        .max_by_key(|f| shared_tail(&components(f), &mine))
        .cloned()
}

/// Whether `files` holds `file` itself (case and Unicode normalisation aside).
pub fn holds_file(files: &[String], file: &str) -> bool {
    let want = name_key(file);
    files.iter().any(|f| name_key(f) == want)
}
