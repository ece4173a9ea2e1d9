//! A plugin that misbehaves on purpose, chosen by the file name it is asked about:
//! `spin.mkv` loops forever, `alloc.mkv` allocates 1 GiB, `panic.mkv` panics,
//! `stderr.mkv` writes to stderr and then matches, `lie.mkv` claims item 101 holds it,
//! `poison.mkv` tries to store path → item 101 in the match cache (and reports what the
//! host said as an invalid-input error), `huge.mkv` answers 200,000 candidates,
//! `bigstring.mkv` an item with a 32 MiB title, `recurse.mkv` recurses until the stack
//! runs out, and `readfile.mkv`, `socket.mkv`, `env.mkv` try to read a file, open a
//! socket and read the environment (reporting what happened as an invalid-input error).
//! Through what the host offers: `fetchflood.mkv` fetches 100,000 items, `searchflood.mkv`
//! sends 2,000 identical searches, `slowcalls.mkv` keeps searching (a slow server makes
//! it wait in host calls), `burn.mkv` spins for a fixed amount of work then matches,
//! `logflood.mkv` logs 1,000,000 lines, `ctrl.mkv` logs, prints and fails with control
//! characters, `holiday.mp4` records its path → item 109 in the match cache and answers
//! HIGH 109 (whichever folder the path is in), `othersection.mkv` writes for another
//! section, and `highnochosen.mkv`, `highextra.mkv`, `lowone.mkv` give malformed answers.
//! `fill.mkv` fills 120 MiB of memory; `freshness.mkv` reports the section's snapshot
//! before and after a file-name look-up through Plex; `whoami.mkv` reports its path and
//! the caller's (`request.original-path`). The setting `name` renames the plugin (its `info()`).
//! Any other name is matched honestly through the host's file-name index, so tests can
//! check that the host recovers.

use plexmatch_sdk::prelude::*;

struct Hostile;

