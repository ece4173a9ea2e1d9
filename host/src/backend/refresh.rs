//! Bringing a section's snapshot up to date: once across threads and processes, with the
//! items changed since it was taken when that can be trusted, else by a full listing, and
//! kept in memory when it cannot be stored.

use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use super::{Snapshots, freshness};
use crate::cache;
use crate::plex::{PlexError, Section};

/// What a snapshot refresh did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    /// Items the snapshot holds now.
    pub items: usize,
    /// Items the answers held: all of them for a full listing, else those stamped as
    /// changed (within the safety margin).
    pub listed: usize,
    /// Items that differ from the snapshot before: all of them for a full listing.
    pub changed: usize,
    /// Whether the section was listed in full.
    pub full: bool,
    /// Plex requests it took (by this client, counting any made meanwhile by others).
    pub requests: u64,
}

impl Snapshots {
    /// Refreshes the section's snapshot unless another caller just did.
    ///
    /// Single-flight across threads (a mutex per section) and processes (an advisory lock
    /// on `locks/section-<id>.lock` in the data dir, which the OS releases if the holder
    /// dies): the first caller lists the section, the others wait and then find the
    /// snapshot fresh (W21).
    pub fn refresh_if_stale(&self, section_id: u32) -> Result<(), PlexError> {
        self.refresh_single_flight(section_id, None).map(|_| ())
    }

    /// Refreshes the section's snapshot now, even if it is fresh (in full when `full`,
    /// else as a stale one would be); returns what it did, or `None` when another
    /// process refreshed it while this one waited for the lock.
    pub fn force_refresh(
        &self,
        section_id: u32,
        full: bool,
    ) -> Result<Option<Refreshed>, PlexError> {
        self.refresh_single_flight(section_id, Some(full))
    }

    fn refresh_single_flight(
        &self,
        section_id: u32,
        force: Option<bool>,
    ) -> Result<Option<Refreshed>, PlexError> {
        // A section that just failed is not listed again for every path (a refresh the
        // user asks for is).
        if force.is_none()
            && let Err(e) = self.gateway.gate(Some(section_id))
        {
            return self.serve_stale_instead(section_id, e).map(|_| None);
        }
        let lock = Arc::clone(
            self.refreshing
                .lock()
                .expect("refresh map lock")
                .entry(section_id)
                .or_default(),
        );
        let _in_process = match lock.try_lock() {
            Ok(guard) => guard,
            // Another thread is refreshing: a snapshot this run may keep answering from
            // meanwhile is used; otherwise wait for the new one.
            Err(std::sync::TryLockError::WouldBlock)
                if force.is_none() && self.may_serve_stale(section_id) =>
            {
                return Ok(None);
            }
            Err(_) => lock.lock().unwrap_or_else(|p| p.into_inner()),
        };
        let _under_way = self.run.refreshing(section_id);
        // It may have failed while this caller waited for the lock.
        if force.is_none()
            && let Err(e) = self.gateway.gate(Some(section_id))
        {
            return self.serve_stale_instead(section_id, e).map(|_| None);
        }
        let before = self.snapshot(section_id).map(|(info, _)| info.refreshed_at);
        let _across_processes = self.lock_file(section_id);
        // Another process may have refreshed while this one waited: read it from the file.
        self.forget_snapshot(section_id);
        let now = self.library_snapshot_is_fresh(section_id);
        if now.is_some_and(|(_, fresh)| fresh)
            && (force.is_none() || now.map(|(i, _)| i.refreshed_at) != before)
        {
            return Ok(None);
        }
        match self.refresh_snapshot(section_id, force == Some(true)) {
            Ok(r) => {
                if let Some((info, _)) = self.snapshot(section_id) {
                    self.run.stored(section_id, info.version);
                }
                Ok(Some(r))
            }
            Err(e) if force.is_none() => self.serve_stale_instead(section_id, e).map(|_| None),
            Err(e) => Err(e),
        }
    }

    /// The section's snapshot and whether it needs no refresh now: fresh by its TTL, or
    /// just stored by this run (not merely kept while a refresh is under way or failing).
    fn library_snapshot_is_fresh(&self, section_id: u32) -> Option<(cache::SnapshotInfo, bool)> {
        self.snapshot(section_id).map(|(info, _)| {
            let fresh = self.is_fresh_for(info.refreshed_at, info.item_count == 0)
                || self.kept(section_id, &info) == Some(freshness::Kept::JustStored);
            (info, fresh)
        })
    }

