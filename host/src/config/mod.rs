//! The user's configuration: a TOML file (default in the user's config dir, `--config`
//! elsewhere), layered under environment variables and flags.

mod file;
mod layers;

pub use file::{ConfigFile, default_path};
pub use layers::{Layering, Names, Shown, Source, expand, mask, read_token_file};
