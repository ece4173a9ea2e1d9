//! The library an emulator serves: the file format users write, and the indexed form
//! the server answers from.
//!
//! File format (TOML shown; JSON with the same field names works too):
//!
//! ```toml
//! [[sections]]
//! id = 1                      # Plex section id (the `key` of /library/sections)
//! title = "Movies"
//! type = "movie"              # "movie" or "show"
//! locations = ["/data/movies"]  # optional
//! uuid = "…"                  # optional; derived from the id when absent
//!
//! [[sections.items]]          # a movie
//! rating_key = 101            # optional; assigned when absent
//! title = "Inception"
//! year = 2010                 # optional
//! files = ["/data/movies/Inception (2010)/Inception (2010).mkv"]
//!
//! [[sections.items]]          # an episode (show sections); shows and seasons are derived
//! show = "Northern Lights"
//! season = 1
//! episode = 2
//! title = "The Long Night"
//! files = ["/data/tv/Northern Lights/Season 01/Northern Lights - S01E02.mkv"]
//! ```
//!
//! Each entry of `files` is one version (`Media`) with one `Part`; an entry may also be a
//! list of paths for a multi-part version.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

mod file;
pub use file::{FileSpec, ItemSpec, LibraryFile, SectionSpec, SectionType};

/// What kind of entry the server holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Movie,
    Show,
    Season,
    Episode,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 4] = [
        EntryKind::Movie,
        EntryKind::Show,
        EntryKind::Season,
        EntryKind::Episode,
    ];

    /// Plex's numeric type (`type=` query parameter).
    pub fn type_number(self) -> u32 {
        match self {
            EntryKind::Movie => 1,
            EntryKind::Show => 2,
            EntryKind::Season => 3,
            EntryKind::Episode => 4,
        }
    }

    /// Plex's type name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Movie => "movie",
            EntryKind::Show => "show",
            EntryKind::Season => "season",
            EntryKind::Episode => "episode",
        }
    }

    /// Whether the entry has media files (a leaf) rather than children.
    pub fn is_leaf(self) -> bool {
        matches!(self, EntryKind::Movie | EntryKind::Episode)
    }
}

/// One entry the server can return.
#[derive(Debug, Clone)]
pub struct Entry {
    pub rating_key: u64,
    pub kind: EntryKind,
    pub title: String,
    pub year: Option<u32>,
    /// External ids (`Guid[]`).
    pub guids: Vec<String>,
    pub section: usize,
    /// Parent (season of an episode, show of a season).
    pub parent: Option<u64>,
    /// Grandparent (show of an episode).
    pub grandparent: Option<u64>,
    /// Season number of a season, episode number of an episode.
    pub index: Option<u32>,
    /// Versions, each a list of part paths.
    pub media: Vec<Vec<String>>,
    /// Children (seasons of a show, episodes of a season), in order.
    pub children: Vec<u64>,
    /// When the server added it (`addedAt`, Unix seconds).
    pub added_at: u64,
    /// When it last changed (`updatedAt`, Unix seconds).
    pub updated_at: u64,
}

/// A change to a running emulator's library (what a rescan finds).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Change {
    /// A new movie or episode in a section.
    Add { section: u32, item: ItemSpec },
    /// An item removed.
    Delete { rating_key: u64 },
    /// An item's files renamed or replaced.
    SetFiles {
        rating_key: u64,
        files: Vec<FileSpec>,
    },
    /// An item retitled.
    SetTitle { rating_key: u64, title: String },
    /// A movie moved to another movie section (its file moved to that section's folder).
    Move { rating_key: u64, section: u32 },
}

/// Shows and seasons of a section, by title and by (show, season number).
#[derive(Default)]
struct Parents {
    shows: HashMap<String, u64>,
    seasons: HashMap<(u64, u32), u64>,
}

/// When the emulator's initial items were added: a fixed past time, one item a minute in
/// rating-key order, so that answers are deterministic and `updatedAt` filters have
/// something to tell apart.
pub const ADDED_AT: u64 = 1_700_000_000;

fn initial_time(rating_key: u64) -> u64 {
    ADDED_AT + rating_key.saturating_mul(60).min(200_000_000)
}