    /// Whether the section has a snapshot this run may keep answering from while it is
    /// not brought up to date (fresh at some moment of this run, under the stale limit).
    fn may_serve_stale(&self, section_id: u32) -> bool {
        self.snapshot(section_id)
            .is_some_and(|(info, _)| self.run.may_serve_stale(&info, &self.policy))
    }

    /// After a refresh failed with `e`: `Ok` when the previous snapshot stays in use
    /// (stale-while-error, said once per episode), else the error.
    fn serve_stale_instead(&self, section_id: u32, e: PlexError) -> Result<(), PlexError> {
        let Some((info, _)) = self.snapshot(section_id) else {
            return Err(e);
        };
        if matches!(e, PlexError::NotFound(_) | PlexError::Offline(_))
            || !self.run.may_serve_stale(&info, &self.policy)
        {
            return Err(e);
        }
        if self.run.failed(section_id) {
            let title = self.section_title(section_id);
            tracing::warn!(
                "cannot bring section {title} up to date ({e}); answering from its snapshot of {} ago until Plex answers again (asked again every {:.0?}; a snapshot older than {} is not used; --offline answers from the caches without asking Plex)",
                freshness::age(cache::now() - info.refreshed_at),
                self.policy.failure_backoff,
                freshness::age(self.policy.stale_limit.as_secs() as i64),
            );
        }
        Ok(())
    }

