//! Turning command-line options into the parts a command runs with: logging, the data
//! dir, the backend (Plex client and caches) and plugins.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{CacheArgs, PlexArgs, exit};
use crate::backend::Backend;
use crate::plex::{PlexConfig, PlexError};
use crate::runtime::{Limits, Plugin, Wasm};

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
    let dir = data_dir(cache)?;
    let mut config = plex_config(plex, &dir)?;
    config.offline = offline;
    if config.tls.insecure {
        eprintln!(
            "warning: --insecure: the Plex server's certificate is not checked; anyone on the way can read the token (prefer --ca-file)"
        );
    }
    Ok(Arc::new(Backend::open(&config, &dir, cache.policy())?))
}

/// Loads one plugin: `spec` is a built-in plugin's name (`default`, `path-matcher`) or a
/// component file; `None` is the default plugin. `settings` are the chain's: keys without
/// a `plugin:` scope go to every plugin, `name:key` only to the plugin called `name`.
pub fn plugin(
    spec: Option<&str>,
    settings: &[(String, String)],
    limits: Limits,
    backend: Arc<Backend>,
) -> Result<Arc<Plugin>> {
    let spec = spec.unwrap_or("default");
    let builtin = crate::BUILTIN_PLUGINS
        .iter()
        .find(|(n, _)| *n == spec && !Path::new(spec).exists());
    let (name, origin, wasm) = match builtin {
        Some((n, bytes)) => (n.to_string(), format!("{n} (built in)"), Wasm::Bytes(bytes)),
        None => {
            let path = Path::new(spec);
            // Read only when the compiled-plugin cache does not know the file.
            std::fs::File::open(path).with_context(|| {
                let known = crate::BUILTIN_PLUGINS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "cannot read plugin file {} (built-in plugins: {known})",
                    path.display()
                )
            })?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            (stem, path.display().to_string(), Wasm::File(path))
        }
    };
    let mine = plugin_settings(&name, settings);
    let plugin = Plugin::load_from(&origin, wasm, mine.clone(), limits, backend.clone())?;
    // A plugin may call itself differently from its file: scoped settings use either name.
    let own = plugin.name().to_owned();
    if own != name
        && settings
            .iter()
            .any(|(k, _)| k.starts_with(&format!("{own}:")))
    {
        return Ok(Arc::new(Plugin::load_from(
            &origin,
            wasm,
            plugin_settings(&own, settings),
            limits,
            backend,
        )?));
    }
    Ok(Arc::new(plugin))
}

/// Loads a chain of plugins (none: the default plugin alone).
pub fn plugins(
    specs: &[String],
    settings: &[(String, String)],
    places: &[(String, String)],
    limits: Limits,
    backend: &Arc<Backend>,
) -> Result<Vec<Arc<Plugin>>> {
    let specs: Vec<Option<&str>> = if specs.is_empty() {
        vec![None]
    } else {
        specs.iter().map(|s| Some(s.as_str())).collect()
    };
    let chain = specs
        .iter()
        .map(|s| plugin(*s, settings, limits, backend.clone()))
        .collect::<Result<Vec<_>>>()?;
    // A setting no plugin of the chain reads is a typo to report, not to ignore.
    let members: Vec<crate::runtime::settings::Member<'_>> = chain
        .iter()
        .zip(&specs)
        .map(|(p, spec)| {
            let stem = spec
                .map(|s| {
                    Path::new(s)
                        .file_stem()
                        .and_then(|f| f.to_str())
                        .unwrap_or(s)
                })
                .unwrap_or("default");
            crate::runtime::settings::Member {
                names: vec![p.name(), stem],
                declares: p.declares_settings(),
                declared: p.declared_settings(),
            }
        })
        .collect();
    crate::runtime::settings::check_chain(settings, &members).map_err(|e| {
        // Where the setting was given, when a configuration file gave it.
        let place = e
            .downcast_ref::<crate::runtime::settings::UnreadSetting>()
            .and_then(|u| places.iter().find(|(k, _)| *k == u.key))
            .map(|(k, p)| format!("{p}: [match.settings] {k}"));
        match place {
            Some(p) => e.context(p),
            None => e,
        }
    })?;
    Ok(chain)
}

/// The settings one plugin sees: unscoped ones, and its own with the scope removed; a
/// `rewrite*` mapping written `FROM=TO` is handed over as `FROM=>TO`.
fn plugin_settings(name: &str, settings: &[(String, String)]) -> Vec<(String, String)> {
    settings
        .iter()
        .filter_map(|(k, v)| match k.split_once(':') {
            None => Some((k.clone(), v.clone())),
            Some((scope, key)) if scope == name => Some((key.to_owned(), v.clone())),
            Some(_) => None,
        })
        .map(|(k, v)| {
            let v = mapping_form(&k, v);
            (k, v)
        })
        .collect()
}

/// A `rewrite*` setting's value as plugins read it: `FROM=>TO`. `FROM=TO` (split at the
/// first `=`) is accepted too, because a shell reads the `>` of `=>` as a redirection:
/// `--setting rewrite=/mnt/stash/=/data/media/` runs as printed, unquoted.
pub fn mapping_form(key: &str, value: String) -> String {
    if !plexmatch_matchkit::paths::in_family("rewrite", key) || value.contains("=>") {
        return value;
    }
    match value.split_once('=') {
        Some((from, to)) => format!("{from}=>{to}"),
        None => value,
    }
}

/// Parses `key=value` plugin settings.
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("a plugin setting is written key=value, not {s:?}")),
    }
}
