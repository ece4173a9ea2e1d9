//! Precedence: a flag beats an environment variable, which beats the configuration file,
//! which beats the built-in default. Each value remembers where it came from, for
//! `plexmatch config show`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ArgMatches;
use clap::parser::ValueSource;
use toml::Spanned;

use super::file::ConfigFile;

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
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

/// Fills a command's options from the configuration file where neither a flag nor the
/// environment gave them, and records where each value came from.
pub struct Layering<'a> {
    matches: &'a ArgMatches,
    pub file: &'a ConfigFile,
    pub shown: Vec<Shown>,
}

/// How an option is named on each layer.
pub struct Names<'n> {
    /// The config file's key (`plex.url`).
    pub key: &'n str,
    /// clap's id for the option (the field name).
    pub id: &'n str,
    /// The flag (`--plex-url`).
    pub flag: &'n str,
    /// The environment variable, if the option reads one.
    pub env: Option<&'n str>,
}

impl<'a> Layering<'a> {
    /// Layers for the options in `matches` (a subcommand's).
    pub fn new(matches: &'a ArgMatches, file: &'a ConfigFile) -> Layering<'a> {
        Layering {
            matches,
            file,
            shown: Vec::new(),
        }
    }

    /// Where clap found the option, if on the command line or in the environment.
    fn given(&self, n: &Names) -> Option<Source> {
        match self
            .matches
            .try_get_raw(n.id)
            .ok()
            .flatten()
            .and(self.matches.value_source(n.id))
        {
            Some(ValueSource::CommandLine) => Some(Source::Flag(n.flag.to_owned())),
            Some(ValueSource::EnvVariable) => Some(Source::Env(n.env.unwrap_or("?").to_owned())),
            _ => None,
        }
    }

    /// An option with a default.
    pub fn value<T: Clone + serde::Serialize, F: Clone>(
        &mut self,
        n: Names,
        current: &mut T,
        from_file: Option<&Spanned<F>>,
        convert: impl Fn(&F) -> T,
        show: impl Fn(&T) -> String,
    ) {
        let source = match (self.given(&n), from_file) {
            (Some(s), _) => s,
            (None, Some(v)) => {
                *current = convert(v.get_ref());
                Source::File(self.file.place(v))
            }
            (None, None) => Source::Default,
        };
        let value = show(current);
        let typed = match serde_json::to_value(&*current) {
            _ if n.key.ends_with("token") => serde_json::Value::String(value.clone()),
            // `verify_tls` is held as `--insecure`, its opposite.
            Ok(serde_json::Value::Bool(insecure)) if n.key == "plex.verify_tls" => {
                serde_json::Value::Bool(!insecure)
            }
            Ok(v) => v,
            Err(_) => serde_json::Value::Null,
        };
        self.shown.push(Shown {
            key: n.key.to_owned(),
            value,
            typed,
            source,
            flag: Some(n.flag.to_owned()),
            env: n.env.map(str::to_owned),
        });
    }

    /// An option without a default.
    pub fn option<T: Clone + serde::Serialize, F: Clone>(
        &mut self,
        n: Names,
        current: &mut Option<T>,
        from_file: Option<&Spanned<F>>,
        convert: impl Fn(&F) -> T,
        show: impl Fn(&Option<T>) -> String,
    ) {
        self.value(n, current, from_file, |v| Some(convert(v)), show);
    }

    /// Records a value that was worked out rather than read.
    pub fn note(&mut self, key: &str, value: String, source: Source) {
        self.shown.push(Shown {
            key: key.to_owned(),
            typed: serde_json::Value::String(value.clone()),
            value,
            source,
            flag: None,
            env: None,
        });
    }
}

/// A path from the config file, with `~/` meaning the home directory.
pub fn expand(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

/// The token in a token file (its first line).
pub fn read_token_file(path: &Path, place: &str) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{place}: cannot read plex.token_file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.is_empty() {
        anyhow::bail!("{place}: plex.token_file {} is empty", path.display());
    }
    Ok(token)
}

/// A token as `config show` prints it: never the token itself.
pub fn mask(token: &Option<String>) -> String {
    match token {
        Some(t) if !t.is_empty() => format!("(set, {} characters, hidden)", t.chars().count()),
        _ => "(not set)".into(),
    }
}
