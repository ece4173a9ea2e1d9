//! The snapshot side of the backend: whether a section's snapshot is fresh (by its TTL,
//! or kept by this run: see [`super::freshness`]), keeping the chosen sections current as
//! their TTL passes, file-name look-ups from memory or SQLite, and the resident copies.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{Snapshots, freshness};
use crate::cache;
use crate::plex::{Item, PlexError, Section};

/// Where the holders of a file name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The section's snapshot: `fresh` already, or brought up to date first.
    Snapshot { fresh: bool },
    /// A file look-up: sent now (`cached` false), or its answer within the TTL.
    Lookup { cached: bool },
}

/// How long this process reuses a section's snapshot bookkeeping without reading it again.
pub(super) const SNAPSHOT_MEMO: Duration = Duration::from_secs(1);

impl Snapshots {
    /// Whether something cached at `at` is still trusted: an empty answer (no sections,
    /// no items) only for the negative TTL, anything else for the library TTL.
    /// Offline, whatever is cached is trusted: it is all there is.
    pub(super) fn is_fresh_for(&self, at: i64, empty: bool) -> bool {
        self.gateway.plex.is_offline()
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
    pub(super) fn kept(
        &self,
        section_id: u32,
        info: &cache::SnapshotInfo,
    ) -> Option<freshness::Kept> {
        self.run
            .keeps(section_id, info, &self.policy, self.gateway.refused())
    }

    /// Brings the snapshots of `sections` up to date where their TTL has passed, before a
    /// path is matched against them: a run honours the TTL however long it lives (a
    /// co-process, a long batch). Each stale section is refreshed once, by the first
    /// caller; the others go on with the previous snapshot meanwhile. A failure is left
    /// to the path's matching, which meets it (or the snapshot kept while Plex fails).
    pub fn keep_current(&self, sections: &[Section]) {
        if self.gateway.plex.is_offline() {
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

    /// Items of a section with a file named like `name`, refreshing a stale snapshot first.
    pub fn items_by_file_name(&self, section_id: u32, name: &str) -> Result<Vec<Item>, PlexError> {
        self.holders(section_id, name).0
    }

    /// Like [`Snapshots::items_by_file_name`], with where the answer came from.
    pub fn holders(&self, section_id: u32, name: &str) -> (Result<Vec<Item>, PlexError>, Via) {
        let mut snapshot = self.snapshot(section_id);
        let fresh = snapshot.is_some_and(|(_, f)| f);
        self.library
            .stats
            .record(crate::cache::LookupKind::FileName, fresh);
        if snapshot.is_none()
            && let Some((found, via)) = self.looked_up(section_id, name)
        {
            return (found, via);
        }
        if !fresh && let Err(e) = self.refresh_if_stale(section_id) {
            return (Err(e), Via::Snapshot { fresh });
        }
        if !fresh {
            snapshot = self.snapshot(section_id);
        }
        let lookup = match snapshot {
            Some((info, _)) => self.snapshot_lookup(section_id, &info, name),
            None => self.library.items_by_file_name(section_id, name),
        };
        (
            lookup.map_err(|e| PlexError::BadResponse(format!("cache read failed: {e:#}"))),
            Via::Snapshot { fresh },
        )
    }

    /// Items of a section's snapshot named like `name`, with no request; `None` without a snapshot.
    pub fn snapshot_items_by_file_name(&self, section_id: u32, name: &str) -> Option<Vec<Item>> {
        let (info, _) = self.snapshot(section_id)?;
        self.snapshot_lookup(section_id, &info, name).ok()
    }

    /// Items of the section's snapshot (as `info` describes it) named like `name`, its use
    /// recorded.
    pub(super) fn snapshot_lookup(
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
    pub(super) fn resident(
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
    pub(super) fn load_resident(
        &self,
        section_id: u32,
        version: i64,
    ) -> Option<Arc<cache::ResidentSnapshot>> {
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
        self.gateway.memo_item(rating_key).map(|r| (r, false))
    }
}
