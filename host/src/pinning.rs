//! Pinned paths: a person's decision answers before any plugin, verified like a cached
//! match. A pin whose item is gone is an error that names the pin, never a quiet fallback
//! to what a plugin would say.

use crate::backend::Backend;
use crate::cache::Pin;
use crate::matching::{Explain, Failure, MatchedItem, Outcome, PathMatch};
use crate::plex::{Item, PlexError, Section};

/// What answers name as the decider of a pinned path.
pub const PINNED: &str = "pinned";

/// The answer for `path` if it is pinned to an item of one of `sections`; `None` when it
/// is not pinned there (plugins decide).
pub fn answer(
    backend: &Backend,
    path: &str,
    sections: &[Section],
    explain: bool,
) -> Option<PathMatch> {
    let pin = backend.decisions.pins.get(path)?;
    let section = sections.iter().find(|s| s.id == pin.section_id)?;
    let before = crate::plex::thread_requests();
    let checked = verify(backend, &pin);
    let requests = crate::plex::thread_requests() - before;
    let (outcome, item, error, how) = match checked {
        Ok((item, how)) => {
            let it = MatchedItem::of(item, section);
            (Outcome::High, Some(it), None, how)
        }
        Err(f) => (Outcome::Error, None, Some(f), "—"),
    };
    let explain = explain.then(|| Explain {
        decided_by: match &error {
            None => format!(
                "pinned by a person (plexmatch pin) to item {} of {:?}; the item verified by {how}",
                pin.rating_key, section.title
            ),
            Some(f) => format!("pinned, but the pin no longer holds: {f}"),
        },
        sections: Vec::new(),
        requests,
    });
    Some(PathMatch {
        path: path.to_owned(),
        outcome,
        candidates: item.iter().cloned().collect(),
        item,
        plugin: PINNED.to_owned(),
        error,
        requests,
        explain,
    })
}

/// Pins `path` to item `key` after checking it against Plex (one request): the item must
/// be in one of `sections` and hold a file of the path's name (unless `force`: a renamed
/// file). Returns the pin and the one it replaced, if any.
pub fn pin(
    backend: &Backend,
    sections: &[Section],
    path: &str,
    key: &str,
    force: bool,
) -> anyhow::Result<(Pin, Option<Pin>)> {
    use anyhow::bail;
    let path = match crate::input::check(path.as_bytes(), path.len()) {
        crate::input::Input::Path(p) => p,
        crate::input::Input::Invalid { why, .. } => bail!("{why}"),
    };
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        bail!("{key:?} is not a rating key (a number, such as 501)");
    }
    let item = match backend.gateway.fetch_item(key) {
        Ok(i) => i,
        Err(PlexError::NotFound(_)) => bail!("the Plex server has no item {key}"),
        Err(e) => return Err(e.into()),
    };
    let Some(section) = sections.iter().find(|s| s.id == item.section_id) else {
        bail!(
            "item {key} ({:?}) is in section {}, which is not among the sections chosen ({})",
            item.title,
            item.section_id,
            sections
                .iter()
                .map(|s| format!("{} {:?}", s.id, s.title))
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let name = plexmatch_matchkit::file_name(&path).unwrap_or_default();
    let same_name =
        plexmatch_matchkit::has_file_named(&item.files, &plexmatch_matchkit::name_key(name));
    if !same_name && !force {
        bail!(
            "item {key} ({:?}) has no file named {name:?} (its files: {}); check the rating key, or pin anyway with --force",
            item.title,
            item.files
                .iter()
                .take(5)
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let file = crate::backend::best_file(&item.files, &path)
        .or_else(|| item.files.first().cloned())
        .unwrap_or_default();
    let pin = Pin {
        path,
        section_id: section.id,
        rating_key: item.rating_key.clone(),
        title: item.title.clone(),
        file,
        pinned_at: crate::cache::now(),
    };
    let before = backend.decisions.pins.set(&pin)?;
    Ok((pin, before))
}

/// The pinned item as Plex has it now, and how that was learnt; or why the pin fails.
fn verify(backend: &Backend, pin: &Pin) -> Result<(Item, &'static str), Failure> {
    // Not in a fresh snapshot (or none): Plex itself says, so that a pin is never called
    // gone on the word of a cache.
    let (fetched, from_snapshot) = backend
        .snapshots
        .item_at_hand(pin.section_id, &pin.rating_key)
        .unwrap_or_else(|| (backend.gateway.fetch_item(&pin.rating_key), false));
    if from_snapshot && let Ok(item) = fetched {
        return Ok((item, "the fresh snapshot"));
    }
    match fetched {
        Ok(item) if item.section_id == pin.section_id => Ok((item, "a fetch")),
        Ok(item) => Err(gone(
            pin,
            &format!("Plex now has it in section {}", item.section_id),
        )),
        Err(PlexError::NotFound(_)) => Err(gone(pin, "Plex no longer has it")),
        Err(e @ PlexError::Unauthorized(_)) => Err(Failure::Unauthorized(e.to_string())),
        Err(e) => Err(Failure::Plex(format!(
            "cannot verify the pin of this path to item {}: {e}",
            pin.rating_key
        ))),
    }
}

fn gone(pin: &Pin, why: &str) -> Failure {
    Failure::Pin(format!(
        "pinned to item {} ({:?}) of section {}, but {why}: unpin it (plexmatch unpin {:?}) or pin it again",
        pin.rating_key, pin.title, pin.section_id, pin.path
    ))
}
