//! The host interfaces for plugins built for contract 0.1: each function is the current
//! one's, its answer described in 0.1's types (`wit::v0_1`).

use super::State;
use crate::wit::bindings::plexmatch::plugin as now;
use crate::wit::bindings_v0_1::plexmatch::plugin::{
    library_cache, log, match_cache, plex, settings, types,
};
use crate::wit::v0_1 as to;

impl types::Host for State {}

impl plex::Host for State {
    fn sections(&mut self) -> Result<Vec<types::Section>, types::PlexError> {
        now::plex::Host::sections(self)
            .map(|v| v.iter().map(to::section).collect())
            .map_err(to::plex_error)
    }

    fn search(
        &mut self,
        section_id: u32,
        title: String,
    ) -> Result<Vec<types::Item>, types::PlexError> {
        now::plex::Host::search(self, section_id, title)
            .map(to::items)
            .map_err(to::plex_error)
    }

    fn fetch_item(&mut self, rating_key: String) -> Result<types::Item, types::PlexError> {
        now::plex::Host::fetch_item(self, rating_key)
            .map(to::item)
            .map_err(to::plex_error)
    }

    fn items_by_file_name(
        &mut self,
        section_id: u32,
        file_name: String,
    ) -> Result<Vec<types::Item>, types::PlexError> {
        now::plex::Host::items_by_file_name(self, section_id, file_name)
            .map(to::items)
            .map_err(to::plex_error)
    }
}

impl library_cache::Host for State {
    fn snapshot(&mut self, section_id: u32) -> Option<library_cache::SnapshotInfo> {
        now::library_cache::Host::snapshot(self, section_id).map(to::snapshot_info)
    }

    fn items_by_file_name(
        &mut self,
        section_id: u32,
        file_name: String,
    ) -> Option<Vec<types::Item>> {
        now::library_cache::Host::items_by_file_name(self, section_id, file_name).map(to::items)
    }

    fn item_by_key(&mut self, section_id: u32, rating_key: String) -> Option<types::Item> {
        now::library_cache::Host::item_by_key(self, section_id, rating_key).map(to::item)
    }

    fn cached_search(&mut self, section_id: u32, title: String) -> Option<Vec<types::Item>> {
        now::library_cache::Host::cached_search(self, section_id, title).map(to::items)
    }
}

impl match_cache::Host for State {
    fn get(&mut self, section_id: u32, path: String) -> Option<match_cache::CachedMatch> {
        now::match_cache::Host::get(self, section_id, path).map(to::cached_match)
    }

    fn put(
        &mut self,
        section_id: u32,
        path: String,
        rating_key: String,
    ) -> Result<(), types::CacheError> {
        now::match_cache::Host::put(self, section_id, path, rating_key, None)
            .map_err(to::cache_error)
    }

    fn invalidate(&mut self, section_id: u32, path: String) {
        now::match_cache::Host::invalidate(self, section_id, path)
    }

    fn invalidate_section(&mut self, section_id: u32) {
        now::match_cache::Host::invalidate_section(self, section_id)
    }
}

impl log::Host for State {
    fn log(&mut self, level: log::Level, message: String) {
        now::log::Host::log(self, to::level(level), message)
    }
}

impl settings::Host for State {
    fn get(&mut self, key: String) -> Option<String> {
        now::settings::Host::get(self, key)
    }

    fn all(&mut self) -> Vec<(String, String)> {
        now::settings::Host::all(self)
    }
}