/// A section as the server holds it.
#[derive(Debug, Clone)]
pub struct Section {
    pub id: u32,
    pub title: String,
    pub kind: SectionType,
    pub uuid: String,
    pub locations: Vec<String>,
    /// Rating keys of the section's entries, in listing order.
    pub entries: Vec<u64>,
}

/// The indexed library the server answers from.
#[derive(Debug, Clone)]
pub struct Library {
    pub server_name: String,
    pub machine_id: String,
    pub sections: Vec<Section>,
    pub entries: HashMap<u64, Entry, BuildHasherDefault<KeyHasher>>,
}

/// Hashes rating keys with one multiplication: a listing page looks up every item of its
/// section (51,000 look-ups a page at 50,000 items), and SipHash made that most of the
/// emulator's time, time a real server spends on its own hardware, not on the client's.
#[derive(Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

impl Library {
    /// Builds the served form: assigns missing rating keys, derives shows and seasons.
    pub fn build(file: &LibraryFile) -> Result<Library> {
        let mut used: std::collections::HashSet<u64> = std::collections::HashSet::new();
        for s in &file.sections {
            for it in &s.items {
                if let Some(k) = it.rating_key
                    && !used.insert(k)
                {
                    bail!("rating_key {k} is used twice");
                }
            }
        }
        let mut next_key = used.iter().max().copied().unwrap_or(0).max(99) + 1;
        let mut fresh_key = || {
            while used.contains(&next_key) {
                next_key += 1;
            }
            used.insert(next_key);
            next_key
        };

        let mut lib = Library {
            server_name: file
                .server_name
                .clone()
                .unwrap_or_else(|| "plexmatch emulator".into()),
            machine_id: file
                .machine_id
                .clone()
                .unwrap_or_else(|| derived_machine_id(file)),
            sections: Vec::new(),
            entries: HashMap::default(),
        };
        let mut seen_ids = std::collections::HashSet::new();
        for spec in &file.sections {
            if !seen_ids.insert(spec.id) {
                bail!("section id {} is used twice", spec.id);
            }
            lib.sections.push(Section {
                id: spec.id,
                title: spec.title.clone(),
                kind: spec.kind,
                uuid: spec.uuid.clone().unwrap_or_else(|| derived_uuid(spec.id)),
                locations: spec.locations.clone(),
                entries: Vec::new(),
            });
            let si = lib.sections.len() - 1;
            let mut parents = Parents::default();
            for item in &spec.items {
                let key = match item.rating_key {
                    Some(k) => k,
                    None => fresh_key(),
                };
                lib.insert_item(si, item, key, &mut parents, &mut fresh_key, None)?;
            }
        }
        Ok(lib)
    }

    /// Adds a movie or an episode to section `si` under `key` (an episode's show and season
    /// are found in `parents` or made). Times: `at`, or the library's fixed past ones.
    fn insert_item(
        &mut self,
        si: usize,
        item: &ItemSpec,
        key: u64,
        parents: &mut Parents,
        fresh_key: &mut dyn FnMut() -> u64,
        at: Option<u64>,
    ) -> Result<()> {
        let media: Vec<Vec<String>> = item
            .files
            .iter()
            .map(|f| f.parts().into_iter().map(str::to_owned).collect())
            .collect();
        let stamp = at.unwrap_or_else(|| initial_time(key));
        let section_title = self.sections[si].title.clone();
        let mut entry = Entry {
            rating_key: key,
            kind: EntryKind::Movie,
            title: item.title.clone(),
            year: item.year,
            guids: if item.guids.is_empty() {
                made_up_guids(key, item.show.is_some())
            } else {
                item.guids.clone()
            },
            section: si,
            parent: None,
            grandparent: None,
            index: None,
            media,
            children: Vec::new(),
            added_at: stamp,
            updated_at: stamp,
        };
        match self.sections[si].kind {
            SectionType::Movie => {
                if item.show.is_some() {
                    bail!(
                        "movie section {section_title:?} holds an episode ({:?})",
                        item.title
                    );
                }
                self.sections[si].entries.push(key);
            }
            SectionType::Show => {
                let show_title = item.show.clone().with_context(|| {
                    format!(
                        "episode {:?} in show section {section_title:?} has no `show`",
                        item.title
                    )
                })?;
                let season_no = item.season.unwrap_or(1);
                let show_key = match parents.shows.get(&show_title) {
                    Some(k) => *k,
                    None => {
                        let k = fresh_key();
                        parents.shows.insert(show_title.clone(), k);
                        self.sections[si].entries.push(k);
                        self.entries.insert(
                            k,
                            Entry {
                                kind: EntryKind::Show,
                                title: show_title.clone(),
                                rating_key: k,
                                guids: Vec::new(),
                                media: Vec::new(),
                                ..entry.clone()
                            },
                        );
                        k
                    }
                };
                let season_key = match parents.seasons.get(&(show_key, season_no)) {
                    Some(k) => *k,
                    None => {
                        let k = fresh_key();
                        parents.seasons.insert((show_key, season_no), k);
                        self.entries.insert(
                            k,
                            Entry {
                                rating_key: k,
                                kind: EntryKind::Season,
                                title: format!("Season {season_no}"),
                                year: None,
                                guids: Vec::new(),
                                parent: Some(show_key),
                                index: Some(season_no),
                                media: Vec::new(),
                                ..entry.clone()
                            },
                        );
                        self.child_list(show_key).push(k);
                        k
                    }
                };
                entry.kind = EntryKind::Episode;
                entry.parent = Some(season_key);
                entry.grandparent = Some(show_key);
                entry.index = item.episode;
                self.child_list(season_key).push(key);
            }
        }
        self.entries.insert(key, entry);
        Ok(())
    }

