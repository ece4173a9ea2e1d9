//! Which Plex server a data dir's caches belong to. Each server (by its
//! `machineIdentifier`) has its own folder, `servers/<id>/`, with its library cache, match
//! cache and lock files, so a data dir used with two servers never answers for one with
//! the other's data. Which server a URL reaches is asked once (`GET /`) and remembered in
//! `servers.json` for as long as the section list is trusted (the library TTL).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::plex::{PlexClient, PlexError};

/// A Plex server as plexmatch keys its caches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerIdentity {
    /// Plex's `machineIdentifier`.
    pub machine_id: String,
    /// The server's name (`friendlyName`), for people.
    pub name: String,
}

impl ServerIdentity {
    /// "name (id)", for messages.
    pub fn describe(&self) -> String {
        if self.name.is_empty() {
            self.machine_id.clone()
        } else {
            format!("{:?} ({})", self.name, self.machine_id)
        }
    }

    /// The folder of this server's caches in `data_dir`.
    pub fn cache_dir(&self, data_dir: &Path) -> PathBuf {
        data_dir.join("servers").join(folder_name(&self.machine_id))
    }
}

/// A folder name from an id the server chose: safe characters kept, others hex-escaped.
fn folder_name(id: &str) -> String {
    let mut out = String::new();
    for b in id.bytes().take(128) {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    if out.is_empty() { "%".into() } else { out }
}

/// What `servers.json` remembers about a URL.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    machine_id: String,
    name: String,
    /// Unix time the server was last asked.
    checked_at: i64,
    /// The token it accepted then ([`PlexClient::token_fingerprint`]): another token is
    /// checked with a request, so that a wrong one is said at once, not after the TTL.
    #[serde(default)]
    token: String,
}

fn memo_path(data_dir: &Path) -> PathBuf {
    data_dir.join("servers.json")
}