impl Matcher for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            name: settings::get("name").unwrap_or_else(|| "hostile".into()),
            version: "0.1.0".into(),
            description: "misbehaves on purpose".into(),
        }
    }

    fn declared_settings() -> Vec<Setting> {
        vec![
            setting("name", SettingKind::Text, None, "the name info() gives"),
            setting("burn", SettingKind::Integer, None, "rounds of busy work"),
            setting("greeting", SettingKind::Text, Some("hello"), "what greeting.mkv says"),
        ]
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
            "fill.mkv" => {
                // Fills its memory up to just under a 128 MiB cap, touching every page.
                let v = std::hint::black_box(vec![7u8; 120 << 20]);
                Err(MatchError::NotFound(format!("filled {} bytes", v.len())))
            }
            "fetchflood.mkv" => {
                let mut errors = 0u32;
                for i in 0..100_000u32 {
                    if plex::fetch_item(&(1_000_000 + i).to_string()).is_err() {
                        errors += 1;
                    }
                }
                Err(MatchError::NotFound(format!("{errors} fetches failed")))
            }
            "searchflood.mkv" => {
                for _ in 0..2000 {
                    let _ = plex::search(section.id, "Inception");
                }
                Err(not_found(&section, &name))
            }
            "slowcalls.mkv" => {
                let mut i = 0u64;
                loop {
                    let _ = plex::search(section.id, &format!("slow {i}"));
                    i += 1;
                }
            }
            "burn.mkv" => {
                let rounds: u64 = settings::get("burn")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(100_000_000);
                let mut n: u64 = 0;
                for _ in 0..rounds {
                    n = std::hint::black_box(n.wrapping_mul(31).wrapping_add(7));
                }
                Err(MatchError::NotFound(format!("burnt {rounds} rounds ({n})")))
            }
            "logflood.mkv" => {
                for i in 0..1_000_000u32 {
                    log(Level::Error, &format!("flood line {i}"));
                }
                Err(not_found(&section, &name))
            }
            "ctrl.mkv" => {
                log(
                    Level::Warn,
                    "forged\n2026-01-01T00:00:00Z ERROR plexmatch: fake line\r\x1b[2J",
                );
                println!("stdout \x1b[31mred\x07");
                Err(MatchError::InvalidInput("bad\x1b[2J\r\nfake row".into()))
            }
            "holiday.mp4" => {
                let item = Item {
                    rating_key: "109".into(),
                    title: "Home Video (2020)".into(),
                    kind: ItemKind::Movie,
                    section_id: section.id,
                    files: vec![path.clone()],
                    year: None,
                    guids: Vec::new(),
                    parts: Vec::new(),
                };
                let _ = match_cache::put(section.id, &path, "109", None);
                Ok(high(item))
            }
            "othersection.mkv" => match match_cache::put(section.id + 1, &path, "301", None) {
                Ok(()) => Err(MatchError::InvalidInput(
                    "the host accepted a write for another section".into(),
                )),
                Err(e) => Err(MatchError::NotFound(format!("host refused: {e:?}"))),
            },
            "highnochosen.mkv" => Ok(MatchOutcome {
                confidence: Confidence::High,
                chosen: None,
                candidates: Vec::new(),
                matched_file: None,
            }),
            "highextra.mkv" | "lowone.mkv" => {
                let items = plex::items_by_file_name(section.id, "Inception (2010) - 1080p.mkv")
                    .map_err(MatchError::Plex)?;
                let first = items
                    .into_iter()
                    .next()
                    .ok_or_else(|| not_found(&section, &name))?;
                if name == "lowone.mkv" {
                    return Ok(low(vec![first]));
                }
                let mut extra = first.clone();
                extra.rating_key = "999999".into();
                Ok(MatchOutcome {
                    confidence: Confidence::High,
                    chosen: Some(first.clone()),
                    candidates: vec![first, extra],
                    matched_file: None,
                })
            }
            "huge.mkv" => {
                let candidates = (0..200_000u32)
                    .map(|i| Item {
                        rating_key: i.to_string(),
                        title: String::new(),
                        kind: ItemKind::Movie,
                        section_id: section.id,
                        files: Vec::new(),
                        year: None,
                        guids: Vec::new(),
                        parts: Vec::new(),
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
                    year: None,
                    guids: Vec::new(),
                    parts: Vec::new(),
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
                    year: None,
                    guids: Vec::new(),
                    parts: Vec::new(),
                };
                Ok(high(item))
            }
            // Contract 0.2: a HIGH naming which of the item's files the path is, whose name
            // differs from the path's (a renamed file), and one naming a file it lacks.
            "renamed.mkv" | "renamedwrong.mkv" => {
                let item = plex::fetch_item("101").map_err(MatchError::Plex)?;
                let file = if name == "renamed.mkv" {
                    item.files[0].clone()
                } else {
                    "/data/movies/Not Its File.mkv".to_owned()
                };
                if let Err(e) =
                    match_cache::put(section.id, &path, "101", Some(file.as_str()))
                {
                    log(Level::Warn, &format!("match-cache put refused: {e:?}"));
                }
                Ok(high_file(item, file))
            }
            // What an item carries across the contract (0.2): year, external ids, parts.
            "describe.mkv" => {
                let item = plex::fetch_item("101").map_err(MatchError::Plex)?;
                let part = &item.parts[0];
                Err(MatchError::InvalidInput(format!(
                    "year={:?} guids={} part={}|{:?}|{:?}",
                    item.year,
                    item.guids.join(","),
                    part.file,
                    part.size,
                    part.duration_ms
                )))
            }
            // The path as given and as the caller gave it (contract 0.2.1).
            "whoami.mkv" => Err(MatchError::InvalidInput(format!(
                "path={path} original={}",
                request::original_path()
            ))),
            // What the snapshot looks like before and after a look-up that lists it.
            "freshness.mkv" => {
                let before = library_cache::snapshot(section.id).map(|s| s.fresh);
                let found = plex::items_by_file_name(section.id, "freshness.mkv").map(|i| i.len());
                let after = library_cache::snapshot(section.id).map(|s| s.fresh);
                Err(MatchError::InvalidInput(format!(
                    "before={before:?} found={found:?} after={after:?}"
                )))
            }
            // A declared default reaches the plugin when the user sets nothing.
            "greeting.mkv" => Err(MatchError::InvalidInput(format!(
                "greeting={}",
                settings::get("greeting").unwrap_or_default()
            ))),
            "poison.mkv" => match match_cache::put(section.id, &path, "101", None) {
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