    fn child_list(&mut self, key: u64) -> &mut Vec<u64> {
        &mut self.entries.get_mut(&key).expect("parent exists").children
    }

    /// The shows and seasons section `si` already holds, by title and number.
    fn parents_of(&self, si: usize) -> Parents {
        let mut p = Parents::default();
        for k in &self.sections[si].entries {
            let e = &self.entries[k];
            if e.kind == EntryKind::Show {
                p.shows.insert(e.title.clone(), e.rating_key);
                for s in &e.children {
                    let season = &self.entries[s];
                    p.seasons
                        .insert((e.rating_key, season.index.unwrap_or(1)), season.rating_key);
                }
            }
        }
        p
    }

    /// Changes the library as a rescan that found `change` would, stamping what changed
    /// with `now` (Unix seconds): its `updatedAt`, and an added item's `addedAt`. Returns the
    /// rating key of the item changed.
    pub fn apply(&mut self, change: &Change, now: u64) -> Result<u64> {
        match change {
            Change::Add { section, item } => {
                let si = self.section_index(*section)?;
                let next = self.entries.keys().max().copied().unwrap_or(99).max(99) + 1;
                let key = match item.rating_key {
                    Some(k) if self.entries.contains_key(&k) => bail!("rating_key {k} is in use"),
                    Some(k) => k,
                    None => next,
                };
                // A new show or season takes keys above every key in use.
                let mut spare = next.max(key + 1);
                let mut fresh = move || {
                    spare += 1;
                    spare - 1
                };
                let mut parents = self.parents_of(si);
                self.insert_item(si, item, key, &mut parents, &mut fresh, Some(now))?;
                Ok(key)
            }
            Change::Delete { rating_key } => {
                let e = self.leaf(*rating_key)?.clone();
                self.entries.remove(rating_key);
                self.unlink(e.section, *rating_key, e.parent);
                Ok(*rating_key)
            }
            Change::SetFiles { rating_key, files } => {
                let e = self.leaf_mut(*rating_key)?;
                e.media = files
                    .iter()
                    .map(|f| f.parts().into_iter().map(str::to_owned).collect())
                    .collect();
                e.updated_at = now;
                Ok(*rating_key)
            }
            Change::SetTitle { rating_key, title } => {
                let e = self.leaf_mut(*rating_key)?;
                e.title = title.clone();
                e.updated_at = now;
                Ok(*rating_key)
            }
            Change::Move {
                rating_key,
                section,
            } => {
                let to = self.section_index(*section)?;
                let e = self.leaf(*rating_key)?.clone();
                if e.kind != EntryKind::Movie || self.sections[to].kind != SectionType::Movie {
                    bail!("only a movie moves between movie sections (item {rating_key})");
                }
                self.unlink(e.section, *rating_key, None);
                self.sections[to].entries.push(*rating_key);
                let moved = self.leaf_mut(*rating_key)?;
                moved.section = to;
                moved.updated_at = now;
                Ok(*rating_key)
            }
        }
    }

