//! Loading a plugin chain: built-in plugins by name or component files, each given its
//! settings (unscoped ones and its own `name:key` ones), and the chain's settings checked
//! against what its plugins declare (a setting no plugin reads is a typo to report).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::backend::Backend;
use crate::runtime::{Limits, Plugin, Wasm};

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
    let builtin = crate::builtin::BUILTIN_PLUGINS
        .iter()
        .find(|(n, _)| *n == spec && !Path::new(spec).exists());
    let (name, origin, wasm) = match builtin {
        Some((n, bytes)) => (n.to_string(), format!("{n} (built in)"), Wasm::Bytes(bytes)),
        None => {
            let path = Path::new(spec);
            // Read only when the compiled-plugin cache does not know the file.
            std::fs::File::open(path).with_context(|| {
                let known = crate::builtin::BUILTIN_PLUGINS
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
