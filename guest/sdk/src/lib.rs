//! The plexmatch plugin SDK: everything a matcher plugin needs, in one dependency.
//!
//! ```ignore
//! use plexmatch_sdk::prelude::*;
//!
//! struct ByName;
//!
//! impl Matcher for ByName {
//!     fn info() -> PluginInfo {
//!         PluginInfo { name: "by-name".into(), version: "0.1.0".into(), description: "file name only".into() }
//!     }
//!
//!     fn declared_settings() -> Vec<Setting> {
//!         Vec::new()
//!     }
//!
//!     fn find(section: Section, path: String) -> Result<MatchOutcome, MatchError> {
//!         let name = file_name(&path).ok_or_else(|| MatchError::InvalidInput(format!("{path:?} has no file name")))?;
//!         let items = plex::items_by_file_name(section.id, name).map_err(MatchError::Plex)?;
//!         decide(&section, name, items)
//!     }
//! }
//!
//! plexmatch_sdk::export!(ByName);
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm` is the plugin.

wit_bindgen::generate!({
    path: "../../wit/plexmatch.wit",
    world: "plugin",
    pub_export_macro: true,
    default_bindings_module: "plexmatch_sdk",
});

pub mod outcome;

/// What most plugins use, in one import.
pub mod prelude {
    pub use crate::exports::plexmatch::plugin::matcher::{
        Guest as Matcher, PluginInfo, Setting, SettingKind,
    };
    pub use crate::outcome::{
        decide, decide_for_path, high, high_file, low, not_found, rewrite_setting, setting,
    };
    pub use crate::plexmatch::plugin::log::{Level, log};
    pub use crate::plexmatch::plugin::types::{
        CacheError, Confidence, Item, ItemKind, MatchError, MatchOutcome, Part, PlexError,
        Section, SectionKind,
    };
    pub use crate::plexmatch::plugin::{library_cache, match_cache, plex, request, settings};
    pub use plexmatch_matchkit::{
        file_name, has_file_named, name_key, parent_name, title_variants,
    };
}

/// File-name rules and title variants, as the host's index uses them.
pub use plexmatch_matchkit as names;
