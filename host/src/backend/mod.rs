//! The services plugins and matching reach through the host, each owning its state.
//! Cache trouble is logged and treated as a miss — it is only a cache.
//!
//! - [`Gateway`] (`gateway.rs`): the Plex client behind the run's failure gate, memo and
//!   request budget;
//! - [`Snapshots`], the snapshot library: the library cache and what a run knows of it —
//!   whether a section's snapshot is fresh, keeping it current, file-name look-ups and
//!   resident copies (`snapshots.rs`), how long a run trusts a snapshot (`freshness.rs`),
//!   bringing one up to date once across threads and processes (`refresh.rs`), the
//!   section list and title searches (`sections.rs`), and checking a plugin's claim about
//!   an item before anything is cached (`confirm`, here);
//! - [`Decisions`]: the match cache and the user's pins;
//! - [`Backend`]: one server's services, opened together from its data dir.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::cache::{self, LibraryCache, MatchCache};
use crate::plex::{Item, PlexClient, PlexConfig, Section};
use crate::servers::{self, ServerIdentity};

mod cost;
mod freshness;
mod gateway;
mod lookup;
mod refresh;
mod sections;
mod snapshots;

pub use gateway::Gateway;
pub use cost::{FIRST_LOOKUPS, SIZES_FILE, TIMES_FILE};
pub use lookup::{LookupMode, UNSUPPORTED_FILE, query_for};

pub use freshness::{DEFAULT_STALE_LIMIT, MIN_HOLD};
use plexmatch_matchkit::{file_name, has_file_named, has_key, name_key};
pub use refresh::Refreshed;
pub use snapshots::Via;

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
    /// How a section with no snapshot answers which items hold a file (`--lookup`).
    pub lookup: LookupMode,
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
    /// negative TTL, but never longer than anything else, which is trusted for the
    /// library TTL (with a TTL of seconds, a file moved into another section was "not
    /// found" there for the minute of the negative TTL).
    pub fn ttl_for(&self, empty: bool) -> Duration {
        if empty {
            self.negative_ttl.min(self.library_ttl)
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
            compiled_limit: cache::COMPILED_DEFAULT_LIMIT,
            stale_limit: DEFAULT_STALE_LIMIT,
            lookup: LookupMode::Auto,
        }
    }
}

/// The snapshot library: the library cache, and what this run knows of its snapshots.
pub struct Snapshots {
    /// The Plex requests a refresh or a search sends.
    pub(crate) gateway: Arc<Gateway>,
    /// The library cache file.
    pub library: LibraryCache,
    policy: CachePolicy,
    /// One lock per section so that concurrent lookups refresh a stale snapshot once.
    refreshing: Mutex<HashMap<u32, Arc<Mutex<()>>>>,
    /// Where the per-section lock files are, which do the same across processes.
    locks_dir: PathBuf,
    /// The section list as this run knows it.
    sections: Mutex<Option<Vec<Section>>>,
    /// Whether the section list was listed again this run after a section answered 404.
    relisted: AtomicBool,
    /// What this run knows of each snapshot's freshness beyond the cache file: stored
    /// just now, being refreshed, or kept while Plex fails.
    run: freshness::RunFreshness,
    /// Snapshot bookkeeping read recently, by section, and when (every lookup asks for it;
    /// a refresh by another process is seen within [`snapshots::SNAPSHOT_MEMO`]). No
    /// time: a listing that could not be stored (a full disk, a read-only or broken cache
    /// file), held in `residents` and trusted for the library TTL so that every path does
    /// not list the section again; it is not read from the file.
    snapshot_memo: Mutex<HashMap<u32, MemoSnapshot>>,
    /// Snapshots of sections in steady use, held in memory while they are current.
    residents: cache::Residents,
    /// How a section with no snapshot answers which items hold a file.
    lookup_mode: LookupMode,
    /// What this run knows of file look-ups (see `lookup.rs`).
    lookups: Mutex<lookup::Lookups>,
    /// Paths the run is known to match (0: not known), weighed against listing a section.
    expected_paths: AtomicU64,
}

/// The decision store: what plugins decided (the match cache) and what people decided
/// (`plexmatch pin`), each verified against the snapshots before it is used.
pub struct Decisions {
    /// The match cache file.
    pub matches: MatchCache,
    /// People's decisions, answered before any plugin is asked.
    pub pins: cache::Pins,
}

/// One server's services, opened together from its folder of the data dir and shared by
/// every plugin instance.
pub struct Backend {
    pub gateway: Arc<Gateway>,
    pub snapshots: Arc<Snapshots>,
    pub decisions: Arc<Decisions>,
    /// Where compiled plugins are kept (`plugins/` in the data dir unless set otherwise):
    /// the sandbox's cache, handed to it when plugins are loaded.
    pub plugins_dir: PathBuf,
    pub policy: CachePolicy,
    /// The Plex server the caches belong to.
    pub server: ServerIdentity,
    /// The folder of this server's caches and locks.
    pub cache_dir: PathBuf,
}

/// When a section's snapshot bookkeeping was read (`None`: held in memory, never read
/// from the file), and what it was.
type MemoSnapshot = (Option<Instant>, Option<cache::SnapshotInfo>);

/// Default Plex requests plugins may cause in one run (`[limits] requests_per_run`).
pub const DEFAULT_RUN_REQUEST_BUDGET: u64 = 20_000;

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
        let gateway = Arc::new(Gateway::new(plex, policy));
        let snapshots = Snapshots {
            gateway: gateway.clone(),
            library: LibraryCache::open(&cache_dir, policy.library_limit)?,
            policy,
            refreshing: Mutex::new(HashMap::new()),
            locks_dir: cache_dir.join("locks"),
            sections: Mutex::new(None),
            relisted: AtomicBool::new(false),
            run: freshness::RunFreshness::new(),
            snapshot_memo: Mutex::new(HashMap::new()),
            residents: cache::Residents::default(),
            lookup_mode: policy.lookup,
            lookups: Mutex::new(lookup::Lookups::remembered(&cache_dir)),
            expected_paths: AtomicU64::new(0),
        };
        let decisions = Decisions {
            matches: MatchCache::open(&cache_dir, policy.match_limit)?,
            pins: cache::Pins::open(&cache_dir),
        };
        Ok(Backend {
            gateway,
            snapshots: Arc::new(snapshots),
            decisions: Arc::new(decisions),
            plugins_dir: data_dir.join("plugins"),
            policy,
            server,
            cache_dir,
        })
    }

    /// The same backend, keeping compiled plugins in `dir` (the plugin kit's scratch
    /// backends use the user's own, so a plugin is compiled once, not per command).
    pub fn with_plugins_dir(mut self, dir: PathBuf) -> Backend {
        self.plugins_dir = dir;
        self
    }

    /// Writes this process's cache counters and last uses to the cache files.
    pub fn flush(&self) {
        let flushed = self.snapshots.library.flush();
        if let Err(e) = flushed.and_then(|_| self.decisions.matches.flush()) {
            tracing::warn!("cannot save cache statistics: {e:#}");
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.flush();
    }
}

impl Snapshots {
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
                    self.gateway.fetch_item(rating_key)
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
