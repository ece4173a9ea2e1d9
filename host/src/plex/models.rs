//! Plex's JSON answers, read leniently (ids as strings or numbers, optional fields
//! missing), and the plain types the rest of plexmatch uses.

use serde::{Deserialize, Deserializer};

/// What a section holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SectionKind {
    Movie,
    Show,
    Artist,
    Photo,
    Other,
}

impl SectionKind {
    /// From Plex's `type` attribute.
    pub fn parse(s: &str) -> SectionKind {
        match s {
            "movie" => SectionKind::Movie,
            "show" => SectionKind::Show,
            "artist" => SectionKind::Artist,
            "photo" => SectionKind::Photo,
            _ => SectionKind::Other,
        }
    }

    /// Plex's `type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SectionKind::Movie => "movie",
            SectionKind::Show => "show",
            SectionKind::Artist => "artist",
            SectionKind::Photo => "photo",
            SectionKind::Other => "other",
        }
    }

    /// The `type=` of the items that hold files: movies, or episodes in a show section (W10).
    pub fn leaf_type(self) -> Option<u32> {
        match self {
            SectionKind::Movie => Some(1),
            SectionKind::Show => Some(4),
            _ => None,
        }
    }
}

/// A library section.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Section {
    pub id: u32,
    pub uuid: String,
    pub title: String,
    pub kind: SectionKind,
}

/// What an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Movie,
    Episode,
    Show,
    Season,
    Other,
}

impl ItemKind {
    /// From Plex's `type` attribute.
    pub fn parse(s: &str) -> ItemKind {
        match s {
            "movie" => ItemKind::Movie,
            "episode" => ItemKind::Episode,
            "show" => ItemKind::Show,
            "season" => ItemKind::Season,
            _ => ItemKind::Other,
        }
    }

    /// Plex's `type` name.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Movie => "movie",
            ItemKind::Episode => "episode",
            ItemKind::Show => "show",
            ItemKind::Season => "season",
            ItemKind::Other => "other",
        }
    }
}

/// A library item with what matching needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub rating_key: String,
    pub title: String,
    #[serde(with = "item_kind_serde")]
    pub kind: ItemKind,
    pub section_id: u32,
    pub files: Vec<String>,
}

mod item_kind_serde {
    use super::ItemKind;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(k: &ItemKind, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ItemKind, D::Error> {
        Ok(ItemKind::parse(&String::deserialize(d)?))
    }
}

/// `{"MediaContainer": {...}}`.
#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(rename = "MediaContainer")]
    pub container: Container,
}

/// A `MediaContainer`: a listing, a metadata answer or the section list.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub total_size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub offset: Option<u64>,
    #[serde(rename = "librarySectionID", default, deserialize_with = "lenient_u64")]
    pub library_section_id: Option<u64>,
    #[serde(rename = "Metadata", default)]
    pub metadata: Vec<Metadata>,
    #[serde(rename = "Directory", default)]
    pub directory: Vec<Directory>,
    /// The server's name (root answer).
    #[serde(default)]
    pub friendly_name: Option<String>,
    /// The server's version (root and identity answers).
    #[serde(default, deserialize_with = "lenient_string")]
    pub version: Option<String>,
    /// The server's id (root and identity answers).
    #[serde(default)]
    pub machine_identifier: Option<String>,
}

/// An item entry (`Metadata[]`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// As sent: a string or a number is a key, anything else a broken entry.
    #[serde(default)]
    pub rating_key: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub title: Option<String>,
    #[serde(rename = "type", default, deserialize_with = "lenient_string")]
    pub kind: Option<String>,
    #[serde(rename = "librarySectionID", default, deserialize_with = "lenient_u64")]
    pub library_section_id: Option<u64>,
    /// When the item last changed, by the server's clock (Unix seconds).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub updated_at: Option<u64>,
    #[serde(rename = "Media", default)]
    pub media: Vec<Media>,
}

/// One version of an item.
#[derive(Debug, Deserialize)]
pub struct Media {
    #[serde(rename = "Part", default)]
    pub parts: Vec<Part>,
}

/// One file of a version.
#[derive(Debug, Deserialize)]
pub struct Part {
    #[serde(default, deserialize_with = "lenient_string")]
    pub file: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
}

/// A section entry of `/library/sections` (`Directory[]`).
#[derive(Debug, Deserialize)]
pub struct Directory {
    #[serde(default, deserialize_with = "lenient_string")]
    pub key: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub uuid: Option<String>,
}

impl Metadata {
    /// The item, or `None` when the entry is broken (see [`Metadata::into_checked_item`]).
    pub fn into_item(self, section_id: Option<u64>) -> Option<Item> {
        self.into_checked_item(section_id).ok()
    }

    /// The item, or what is wrong with the entry: no usable `ratingKey`, or a movie or
    /// episode with no file (every playable item Plex lists has `Media > Part > file`).
    /// `section_id` stands in when the entry does not name its section (the container
    /// usually does).
    pub fn into_checked_item(self, section_id: Option<u64>) -> Result<Item, String> {
        let rating_key = match self.rating_key {
            Some(serde_json::Value::String(k)) if !k.trim().is_empty() => k,
            Some(serde_json::Value::Number(n)) => n.to_string(),
            None | Some(serde_json::Value::Null) => return Err("has no ratingKey".into()),
            Some(serde_json::Value::String(_)) => return Err("has an empty ratingKey".into()),
            Some(other) => {
                return Err(format!(
                    "has a ratingKey that is neither a string nor a number ({})",
                    json_kind(&other)
                ));
            }
        };
        let kind = ItemKind::parse(self.kind.as_deref().unwrap_or(""));
        let files: Vec<String> = self
            .media
            .into_iter()
            .flat_map(|m| m.parts)
            .filter_map(|p| p.file.filter(|f| !f.is_empty()))
            .collect();
        if files.is_empty() && matches!(kind, ItemKind::Movie | ItemKind::Episode) {
            return Err(format!(
                "(ratingKey {rating_key}) is a {} with no Media > Part > file",
                kind.as_str()
            ));
        }
        Ok(Item {
            rating_key,
            title: self.title.unwrap_or_default(),
            kind,
            section_id: self.library_section_id.or(section_id).unwrap_or(0) as u32,
            files,
        })
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl Directory {
    /// The section, or what is wrong with the entry: a `key` that is not a section id.
    /// A `type` plexmatch does not know is kind `other`, not an error.
    pub fn into_section(self) -> Result<Section, String> {
        let title = self.title.unwrap_or_default();
        let id = match self.key.as_deref().map(str::trim) {
            Some(k) => k
                .parse()
                .map_err(|_| format!("({title:?}) has key {k:?}, which is not a section id"))?,
            None => return Err(format!("({title:?}) has no key")),
        };
        Ok(Section {
            id,
            uuid: self.uuid.unwrap_or_default(),
            title,
            kind: SectionKind::parse(self.kind.as_deref().unwrap_or("")),
        })
    }
}

/// A number given as a JSON number or a string.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// A string given as a JSON string or a number.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}