fn read_memo(data_dir: &Path) -> BTreeMap<String, Seen> {
    std::fs::read(memo_path(data_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_memo(data_dir: &Path, memo: &BTreeMap<String, Seen>) -> Result<()> {
    let path = memo_path(data_dir);
    let tmp = data_dir.join(format!("servers.json.{}", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(memo)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

/// The key of a URL in the memo: without a trailing `/`, scheme and host lower-cased.
fn url_key(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}{}",
            u.scheme(),
            u.host_str().unwrap_or("").to_ascii_lowercase(),
            u.port_or_known_default().unwrap_or(0),
            u.path().trim_end_matches('/')
        ),
        Err(_) => url.to_owned(),
    }
}

/// The server at `url`: remembered if it was asked within `ttl`, else asked now (one
/// request). When asking fails, a server remembered for this URL earlier is used (its
/// caches still answer only while fresh); with none, the error is returned.
pub fn identify(
    client: &PlexClient,
    url: &str,
    data_dir: &Path,
    ttl: Duration,
) -> Result<ServerIdentity, PlexError> {
    let key = url_key(url);
    let memo = read_memo(data_dir);
    let known = memo.get(&key).cloned();
    let now = crate::cache::now();
    if let Some(seen) = &known
        && now.saturating_sub(seen.checked_at) < ttl.as_secs() as i64
        && (seen.token == client.token_fingerprint() || client.is_offline())
    {
        return Ok(ServerIdentity {
            machine_id: seen.machine_id.clone(),
            name: seen.name.clone(),
        });
    }
    match client.server_info() {
        Ok(info) if !info.machine_id.trim().is_empty() => {
            let id = ServerIdentity {
                machine_id: info.machine_id,
                name: info.name,
            };
            if let Some(seen) = &known
                && seen.machine_id != id.machine_id
            {
                tracing::warn!(
                    "{url} is now the Plex server {}, no longer {:?} ({}): using the new server's own caches",
                    id.describe(),
                    seen.name,
                    seen.machine_id
                );
            }
            let mut memo = read_memo(data_dir);
            memo.insert(
                key,
                Seen {
                    machine_id: id.machine_id.clone(),
                    name: id.name.clone(),
                    checked_at: now,
                    token: client.token_fingerprint().to_owned(),
                },
            );
            if let Err(e) = std::fs::create_dir_all(data_dir)
                .map_err(anyhow::Error::from)
                .and_then(|_| write_memo(data_dir, &memo))
            {
                tracing::debug!("cannot remember which server {url} is: {e:#}");
            }
            Ok(id)
        }
        Ok(_) => Err(PlexError::BadResponse(
            "GET /: the answer names no machineIdentifier, so plexmatch cannot tell which server it is".into(),
        )),
        Err(e) => match known {
            Some(seen) if !matches!(e, PlexError::Unauthorized(_)) => {
                tracing::info!(
                    "cannot ask {url} which server it is ({e}); using the one it was last time"
                );
                Ok(ServerIdentity {
                    machine_id: seen.machine_id,
                    name: seen.name,
                })
            }
            _ => Err(match e {
                PlexError::Offline(_) => e.noted(&format!(
                    "this data dir has no record of which server {url} is; run once without --offline"
                )),
                e => e,
            }),
        },
    }
}

/// The server `url` was last found to be, if it was asked before (no request).
pub fn remembered(data_dir: &Path, url: &str) -> Option<ServerIdentity> {
    read_memo(data_dir)
        .get(&url_key(url))
        .map(|seen| ServerIdentity {
            machine_id: seen.machine_id.clone(),
            name: seen.name.clone(),
        })
}

/// Every server with caches in `data_dir`.
pub fn known(data_dir: &Path) -> Vec<ServerIdentity> {
    let mut out: Vec<ServerIdentity> = Vec::new();
    let Ok(dirs) = std::fs::read_dir(data_dir.join("servers")) else {
        return out;
    };
    for d in dirs.flatten() {
        if let Ok(bytes) = std::fs::read(d.path().join("server.json"))
            && let Ok(id) = serde_json::from_slice::<ServerIdentity>(&bytes)
        {
            out.push(id);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.machine_id.cmp(&b.machine_id)));
    out
}

/// The server whose caches a command without Plex access works on: the one `selector`
/// names (id or name), else the one `url` was last found to be, else the only one there
/// is. `None` when the data dir holds no server's caches yet.
pub fn choose(
    data_dir: &Path,
    selector: Option<&str>,
    url: Option<&str>,
) -> Result<Option<ServerIdentity>> {
    let all = known(data_dir);
    let list = || {
        all.iter()
            .map(ServerIdentity::describe)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(sel) = selector {
        let sel = sel.trim();
        let hits: Vec<&ServerIdentity> = all
            .iter()
            .filter(|s| s.machine_id == sel || s.name.eq_ignore_ascii_case(sel))
            .collect();
        return match hits.as_slice() {
            [one] => Ok(Some((*one).clone())),
            [] => anyhow::bail!(
                "no server called {sel:?} has caches in {}; known: {}",
                data_dir.display(),
                if all.is_empty() {
                    "none".into()
                } else {
                    list()
                }
            ),
            _ => anyhow::bail!("{sel:?} names several servers ({}); give the id", list()),
        };
    }
    if let Some(url) = url
        && let Some(seen) = read_memo(data_dir).get(&url_key(url))
        && let Some(s) = all.iter().find(|s| s.machine_id == seen.machine_id)
    {
        return Ok(Some(s.clone()));
    }
    match all.len() {
        0 => Ok(None),
        1 => Ok(all.into_iter().next()),
        _ => anyhow::bail!(
            "{} holds the caches of several servers ({}); choose one with --server",
            data_dir.display(),
            list()
        ),
    }
}

/// Creates the server's cache folder (with `server.json` naming it) and sets aside caches
/// a plexmatch from before per-server caches left at the top of the data dir.
pub fn prepare(data_dir: &Path, server: &ServerIdentity) -> Result<PathBuf> {
    set_aside_unkeyed(data_dir);
    let dir = server.cache_dir(data_dir);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create cache directory {}", dir.display()))?;
    let file = dir.join("server.json");
    let text = serde_json::to_vec_pretty(server)?;
    if std::fs::read(&file).ok().as_deref() != Some(text.as_slice())
        && let Err(e) = std::fs::write(&file, &text)
    {
        tracing::debug!("cannot write {}: {e}", file.display());
    }
    Ok(dir)
}

/// Caches from before they were kept per server cannot say which server they hold: never
/// used, they are moved to `unkeyed-<time>/` with one notice.
fn set_aside_unkeyed(data_dir: &Path) {
    let old: Vec<PathBuf> = ["library.sqlite3", "matches.sqlite3"]
        .iter()
        .map(|n| data_dir.join(n))
        .filter(|p| p.exists())
        .collect();
    if old.is_empty() {
        return;
    }
    let aside = data_dir.join(format!("unkeyed-{}", crate::cache::now()));
    let moved = std::fs::create_dir_all(&aside).and_then(|_| {
        for entry in std::fs::read_dir(data_dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("library.sqlite3") || name.starts_with("matches.sqlite3") {
                std::fs::rename(entry.path(), aside.join(&name))?;
            }
        }
        Ok(())
    });
    match moved {
        Ok(()) => tracing::warn!(
            "caches from an earlier plexmatch, which did not record their Plex server, were moved to {} and are not used; delete it when you like",
            aside.display()
        ),
        Err(e) => tracing::warn!(
            "caches from an earlier plexmatch are in {} and cannot be moved aside ({e}); they are not used",
            data_dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_ids_map_to_safe_keys() {
        assert_eq!(
            url_key("HTTP://Plex.Local:32400/"),
            "http://plex.local:32400"
        );
        assert_eq!(url_key("https://plex.local"), "https://plex.local:443");
        assert_eq!(folder_name("abc-123_X"), "abc-123_X");
        assert_eq!(folder_name("../x"), "%2e%2e%2fx");
        assert_eq!(folder_name(""), "%");
    }
}
