//! `path-matcher`: decides by where a file is, not only by its name (the reference kept
//! two prefix parameters for this and never used them, W14).
//!
//! Settings: any number of `rewrite*` keys (`rewrite`, `rewrite.1`, …), each
//! `FROM=>TO`: a path starting with `FROM` is read as starting with `TO`, so that the media
//! manager's `/mnt/stash/` and Plex's `/data/media/` line up. Then, among the items of the
//! section holding a file of the same name (the host's index):
//! 1. the items with a file at exactly the rewritten path (case and `/` vs `\` aside);
//! 2. otherwise the items whose file shares the longest tail of folders with the path —
//!    `2020/holiday.mp4` tells `/data/movies/2020/holiday.mp4` from `.../2019/holiday.mp4`.
//!
//! When a rewrite applied, the mapping is known and only (1) counts: a file of the same
//! name elsewhere is another file. One item is HIGH; several equally good are LOW; none is
//! not found.

use plexmatch_sdk::names::paths::{components, parse_rewrites, rewrite, shared_tail};
use plexmatch_sdk::prelude::*;

struct PathMatcher;

impl Matcher for PathMatcher {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "path-matcher".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Full path or longest folder suffix after prefix rewrites (settings: rewrite=FROM=>TO)".into(),
        }
    }

    fn declared_settings() -> Vec<Setting> {
        vec![rewrite_setting()]
    }

    fn find(section: Section, path: String) -> Result<MatchOutcome, MatchError> {
        let name = file_name(&path)
            .ok_or_else(|| MatchError::InvalidInput(format!("{path:?} has no file name")))?;
        let rewrites = rewrites()?;
        let (rewritten, mapped) = rewrite(&path, &rewrites);
        let wanted = components(&rewritten);
        let items = plex::items_by_file_name(section.id, name).map_err(MatchError::Plex)?;
        if items.is_empty() {
            return Err(not_found(&section, name));
        }
        let scored: Vec<(usize, Item)> = items
            .into_iter()
            .map(|i| {
                (
                    i.files
                        .iter()
                        .map(|f| shared_tail(&components(f), &wanted))
                        .max()
                        .unwrap_or(0),
                    i,
                )
            })
            .collect();
        let exact: Vec<Item> = scored
            .iter()
            .filter(|(n, _)| *n == wanted.len())
            .map(|(_, i)| i.clone())
            .collect();
        if !exact.is_empty() || mapped {
            log(
                Level::Debug,
                &format!(
                    "{path:?} → {rewritten:?}: {} item(s) at exactly this path",
                    exact.len()
                ),
            );
            return decide(&section, name, exact);
        }
        let best = scored.iter().map(|(n, _)| *n).max().unwrap_or(0);
        let winners: Vec<Item> = scored
            .into_iter()
            .filter(|(n, _)| *n == best)
            .map(|(_, i)| i)
            .collect();
        log(
            Level::Debug,
            &format!(
                "{path:?}: {} item(s) share the last {best} path component(s)",
                winners.len()
            ),
        );
        decide(&section, name, winners)
    }
}

/// The `rewrite*` settings as (from, to) prefixes.
fn rewrites() -> Result<Vec<(String, String)>, MatchError> {
    let all = settings::all();
    parse_rewrites(all.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(MatchError::InvalidInput)
}

plexmatch_sdk::export!(PathMatcher);
