//! The template for a new plexmatch plugin: it answers with the items of the section that
//! hold a file of the path's name. Change `find` to your strategy; see docs/plugins.md.

use plexmatch_sdk::names;
use plexmatch_sdk::prelude::*;

struct Template;

impl Matcher for Template {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "template".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Items holding a file of the same name".into(),
        }
    }

    fn declared_settings() -> Vec<Setting> {
        Vec::new()
    }

    fn find(section: Section, path: String) -> Result<MatchOutcome, MatchError> {
        let name = file_name(&path)
            .ok_or_else(|| MatchError::InvalidInput(format!("{path:?} has no file name")))?;
        let items = plex::items_by_file_name(section.id, name).map_err(MatchError::Plex)?;
        log(
            Level::Debug,
            &format!(
                "{} item(s) of {:?} hold a file named {name:?}",
                items.len(),
                section.title
            ),
        );
        // Several holders: the path decides (exact, then the rewrite* mappings, then the
        // longest shared folder tail); otherwise LOW.
        let all = settings::all();
        let rewrites =
            names::paths::parse_rewrites(all.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(MatchError::InvalidInput)?;
        decide_for_path(&section, &path, items, &rewrites).map(|(outcome, _)| outcome)
    }
}

plexmatch_sdk::export!(Template);
