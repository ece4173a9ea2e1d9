//! Building answers: one item is HIGH, several are LOW, none is not found.

use crate::plexmatch::plugin::types::{Confidence, Item, MatchError, MatchOutcome, Section};

/// Exactly this item holds the file.
pub fn high(item: Item) -> MatchOutcome {
    MatchOutcome {
        confidence: Confidence::High,
        chosen: Some(item.clone()),
        candidates: vec![item],
    }
}

/// Any of these items could hold the file.
pub fn low(candidates: Vec<Item>) -> MatchOutcome {
    MatchOutcome {
        confidence: Confidence::Low,
        chosen: None,
        candidates,
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
