//! Helpers shared by the plexmatch host and matcher plugins: what a file name is, when
//! two file names are the same, and which titles to search Plex with.

pub mod names;
pub mod paths;
pub mod variants;

pub use names::{file_name, has_file_named, has_key, name_key, parent_name};
pub use paths::{PathRule, decide_by_path};
pub use variants::title_variants;
