//! One Plex server's client and caches, without plugins: what listing sections, pinning,
//! refreshing and checking a server need. An [`Engine`](super::Engine) is a server with a
//! plugin chain and chosen sections.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use crate::backend::{Backend, CachePolicy, Refreshed};
use crate::cache::{LibraryFootprint, Pin, SnapshotInfo};
use crate::plex::{ListingWatch, PlexConfig, PlexError, Section, ServerInfo};
use crate::servers::ServerIdentity;

/// An open server: its identity, its caches in the data dir, and the Plex client.
#[derive(Clone)]
pub struct Server {
    pub(crate) backend: Arc<Backend>,
}

/// What the cache holds of a section: its snapshot's size, and whether it is fresh.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotState {
    /// Items in the snapshot.
    pub items: u64,
    /// Within the library TTL.
    pub fresh: bool,
    /// Seconds since it was last brought up to date.
    pub age_seconds: u64,
}

impl Server {
    /// Prepares the Plex client, finds out which server it reaches (remembered, or one
    /// request that also checks the token) and opens that server's caches in `data_dir`.
    pub fn open(plex: &PlexConfig, data_dir: &Path, policy: CachePolicy) -> Result<Server> {
        Ok(Server {
            backend: Arc::new(Backend::open(plex, data_dir, policy)?),
        })
    }

    /// The server as it was identified.
    pub fn identity(&self) -> &ServerIdentity {
        &self.backend.server
    }

    /// The folder of this server's caches.
    pub fn cache_dir(&self) -> &Path {
        &self.backend.cache_dir
    }

    /// The server's library sections (from the cache while fresh).
    pub fn sections(&self) -> Result<Vec<Section>, PlexError> {
        self.backend.snapshots.sections()
    }

    /// The sections `selectors` name (titles or ids; none: every movie and show section).
    pub fn choose(&self, selectors: &[String]) -> Result<Vec<Section>> {
        let all = self.sections()?;
        crate::sections::resolve(selectors, &all)
    }

    /// What the cache holds of a section's snapshot, if anything.
    pub fn snapshot(&self, section_id: u32) -> Option<SnapshotState> {
        self.backend
            .snapshots
            .snapshot(section_id)
            .map(|(info, fresh): (SnapshotInfo, bool)| SnapshotState {
                items: u64::from(info.item_count),
                fresh,
                age_seconds: crate::cache::now().saturating_sub(info.refreshed_at).max(0) as u64,
            })
    }

    /// Brings a section's snapshot up to date now (`full`: list it in full); `None`:
    /// another process just did it.
    pub fn refresh(&self, section_id: u32, full: bool) -> Result<Option<Refreshed>, PlexError> {
        self.backend.snapshots.force_refresh(section_id, full)
    }

    /// Pins `path` to item `rating_key` of one of `sections`, checked against Plex (the
    /// item must hold a file of the path's name unless `force`); the pin, and the one it
    /// replaced.
    pub fn pin(
        &self,
        sections: &[Section],
        path: &str,
        rating_key: &str,
        force: bool,
    ) -> Result<(Pin, Option<Pin>)> {
        crate::pinning::pin(&self.backend, sections, path, rating_key, force)
    }

    /// Removes the pin of `path`; the pin it was, if any.
    pub fn unpin(&self, path: &str) -> Result<Option<Pin>> {
        self.backend.decisions.pins.remove(path)
    }

    /// Whether the server was found not to find items by file (this run or before), and why.
    pub fn file_lookups_unsupported(&self) -> Option<String> {
        self.backend.snapshots.file_lookups_unsupported()
    }

    /// Asks the server for the items holding a file no library holds (one request): `Ok`
    /// when it answers none, as a server that finds items by file does; else why not.
    pub fn probe_file_lookups(&self, section: &Section) -> Result<(), String> {
        let Some(item_type) = section.kind.leaf_type() else {
            return Ok(());
        };
        let probe = "plexmatch-probe-no-such-file.mkv";
        match self
            .backend
            .gateway
            .plex
            .items_by_file(section.id, item_type, probe)
        {
            Ok(items) if items.is_empty() => Ok(()),
            Ok(items) => Err(format!(
                "it ignores the file filter (a look-up for a file no item has answered {} item(s)); sections are listed instead",
                items.len()
            )),
            Err(e) => Err(format!(
                "it refused a file look-up ({e}); sections are listed instead"
            )),
        }
    }

    /// What a file look-up and a listing page of this server take, in milliseconds, as
    /// measured (this run, or remembered by the data dir): what weighs one against the
    /// other for a section with no snapshot.
    pub fn request_costs(&self) -> (Option<f64>, Option<f64>) {
        let snapshots = &self.backend.snapshots;
        let page = self.backend.gateway.plex.page_size() as f64;
        (
            snapshots
                .measured(crate::plex::RequestKind::FileLookup)
                .map(|us| us / 1000.0),
            snapshots
                .measured(crate::plex::RequestKind::ListingItem)
                .map(|us| us * page / 1000.0),
        )
    }

    /// Asks the server who it is (one request, checking the token).
    pub fn server_info(&self) -> Result<ServerInfo, PlexError> {
        self.backend.gateway.plex.server_info()
    }

    /// Asks the server for its sections, bypassing the cache.
    pub fn list_sections(&self) -> Result<Vec<Section>, PlexError> {
        self.backend.gateway.plex.sections()
    }

    /// Asks the server how many items of `item_type` a section holds (one request).
    pub fn count_items(&self, section_id: u32, item_type: u32) -> Result<u64, PlexError> {
        self.backend.gateway.plex.count_items(section_id, item_type)
    }

    /// What the library cache holds.
    pub fn footprint(&self) -> Result<LibraryFootprint> {
        self.backend.snapshots.library.footprint()
    }

    /// How many decisions the match cache holds.
    pub fn decisions(&self) -> Result<u64> {
        self.backend.decisions.matches.len()
    }

    /// Reports the progress of section listings to `watch`.
    pub fn watch_listings(&self, watch: ListingWatch) {
        self.backend.gateway.plex.watch_listings(watch);
    }

    /// Plex requests sent since the server was opened.
    pub fn requests(&self) -> u64 {
        self.backend.gateway.plex.requests()
    }

    /// Writes the cache counters and last uses to the cache files.
    pub fn flush(&self) {
        self.backend.flush();
    }
}
