//! `settings`: the plugin's key/value settings from the user's configuration.

use super::State;
use crate::wit::bindings::plexmatch::plugin::settings::Host;

impl Host for State {
    fn get(&mut self, key: String) -> Option<String> {
        self.host_call(|s| {
            s.identity
                .settings
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        })
    }

    fn all(&mut self) -> Vec<(String, String)> {
        self.host_call(|s| s.identity.settings.clone())
    }
}
