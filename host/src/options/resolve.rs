//! Precedence: what the caller gave (a flag, a keyword argument) beats an environment
//! variable, which beats the configuration file, which beats the built-in default. Each
//! value remembers where it came from, for `plexmatch config show`.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::value::Raw;
use super::{ConfigFile, SPECS, Settings, Spec, mask};

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A flag (`--page-size`), or the argument a program passed.
    Flag(String),
    Env(String),
    File(String),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "environment {var}"),
            Source::File(place) => write!(f, "file {place}"),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One effective setting, as `config show` prints it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub key: String,
    /// The value as people read it ("5 s").
    pub value: String,
    /// The value as a program reads it (5.0); a secret is its masked text.
    pub typed: serde_json::Value,
    pub source: Source,
    /// The flag that sets it, and the environment variable, where there are.
    pub flag: Option<String>,
    pub env: Option<String>,
}

/// What the caller gave: options by key, each with its values and where they came from
/// (clap may have read the environment already: it says so), and plugin settings.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// `(key, values, source)`; a repeatable option has one value per use.
    pub options: Vec<(&'static str, Vec<String>, Source)>,
    /// `key=value` plugin settings (`--setting`), in order.
    pub settings: Vec<(String, String)>,
}

impl Given {
    /// Gives `key` (an option's config key) the value `value`, as the caller's argument.
    pub fn set(&mut self, key: &str, values: Vec<String>, source: Source) -> Result<()> {
        let spec = super::spec(key).with_context(|| format!("no option is called {key:?}"))?;
        self.options.retain(|(k, _, _)| *k != spec.key);
        self.options.push((spec.key, values, source));
        Ok(())
    }
}

/// The effective settings of the options in `parts` of the configuration (`plex`,
/// `cache`, `match`, `limits`; the others keep their defaults): `given`, then the
/// environment, then `file`, then the defaults; and what came from where. A value that
/// cannot be used is an error naming its source.
pub fn resolve(parts: &[&str], given: &Given, file: &ConfigFile) -> Result<(Settings, Vec<Shown>)> {
    let mut s = Settings::default();
    let mut shown = Vec::new();
    for spec in SPECS.iter().filter(|s| parts.contains(&s.section())) {
        let source = layer(spec, given, file, &mut s)?;
        let (value, typed) = spec.show(&s);
        let typed = if spec.key == "plex.token" {
            serde_json::Value::String(value.clone())
        } else {
            typed
        };
        shown.push(Shown {
            key: spec.key.to_owned(),
            value,
            typed,
            source,
            flag: Some(format!("--{}", spec.flag)),
            env: spec.env.map(str::to_owned),
        });
        if spec.key == "plex.token" {
            token_file(&mut s, file, shown.last_mut().expect("just pushed"));
        }
    }
    if parts.contains(&"match") {
        plugin_settings(&mut s, given, file, &mut shown);
    }
    Ok((s, shown))
}

/// Sets `spec`'s value from the first layer that has one; where it came from.
fn layer(spec: &Spec, given: &Given, file: &ConfigFile, s: &mut Settings) -> Result<Source> {
    if let Some((_, values, source)) = given.options.iter().find(|(k, _, _)| *k == spec.key) {
        let named = match source {
            Source::Env(var) => var.clone(),
            _ => format!("--{}", spec.flag),
        };
        (spec.set)(s, Raw::Text(values)).map_err(|why| anyhow::anyhow!("{named} {why}"))?;
        return Ok(source.clone());
    }
    if let Some(var) = spec.env
        && let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty())
    {
        let value = value
            .into_string()
            .map_err(|_| anyhow::anyhow!("{var} is not valid UTF-8"))?;
        (spec.set)(s, Raw::Text(&[value])).map_err(|why| anyhow::anyhow!("{var} {why}"))?;
        return Ok(Source::Env(var.to_owned()));
    }
    if let Some(value) = file.value(spec.key) {
        let place = file.place(value);
        (spec.set)(s, Raw::Toml(value.get_ref()))
            .map_err(|why| anyhow::anyhow!("{place}: {} {why}", spec.key))?;
        return Ok(Source::File(place));
    }
    Ok(Source::Default)
}

/// `plex.token_file`, when no token was given otherwise.
fn token_file(s: &mut Settings, file: &ConfigFile, shown: &mut Shown) {
    let Some(tf) = file.token_file.as_ref().filter(|_| s.token.is_none()) else {
        return;
    };
    let place = file.place(tf);
    shown.source = Source::File(format!("{place} (plex.token_file {})", tf.get_ref()));
    match read_token_file(&super::expand(tf.get_ref()), &place) {
        Ok(token) => {
            s.token = Some(token);
            shown.value = mask(&s.token);
            shown.typed = serde_json::Value::String(shown.value.clone());
        }
        // Only what needs the token fails on it; `config show` shows it.
        Err(e) => {
            shown.value = format!("(unreadable: {e:#})");
            shown.typed = serde_json::Value::Null;
            s.token_problem = Some(format!("{e:#}"));
        }
    }
}

/// The plugins' settings merge key by key: a given one replaces the file's for its key.
fn plugin_settings(s: &mut Settings, given: &Given, file: &ConfigFile, shown: &mut Vec<Shown>) {
    let note = |key: &str, value: &str, source: Source| Shown {
        key: format!("match.settings.{key}"),
        value: value.to_owned(),
        typed: serde_json::Value::String(value.to_owned()),
        source,
        flag: None,
        env: None,
    };
    s.plugin_settings = given.settings.clone();
    for (key, value) in &file.settings {
        if !s.plugin_settings.iter().any(|(k, _)| k == key) {
            let place = file.place(value);
            s.setting_places.push((key.clone(), place.clone()));
            shown.push(note(key, value.get_ref(), Source::File(place)));
            s.plugin_settings
                .push((key.clone(), value.get_ref().clone()));
        }
    }
    for (k, v) in &given.settings {
        shown.push(note(k, v, Source::Flag("--setting".into())));
    }
}

/// The token in a token file (its first line).
pub fn read_token_file(path: &Path, place: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{place}: cannot read plex.token_file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.is_empty() {
        bail!("{place}: plex.token_file {} is empty", path.display());
    }
    Ok(token)
}

/// Parses a `key=value` plugin setting.
pub fn parse_setting(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("a plugin setting is written key=value, not {s:?}")),
    }
}
