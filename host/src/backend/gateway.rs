//! The Plex gateway: every request plugins and snapshots cause goes through the run's
//! failure gate (a refused token stops asking; a failed server or section is not asked
//! again during the back-off), its memo of identical requests (reused for their TTL) and
//! its request budget. It owns that state, and nothing of the caches.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::{CachePolicy, DEFAULT_RUN_REQUEST_BUDGET, MIN_HOLD};
use crate::plex::{Item, PlexClient, PlexError};
use plexmatch_matchkit::name_key;

/// The Plex client behind the run's failure gate, memo and request budget.
pub struct Gateway {
    pub plex: PlexClient,
    policy: CachePolicy,
    /// Failures remembered within the run.
    failures: Mutex<Failures>,
    /// Answers to plugins' requests within this run, so that asking twice costs nothing.
    memo: Mutex<Memo>,
    /// Plex requests made for plugins in this run, and the most allowed (0: no limit).
    run_requests: AtomicU64,
    run_budget: AtomicU64,
}

/// Plugins' identical requests within a run, answered once, each with when it was
/// answered: an answer is reused for the TTL its kind of cache entry has (the negative
/// TTL for an empty one), and at least [`MIN_HOLD`], however long the run lives.
#[derive(Default)]
pub(crate) struct Memo {
    pub(super) searches: HashMap<(u32, String), (Instant, Vec<Item>)>,
    items: HashMap<String, (Instant, Result<Item, PlexError>)>,
}

/// Entries the memo holds before it starts afresh: bounds its memory over a long run.
const MEMO_LIMIT: usize = 50_000;

/// Failures remembered so that they are not repeated for every path.
#[derive(Default)]
pub(super) struct Failures {
    /// The token was refused: nothing more is asked of the server this run.
    pub(super) refused: Option<PlexError>,
    /// The server could not be reached (refused connection, timeout), and when.
    server: Option<(Instant, PlexError)>,
    /// Sections whose listing or search failed, and when; [`SECTION_LIST`] for the list.
    sections: HashMap<u32, (Instant, PlexError)>,
}

/// The key under which a failed section list is remembered.
pub(super) const SECTION_LIST: u32 = u32::MAX;

impl Gateway {
    /// The gateway of `plex`, with nothing remembered yet.
    pub fn new(plex: PlexClient, policy: CachePolicy) -> Gateway {
        Gateway {
            plex,
            policy,
            failures: Mutex::new(Failures::default()),
            memo: Mutex::new(Memo::default()),
            run_requests: AtomicU64::new(0),
            run_budget: AtomicU64::new(DEFAULT_RUN_REQUEST_BUDGET),
        }
    }

    /// Whether the server refused the token in this run.
    pub fn refused(&self) -> bool {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refused
            .is_some()
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
    pub(super) fn memo_fresh(&self, at: Instant, empty: bool) -> bool {
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

    pub(crate) fn remember(&self, f: impl FnOnce(&mut Memo)) {
        let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
        if memo.searches.len() + memo.items.len() >= MEMO_LIMIT {
            *memo = Memo::default();
        }
        f(&mut memo);
    }

    /// Whether a request may be sent now: not after the token was refused, nor while the
    /// server or this section (`None`: a request about no section) recently failed.
    pub(super) fn gate(&self, section: Option<u32>) -> Result<(), PlexError> {
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
    pub(super) fn note_failure(&self, section: Option<u32>, e: &PlexError) {
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
    pub(super) fn ask<T>(
        &self,
        section: Option<u32>,
        request: impl FnOnce() -> Result<T, PlexError>,
    ) -> Result<T, PlexError> {
        self.gate(section)?;
        request().inspect_err(|e| self.note_failure(section, e))
    }

    /// One item by rating key, from Plex (through the failure gate); the answer, or a
    /// 404, is remembered for the run.
    /// Fetches the items of `rating_keys` not already in the memo, in groups of
    /// [`crate::plex::ITEMS_PER_REQUEST`] keys a request, into the memo: a key Plex did not
    /// answer is remembered as not found. Returns the requests sent. A group that fails
    /// leaves its keys to be fetched one by one, as before.
    pub fn fetch_items(&self, rating_keys: &[String]) -> u64 {
        let wanted: Vec<String> = {
            let mut seen = std::collections::HashSet::new();
            rating_keys
                .iter()
                .filter(|k| seen.insert(k.as_str()) && self.memo_item(k).is_none())
                .cloned()
                .collect()
        };
        let mut sent = 0;
        for group in wanted.chunks(crate::plex::ITEMS_PER_REQUEST) {
            if !self.charge_run_request() {
                break;
            }
            sent += 1;
            let Ok(items) = self.ask(None, || self.plex.fetch_items(group)) else {
                continue;
            };
            let now = Instant::now();
            self.remember(|m| {
                for k in group {
                    let r = items
                        .iter()
                        .find(|i| &i.rating_key == k)
                        .cloned()
                        .ok_or_else(|| {
                            PlexError::NotFound(format!("GET /library/metadata/{k}: no such item"))
                        });
                    m.items.insert(k.clone(), (now, r));
                }
            });
        }
        sent
    }

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
}
