//! The configuration file: TOML, every key optional, unknown keys refused. Values keep
//! their place in the file so that errors and `plexmatch config show` can name the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use toml::Spanned;

/// `[plex]`: where the server is and how to log in.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlexSection {
    pub url: Option<Spanned<String>>,
    pub token: Option<Spanned<String>>,
    /// A file holding the token (its first line), kept out of the config file.
    pub token_file: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<f64>>,
    pub read_timeout: Option<Spanned<f64>>,
    pub page_size: Option<Spanned<usize>>,
    pub pages_in_flight: Option<Spanned<usize>>,
    /// PEM certificates to trust besides the system's (`--ca-file`).
    pub ca_file: Option<Spanned<String>>,
    /// `false` skips certificate checks (`--insecure`).
    pub verify_tls: Option<Spanned<bool>>,
}

/// `[match]`: what to match against, and with which plugin.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSection {
    pub sections: Option<Spanned<Vec<String>>>,
    /// The plugin chain: built-in names or component files, tried in order.
    pub plugins: Option<Spanned<Vec<String>>>,
    pub workers: Option<Spanned<usize>>,
    /// The plugins' settings; `"plugin:key"` reaches only that plugin of a chain.
    #[serde(default)]
    pub settings: BTreeMap<String, Spanned<String>>,
}

/// `[cache]`: where the caches are, how long they stay fresh, how large they may grow.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSection {
    pub dir: Option<Spanned<String>>,
    pub library_ttl: Option<Spanned<u64>>,
    pub negative_ttl: Option<Spanned<u64>>,
    pub stale_limit: Option<Spanned<u64>>,
    pub full_listing_every: Option<Spanned<u32>>,
    pub library_cache_mib: Option<Spanned<u64>>,
    pub match_cache_mib: Option<Spanned<u64>>,
    pub compiled_plugins_mib: Option<Spanned<u64>>,
}

/// `[limits]`: what a plugin may use per call.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub cpu_deadline_ms: Option<Spanned<u64>>,
    pub wall_limit_ms: Option<Spanned<u64>>,
    pub memory_mib: Option<Spanned<usize>>,
    pub memory_total_mib: Option<Spanned<usize>>,
    pub requests_per_path: Option<Spanned<u32>>,
    pub requests_per_run: Option<Spanned<u64>>,
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileContents {
    #[serde(default)]
    pub plex: PlexSection,
    #[serde(default, rename = "match")]
    pub matching: MatchSection,
    #[serde(default)]
    pub cache: CacheSection,
    #[serde(default)]
    pub limits: LimitsSection,
}

/// A loaded configuration file (or none).
#[derive(Debug, Default)]
pub struct ConfigFile {
    /// Where it was read from; `None` when there is no file.
    pub path: Option<PathBuf>,
    text: String,
    pub contents: FileContents,
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
        let contents: FileContents = toml::from_str(&text).map_err(|e| {
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
        })?;
        let file = ConfigFile {
            path: Some(path),
            text,
            contents,
        };
        file.check()?;
        Ok(file)
    }

    /// Where a value sits, for messages: `file, line N`.
    pub fn place<T>(&self, v: &Spanned<T>) -> String {
        format!(
            "{}, line {}",
            self.path.as_deref().unwrap_or(Path::new("?")).display(),
            line_at(&self.text, v.span().start)
        )
    }

    /// Values that parse but cannot be used.
    fn check(&self) -> Result<()> {
        let c = &self.contents;
        let positive = |name: &str, v: &Option<Spanned<f64>>| -> Result<()> {
            if let Some(v) = v
                && !(v.get_ref().is_finite() && *v.get_ref() > 0.0)
            {
                bail!(
                    "{}: {name} must be a positive number of seconds, not {}",
                    self.place(v),
                    v.get_ref()
                );
            }
            Ok(())
        };
        positive("plex.connect_timeout", &c.plex.connect_timeout)?;
        positive("plex.read_timeout", &c.plex.read_timeout)?;
        for (name, v) in [
            ("plex.page_size", &c.plex.page_size),
            ("plex.pages_in_flight", &c.plex.pages_in_flight),
            ("match.workers", &c.matching.workers),
            ("limits.memory_mib", &c.limits.memory_mib),
        ] {
            if let Some(v) = v
                && *v.get_ref() == 0
            {
                bail!("{}: {name} must be at least 1", self.place(v));
            }
        }
        if let Some(v) = &c.plex.pages_in_flight
            && *v.get_ref() > 32
        {
            bail!(
                "{}: plex.pages_in_flight must be at most 32, not {}",
                self.place(v),
                v.get_ref()
            );
        }
        if let (Some(t), Some(f)) = (&c.plex.token, &c.plex.token_file) {
            bail!(
                "{}: plex.token and plex.token_file ({}) are both set; keep one",
                self.place(t),
                self.place(f)
            );
        }
        if let Some(u) = &c.plex.url
            && !(u.get_ref().starts_with("http://") || u.get_ref().starts_with("https://"))
        {
            bail!(
                "{}: plex.url must start with http:// or https://, not {:?}",
                self.place(u),
                u.get_ref()
            );
        }
        Ok(())
    }
}

/// The default configuration file: `plexmatch/config.toml` in the user's config dir.
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("plexmatch").join("config.toml"))
}

fn line_at(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
