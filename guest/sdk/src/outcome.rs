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
