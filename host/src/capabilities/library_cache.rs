//! `library-cache`: reads of the host's library cache, with no network access.

use super::plex::keys;
use super::to_wit_item;
use crate::wit::bindings::plexmatch::plugin::library_cache::{Host, SnapshotInfo};
use crate::wit::bindings::plexmatch::plugin::types::Item;
use std::sync::Arc;

use super::State;
use crate::backend::{Backend, Snapshots};
use crate::trace::Step;

/// What the library-cache interface keeps per store.
pub struct LibraryState {
    /// The snapshot library.
    pub(crate) snapshots: Arc<Snapshots>,
    /// The sections' snapshot bookkeeping (and freshness) read during the current call:
    /// read once a call, not by every host function that needs it. Forgotten after any
    /// Plex call (which may refresh a snapshot).
    read: Vec<(u32, Option<(crate::cache::SnapshotInfo, bool)>)>,
    /// The resident snapshots this instance looks names up in, by section, each with its
    /// look-ups since its use was last recorded: kept from call to call and used while the
    /// snapshot is at that version (no shared lock per look-up).
    residents: Vec<(u32, Option<Arc<crate::cache::ResidentSnapshot>>, u32)>,
    /// The snapshot's holders of one file name, looked up during the current call (to
    /// verify a match-cache hit): the plugin's own look-up of that name reuses it.
    pub index_memo: Option<(u32, String, Vec<crate::plex::Item>)>,
}

/// Look-ups in a resident snapshot between two records of its use (for eviction): a
/// shared write per path would cost more than the look-up.
const TOUCH_EVERY: u32 = 256;

impl LibraryState {
    /// The state of a new store over `backend`'s snapshots.
    pub fn new(backend: &Backend) -> LibraryState {
        LibraryState {
            snapshots: backend.snapshots.clone(),
            read: Vec::new(),
            residents: Vec::new(),
            index_memo: None,
        }
    }

    /// Forgets what the last call read.
    pub fn begin_call(&mut self) {
        self.index_memo = None;
        self.read.clear();
    }

    /// Forgets the snapshot bookkeeping read so far (a Plex call may have refreshed it).
    pub fn forget_reads(&mut self) {
        self.read.clear();
    }

    /// The section's snapshot bookkeeping and whether it is fresh, read once a call.
    pub fn snapshot(&mut self, section_id: u32) -> Option<(crate::cache::SnapshotInfo, bool)> {
        if let Some((_, known)) = self.read.iter().find(|(id, _)| *id == section_id) {
            return *known;
        }
        let read = self.snapshots.snapshot(section_id);
        self.read.push((section_id, read));
        read
    }

    /// Items of the section's snapshot (fresh or not) with a file named like `name`;
    /// `None` when there is no snapshot.
    pub fn snapshot_items(
        &mut self,
        section_id: u32,
        name: &str,
    ) -> Option<Vec<crate::plex::Item>> {
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
            .snapshots
            .items_named_in(section_id, &info, resident, name)
            .ok()?;
        if uses.is_multiple_of(TOUCH_EVERY) {
            self.snapshots.touch_snapshot(section_id);
        }
        *uses = uses.wrapping_add(1);
        Some(items)
    }
}

impl Host for State {
    fn snapshot(&mut self, section_id: u32) -> Option<SnapshotInfo> {
        self.host_call(|s| {
            s.library.snapshot(section_id).map(|(info, fresh)| SnapshotInfo {
                item_count: info.item_count,
                age_seconds: crate::cache::now().saturating_sub(info.refreshed_at).max(0) as u64,
                fresh,
            })
        })
    }

    fn items_by_file_name(&mut self, section_id: u32, file_name: String) -> Option<Vec<Item>> {
        self.host_call(|s| {
            let key = plexmatch_matchkit::name_key(&file_name);
            let items = match s.library.index_memo.take() {
                Some((id, k, items)) if id == section_id && k == key => Some(items),
                _ => s.library.snapshot_items(section_id, &file_name),
            };
            s.library
                .snapshots
                .library
                .stats
                .record(crate::cache::LookupKind::FileName, items.is_some());
            let items = items?;
            s.note(|| Step::FileIndex {
                name: file_name.clone(),
                keys: keys(&items),
            });
            let wit = items.iter().map(to_wit_item).collect();
            s.serve_owned(items);
            Some(wit)
        })
    }

    fn item_by_key(&mut self, section_id: u32, rating_key: String) -> Option<Item> {
        self.host_call(|s| {
            let item = s
                .library
                .snapshots
                .library
                .item(section_id, &rating_key)
                .ok()
                .flatten()?;
            s.serve([&item]);
            Some(to_wit_item(&item))
        })
    }

    fn cached_search(&mut self, section_id: u32, title: String) -> Option<Vec<Item>> {
        self.host_call(|s| {
            let items = s.library.snapshots.cached_search(section_id, &title)?;
            s.note(|| Step::TitleSearch {
                title: title.clone(),
                keys: keys(&items),
                cached: true,
                repeated: false,
            });
            s.serve(&items);
            Some(items.iter().map(to_wit_item).collect())
        })
    }
}
