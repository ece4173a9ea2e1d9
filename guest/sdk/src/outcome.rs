//! Building answers: one item is HIGH, several are LOW, none is not found.

use crate::exports::plexmatch::plugin::matcher::{Setting, SettingKind};
use crate::plexmatch::plugin::types::{Confidence, Item, MatchError, MatchOutcome, Section};

/// Exactly this item holds the file (a file of the path's name).
pub fn high(item: Item) -> MatchOutcome {
    MatchOutcome {
        confidence: Confidence::High,
        chosen: Some(item.clone()),
        candidates: vec![item],
        matched_file: None,
    }
}

/// Exactly this item holds the file: its file `file` (one of `item.files`), whose name may
/// differ from the path's (a file renamed on one side). The host checks the item holds it.
pub fn high_file(item: Item, file: String) -> MatchOutcome {
    MatchOutcome {
        matched_file: Some(file),
        ..high(item)
    }
}

/// Any of these items could hold the file.
pub fn low(candidates: Vec<Item>) -> MatchOutcome {
    MatchOutcome {
        confidence: Confidence::Low,
        chosen: None,
        candidates,
        matched_file: None,
    }
}

/// The `rewrite*` settings as the path rule reads them (see
/// `plexmatch_matchkit::paths::parse_rewrites`), declared.
pub fn rewrite_setting() -> Setting {
    setting(
        "rewrite*",
        SettingKind::PathMapping,
        None,
        "FROM=>TO: a path prefix of the media manager and the Plex server's one for it",
    )
}

/// A setting the plugin declares (see `Matcher::declared_settings`).
pub fn setting(name: &str, kind: SettingKind, default: Option<&str>, description: &str) -> Setting {
    Setting {
        name: name.into(),
        kind,
        default: default.map(str::to_owned),
        description: description.into(),
    }
}

/// No item of `section` holds a file named `name`.
pub fn not_found(section: &Section, name: &str) -> MatchError {
    MatchError::NotFound(format!(
        "no item in section {:?} has a file named {name:?}",
        section.title
    ))
}

/// The answer for `items` (deduplicated by rating key): none, one or several.
pub fn decide(
    section: &Section,
    name: &str,
    mut items: Vec<Item>,
) -> Result<MatchOutcome, MatchError> {
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.rating_key.clone()));
    match items.len() {
        0 => Err(not_found(section, name)),
        1 => Ok(high(items.pop().expect("one item"))),
        _ => Ok(low(items)),
    }
}

/// The answer for `items`, each holding a file of `path`'s name: none is not found, one is
/// HIGH, and of several the one the path itself singles out (exact path, then the path
/// after the `rewrites` prefix mappings, then the longest shared folder tail of at least
/// the parent folder: see [`plexmatch_matchkit::paths`]) is HIGH, else LOW. Also says which
/// step of the path rule decided, if one did.
pub fn decide_for_path(
    section: &Section,
    path: &str,
    mut items: Vec<Item>,
    rewrites: &[(String, String)],
) -> Result<(MatchOutcome, Option<plexmatch_matchkit::PathRule>), MatchError> {
    let name = plexmatch_matchkit::file_name(path).unwrap_or(path);
    let mut seen = std::collections::HashSet::new();
    items.retain(|i| seen.insert(i.rating_key.clone()));
    if items.len() < 2 {
        return decide(section, name, items).map(|o| (o, None));
    }
    let files: Vec<&[String]> = items.iter().map(|i| i.files.as_slice()).collect();
    match plexmatch_matchkit::decide_by_path(path, &files, rewrites) {
        Some((i, rule)) => Ok((high(items.swap_remove(i)), Some(rule))),
        None => Ok((low(items), None)),
    }
}
