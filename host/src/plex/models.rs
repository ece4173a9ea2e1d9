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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Movie,
    Episode,
    Show,
    Season,
    #[default]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    pub rating_key: String,
    pub title: String,
    #[serde(with = "item_kind_serde")]
    pub kind: ItemKind,
    pub section_id: u32,
    pub files: Vec<String>,
    /// Year, external ids and the size and duration of each file, packed (see [`Extras`]).
    #[serde(default, skip_serializing_if = "Extras::is_empty")]
    pub extras: Extras,
}

/// What Plex says of one file of an item besides its path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PartInfo {
    /// Bytes.
    pub size: Option<u64>,
    /// Milliseconds.
    pub duration_ms: Option<u64>,
}

/// An item's year, external ids (`imdb://tt0113277`, `tmdb://949`, `tvdb://…`) and each
/// file's size and duration, packed into one string: `2010\timdb://tt1375666
/// tmdb://27205\t1234:5400000,:` (year or `-`; ids separated by spaces; per file `size:ms`,
/// either empty when unknown). A section's listing holds 100,000 items at once, and one
/// small allocation each keeps that within the memory target, where the same data as a
/// year, a list of strings and a list of parts took several times the memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Extras(Option<Box<str>>);

impl Extras {
    /// Packs the parts; ids holding whitespace cannot be packed and are left out.
    pub fn new(year: Option<u32>, guids: &[String], parts: &[PartInfo]) -> Extras {
        let known_parts = parts.iter().any(|p| *p != PartInfo::default());
        let guids: Vec<&str> = guids
            .iter()
            .map(String::as_str)
            .filter(|g| !g.is_empty() && !g.contains(char::is_whitespace))
            .collect();
        if year.is_none() && guids.is_empty() && !known_parts {
            return Extras(None);
        }
        let num = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        let parts = if known_parts {
            parts
                .iter()
                .map(|p| format!("{}:{}", num(p.size), num(p.duration_ms)))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            String::new()
        };
        Extras(Some(
            format!(
                "{}\t{}\t{parts}",
                year.map_or("-".into(), |y| y.to_string()),
                guids.join(" ")
            )
            .into_boxed_str(),
        ))
    }

    /// The packed form as stored (`None`: nothing known).
    pub fn packed(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// From the packed form as stored.
    pub fn from_packed(packed: Option<String>) -> Extras {
        Extras(packed.filter(|p| !p.is_empty()).map(String::into_boxed_str))
    }

    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn field(&self, n: usize) -> &str {
        self.0
            .as_deref()
            .and_then(|p| p.split('\t').nth(n))
            .unwrap_or("")
    }

    /// The release year, when Plex knows it.
    pub fn year(&self) -> Option<u32> {
        self.field(0).parse().ok()
    }

    /// External ids as Plex lists them.
    pub fn guids(&self) -> Vec<String> {
        split_guids(self.field(1))
    }

    /// Year, ids and the first `files` parts in one pass (what a plugin is given).
    pub fn unpack(&self, files: usize) -> (Option<u32>, Vec<String>, Vec<PartInfo>) {
        let mut fields = self.0.as_deref().unwrap_or("").split('\t');
        let year = fields.next().and_then(|y| y.parse().ok());
        let guids = split_guids(fields.next().unwrap_or(""));
        let mut sizes = fields.next().unwrap_or("").split(',');
        let parts = (0..files)
            .map(|_| sizes.next().map(parse_part).unwrap_or_default())
            .collect();
        (year, guids, parts)
    }

    /// Size and duration of file `i` of the item, if known.
    pub fn part(&self, i: usize) -> PartInfo {
        self.field(2)
            .split(',')
            .nth(i)
            .map(parse_part)
            .unwrap_or_default()
    }
}

/// Packed ids, separated by spaces.
fn split_guids(packed: &str) -> Vec<String> {
    packed
        .split(' ')
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One packed `size:ms` (either may be empty).
fn parse_part(p: &str) -> PartInfo {
    let (size, ms) = p.split_once(':').unwrap_or((p, ""));
    PartInfo {
        size: size.parse().ok(),
        duration_ms: ms.parse().ok(),
    }
}

impl Item {
    /// The release year, when Plex knows it.
    pub fn year(&self) -> Option<u32> {
        self.extras.year()
    }

    /// External ids as Plex lists them (`imdb://tt0113277`, `tmdb://949`, `tvdb://…`).
    pub fn guids(&self) -> Vec<String> {
        self.extras.guids()
    }

    /// Size and duration of `files[i]`, if known.
    pub fn part(&self, i: usize) -> PartInfo {
        self.extras.part(i)
    }
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
    #[serde(default, deserialize_with = "lenient_u64")]
    pub year: Option<u64>,
    /// The agent's id: `plex://movie/…`, or with a legacy agent
    /// `com.plexapp.agents.imdb://tt0113277?lang=en`.
    #[serde(default, deserialize_with = "lenient_string")]
    pub guid: Option<String>,
    /// External ids, listed when the request says `includeGuids=1`.
    #[serde(rename = "Guid", default)]
    pub guids: Vec<GuidEntry>,
    #[serde(rename = "Media", default)]
    pub media: Vec<Media>,
}

/// One external id (`Guid[]`).
#[derive(Debug, Deserialize)]
pub struct GuidEntry {
    #[serde(default, deserialize_with = "lenient_string")]
    pub id: Option<String>,
}

/// One version of an item.
#[derive(Debug, Deserialize)]
pub struct Media {
    #[serde(default, deserialize_with = "lenient_u64")]
    pub duration: Option<u64>,
    #[serde(rename = "Part", default)]
    pub parts: Vec<Part>,
}

/// One file of a version.
#[derive(Debug, Deserialize)]
pub struct Part {
    /// Kept as sent: a file that is not a string naming an absolute path makes the whole
    /// answer unreadable (see [`part_file`]), never a file stored under a made-up name.
    #[serde(default)]
    pub file: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    pub duration: Option<u64>,
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
        let mut files = Vec::new();
        let mut parts = Vec::new();
        for m in self.media {
            for p in m.parts {
                let Some(file) = part_file(p.file)
                    .map_err(|why| format!("(ratingKey {rating_key}) has a Part file {why}"))?
                else {
                    continue;
                };
                files.push(file);
                parts.push(PartInfo {
                    size: p.size,
                    // A version of one part lasts as long as the part.
                    duration_ms: p.duration.or(m.duration),
                });
            }
        }
        let mut guids: Vec<String> = self
            .guids
            .into_iter()
            .filter_map(|g| g.id.filter(|id| !id.trim().is_empty()))
            .collect();
        if guids.is_empty()
            && let Some(g) = self.guid.as_deref().and_then(legacy_guid)
        {
            guids.push(g);
        }
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
            extras: Extras::new(
                self.year
                    .and_then(|y| u32::try_from(y).ok())
                    .filter(|y| *y > 0),
                &guids,
                &parts,
            ),
            files,
        })
    }
}

