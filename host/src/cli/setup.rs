//! Turning command-line options into the parts a command runs with: logging, the data
//! dir, the backend (Plex client and caches) and plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{CacheArgs, PlexArgs, exit};
use crate::backend::Backend;
use crate::plex::{PlexConfig, PlexError};
use crate::runtime::{Limits, Plugin};

/// Logs go to stderr: warnings by default, more with -v/-vv, or as RUST_LOG says.
pub fn init_logging(verbose: u8) {
    // -v and -vv are about plexmatch (and its plugins), not about every library's internals.
    let default = match verbose {
        0 => "warn",
        1 => "warn,plexmatch=info,plugin=info",
        _ => "warn,plexmatch=debug,plugin=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(true)
        .try_init();
}

/// The exit code for an error that ended a command.
pub fn exit_code_for(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.downcast_ref::<PlexError>().is_some()) {
        exit::PLEX
    } else {
        exit::USAGE
    }
}

/// The data dir: the option, or the user's cache dir.
pub fn data_dir(args: &CacheArgs) -> Result<PathBuf> {
    match &args.data_dir {
        Some(d) => Ok(d.clone()),
        None => dirs::cache_dir()
            .map(|d| d.join("plexmatch"))
            .context("cannot find the user's cache directory; pass --data-dir"),
    }
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

/// The Plex connection settings from the options.
pub fn plex_config(plex: &PlexArgs, dir: &Path) -> Result<PlexConfig> {
    let Some(url) = plex.plex_url.clone() else {
        bail!(
            "no Plex server given: pass --plex-url or set PLEX_URL (try `plexmatch emulator --generate 100` for a local one)"
        );
    };
    let Some(token) = plex.token.clone().filter(|t| !t.trim().is_empty()) else {
        bail!("no Plex token given: set PLEX_TOKEN (or pass --token)");
    };
    let secs = |v: f64, name: &str| -> Result<Duration> {
        if !(v.is_finite() && v > 0.0) {
            bail!("--{name} must be a positive number of seconds, not {v}");
        }
        Ok(Duration::from_secs_f64(v))
    };
    Ok(PlexConfig {
        url,
        token,
        client_id: client_id(dir),
        connect_timeout: secs(plex.connect_timeout, "connect-timeout")?,
        read_timeout: secs(plex.read_timeout, "read-timeout")?,
        page_size: plex.page_size.max(1),
        retry: crate::plex::RetryPolicy::default(),
    })
}

/// Opens the caches and the Plex client.
pub fn backend(plex: &PlexArgs, cache: &CacheArgs) -> Result<Arc<Backend>> {
    let dir = data_dir(cache)?;
    let config = plex_config(plex, &dir)?;
    Ok(Arc::new(Backend::open(&config, &dir, cache.policy())?))
}

/// Loads the plugin at `path`, or the embedded default plugin.
pub fn plugin(
    path: Option<&Path>,
    settings: Vec<(String, String)>,
    limits: Limits,
    backend: Arc<Backend>,
) -> Result<Arc<Plugin>> {
    let plugin = match path {
        None => Plugin::load(
            "default (built in)",
            crate::DEFAULT_PLUGIN,
            settings,
            limits,
            backend,
        )?,
        Some(p) => {
            let bytes = std::fs::read(p)
                .with_context(|| format!("cannot read plugin file {}", p.display()))?;
            Plugin::load(&p.display().to_string(), &bytes, settings, limits, backend)?
        }
    };
    Ok(Arc::new(plugin))
}

/// Parses `key=value` plugin settings.
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("a plugin setting is written key=value, not {s:?}")),
    }
}
