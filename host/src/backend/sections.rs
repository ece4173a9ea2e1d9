//! The section list and title searches, from the library cache while fresh, else from
//! Plex through the gateway.

use std::time::Instant;

use super::Snapshots;
use super::gateway::SECTION_LIST;
use crate::plex::{Item, PlexError, Section};
use plexmatch_matchkit::name_key;

impl Snapshots {
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
                let s = self.gateway.ask(Some(SECTION_LIST), || self.gateway.plex.sections())?;
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
            .gateway
            .ask(Some(section_id), || self.gateway.plex.search(section_id, title))
            .inspect_err(|e| {
                if matches!(e, PlexError::NotFound(_)) {
                    self.relist_sections(section_id);
                }
            })?;
        if let Err(e) = self.library.store_search(section_id, title, &items) {
            tracing::warn!("cannot cache a search answer: {e:#}");
        }
        self.gateway.remember(|m| {
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
