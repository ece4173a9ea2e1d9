//! The library file format users write (TOML or JSON; see the parent module's doc).

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// A library as written in a library file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LibraryFile {
    /// Name the server reports (`friendlyName`).
    #[serde(default)]
    pub server_name: Option<String>,
    /// The server's `machineIdentifier`; derived from the library's content when absent,
    /// so that two emulators serving different libraries are two different servers.
    #[serde(default)]
    pub machine_id: Option<String>,
    /// The sections, in the order the server lists them.
    #[serde(default)]
    pub sections: Vec<SectionSpec>,
}

/// One section of a library file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SectionSpec {
    pub id: u32,
    pub title: String,
    #[serde(rename = "type")]
    pub kind: SectionType,
    #[serde(default)]
    pub uuid: Option<String>,
    #[serde(default)]
    pub locations: Vec<String>,
    #[serde(default)]
    pub items: Vec<ItemSpec>,
}

/// Section types the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionType {
    Movie,
    Show,
}

impl SectionType {
    /// The Plex type name (`movie`, `show`).
    pub fn as_str(self) -> &'static str {
        match self {
            SectionType::Movie => "movie",
            SectionType::Show => "show",
        }
    }
}

/// A movie or an episode in a library file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemSpec {
    #[serde(default)]
    pub rating_key: Option<u64>,
    pub title: String,
    #[serde(default)]
    pub year: Option<u32>,
    /// For an episode: its show's title.
    #[serde(default)]
    pub show: Option<String>,
    #[serde(default)]
    pub season: Option<u32>,
    #[serde(default)]
    pub episode: Option<u32>,
    pub files: Vec<FileSpec>,
    /// External ids (`imdb://tt0113277`, `tmdb://949`, `tvdb://…`), listed as `Guid[]`;
    /// when none are given the emulator makes up stable ones from the rating key.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guids: Vec<String>,
}

/// One version of an item: a single file, or the parts of a multi-part file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FileSpec {
    Single(String),
    Parts(Vec<String>),
}

impl FileSpec {
    /// The part paths of this version.
    pub fn parts(&self) -> Vec<&str> {
        match self {
            FileSpec::Single(p) => vec![p.as_str()],
            FileSpec::Parts(ps) => ps.iter().map(String::as_str).collect(),
        }
    }
}

impl LibraryFile {
    /// Reads a library file; `.json` is read as JSON, anything else as TOML.
    pub fn load(path: &Path) -> Result<LibraryFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read library file {}", path.display()))?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let lib = if is_json {
            LibraryFile::from_json(&text)
        } else {
            LibraryFile::from_toml(&text)
        };
        lib.with_context(|| format!("invalid library file {}", path.display()))
    }

    /// Parses a library from TOML text.
    pub fn from_toml(text: &str) -> Result<LibraryFile> {
        Ok(toml::from_str(text)?)
    }

    /// Parses a library from JSON text.
    pub fn from_json(text: &str) -> Result<LibraryFile> {
        Ok(serde_json::from_str(text)?)
    }

    /// The sample library bundled for `plexmatch demo`.
    pub fn sample() -> LibraryFile {
        LibraryFile::from_toml(include_str!("../../libraries/sample.toml"))
            .expect("the bundled sample library is valid")
    }
}
