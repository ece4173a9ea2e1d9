//! `library-cache`: reads of the host's library cache, with no network access.

use super::plex::keys;
use super::to_wit_item;
use crate::runtime::bindings::plexmatch::plugin::library_cache::{Host, SnapshotInfo};
use crate::runtime::bindings::plexmatch::plugin::types::Item;
use crate::runtime::{State, Step};

impl Host for State {
    fn snapshot(&mut self, section_id: u32) -> Option<SnapshotInfo> {
        self.host_call(|s| {
            s.snapshot(section_id).map(|(info, fresh)| SnapshotInfo {
                item_count: info.item_count,
                age_seconds: crate::cache::now().saturating_sub(info.refreshed_at).max(0) as u64,
                fresh,
            })
        })
    }

    fn items_by_file_name(&mut self, section_id: u32, file_name: String) -> Option<Vec<Item>> {
        self.host_call(|s| {
            let key = plexmatch_matchkit::name_key(&file_name);
            let items = match s.index_memo.take() {
                Some((id, k, items)) if id == section_id && k == key => Some(items),
                _ => s.snapshot_items(section_id, &file_name),
            };
            s.backend
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
                .backend
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
            let items = s.backend.cached_search(section_id, &title)?;
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
