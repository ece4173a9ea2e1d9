//! One server's caches on disk, opened without asking any server: what they hold, and
//! forgetting or clearing parts of them. Which server is found from the data dir
//! (`--server`, or the one a URL was last found to be, or the only one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::backend::CachePolicy;
use crate::cache::{Counts, LibraryCache, LibraryFootprint, MatchCache, Pins};
use crate::plex::Section;
use crate::servers::{self, ServerIdentity};

/// The caches of one server in a data dir.
pub struct Caches {
    server: ServerIdentity,
    dir: PathBuf,
    data_dir: PathBuf,
    policy: CachePolicy,
    library: LibraryCache,
    matches: MatchCache,
}

/// What the caches hold, their sizes and their hit rates.
#[derive(Debug, Clone)]
pub struct CacheStats {
    /// The library cache: snapshots, items, searches, bytes.
    pub library: LibraryFootprint,
    /// Lookups of the library cache by kind, kept across runs.
    pub library_lookups: BTreeMap<String, Counts>,
    /// Decisions in the match cache.
    pub decisions: u64,
    /// Bytes of the match cache in use, and of its file.
    pub match_bytes: (u64, u64),
    /// Lookups of the match cache by kind.
    pub match_lookups: BTreeMap<String, Counts>,
    /// Compiled plugins, and their bytes.
    pub compiled: (u64, u64),
    /// Where compiled plugins are kept.
    pub compiled_dir: PathBuf,
    /// Pinned paths.
    pub pins: usize,
}

/// The server `choice` (a name or machine id), else the one `url` was last found to be,
/// else the only one with caches in `data_dir`; and its cache folder. No request is sent.
pub fn chosen_server(
    data_dir: &Path,
    choice: Option<&str>,
    url: Option<&str>,
) -> Result<Option<(ServerIdentity, PathBuf)>> {
    Ok(servers::choose(data_dir, choice, url)?.map(|s| {
        let dir = s.cache_dir(data_dir);
        (s, dir)
    }))
}

/// The server `url` was last found to be, if it was (no request is sent).
pub fn remembered_server(data_dir: &Path, url: &str) -> Option<ServerIdentity> {
    servers::remembered(data_dir, url)
}

/// The pins of the chosen server (see [`chosen_server`]), with no request to any server.
pub fn pins(data_dir: &Path, choice: Option<&str>, url: Option<&str>) -> Result<Pins> {
    match chosen_server(data_dir, choice, url)? {
        Some((_, dir)) => Ok(Pins::open(&dir)),
        None => bail!("no server has caches in this data dir yet, so nothing is pinned"),
    }
}

impl Caches {
    /// The chosen server's caches (see [`chosen_server`]), if it has any.
    pub fn open(
        data_dir: &Path,
        choice: Option<&str>,
        url: Option<&str>,
        policy: CachePolicy,
    ) -> Result<Option<Caches>> {
        let Some((server, dir)) = chosen_server(data_dir, choice, url)? else {
            return Ok(None);
        };
        Ok(Some(Caches {
            library: LibraryCache::open(&dir, policy.library_limit)?,
            matches: MatchCache::open(&dir, policy.match_limit)?,
            server,
            dir,
            data_dir: data_dir.to_path_buf(),
            policy,
        }))
    }

    /// The server these caches belong to.
    pub fn server(&self) -> &ServerIdentity {
        &self.server
    }

    /// The folder of these caches.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size limits they are kept within.
    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    /// What the caches hold.
    pub fn stats(&self) -> Result<CacheStats> {
        let compiled_dir = self.data_dir.join("plugins");
        Ok(CacheStats {
            library: self.library.footprint()?,
            library_lookups: self.library.stats_totals()?,
            decisions: self.matches.len()?,
            match_bytes: self.matches.bytes()?,
            match_lookups: self.matches.stats_totals()?,
            compiled: crate::runtime::compile_cache::footprint(&compiled_dir),
            compiled_dir,
            pins: Pins::open(&self.dir).list().map(|p| p.len()).unwrap_or(0),
        })
    }

    /// Forgets the decisions about `path` in `section` (of `plugin` alone: every build of
    /// it); how many.
    pub fn forget_path(&self, section: u32, path: &str, plugin: Option<&str>) -> Result<u64> {
        match plugin {
            Some(name) => self.matches.invalidate_plugin_path(name, section, path),
            None => self.matches.invalidate(section, path, None),
        }
    }

    /// Forgets the decisions of `plugin` (every build of it), in `section` or in all.
    pub fn forget_plugin(&self, plugin: &str, section: Option<u32>) -> Result<u64> {
        self.matches.invalidate_plugin(plugin, section)
    }

    /// Forgets every decision of `section`.
    pub fn forget_section(&self, section: u32) -> Result<u64> {
        self.matches.invalidate_section(section, None)
    }

    /// Deletes a section's snapshot, searches and decisions (pins are kept); how many
    /// decisions. A section the cached section list does not hold is an error.
    pub fn clear_section(&self, id: u32) -> Result<u64> {
        let known = self.known_sections()?;
        if !known.is_empty() && !known.iter().any(|s| s.id == id) {
            bail!(
                "server {} has no section {id}; known: {}",
                self.server.describe(),
                listed(&known)
            );
        }
        self.library.clear(Some(id))?;
        self.matches.invalidate_section(id, None)
    }

    /// Deletes everything both caches hold (pins are kept).
    pub fn clear(&self) -> Result<()> {
        self.library.clear(None)?;
        self.matches.clear()
    }

    /// The section list as cached.
    pub fn known_sections(&self) -> Result<Vec<Section>> {
        Ok(self.library.sections()?.map(|(s, _)| s).unwrap_or_default())
    }

    /// A section selector as an id: a number is an id; a title is looked up (exactly, case
    /// aside) in the cached section list, so that no Plex server is needed.
    pub fn section_id(&self, selector: &str) -> Result<u32> {
        if let Ok(id) = selector.trim().parse::<u32>() {
            return Ok(id);
        }
        let known = self.known_sections()?;
        let wanted = selector.trim().to_lowercase();
        let hits: Vec<&Section> = known
            .iter()
            .filter(|s| s.title.trim().to_lowercase() == wanted)
            .collect();
        match hits.as_slice() {
            [one] => Ok(one.id),
            [] if known.is_empty() => {
                bail!("no cached section list to look {selector:?} up in; give the section's id")
            }
            [] => bail!(
                "no cached section is called {selector:?}; known: {}",
                listed(&known)
            ),
            many => bail!(
                "{selector:?} names several sections ({}); give the id",
                many.iter()
                    .map(|s| s.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

fn listed(sections: &[Section]) -> String {
    sections
        .iter()
        .map(|s| format!("{} {:?}", s.id, s.title))
        .collect::<Vec<_>>()
        .join(", ")
}
