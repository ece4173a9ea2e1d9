//! How a snapshot row stores a file path compactly, and the hash the file-name index uses.
//!
//! A path is split into a shared prefix (everything before the item's own folder, e.g.
//! `/data/movies/`, stored once in a `prefixes` table) and the rest (`folder/file`).
//! Plex folders and file names usually repeat the item's title, so in the rest each
//! occurrence of the title is replaced by one marker byte. Both steps are exact: decoding
//! gives back the path byte for byte.

use crate::plex::ItemKind;
use plexmatch_matchkit::{file_name, name_key};

/// Stands for the item's title inside an encoded rest.
const TITLE: char = '\u{1}';
/// Starts a rest stored verbatim (the path itself holds a marker byte).
const VERBATIM: char = '\u{2}';
/// Titles shorter than this are not worth a marker (and would match too often).
const MIN_TITLE: usize = 4;

/// The prefix (up to and including the separator before the item's folder) and the rest.
pub fn split(path: &str) -> (&str, &str) {
    let seps: Vec<usize> = path.match_indices(['/', '\\']).map(|(i, _)| i).collect();
    match seps.len() {
        0 | 1 => ("", path),
        n => path.split_at(seps[n - 2] + 1),
    }
}

/// The rest of a path with the title replaced by a marker.
pub fn encode_rest(rest: &str, title: &str) -> String {
    if rest.contains([TITLE, VERBATIM]) {
        return format!("{VERBATIM}{rest}");
    }
    if title.len() < MIN_TITLE || title.contains([TITLE, VERBATIM]) {
        return rest.to_owned();
    }
    rest.replace(title, &TITLE.to_string())
}

/// The rest of a path as it was before [`encode_rest`].
pub fn decode_rest(stored: &str, title: &str) -> String {
    if let Some(raw) = stored.strip_prefix(VERBATIM) {
        return raw.to_owned();
    }
    if stored.contains(TITLE) {
        stored.replace(TITLE, title)
    } else {
        stored.to_owned()
    }
}

/// The index key of a path's file name: 31 bits of FNV-1a over its [`name_key`] (small
/// enough for SQLite's 4-byte integers). Collisions are harmless: lookups compare names.
pub fn name_hash_of_path(path: &str) -> i64 {
    file_name(path).map(name_hash).unwrap_or(0)
}

/// The index key of a file name (see [`name_hash_of_path`]).
pub fn name_hash(name: &str) -> i64 {
    name_hash_of_key(&name_key(name))
}

/// The index key of a file name given its [`name_key`].
pub fn name_hash_of_key(key: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    ((h ^ (h >> 31)) & 0x7fff_ffff) as i64
}

/// An item kind as stored.
pub(super) fn kind_code(kind: ItemKind) -> i64 {
    match kind {
        ItemKind::Movie => 1,
        ItemKind::Episode => 2,
        ItemKind::Show => 3,
        ItemKind::Season => 4,
        ItemKind::Other => 0,
    }
}

/// An item kind from its stored code.
pub(super) fn kind_from_code(code: i64) -> ItemKind {
    match code {
        1 => ItemKind::Movie,
        2 => ItemKind::Episode,
        3 => ItemKind::Show,
        4 => ItemKind::Season,
        _ => ItemKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(path: &str, title: &str) -> usize {
        let (prefix, rest) = split(path);
        let stored = encode_rest(rest, title);
        assert_eq!(
            format!("{prefix}{}", decode_rest(&stored, title)),
            path,
            "{path:?} with title {title:?}"
        );
        stored.len()
    }

    #[test]
    fn paths_round_trip_exactly() {
        let p = "/data/movies/Silent River 0042 (1999)/Silent River 0042 (1999) - 1080p.mkv";
        assert!(round_trip(p, "Silent River 0042") < 30);
        round_trip(r"D:\Media\Amélie (2001)\Amélie (2001).mkv", "Amélie");
        round_trip("/a.mkv", "a");
        round_trip("plain.mkv", "plain");
        round_trip("/x/y/z\u{1}odd.mkv", "z");
        round_trip("/x/y/Title.mkv", "Ti\u{1}tle");
        round_trip("/x/Up/Up.mkv", "Up");
        round_trip("", "");
    }

    #[test]
    fn the_prefix_is_shared_by_items_of_one_folder() {
        assert_eq!(split("/data/movies/A (1)/A (1).mkv").0, "/data/movies/");
        assert_eq!(split("/data/tv/Show/Season 01/e1.mkv").0, "/data/tv/Show/");
        assert_eq!(split(r"D:\Media\x.mkv").0, r"D:\");
    }

    #[test]
    fn name_hashes_fold_case_and_unicode_form() {
        assert_eq!(name_hash("Ame\u{301}lie.MKV"), name_hash("am\u{e9}lie.mkv"));
        assert_eq!(name_hash_of_path(r"D:\Media\A.mkv"), name_hash("a.MKV"));
        assert_ne!(name_hash("a.mkv"), name_hash("b.mkv"));
        assert!(name_hash("anything") < 1 << 31);
    }
}
