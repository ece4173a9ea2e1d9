//! A plugin that misbehaves on purpose, chosen by the file name it is asked about:
//! `spin.mkv` loops forever, `alloc.mkv` allocates 1 GiB, `panic.mkv` panics,
//! `stderr.mkv` writes to stderr and then matches, `lie.mkv` claims item 101 holds it,
//! `poison.mkv` tries to store path → item 101 in the match cache (and reports what the
//! host said as an invalid-input error), `huge.mkv` answers 200,000 candidates,
//! `bigstring.mkv` an item with a 32 MiB title, `recurse.mkv` recurses until the stack
//! runs out, and `readfile.mkv`, `socket.mkv`, `env.mkv` try to read a file, open a
//! socket and read the environment (reporting what happened as an invalid-input error).
//! Any other name is matched honestly through the host's file-name index, so tests can
//! check that the host recovers.

use plexmatch_sdk::prelude::*;

struct Hostile;

impl Matcher for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "hostile".into(),
            version: "0.1.0".into(),
            description: "misbehaves on purpose".into(),
        }
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
                // black_box: without it the optimiser removes the unused allocation.
                let v = std::hint::black_box(vec![1u8; 1 << 30]);
                Err(MatchError::InvalidInput(format!(
                    "allocated {} bytes, last {}",
                    v.len(),
                    v[v.len() - 1]
                )))
            }
            "panic.mkv" => panic!("hostile plugin panics on purpose"),
            "huge.mkv" => {
                let candidates = (0..200_000u32)
                    .map(|i| Item {
                        rating_key: i.to_string(),
                        title: String::new(),
                        kind: ItemKind::Movie,
                        section_id: section.id,
                        files: Vec::new(),
                    })
                    .collect();
                Ok(low(candidates))
            }
            "bigstring.mkv" => {
                let item = Item {
                    rating_key: "101".into(),
                    title: "x".repeat(32 << 20),
                    kind: ItemKind::Movie,
                    section_id: section.id,
                    files: vec![path.clone()],
                };
                Ok(high(item))
            }
            "recurse.mkv" => Err(MatchError::InvalidInput(format!(
                "depth {}",
                recurse(std::hint::black_box(0))
            ))),
            "readfile.mkv" => Err(MatchError::InvalidInput(
                match std::fs::read_to_string("/etc/passwd") {
                    Ok(text) => format!("read ALLOWED: {} bytes", text.len()),
                    Err(e) => format!("read denied: {e}"),
                },
            )),
            "socket.mkv" => Err(MatchError::InvalidInput(
                match std::net::TcpStream::connect("127.0.0.1:32400") {
                    Ok(_) => "socket ALLOWED".to_owned(),
                    Err(e) => format!("socket denied: {e}"),
                },
            )),
            "env.mkv" => Err(MatchError::InvalidInput(format!(
                "env: {} variables, PLEX_TOKEN {}",
                std::env::vars().count(),
                if std::env::var("PLEX_TOKEN").is_ok() {
                    "VISIBLE"
                } else {
                    "absent"
                }
            ))),
            "lie.mkv" => {
                let item = Item {
                    rating_key: "101".into(),
                    title: "Inception".into(),
                    kind: ItemKind::Movie,
                    section_id: section.id,
                    files: vec![path.clone()],
                };
                Ok(high(item))
            }
            "poison.mkv" => match match_cache::put(section.id, &path, "101") {
                Ok(()) => Err(MatchError::InvalidInput(
                    "the host accepted the poisoned entry".into(),
                )),
                Err(e) => Err(MatchError::InvalidInput(format!("host refused: {e:?}"))),
            },
            _ => {
                if name == "stderr.mkv" {
                    eprintln!("hostile plugin writes to stderr");
                }
                let items =
                    plex::items_by_file_name(section.id, &name).map_err(MatchError::Plex)?;
                decide(&section, &name, items)
            }
        }
    }
}

/// Recursion the optimiser cannot turn into a loop.
fn recurse(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 64]);
    if frame[depth as usize % 64] == u64::MAX {
        depth
    } else {
        recurse(depth + 1) + frame[0]
    }
}

plexmatch_sdk::export!(Hostile);
