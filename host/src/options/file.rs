//! The configuration file: TOML, every key optional, unknown keys refused. Values keep
//! their place in the file so that errors and `plexmatch config show` can name the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use toml::Spanned;

/// `[section] key = value`, each value with where it is.
type Tables = BTreeMap<String, Spanned<BTreeMap<String, Spanned<toml::Value>>>>;

/// Only `[match.settings]`, for the place of each setting.
#[derive(Deserialize, Default)]
struct SettingsOnly {
    #[serde(default, rename = "match")]
    matching: MatchSettings,
}

#[derive(Deserialize, Default)]
struct MatchSettings {
    #[serde(default)]
    settings: BTreeMap<String, Spanned<String>>,
}

/// A loaded configuration file (or none).
#[derive(Debug, Default)]
pub struct ConfigFile {
    /// Where it was read from; `None` when there is no file.
    pub path: Option<PathBuf>,
    text: String,
    /// Each option's value, by key (`plex.url`), with its place.
    values: Vec<(&'static str, Spanned<toml::Value>)>,
    /// `plex.token_file`, a file holding the token, kept out of the config file.
    pub token_file: Option<Spanned<String>>,
    /// `[match.settings]`: the plugins' settings, `"plugin:key"` reaching one plugin.
    pub settings: Vec<(String, Spanned<String>)>,
}

impl ConfigFile {
    /// Reads `explicit` (which must exist), or the default file if there is one.
    pub fn load(explicit: Option<&Path>) -> Result<ConfigFile> {
        let (path, required) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match default_path() {
                Some(p) => (p, false),
                None => return Ok(ConfigFile::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ConfigFile::default());
            }
            Err(e) => {
                return Err(e).with_context(|| {
                    format!("cannot read the configuration file {}", path.display())
                });
            }
        };
        ConfigFile::parse(path, text)
    }

    /// The file at `path` holding `text`, checked against the options.
    pub fn parse(path: PathBuf, text: String) -> Result<ConfigFile> {
        let syntax = |e: toml::de::Error| {
            let at = e.span().map(|s| line_at(&text, s.start));
            let line = at.map(|l| format!(", line {l}")).unwrap_or_default();
            // Quote the line, so that the key is named too; never a line holding a token.
            let quoted = at
                .and_then(|l| text.lines().nth(l - 1))
                .map(str::trim)
                .filter(|t| !t.is_empty() && !t.to_ascii_lowercase().contains("token"))
                .map(|t| format!(" (`{t}`)"))
                .unwrap_or_default();
            anyhow::anyhow!(
                "configuration file {}{line}{quoted}: {}",
                path.display(),
                e.message()
            )
        };
        let tables: Tables = toml::from_str(&text).map_err(syntax)?;
        let settings: SettingsOnly = toml::from_str(&text).map_err(syntax)?;
        let mut file = ConfigFile {
            path: Some(path),
            text,
            values: Vec::new(),
            token_file: None,
            settings: settings.matching.settings.into_iter().collect(),
        };
        for (section, table) in tables {
            let known = super::SPECS.iter().any(|s| s.section() == section);
            if !known {
                bail!(
                    "{}: unknown section [{section}] (sections: [plex], [cache], [match], [paths], [limits])",
                    file.place(&table)
                );
            }
            for (name, value) in table.into_inner() {
                let key = format!("{section}.{name}");
                if key == "match.settings" {
                    continue;
                }
                if key == "plex.token_file" {
                    let place = file.place(&value);
                    let span = value.span();
                    match value.into_inner() {
                        toml::Value::String(s) => file.token_file = Some(Spanned::new(span, s)),
                        other => bail!("{place}: plex.token_file must be a string, not {other}"),
                    }
                    continue;
                }
                let Some(spec) = super::spec(&key) else {
                    let names: Vec<&str> = super::SPECS
                        .iter()
                        .filter(|s| s.section() == section)
                        .map(|s| &s.key[section.len() + 1..])
                        .collect();
                    bail!(
                        "{}: unknown key {name:?} in [{section}] (its keys: {})",
                        file.place(&value),
                        names.join(", ")
                    );
                };
                // Checked now, so that a bad value is named with its line at once.
                let mut scratch = super::Settings::default();
                (spec.set)(&mut scratch, super::value::Raw::Toml(value.get_ref()))
                    .map_err(|why| anyhow::anyhow!("{}: {key} {why}", file.place(&value)))?;
                if let (Some(url), toml::Value::String(u)) = (scratch.plex_url, value.get_ref())
                    && let Err(e) = crate::plex::server_url(&url)
                {
                    bail!("{}: plex.url {u:?}: {e:#}", file.place(&value));
                }
                file.values.push((spec.key, value));
            }
        }
        if let (Some(t), Some(f)) = (file.value("plex.token"), &file.token_file) {
            bail!(
                "{}: plex.token and plex.token_file ({}) are both set; keep one",
                file.place(t),
                file.place(f)
            );
        }
        Ok(file)
    }

    /// The file's value for the option `key`, if it sets it.
    pub fn value(&self, key: &str) -> Option<&Spanned<toml::Value>> {
        self.values.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Where a value sits, for messages: `file, line N`.
    pub fn place<T>(&self, v: &Spanned<T>) -> String {
        format!(
            "{}, line {}",
            self.path.as_deref().unwrap_or(Path::new("?")).display(),
            line_at(&self.text, v.span().start)
        )
    }
}

/// The default configuration file: `plexmatch/config.toml` in the user's config dir.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("plexmatch").join("config.toml"))
}

/// A path from the config file, with `~/` meaning the home directory.
pub fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
