//! The plugin kit: loading, inspecting and compiling plugins with no Plex server, for
//! people who write them and for checks (`plugin inspect`, `plugin compile`, `doctor`).
//! Testing a plugin against a library is an [`Engine`](super::Engine) on the emulator.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::backend::{Backend, CachePolicy};
use crate::plex::{PlexConfig, RetryPolicy};
use crate::runtime::compile_cache::{self, Wasm};
use crate::runtime::{Limits, Plugin, contract};
use crate::servers::ServerIdentity;

pub use crate::runtime::compile_cache::Readiness;

/// What a loaded plugin says of itself.
#[derive(Debug, Clone)]
pub struct PluginInfo {
    /// The name it gives (its decisions are remembered under it).
    pub name: String,
    pub version: String,
    pub description: String,
    /// Whether it was compiled now or loaded compiled, and how long that took.
    pub readiness: Readiness,
    /// The settings it declares; `None` for a plugin of contract 0.1, which declares none.
    pub settings: Option<Vec<SettingInfo>>,
}

/// A setting a plugin declares.
#[derive(Debug, Clone)]
pub struct SettingInfo {
    pub name: String,
    /// `string`, `bool`, `int`, `float`, `path-mapping`, …
    pub kind: &'static str,
    pub default: Option<String>,
    pub description: String,
}

/// What a component file is, whether or not it can run here.
#[derive(Debug)]
pub struct Inspection {
    /// The component's size.
    pub size_bytes: usize,
    /// The plugin, or why it cannot be used.
    pub loaded: Result<PluginInfo, String>,
    /// The contract version it exports (`plexmatch:plugin@X`), if any.
    pub contract: Option<String>,
    /// The interfaces it imports.
    pub imports: Vec<String>,
}

/// The contract package plugins export (`plexmatch:plugin`).
pub const CONTRACT: &str = contract::PACKAGE;

/// The contract versions this plexmatch runs, e.g. `>=0.1.0, <=0.1.0 or >=0.2.0, <=0.2.1`.
pub fn supported_contracts() -> String {
    contract::supported_range()
}

/// Loads plugins with no Plex server; compiled plugins are kept in a data dir's
/// `plugins/`, so a plugin is compiled once, not per command.
pub struct PluginKit {
    backend: Arc<Backend>,
    _scratch: tempfile::TempDir,
}

impl PluginKit {
    /// A kit keeping compiled plugins in `plugins_dir` (the data dir's `plugins/`).
    pub fn new(plugins_dir: PathBuf) -> Result<PluginKit> {
        let scratch = tempfile::tempdir()?;
        let config = PlexConfig {
            url: "http://127.0.0.1:9".into(),
            token: "unused".into(),
            client_id: "plexmatch-plugin-kit".into(),
            connect_timeout: Duration::from_secs(1),
            read_timeout: Duration::from_secs(1),
            retry: RetryPolicy {
                attempts: 1,
                ..Default::default()
            },
            ..PlexConfig::new("http://127.0.0.1:9", "unused")
        };
        // A temporary data dir for its caches, which need no server identity.
        let server = ServerIdentity {
            machine_id: "plugin-kit".into(),
            name: "plugin kit".into(),
        };
        let backend = Backend::open_for(&config, server, scratch.path(), CachePolicy::default())?
            .with_plugins_dir(plugins_dir);
        Ok(PluginKit {
            backend: Arc::new(backend),
            _scratch: scratch,
        })
    }

    /// Where compiled plugins are kept.
    pub fn plugins_dir(&self) -> &Path {
        &self.backend.plugins_dir
    }

    /// Loads `spec` (a built-in plugin's name or a component file; `None`: the default
    /// plugin) with no settings, as `match --plugin` would.
    pub fn load(&self, spec: Option<&str>) -> Result<PluginInfo> {
        let plugin = super::plugins::plugin(spec, &[], Limits::default(), self.backend.clone())?;
        Ok(info_of(&plugin))
    }

    /// What `spec` is: what it declares (read even when it cannot run here) and whether it
    /// loads.
    pub fn inspect(&self, spec: &str) -> Result<Inspection> {
        let builtin = crate::builtin::BUILTIN_PLUGINS
            .iter()
            .find(|(n, _)| *n == spec && !Path::new(spec).exists());
        let bytes = match builtin {
            Some((_, b)) => b.to_vec(),
            None => {
                std::fs::read(spec).with_context(|| format!("cannot read plugin file {spec}"))?
            }
        };
        let loaded = self.load(Some(spec)).map_err(|e| format!("{e:#}"));
        // From the engine and compiled-plugin cache the load used: a Python component
        // compiles for seconds.
        let engine = crate::runtime::engine_for(Limits::default().memory_bytes);
        let wasm = match builtin {
            Some(_) => Wasm::Bytes(&bytes),
            None => Wasm::File(Path::new(spec)),
        };
        let dir = self.plugins_dir();
        let component = wasm
            .digest(Some(dir))
            .map_err(anyhow::Error::from)
            .and_then(|digest| {
                compile_cache::load(
                    engine,
                    Wasm::Bytes(&bytes),
                    &digest,
                    Some(dir),
                    compile_cache::DEFAULT_LIMIT,
                    || {},
                )
                .map_err(anyhow::Error::from)
            })
            .ok()
            .map(|(c, _)| c);
        let declared = component.as_ref().map(|c| contract::declared(engine, c));
        Ok(Inspection {
            size_bytes: bytes.len(),
            loaded,
            contract: declared
                .as_ref()
                .and_then(|d| d.version)
                .map(|v| v.to_string()),
            imports: declared.map(|d| d.imports).unwrap_or_default(),
        })
    }
}

/// A plugin's description of itself.
pub(crate) fn info_of(p: &Plugin) -> PluginInfo {
    let settings = p.declares_settings().then(|| {
        p.declared_settings()
            .iter()
            .map(|d| SettingInfo {
                name: d.name.clone(),
                kind: crate::runtime::settings::kind_name(d.kind),
                default: d.default.clone(),
                description: d.description.clone(),
            })
            .collect()
    });
    PluginInfo {
        name: p.info().name.clone(),
        version: p.info().version.clone(),
        description: p.info().description.clone(),
        readiness: p.readiness(),
        settings,
    }
}
