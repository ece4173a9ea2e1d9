//! Turning command-line options into the parts a command runs with: logging, the data
//! dir, the backend (Plex client and caches) and plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{CacheArgs, PlexArgs, exit};
use crate::backend::Backend;
use crate::plex::{PlexConfig, PlexError};

/// Logs go to stderr: warnings by default (only errors with `quiet`), more with -v/-vv,
/// or as RUST_LOG says. Plain lines by default; times and module paths from -v on.
pub fn init_logging(verbose: u8, quiet: bool) {
    // -v and -vv are about plexmatch (and its plugins), not about every library's internals.
    // A plugin's own lines, whatever their level, only with -v: its answer (or error) is
    // already in the output, and a plugin must not be able to fill the terminal.
    let default = match (verbose, quiet) {
        (0, true) => "error,plugin=off",
        (0, false) => "warn,plugin=off",
        (1, _) => "warn,plexmatch=info,plugin=info",
        _ => "warn,plexmatch=debug,plugin=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(verbose > 0);
    let _ = if verbose > 0 {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
}

/// The exit code for an error that ended a command.
/// Where a person finds a current token, said with every refused one.
pub const TOKEN_HINT: &str = "Get a current X-Plex-Token (Plex Web: any item → Get Info → View XML, the token is in the URL) and set PLEX_TOKEN (or [plex] token_file)";

/// The error line for `e`, with what to do about a refused token.
pub fn error_line(e: &anyhow::Error) -> String {
    let refused = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<PlexError>(),
            Some(PlexError::Unauthorized(_))
        )
    });
    if refused {
        format!("error: {e:#}\n  {TOKEN_HINT}")
    } else {
        format!("error: {e:#}")
    }
}

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
        None => default_data_dir(),
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

/// The Plex connection settings from the options.
pub fn plex_config(plex: &PlexArgs, dir: &Path) -> Result<PlexConfig> {
    let Some(url) = plex.plex_url.clone() else {
        bail!(
            "no Plex server given: pass --plex-url or set PLEX_URL (try `plexmatch emulator --generate 100` for a local one)"
        );
    };
    let Some(token) = plex.token.clone().filter(|t| !t.trim().is_empty()) else {
        if let Some(problem) = &plex.token_problem {
            bail!("{problem}");
        }
        bail!("no Plex token given: set PLEX_TOKEN (or pass --token)");
    };
    let secs = |v: f64, name: &str| -> Result<Duration> {
        if !(v.is_finite() && v > 0.0) {
            bail!("--{name} must be a positive number of seconds, not {v}");
        }
        Ok(Duration::from_secs_f64(v))
    };
    let url = crate::plex::server_url(&url)?;
    Ok(PlexConfig {
        url,
        token,
        client_id: client_id(dir),
        connect_timeout: secs(plex.connect_timeout, "connect-timeout")?,
        read_timeout: secs(plex.read_timeout, "read-timeout")?,
        page_size: plex.page_size.max(1),
        pages_in_flight: plex.pages_in_flight.max(1),
        retry: crate::plex::RetryPolicy::default(),
        tls: crate::plex::TlsOptions {
            ca_file: plex.ca_file.clone(),
            insecure: plex.insecure,
        },
        offline: false,
    })
}

/// Opens the caches and the Plex client.
pub fn backend(plex: &PlexArgs, cache: &CacheArgs) -> Result<Arc<Backend>> {
    backend_with(plex, cache, false)
}

/// Opens the caches and the Plex client; `offline`: a client that sends nothing, and the
/// caches trusted whatever their age.
pub fn backend_with(plex: &PlexArgs, cache: &CacheArgs, offline: bool) -> Result<Arc<Backend>> {
    let (config, dir) = connection(plex, cache, offline)?;
    Ok(Arc::new(Backend::open(&config, &dir, cache.policy())?))
}

/// The connection settings and the data dir the options give (`offline`: send nothing);
/// `--insecure` is warned about here, once.
pub fn connection(
    plex: &PlexArgs,
    cache: &CacheArgs,
    offline: bool,
) -> Result<(PlexConfig, PathBuf)> {
    let dir = data_dir(cache)?;
    let mut config = plex_config(plex, &dir)?;
    config.offline = offline;
    if config.tls.insecure {
        eprintln!(
            "warning: --insecure: the Plex server's certificate is not checked; anyone on the way can read the token (prefer --ca-file)"
        );
    }
    Ok((config, dir))
}

pub use crate::engine::plugins::{plugin, plugins};

/// Parses `key=value` plugin settings.
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("a plugin setting is written key=value, not {s:?}")),
    }
}
