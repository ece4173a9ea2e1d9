//! The bodies a Plex Media Server sends, built from the served library.

use crate::document::Element;
use crate::library::{ADDED_AT, Entry, EntryKind, Library, Section};

/// The server version the emulator reports.
pub const VERSION: &str = "1.41.3.9314-a0bfb8370";

fn container() -> Element {
    Element::new("MediaContainer", "MediaContainer")
}

/// `GET /identity`.
pub fn identity(lib: &Library) -> Element {
    container()
        .attr("size", 0u32)
        .attr("claimed", true)
        .attr("machineIdentifier", lib.machine_id.as_str())
        .attr("version", VERSION)
}

/// `GET /` (what python-plexapi reads when it connects).
pub fn root(lib: &Library) -> Element {
    let mut c = container()
        .attr("size", 3u32)
        .attr("allowCameraUpload", false)
        .attr("allowChannelAccess", true)
        .attr("allowMediaDeletion", true)
        .attr("allowSharing", true)
        .attr("allowSync", true)
        .attr("backgroundProcessing", true)
        .attr("certificate", false)
        .attr("companionProxy", true)
        .attr("friendlyName", lib.server_name.as_str())
        .attr("machineIdentifier", lib.machine_id.as_str())
        .attr("multiuser", true)
        .attr("myPlex", false)
        .attr("platform", "Linux")
        .attr("platformVersion", "6.1")
        .attr("transcoderActiveVideoSessions", 0u32)
        .attr("updatedAt", ADDED_AT)
        .attr("version", VERSION);
    for (key, title) in [
        ("library", "library"),
        ("identity", "identity"),
        ("search", "search"),
    ] {
        c = c.child(
            Element::new("Directory", "Directory")
                .attr("count", 1u32)
                .attr("key", key)
                .attr("title", title),
        );
    }
    c
}

/// `GET /library`.
pub fn library_root() -> Element {
    let mut c = container()
        .attr("size", 3u32)
        .attr("allowSync", false)
        .attr("identifier", "com.plexapp.plugins.library")
        .attr("mediaTagPrefix", "/system/bundle/media/flags/")
        .attr("mediaTagVersion", ADDED_AT)
        .attr("title1", "Plex Library");
    for (key, title) in [
        ("sections", "Library Sections"),
        ("recentlyAdded", "Recently Added Content"),
        ("onDeck", "On Deck Content"),
    ] {
        c = c.child(
            Element::new("Directory", "Directory")
                .attr("key", key)
                .attr("title", title),
        );
    }
    c
}

/// `GET /library/sections`.
pub fn sections(lib: &Library) -> Element {
    let mut c = container()
        .attr("size", lib.sections.len())
        .attr("allowSync", false)
        .attr("title1", "Plex Library");
    for s in &lib.sections {
        let (agent, scanner) = match s.kind {
            crate::SectionType::Movie => ("tv.plex.agents.movie", "Plex Movie"),
            crate::SectionType::Show => ("tv.plex.agents.series", "Plex TV Series"),
        };
        let mut d = Element::new("Directory", "Directory")
            .attr("allowSync", true)
            .attr(
                "art",
                format!("/:/resources/{}-fanart.jpg", s.kind.as_str()),
            )
            .attr(
                "composite",
                format!("/library/sections/{}/composite/{ADDED_AT}", s.id),
            )
            .attr("filters", true)
            .attr("refreshing", false)
            .attr("thumb", format!("/:/resources/{}.png", s.kind.as_str()))
            .attr("key", s.id.to_string())
            .attr("type", s.kind.as_str())
            .attr("title", s.title.as_str())
            .attr("agent", agent)
            .attr("scanner", scanner)
            .attr("language", "en-US")
            .attr("uuid", s.uuid.as_str())
            .attr("updatedAt", ADDED_AT)
            .attr("createdAt", ADDED_AT)
            .attr("scannedAt", ADDED_AT)
            .attr("content", true)
            .attr("directory", true)
            .attr("contentChangedAt", 1u32)
            .attr("hidden", 0u32);
        for (i, loc) in s.locations.iter().enumerate() {
            d = d.child(
                Element::new("Location", "Location")
                    .attr("id", (s.id as u64) * 100 + i as u64)
                    .attr("path", loc.as_str()),
            );
        }
        c = c.child(d);
    }
    c
}

/// A page of a listing: the container attributes and the paging window.
pub struct Page {
    pub offset: usize,
    pub total: usize,
    /// Whether the client asked for a page size (then `offset`/`totalSize` are sent).
    pub paged: bool,
}

/// A container of entries (a listing, a search, a metadata answer).
pub fn entries(
    lib: &Library,
    section: Option<&Section>,
    entries: &[&Entry],
    page: Option<&Page>,
    guids: bool,
) -> Element {
    let mut c = container()
        .attr("size", entries.len())
        .attr("allowSync", true);
    if let Some(p) = page
        && p.paged
    {
        c = c.attr("offset", p.offset).attr("totalSize", p.total);
    }
    if let Some(s) = section {
        c = c
            .attr("identifier", "com.plexapp.plugins.library")
            .attr("librarySectionID", s.id)
            .attr("librarySectionTitle", s.title.as_str())
            .attr("librarySectionUUID", s.uuid.as_str());
    }
    for e in entries {
        c = c.child(entry(lib, e, guids));
    }
    c
}