    fn forget_snapshot(&self, section_id: u32) {
        self.snapshot_memo
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&section_id);
    }

    /// Takes the section's refresh lock file (blocking); `None` if it cannot be used, in
    /// which case the refresh goes ahead unguarded rather than failing.
    fn lock_file(&self, section_id: u32) -> Option<File> {
        let path = self.locks_dir.join(format!("section-{section_id}.lock"));
        let file = std::fs::create_dir_all(&self.locks_dir)
            .and_then(|_| {
                File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
            })
            .and_then(|f| f.lock().map(|_| f));
        match file {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("cannot lock {}: {e}; refreshing without it", path.display());
                None
            }
        }
    }

    /// Brings the section's snapshot up to date: with the items changed since it was
    /// taken when it has a newest `updatedAt` and has not had
    /// [`CachePolicy::full_listing_every`] such refreshes in a row (and `full` is not
    /// asked), else, or when the counts then disagree, by listing the section in full.
    /// A failed refresh leaves the previous snapshot as it was.
    pub fn refresh_snapshot(&self, section_id: u32, full: bool) -> Result<Refreshed, PlexError> {
        let section = self.section(section_id)?;
        let Some(item_type) = section.kind.leaf_type() else {
            return Err(PlexError::BadResponse(format!(
                "section {:?} holds {} items, which have no files plexmatch can match",
                section.title,
                section.kind.as_str()
            )));
        };
        let started = Instant::now();
        let requests = self.gateway.plex.requests();
        let failed = |e: &PlexError| {
            self.gateway.note_failure(Some(section_id), e);
            if matches!(e, PlexError::NotFound(_)) {
                self.relist_sections(section_id);
            }
        };
        let info = self.library.snapshot_info(section_id).ok().flatten();
        let since = info.and_then(|i| {
            let due = i.incrementals >= self.policy.full_listing_every;
            let margin = self.policy.refresh_margin.as_secs() as i64;
            i.newest_update
                .filter(|_| !full && !due)
                .map(|t| t.saturating_sub(margin).max(0) as u64)
        });
        let mut why_full = match (info, since) {
            (None, _) => "no snapshot",
            (Some(_), Some(_)) => "",
            (Some(_), None) if full => "asked for",
            (Some(i), None) if i.newest_update.is_none() => "no updatedAt known",
            (Some(_), None) => "due after incremental refreshes",
        };
        if let Some(since) = since {
            let changed = self
                .gateway
                .plex
                .list_section_changed(section_id, item_type, since)
                .inspect_err(failed)?;
            if changed.outside_filter > 0 {
                // The server answered items that did not change: it ignored the filter, and
                // the answer (complete, checked) is a full listing.
                tracing::info!(
                    "section {:?}: the server ignored the updatedAt filter; using its answer as a full listing",
                    section.title
                );
                return Ok(self.store_full(
                    &section,
                    info,
                    changed,
                    (started, requests),
                    "filter ignored",
                ));
            }
            let count = self
                .gateway
                .plex
                .count_items(section_id, item_type)
                .inspect_err(failed)?;
            let newest = changed.newest_update.map(|t| t as i64);
            match self
                .library
                .apply_changes(section_id, &changed.items, newest, count)
            {
                Ok(cache::Applied::Stored {
                    items: n,
                    differing,
                }) => {
                    self.forget_snapshot(section_id);
                    let r = Refreshed {
                        items: n as usize,
                        listed: changed.items.len(),
                        changed: differing as usize,
                        full: false,
                        requests: self.gateway.plex.requests() - requests,
                    };
                    tracing::info!(
                        "brought section {:?} up to date: {} item(s) changed since {since}, {} in all, {} request(s) in {:.0?}",
                        section.title,
                        r.changed,
                        r.items,
                        r.requests,
                        started.elapsed()
                    );
                    return Ok(r);
                }
                Ok(cache::Applied::CountDiffers { held }) => {
                    tracing::info!(
                        "section {:?}: the snapshot would hold {held} item(s), the server counts {count} (items deleted or moved); listing it in full",
                        section.title
                    );
                    why_full = "count differs";
                }
                Ok(cache::Applied::NotStored) => why_full = "cache not writable",
                Err(e) => {
                    tracing::warn!("cannot update the snapshot of section {section_id}: {e:#}");
                    why_full = "cache error";
                }
            }
        }
        let listing = self
            .gateway
            .plex
            .list_section(section_id, item_type, info.map(|i| u64::from(i.item_count)))
            .inspect_err(failed)?;
        self.remember_times();
        Ok(self.store_full(&section, info, listing, (started, requests), why_full))
    }

    /// Replaces the snapshot (`before`, if there was one) with a full listing; keeps the
    /// listing in memory when it could not be stored. The pair is when the refresh began
    /// and the client's request count then.
    fn store_full(
        &self,
        section: &Section,
        before: Option<cache::SnapshotInfo>,
        listing: crate::plex::Listing,
        (started, requests): (Instant, u64),
        why: &str,
    ) -> Refreshed {
        let newest = listing.newest_update.map(|t| t as i64);
        let listed = started.elapsed();
        if let Err(e) = self
            .library
            .replace_snapshot(section.id, &listing.items, newest)
        {
            tracing::warn!("cannot store the snapshot of section {}: {e:#}", section.id);
        }
        let after = self.library.snapshot_info(section.id).ok().flatten();
        let stored = after.is_some_and(|a| before.is_none_or(|b| a.version != b.version));
        let count = listing.items.len();
        if stored {
            self.forget_snapshot(section.id);
            drop(listing);
        } else {
            // Not on disk: serve this listing from memory for the TTL rather than list the
            // section again for every path.
            tracing::warn!(
                "the snapshot of section {:?} could not be stored; it is kept in memory for this run",
                section.title
            );
            let now = cache::now();
            let info = cache::SnapshotInfo {
                item_count: count as u32,
                refreshed_at: now,
                newest_update: None,
                listed_at: now,
                incrementals: 0,
                version: cache::HELD_VERSION,
            };
            self.snapshot_memo
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(section.id, (None, Some(info)));
            self.residents.loaded(
                section.id,
                Some(Arc::new(cache::ResidentSnapshot::new(
                    cache::HELD_VERSION,
                    listing.items,
                ))),
            );
        }
        tracing::debug!(
            "section {:?}: listed in {listed:.0?}, stored in {:.0?}",
            section.title,
            started.elapsed() - listed
        );
        release_freed_memory();
        let r = Refreshed {
            items: count,
            listed: count,
            changed: count,
            full: true,
            requests: self.gateway.plex.requests() - requests,
        };
        tracing::info!(
            "listed section {:?} in full ({why}): {} items, {} request(s) in {:.0?}",
            section.title,
            r.items,
            r.requests,
            started.elapsed()
        );
        r
    }
}

/// Gives the memory a full listing freed back to the system: glibc keeps freed heap for
/// reuse, so a run that listed a 100,000-item section held on to its peak (about 50 MiB
/// more) for the rest of the run.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}