/// The external id in a legacy agent's guid: `com.plexapp.agents.imdb://tt0113277?lang=en`
/// is `imdb://tt0113277`, `com.plexapp.agents.themoviedb://949?lang=en` is `tmdb://949`. (A
/// legacy TV agent's episode guid names show/season/episode, not an id: none.)
fn legacy_guid(guid: &str) -> Option<String> {
    let rest = guid.strip_prefix("com.plexapp.agents.")?;
    let (agent, id) = rest.split_once("://")?;
    let id = id.split('?').next()?;
    let scheme = match agent {
        "imdb" => "imdb",
        "themoviedb" => "tmdb",
        "thetvdb" => "tvdb",
        _ => return None,
    };
    (!id.is_empty() && !id.contains('/')).then(|| format!("{scheme}://{id}"))
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

/// A part's file as sent: `None` when absent or empty; an error when it is not a string
/// or not an absolute path (a POSIX path, `C:\\…` or `C:/…`, or a UNC `\\\\host\\…`). A
/// number or a relative name is no file plexmatch can match by path: stored, it would make
/// every path of the section "not found" from the cache until the TTL passed.
pub fn part_file(file: Option<serde_json::Value>) -> Result<Option<String>, String> {
    let file = match file {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::String(f)) => f,
        Some(other) => return Err(format!("that is {}, not a path", json_kind(&other))),
    };
    if file.is_empty() {
        return Ok(None);
    }
    if !is_absolute(&file) {
        return Err(format!(
            "that is not an absolute path ({:?})",
            crate::text::clip_bytes(&file, 80)
        ));
    }
    Ok(Some(file))
}

/// Whether `file` is absolute on the server's system, whichever that is.
fn is_absolute(file: &str) -> bool {
    let b = file.as_bytes();
    file.starts_with('/')
        || file.starts_with("\\\\")
        || (b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/'))
}

/// A string given as a JSON string or a number.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_pack_and_unpack() {
        let parts = [
            PartInfo {
                size: Some(8_000_000_000),
                duration_ms: Some(5_400_000),
            },
            PartInfo {
                size: None,
                duration_ms: Some(60_000),
            },
        ];
        let guids = [
            "imdb://tt1375666".to_owned(),
            "tmdb://27205".to_owned(),
            "bad id".to_owned(),
        ];
        let e = Extras::new(Some(2010), &guids, &parts);
        assert_eq!(e.year(), Some(2010));
        assert_eq!(
            e.guids(),
            ["imdb://tt1375666", "tmdb://27205"],
            "ids with spaces left out"
        );
        assert_eq!(e.part(0), parts[0]);
        assert_eq!(e.part(1), parts[1]);
        assert_eq!(e.part(2), PartInfo::default());
        assert_eq!(Extras::from_packed(e.packed().map(str::to_owned)), e);
        assert_eq!(
            e.unpack(3),
            (
                Some(2010),
                e.guids(),
                vec![parts[0], parts[1], PartInfo::default()]
            )
        );
        let none = Extras::new(None, &[], &[PartInfo::default()]);
        assert!(none.is_empty() && none.year().is_none() && none.guids().is_empty());
        let ids_only = Extras::new(None, &guids[..1], &[]);
        assert_eq!((ids_only.year(), ids_only.guids().len()), (None, 1));
        assert_eq!(ids_only.part(0), PartInfo::default());
    }
}
