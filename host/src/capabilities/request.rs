//! `request` (contract 0.2.1): the call in progress, as the caller gave it.

use super::State;
use crate::wit::bindings::plexmatch::plugin::request::Host;

/// The path of the current `find` call: as the plugin gets it, and as the caller gave it
/// when the host's path mapping changed it.
#[derive(Debug, Default)]
pub struct RequestState {
    /// The path `find` was called with.
    pub path: String,
    /// The caller's path, when a mapping rule turned it into `path`.
    pub original: Option<String>,
}

impl Host for State {
    fn original_path(&mut self) -> String {
        self.host_call(|s| s.request.original.clone().unwrap_or_else(|| s.request.path.clone()))
    }
}
