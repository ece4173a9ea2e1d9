//! plexmatch's default matcher: the Stash2Plex strategy with its known bugs fixed, and
//! paths that decide before names.
//!
//! Per section, in order:
//! 1. the match cache, verified against the item's files (W2); only a 404 or a file
//!    mismatch makes an entry stale (W3);
//! 2. when the section snapshot is fresh, its file-name index: no request, and every
//!    duplicate is seen (W29);
//! 3. otherwise, in movie sections, title searches with the path's title variants
//!    (quality markers stripped as whole words, W6; dates stripped); a failed search
//!    moves on to the next variant (W5); items found are checked against the section's
//!    snapshot for other items holding a file of that name, so that HIGH is global (W29);
//! 4. then the file-name index, which refreshes the snapshot (and finds episodes in show
//!    sections, W10).
//!
//! Whichever step finds them, when several items hold a file of the path's name, the path
//! itself decides (the reference compared names only, W14): the one item holding the
//! exact path (`/data/movies/2019/holiday.mp4` → 108, not 109's `…/2020/holiday.mp4`); else
//! the one holding it after the `rewrite*=FROM=>TO` settings (`/mnt/stash/2019/holiday.mp4`
//! with `rewrite=/mnt/stash/=>/data/movies/`); else the one sharing the longest folder tail of
//! at least the parent folder (`/media/2019/holiday.mp4` shares `2019/`). Otherwise LOW.
//!
//! Plex failures are errors, never "not found" (W4).

use plexmatch_sdk::names;
use plexmatch_sdk::prelude::*;

struct DefaultMatcher;

impl Matcher for DefaultMatcher {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "default".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Match cache, then the section's file-name index (or the server's file look-up), then title search (Stash2Plex, fixed)".into(),
        }
    }

    fn declared_settings() -> Vec<Setting> {
        vec![rewrite_setting()]
    }

    fn find(section: Section, path: String) -> Result<MatchOutcome, MatchError> {
        let all = settings::all();
        let rewrites =
            names::paths::parse_rewrites(all.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(MatchError::InvalidInput)?;
        let decide = |section: &Section, _name: &str, items: Vec<Item>| {
            decide_here(section, &path, items, &rewrites)
        };
        let Some(name) = file_name(&path) else {
            return Err(MatchError::InvalidInput(format!(
                "{path:?} has no file name"
            )));
        };
        let key = name_key(name);
        let fresh = library_cache::snapshot(section.id).is_some_and(|s| s.fresh);

        if let Some(hit) = match_cache::get(section.id, &path) {
            match verify_cached(&section, &hit.rating_key, name, &key, fresh, &decide)? {
                Some(outcome) => return Ok(outcome),
                None => {
                    log(
                        Level::Info,
                        &format!(
                            "cached match {} for {path:?} is stale; forgetting it",
                            hit.rating_key
                        ),
                    );
                    match_cache::invalidate(section.id, &path);
                }
            }
        }

        if fresh && let Some(items) = library_cache::items_by_file_name(section.id, name) {
            return decide(&section, name, items);
        }

        // No fresh snapshot: the host finds the file's holders, by one look-up where the
        // server can, else by bringing the section up to date — which a title search's
        // uniqueness check (W29) would need anyway. Title searches are the way on only
        // when that fails.
        let mut search_error: Option<PlexError> = None;
        match plex::items_by_file_name(section.id, name) {
            Ok(items) => return decide(&section, name, items),
            Err(e) => {
                log(
                    Level::Warn,
                    &format!("cannot find the holders of {name:?}: {}", describe(&e)),
                );
                search_error = Some(e);
            }
        }
        if section.kind != SectionKind::Show {
            for title in title_variants(&path) {
                let results = match library_cache::cached_search(section.id, &title) {
                    Some(r) => r,
                    None => match plex::search(section.id, &title) {
                        Ok(r) => r,
                        Err(e) => {
                            log(
                                Level::Warn,
                                &format!("title search {title:?} failed: {}", describe(&e)),
                            );
                            search_error.get_or_insert(e);
                            continue;
                        }
                    },
                };
                let found: Vec<Item> = results
                    .into_iter()
                    .filter(|i| has_file_named(&i.files, &key))
                    .collect();
                log(
                    Level::Debug,
                    &format!(
                        "title search {title:?}: {} item(s) with {name:?}",
                        found.len()
                    ),
                );
                if !found.is_empty() {
                    // A title search sees only items with that title; another item may
                    // hold a file of the same name (W29). The snapshot sees them all. One at
                    // hand, even stale, costs no request: if it shows no other holder, the
                    // answer stands; if it does (or there is none), the index is refreshed
                    // to know for sure.
                    let others = |items: &[Item]| {
                        items
                            .iter()
                            .any(|i| !found.iter().any(|f| f.rating_key == i.rating_key))
                    };
                    let everyone = match library_cache::items_by_file_name(section.id, name) {
                        Some(items) if !others(&items) => items,
                        _ => {
                            plex::items_by_file_name(section.id, name).map_err(MatchError::Plex)?
                        }
                    };
                    let mut all = found;
                    all.extend(everyone);
                    return decide(&section, name, all);
                }
            }
        }

        match plex::items_by_file_name(section.id, name) {
            Ok(items) => decide(&section, name, items),
            // The index failing after a search failed: the search's error says more.
            Err(e) => Err(MatchError::Plex(search_error.unwrap_or(e))),
        }
    }
}

/// How the items found for a path become an answer (the path deciding between several).
type Decide<'a> = dyn Fn(&Section, &str, Vec<Item>) -> Result<MatchOutcome, MatchError> + 'a;

/// Checks a cached match. `Some` is an answer; `None` means the entry is stale.
fn verify_cached(
    section: &Section,
    rating_key: &str,
    name: &str,
    key: &str,
    fresh: bool,
    decide: &Decide<'_>,
) -> Result<Option<MatchOutcome>, MatchError> {
    if fresh {
        // The snapshot sees every item with this name: a duplicate added since the match
        // was cached turns the answer into LOW instead of going unnoticed (W2).
        let items = library_cache::items_by_file_name(section.id, name).unwrap_or_default();
        if items.iter().any(|i| i.rating_key == rating_key) {
            return decide(section, name, items).map(Some);
        }
        return Ok(None);
    }
    match plex::fetch_item(rating_key) {
        Ok(item) if item.section_id == section.id && has_file_named(&item.files, key) => {
            Ok(Some(high(item)))
        }
        Ok(_) | Err(PlexError::NotFound(_)) => Ok(None),
        // A timeout or an outage says nothing about the entry: keep it (W3).
        Err(e) => Err(MatchError::Plex(e)),
    }
}

/// The answer among `items`, the path deciding between several (see the module's doc).
fn decide_here(
    section: &Section,
    path: &str,
    items: Vec<Item>,
    rewrites: &[(String, String)],
) -> Result<MatchOutcome, MatchError> {
    let (outcome, rule) = decide_for_path(section, path, items, rewrites)?;
    if let (Some(rule), Some(chosen)) = (rule, &outcome.chosen) {
        log(
            Level::Debug,
            &format!("{path:?}: item {} decided by {rule}", chosen.rating_key),
        );
    }
    Ok(outcome)
}

fn describe(e: &PlexError) -> String {
    match e {
        PlexError::Unauthorized(m)
        | PlexError::NotFound(m)
        | PlexError::Unavailable(m)
        | PlexError::Timeout(m)
        | PlexError::BadResponse(m) => m.clone(),
        PlexError::RateLimited(after) => format!("rate limited (retry after {after:?} s)"),
    }
}

plexmatch_sdk::export!(DefaultMatcher);
