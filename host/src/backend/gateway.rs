//! The Plex side of the backend: requests through the run's failure gate (a refused
//! token stops asking; a failed server or section is not asked again during the back-off),
//! the run's memo of identical requests (reused for their TTL) and its request budget, the
//! section list, and title searches with their cache.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Backend, MIN_HOLD};
use crate::plex::{Item, PlexError, Section};
use plexmatch_matchkit::name_key;

/// Plugins' identical requests within a run, answered once, each with when it was
/// answered: an answer is reused for the TTL its kind of cache entry has (the negative
/// TTL for an empty one), and at least [`MIN_HOLD`], however long the run lives.
#[derive(Default)]
pub(super) struct Memo {
    searches: HashMap<(u32, String), (Instant, Vec<Item>)>,
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
const SECTION_LIST: u32 = u32::MAX;

impl Backend {
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

    pub(super) fn remember(&self, f: impl FnOnce(&mut Memo)) {
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
    pub(super) fn relist_sections(&self, section_id: u32) {
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
    pub(super) fn section_title(&self, id: u32) -> String {
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
}