/// One entry as Plex lists it: `Video` with `Media > Part` for movies and episodes,
/// `Directory` for shows and seasons; with `guids`, its external ids as `Guid[]` (what a
/// listing gives for `includeGuids=1`, and an item's own metadata always).
pub fn entry(lib: &Library, e: &Entry, guids: bool) -> Element {
    let section = &lib.sections[e.section];
    let (tag, key) = if e.kind.is_leaf() {
        ("Video", format!("/library/metadata/{}", e.rating_key))
    } else {
        (
            "Directory",
            format!("/library/metadata/{}/children", e.rating_key),
        )
    };
    let mut el = Element::new(tag, "Metadata")
        .attr("ratingKey", e.rating_key.to_string())
        .attr("key", key)
        .attr(
            "guid",
            format!(
                "plex://{}/{:024x}",
                e.kind.as_str(),
                e.rating_key * 2_654_435_761
            ),
        )
        .attr("type", e.kind.as_str())
        .attr("title", e.title.as_str())
        .attr("librarySectionID", section.id)
        .attr(
            "librarySectionKey",
            format!("/library/sections/{}", section.id),
        )
        .attr("librarySectionTitle", section.title.as_str())
        .attr_opt("year", e.year)
        .attr_opt("index", e.index)
        .attr("addedAt", e.added_at)
        .attr("updatedAt", e.updated_at);
    if let Some(p) = e.parent.map(|k| &lib.entries[&k]) {
        el = el
            .attr("parentRatingKey", p.rating_key.to_string())
            .attr("parentKey", format!("/library/metadata/{}", p.rating_key))
            .attr("parentTitle", p.title.as_str())
            .attr_opt("parentIndex", p.index);
    }
    if let Some(g) = e.grandparent.map(|k| &lib.entries[&k]) {
        el = el
            .attr("grandparentRatingKey", g.rating_key.to_string())
            .attr(
                "grandparentKey",
                format!("/library/metadata/{}", g.rating_key),
            )
            .attr("grandparentTitle", g.title.as_str());
    }
    match e.kind {
        EntryKind::Show => {
            let leaves: usize = e
                .children
                .iter()
                .map(|s| lib.entries[s].children.len())
                .sum();
            el = el
                .attr("childCount", e.children.len())
                .attr("leafCount", leaves)
                .attr("viewedLeafCount", 0u32);
        }
        EntryKind::Season => {
            el = el
                .attr("leafCount", e.children.len())
                .attr("viewedLeafCount", 0u32);
        }
        _ => {}
    }
    if guids {
        for g in &e.guids {
            el = el.child(Element::new("Guid", "Guid").attr("id", g.as_str()));
        }
    }
    for (mi, parts) in e.media.iter().enumerate() {
        let media_id = e.rating_key * 10 + mi as u64;
        let container_ext = parts.first().map(|p| extension(p)).unwrap_or("mkv");
        let mut m = Element::new("Media", "Media")
            .attr("id", media_id)
            .attr("duration", 5_400_000u64)
            .attr("bitrate", 8_000u32)
            .attr("width", 1920u32)
            .attr("height", 1080u32)
            .attr("aspectRatio", "1.78")
            .attr("audioChannels", 6u32)
            .attr("audioCodec", "eac3")
            .attr("videoCodec", "h264")
            .attr("videoResolution", "1080")
            .attr("container", container_ext)
            .attr("videoFrameRate", "24p");
        for (pi, file) in parts.iter().enumerate() {
            let part_id = media_id * 10 + pi as u64;
            m = m.child(
                Element::new("Part", "Part")
                    .attr("id", part_id)
                    .attr(
                        "key",
                        format!(
                            "/library/parts/{part_id}/{ADDED_AT}/file.{}",
                            extension(file)
                        ),
                    )
                    .attr("duration", 5_400_000u64)
                    .attr("file", file.as_str())
                    .attr("size", part_size(e.rating_key, pi))
                    .attr("container", extension(file)),
            );
        }
        el = el.child(m);
    }
    el
}

/// A file size, beyond 2^32 for some parts as real 4K files are.
fn part_size(rating_key: u64, part: usize) -> u64 {
    let h = (rating_key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20) ^ part as u64;
    700_000_000 + h % 8_000_000_000
}

fn extension(path: &str) -> &str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => ext,
        _ => "mkv",
    }
}

/// Plex's 401 page (text/html, not a MediaContainer).
pub const UNAUTHORIZED_HTML: &str = "<html><head><script>window.location = window.location.href.match(/(^.+\\/)[^\\/]*$/)[1] + 'web/index.html';</script><title>Unauthorized</title></head><body><h1>401 Unauthorized</h1></body></html>";

/// Plex's 404 page.
pub const NOT_FOUND_HTML: &str =
    "<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>";
