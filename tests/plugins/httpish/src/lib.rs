//! A plugin that imports wasi:http: `http.mkv` makes an outgoing request (which the host
//! must refuse); any other name is matched honestly through the host's file-name index.

use plexmatch_sdk::prelude::*;

struct Httpish;

impl Matcher for Httpish {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "httpish".into(),
            version: "0.1.0".into(),
            description: "imports wasi:http".into(),
        }
    }

    fn declared_settings() -> Vec<Setting> {
        Vec::new()
    }

    fn find(section: Section, path: String) -> Result<MatchOutcome, MatchError> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(&path).to_owned();
        if name == "http.mkv" {
            use wasip2::http::{outgoing_handler, types};
            let request = types::OutgoingRequest::new(types::Fields::new());
            let said = match outgoing_handler::handle(request, None) {
                Ok(_) => "a request went out".to_owned(),
                Err(e) => format!("refused: {e:?}"),
            };
            return Err(MatchError::InvalidInput(said));
        }
        let items = plex::items_by_file_name(section.id, &name).map_err(MatchError::Plex)?;
        decide(&section, &name, items)
    }
}

plexmatch_sdk::export!(Httpish);
