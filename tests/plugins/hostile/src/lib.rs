//! A plugin that misbehaves on purpose, chosen by the file name it is asked about:
//! `spin.mkv` loops forever, `alloc.mkv` allocates 1 GiB, `panic.mkv` panics,
//! `stderr.mkv` writes to stderr and then matches. Any other name is matched honestly
//! through the host's file-name index, so tests can check that the host recovers.

wit_bindgen::generate!({ path: "../../../wit", world: "plugin" });

use exports::plexmatch::plugin::matcher::{Guest, PluginInfo};
use plexmatch::plugin::plex;
use plexmatch::plugin::types::{Confidence, MatchError, MatchOutcome, Section};

struct Hostile;

impl Guest for Hostile {
    fn info() -> PluginInfo {
        PluginInfo { name: "hostile".into(), version: "0.1.0".into(), description: "misbehaves on purpose".into() }
    }

    fn find(section: Section, path: String) -> Result<MatchOutcome, MatchError> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(&path).to_owned();
        match name.as_str() {
            "spin.mkv" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "alloc.mkv" => {
                let v = vec![1u8; 1 << 30];
                Err(MatchError::InvalidInput(format!("allocated {}", v.len())))
            }
            "panic.mkv" => panic!("hostile plugin panics on purpose"),
            _ => {
                if name == "stderr.mkv" {
                    eprintln!("hostile plugin writes to stderr");
                }
                let mut items = plex::items_by_file_name(section.id, &name).map_err(MatchError::Plex)?;
                match items.len() {
                    0 => Err(MatchError::NotFound(name)),
                    1 => {
                        let item = items.pop().expect("one item");
                        Ok(MatchOutcome { confidence: Confidence::High, chosen: Some(item.clone()), candidates: vec![item] })
                    }
                    _ => Ok(MatchOutcome { confidence: Confidence::Low, chosen: None, candidates: items }),
                }
            }
        }
    }
}

export!(Hostile);