    fn section_index(&self, id: u32) -> Result<usize> {
        self.sections
            .iter()
            .position(|s| s.id == id)
            .with_context(|| format!("there is no section {id}"))
    }

    fn leaf(&self, key: u64) -> Result<&Entry> {
        match self.entries.get(&key) {
            Some(e) if e.kind.is_leaf() => Ok(e),
            _ => bail!("there is no movie or episode with rating key {key}"),
        }
    }

    fn leaf_mut(&mut self, key: u64) -> Result<&mut Entry> {
        self.leaf(key)?;
        Ok(self.entries.get_mut(&key).expect("just found"))
    }

    /// Takes `key` out of its section's list or its parent's children; a season or show
    /// left empty goes too, as on a server that cleans up after a deletion.
    fn unlink(&mut self, si: usize, key: u64, parent: Option<u64>) {
        match parent {
            None => self.sections[si].entries.retain(|k| *k != key),
            Some(p) => {
                let grand = self.entries.get(&p).and_then(|e| e.parent);
                let empty = {
                    let children = self.child_list(p);
                    children.retain(|k| *k != key);
                    children.is_empty()
                };
                if empty {
                    self.entries.remove(&p);
                    self.unlink(si, p, grand);
                }
            }
        }
    }

    /// Keeps the times of entries that did not change since `old` (a rescan leaves them
    /// alone) and stamps `now` on those that did or are new.
    pub fn carry_times(&mut self, old: &Library, now: u64) {
        for e in self.entries.values_mut() {
            match old.entries.get(&e.rating_key) {
                Some(o)
                    if o.title == e.title
                        && o.media == e.media
                        && o.kind == e.kind
                        && old.sections[o.section].id == self.sections[e.section].id =>
                {
                    e.added_at = o.added_at;
                    e.updated_at = o.updated_at;
                }
                Some(o) => {
                    e.added_at = o.added_at;
                    e.updated_at = now;
                }
                None => {
                    e.added_at = now;
                    e.updated_at = now;
                }
            }
        }
    }

    /// The section with this id.
    pub fn section(&self, id: u32) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// Entries of a section of one kind, in listing order (episodes in show order).
    pub fn entries_of(&self, section: &Section, kind: EntryKind) -> Vec<&Entry> {
        let mut out = Vec::new();
        for key in &section.entries {
            let e = &self.entries[key];
            self.collect(e, kind, &mut out);
        }
        out
    }

    fn collect<'a>(&'a self, e: &'a Entry, kind: EntryKind, out: &mut Vec<&'a Entry>) {
        if e.kind == kind {
            out.push(e);
            return;
        }
        for c in &e.children {
            self.collect(&self.entries[c], kind, out);
        }
    }
}

/// A 40-hex-digit id (as Plex's) from the library's content: FNV-1a over its JSON form,
/// spread over five 64-bit words.
fn derived_machine_id(file: &LibraryFile) -> String {
    let text = serde_json::to_string(file).unwrap_or_default();
    (0u64..5)
        .map(|round| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for b in text.bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            format!("{:08x}", h >> 32)
        })
        .collect()
}

/// A stable uuid-shaped string for a section id.
fn derived_uuid(id: u32) -> String {
    format!(
        "5a1e1d0e-{:04x}-4c0d-9e1a-{:012x}",
        id & 0xffff,
        0x00e3u64 * 1_000_003 + id as u64
    )
}

/// Stable external ids for an item its library file gave none: an IMDb and a TMDB id for a
/// movie, and a TVDB one too for an episode, all derived from the rating key.
fn made_up_guids(key: u64, episode: bool) -> Vec<String> {
    let n = key.wrapping_mul(2_654_435_761) % 9_000_000 + 100_000;
    let mut out = vec![format!("imdb://tt{n:07}"), format!("tmdb://{}", n / 7)];
    if episode {
        out.push(format!("tvdb://{}", n / 3));
    }
    out
}
