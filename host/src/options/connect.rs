//! From settings to what opens an engine: the data dir, the Plex connection, and the
//! whole [`EngineOptions`](crate::engine::EngineOptions).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Settings;
use crate::plex::PlexConfig;

impl Settings {
    /// The data dir: the option, or the user's cache dir.
    pub fn data_dir(&self) -> Result<PathBuf> {
        match &self.data_dir {
            Some(d) => Ok(d.clone()),
            None => default_data_dir(),
        }
    }

    /// The Plex connection settings, with this installation's client id from `dir`.
    pub fn plex_config(&self, dir: &Path) -> Result<PlexConfig> {
        let Some(url) = self.plex_url.clone() else {
            bail!(
                "no Plex server given: pass --plex-url or set PLEX_URL (try `plexmatch emulator --generate 100` for a local one)"
            );
        };
        let Some(token) = self.token.clone().filter(|t| !t.trim().is_empty()) else {
            if let Some(problem) = &self.token_problem {
                bail!("{problem}");
            }
            bail!("no Plex token given: set PLEX_TOKEN (or pass --token)");
        };
        let url = crate::plex::server_url(&url)?;
        Ok(PlexConfig {
            url,
            token,
            client_id: client_id(dir),
            connect_timeout: Duration::from_secs_f64(self.connect_timeout),
            read_timeout: Duration::from_secs_f64(self.read_timeout),
            page_size: self.page_size.max(1),
            pages_in_flight: self.pages_in_flight.max(1),
            retry: crate::plex::RetryPolicy::default(),
            tls: crate::plex::TlsOptions {
                ca_file: self.ca_file.clone(),
                insecure: !self.verify_tls,
            },
            offline: false,
        })
    }

    /// The connection settings and the data dir (`offline`: send nothing).
    pub fn connection(&self, offline: bool) -> Result<(PlexConfig, PathBuf)> {
        let dir = self.data_dir()?;
        let mut config = self.plex_config(&dir)?;
        config.offline = offline;
        Ok((config, dir))
    }

    /// Workers that fit the memory budget: each holds one instance of every plugin of the
    /// chain, each allowed `memory_mib`. Too many are cut back with a warning; a budget
    /// too small for even one worker is an error.
    pub fn workers_within_memory(&self, wanted: usize, chain: usize) -> Result<usize> {
        let total = self
            .memory_total_mib
            .map(|m| (m as u64) << 20)
            .unwrap_or_else(|| memory_total() / 2);
        let per_worker = (self.memory_mib.max(1) as u64 * chain.max(1) as u64) << 20;
        let fit = (total / per_worker) as usize;
        if fit == 0 {
            bail!(
                "one worker's plugins may use {} MiB ({chain} plugin(s) × --memory-mib {}), more than the {} MiB all plugins may use together (--memory-total-mib)",
                per_worker >> 20,
                self.memory_mib,
                total >> 20
            );
        }
        if wanted > fit {
            tracing::warn!(
                "{wanted} workers would let plugins use {} MiB; running {fit}, which fit in {} MiB (--memory-total-mib)",
                (per_worker * wanted as u64) >> 20,
                total >> 20
            );
            return Ok(fit);
        }
        Ok(wanted)
    }
}

/// The data dir for commands without cache options: `PLEXMATCH_DATA_DIR`, or the user's
/// cache dir.
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("PLEXMATCH_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    dirs::cache_dir()
        .map(|d| d.join("plexmatch"))
        .context("cannot find the user's cache directory; pass --data-dir")
}

/// This installation's `X-Plex-Client-Identifier`, kept in the data dir.
fn client_id(dir: &Path) -> String {
    let file = dir.join("client-id");
    if let Ok(id) = std::fs::read_to_string(&file)
        && !id.trim().is_empty()
    {
        return id.trim().to_owned();
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let id = format!("plexmatch-{:016x}{:08x}", nanos as u64, std::process::id());
    let _ = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&file, &id));
    id
}

/// The machine's memory (`MemTotal` of /proc/meminfo), or 8 GiB where it cannot be read.
fn memory_total() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kib| kib << 10)
        .unwrap_or(8 << 30)
}
