//! Every option plexmatch reads, defined once: its name in the configuration file, its
//! flag, its environment variable, its type, its default, how `config show` prints it and
//! its one-line doc all come from the table below ([`SPECS`]). The command line's flags
//! are made from it, the file is read by it, the environment is read by it, and `config
//! show`, the README's table and the Python package's keyword arguments are checked
//! against it. [`resolve`] layers the sources: what the caller gave (flags, or keyword
//! arguments) beats the environment, which beats the file, which beats the default.

mod connect;
mod file;
mod listen;
mod resolve;
mod value;

use std::path::PathBuf;
use std::time::Duration;

pub use connect::default_data_dir;
pub use file::{ConfigFile, default_path, expand};
pub use listen::Listen;
pub use resolve::{Given, Shown, Source, parse_setting, read_token_file, resolve};

/// Every part of the configuration file, in order.
pub const PARTS: &[&str] = &["plex", "cache", "match", "paths", "limits", "serve"];
pub use value::Value;

use crate::backend::CachePolicy;
use crate::runtime::Limits;

/// How an option is given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// `--flag VALUE`.
    Value,
    /// `--flag VALUE`, repeatable: each one adds to a list.
    Repeat,
    /// `--flag` alone, which sets the option to this value (`--insecure`: verify_tls false).
    Switch(&'static str),
}

/// One option: every name it has, its doc, and how to read and print it.
pub struct Spec {
    /// The field of [`Settings`] (and clap's id for the flag).
    pub id: &'static str,
    /// The configuration file's key: `section.name`.
    pub key: &'static str,
    /// The long flag, without dashes.
    pub flag: &'static str,
    /// A one-letter flag, if any.
    pub short: Option<char>,
    /// How the flag is given.
    pub takes: Flag,
    /// The environment variable, if the option reads one.
    pub env: Option<&'static str>,
    /// What the value is, in the flag's help (`SECONDS`).
    pub value_name: &'static str,
    /// The one-line doc (the flag's help, the README's table).
    pub doc: &'static str,
    set: fn(&mut Settings, value::Raw<'_>) -> Result<(), String>,
    show: fn(&Settings) -> (String, serde_json::Value),
    default_text: fn() -> Option<String>,
}

impl Spec {
    /// The option's value in `settings`, as people read it and as a program reads it.
    pub fn show(&self, settings: &Settings) -> (String, serde_json::Value) {
        (self.show)(settings)
    }

    /// The default as the flag would take it (for `--help`), if it has one to show.
    pub fn default_text(&self) -> Option<String> {
        (self.default_text)()
    }

    /// The config file's section of this option (`plex`, `cache`, `match`, `limits`).
    pub fn section(&self) -> &'static str {
        self.key.split_once('.').map(|(s, _)| s).unwrap_or(self.key)
    }

    /// The doc as one paragraph, without the closing full stop (as clap prints docs).
    pub fn help(&self) -> String {
        let one = self.doc.split_whitespace().collect::<Vec<_>>().join(" ");
        one.strip_suffix('.').map(str::to_owned).unwrap_or(one)
    }
}

/// The option called `key` (`plex.url`), if there is one.
pub fn spec(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

macro_rules! options {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty = $default:expr;
            key $key:literal, flag $flag:literal $(short $short:literal)?, takes $takes:expr,
            env $env:expr, value $vn:literal, check $check:expr, show $show:expr;
    )*) => {
        /// Every option's effective value (see [`SPECS`] for where each can be set).
        #[derive(Debug, Clone)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $field: $ty, )*
            /// The plugins' settings, `key` or `plugin:key`, with their values
            /// (`--setting`, `[match.settings]`, merged key by key).
            pub plugin_settings: Vec<(String, String)>,
            /// Where each plugin setting from the file was given (`FILE, line N`), by key.
            pub setting_places: Vec<(String, String)>,
            /// Why the configured token file could not be read, if it could not: an error
            /// for what needs the token, a line in `config show`.
            pub token_problem: Option<String>,
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings {
                    $( $field: $default, )*
                    plugin_settings: Vec::new(),
                    setting_places: Vec::new(),
                    token_problem: None,
                }
            }
        }

        /// Every option, in the order `config show` and the README list them.
        pub static SPECS: &[Spec] = &[$(
            Spec {
                id: stringify!($field),
                key: $key,
                flag: $flag,
                short: options!(@short $($short)?),
                takes: $takes,
                env: $env,
                value_name: $vn,
                doc: concat!($($doc, " "),+),
                set: |s, raw| {
                    let v = <$ty as Value>::parse(raw)?;
                    ($check)(&v)?;
                    s.$field = v;
                    Ok(())
                },
                show: |s| {
                    let v = &s.$field;
                    (($show)(v), <$ty as Value>::json(v))
                },
                default_text: || {
                    let d: $ty = $default;
                    d.flag_text()
                },
            },
        )*];
    };
    (@short) => { None };
    (@short $c:literal) => { Some($c) };
}

fn ok<T>(_: &T) -> Result<(), String> {
    Ok(())
}

fn at_least_one<T: Copy + PartialEq + Default>(v: &T) -> Result<(), String> {
    if *v == T::default() {
        return Err("must be at least 1".into());
    }
    Ok(())
}

fn some_at_least_one(v: &Option<usize>) -> Result<(), String> {
    match v {
        Some(0) => Err("must be at least 1".into()),
        _ => Ok(()),
    }
}

fn positive_seconds(v: &f64) -> Result<(), String> {
    if !(v.is_finite() && *v > 0.0) {
        return Err(format!("must be a positive number of seconds, not {v}"));
    }
    Ok(())
}

fn pages(v: &usize) -> Result<(), String> {
    if !(1..=32).contains(v) {
        return Err(format!("must be a number of pages from 1 to 32, not {v}"));
    }
    Ok(())
}

fn unit<T: std::fmt::Display>(unit: &'static str) -> impl Fn(&T) -> String {
    move |v| format!("{v} {unit}")
}

fn or<T: std::fmt::Display>(none: &'static str) -> impl Fn(&Option<T>) -> String {
    move |v| match v {
        Some(v) => v.to_string(),
        None => none.into(),
    }
}

fn path_or(none: &'static str) -> impl Fn(&Option<PathBuf>) -> String {
    move |v| match v {
        Some(p) => p.display().to_string(),
        None => none.into(),
    }
}

fn list_or(empty: &'static str, joint: &'static str) -> impl Fn(&Vec<String>) -> String {
    move |v| {
        if v.is_empty() {
            empty.into()
        } else {
            v.join(joint)
        }
    }
}

/// A token as `config show` prints it: never the token itself.
pub fn mask(token: &Option<String>) -> String {
    match token {
        Some(t) if !t.is_empty() => format!("(set, {} characters, hidden)", t.chars().count()),
        _ => "(not set)".into(),
    }
}

fn default_data_dir_shown(v: &Option<PathBuf>) -> String {
    match v {
        Some(p) => p.display().to_string(),
        None => dirs::cache_dir()
            .map(|d| d.join("plexmatch").display().to_string())
            .unwrap_or_default(),
    }
}

options! {
    /// Plex server URL, e.g. http://127.0.0.1:32400.
    plex_url: Option<String> = None;
        key "plex.url", flag "plex-url", takes Flag::Value, env Some("PLEX_URL"),
        value "PLEX_URL", check ok, show or::<String>("(not set)");
    /// Plex token (X-Plex-Token). Prefer the PLEX_TOKEN environment variable: arguments
    /// are visible to other users.
    token: Option<String> = None;
        key "plex.token", flag "token", takes Flag::Value, env Some("PLEX_TOKEN"),
        value "TOKEN", check ok, show mask;
    /// Seconds to wait for a connection to the server.
    connect_timeout: f64 = 5.0;
        key "plex.connect_timeout", flag "connect-timeout", takes Flag::Value,
        env Some("PLEXMATCH_CONNECT_TIMEOUT"), value "SECONDS", check positive_seconds,
        show unit::<f64>("s");
    /// Seconds an answer may take once connected.
    read_timeout: f64 = 30.0;
        key "plex.read_timeout", flag "read-timeout", takes Flag::Value,
        env Some("PLEXMATCH_READ_TIMEOUT"), value "SECONDS", check positive_seconds,
        show unit::<f64>("s");
    /// Items per page when listing a section.
    page_size: usize = crate::plex::DEFAULT_PAGE_SIZE;
        key "plex.page_size", flag "page-size", takes Flag::Value,
        env Some("PLEXMATCH_PAGE_SIZE"), value "ITEMS", check at_least_one::<usize>,
        show |v: &usize| v.to_string();
    /// Pages of a section listing requested at the same time (1: one after another).
    pages_in_flight: usize = crate::plex::DEFAULT_PAGES_IN_FLIGHT;
        key "plex.pages_in_flight", flag "pages-in-flight", takes Flag::Value,
        env Some("PLEXMATCH_PAGES_IN_FLIGHT"), value "PAGES", check pages,
        show |v: &usize| v.to_string();
    /// PEM file of certificates to trust besides the system's and the bundled web roots:
    /// a self-signed server's certificate or its CA.
    ca_file: Option<PathBuf> = None;
        key "plex.ca_file", flag "ca-file", takes Flag::Value, env Some("PLEXMATCH_CA_FILE"),
        value "FILE", check ok, show path_or("(none: the system's and the bundled roots)");
    /// Do not check the server's TLS certificate (a warning says so); prefer --ca-file.
    /// In the configuration file: verify_tls = false.
    verify_tls: bool = true;
        key "plex.verify_tls", flag "insecure", takes Flag::Switch("false"), env None,
        value "BOOL", check ok,
        show |v: &bool| if *v { "true".to_owned() } else { "false (--insecure)".to_owned() };
    /// Directory of the cache files (default: the user's cache dir, e.g. ~/.cache/plexmatch).
    data_dir: Option<PathBuf> = None;
        key "cache.dir", flag "data-dir", takes Flag::Value, env Some("PLEXMATCH_DATA_DIR"),
        value "DIR", check ok, show default_data_dir_shown;
    /// Seconds a section snapshot, the section list and search answers stay fresh; a
    /// stale snapshot is then brought up to date with the items changed since.
    library_ttl: u64 = crate::backend::DEFAULT_LIBRARY_TTL.as_secs();
        key "cache.library_ttl", flag "library-ttl", takes Flag::Value,
        env Some("PLEXMATCH_LIBRARY_TTL"), value "SECONDS", check ok, show unit::<u64>("s");
    /// Seconds an empty title search is trusted (short, so new items show up soon).
    negative_ttl: u64 = crate::backend::NEGATIVE_TTL.as_secs();
        key "cache.negative_ttl", flag "negative-ttl", takes Flag::Value,
        env Some("PLEXMATCH_NEGATIVE_TTL"), value "SECONDS", check ok, show unit::<u64>("s");
    /// Seconds a snapshot may be old and still answer while Plex cannot be asked during
    /// a run (the snapshot was fresh when the run had it; one warning says so); older, the
    /// paths that need it get the Plex error.
    stale_limit: u64 = crate::backend::DEFAULT_STALE_LIMIT.as_secs();
        key "cache.stale_limit", flag "stale-limit", takes Flag::Value,
        env Some("PLEXMATCH_STALE_LIMIT"), value "SECONDS", check ok, show unit::<u64>("s");
    /// List a section in full after this many refreshes in a row that asked only for
    /// changed items (0: always in full).
    full_listing_every: u32 = crate::backend::DEFAULT_FULL_LISTING_EVERY;
        key "cache.full_listing_every", flag "full-listing-every", takes Flag::Value,
        env Some("PLEXMATCH_FULL_LISTING_EVERY"), value "REFRESHES", check ok,
        show unit::<u32>("refreshes");
    /// Size limit of the library cache file; least recently used snapshots go first.
    library_cache_mib: u64 = crate::cache::LIBRARY_DEFAULT_LIMIT >> 20;
        key "cache.library_cache_mib", flag "library-cache-mib", takes Flag::Value,
        env Some("PLEXMATCH_LIBRARY_CACHE_MIB"), value "MIB", check ok, show unit::<u64>("MiB");
    /// Size limit of the match cache file; least recently used matches go first.
    match_cache_mib: u64 = crate::cache::MATCH_DEFAULT_LIMIT >> 20;
        key "cache.match_cache_mib", flag "match-cache-mib", takes Flag::Value,
        env Some("PLEXMATCH_MATCH_CACHE_MIB"), value "MIB", check ok, show unit::<u64>("MiB");
    /// Size limit of the compiled-plugin cache (shared by every server's caches); least
    /// recently used plugins go first.
    compiled_plugins_mib: u64 = crate::cache::COMPILED_DEFAULT_LIMIT >> 20;
        key "cache.compiled_plugins_mib", flag "compiled-plugins-mib", takes Flag::Value,
        env Some("PLEXMATCH_COMPILED_PLUGINS_MIB"), value "MIB", check ok,
        show unit::<u64>("MiB");
    /// Section to search, by title or id (repeatable; default: every movie and show section).
    sections: Vec<String> = Vec::new();
        key "match.sections", flag "section" short 's', takes Flag::Repeat, env None,
        value "SECTION", check ok, show list_or("(every movie and show section)", ", ");
    /// Matcher plugin: a built-in one's name (default, path-matcher) or a wasm32-wasip2
    /// component file. Repeat it for a chain, tried in order per path: the first HIGH
    /// decides, LOW candidates are carried forward. Example: --plugin path-matcher --plugin default
    plugins: Vec<String> = Vec::new();
        key "match.plugins", flag "plugin", takes Flag::Repeat, env None,
        value "NAME|FILE", check ok, show list_or("default (built in)", " → ");
    /// How a section with no snapshot yet finds the items holding a file: auto (ask Plex
    /// for them while that costs fewer requests than listing the section), file (always
    /// ask), listing (list the section).
    lookup: String = "auto".to_owned();
        key "match.lookup", flag "lookup", takes Flag::Value, env Some("PLEXMATCH_LOOKUP"),
        value "auto|file|listing",
        check |v: &String| crate::backend::LookupMode::parse(v).map(|_| ()), show |v: &String| v.clone();
    /// Maps the caller's paths to the server's before matching: FROM=TO, split at the first
    /// `=`, the longest FROM first (repeatable). Example: --map /mnt/stash/=/data/
    maps: crate::paths::PathMaps = crate::paths::PathMaps::default();
        key "paths.map", flag "map", takes Flag::Repeat, env None,
        value "FROM=TO", check ok,
        show |v: &crate::paths::PathMaps| if v.is_empty() {
            "(none)".to_owned()
        } else {
            v.0.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(", ")
        };
    /// Paths matched at once (one plugin instance each; at most 64); default: one per core.
    workers: Option<usize> = None;
        key "match.workers", flag "workers", takes Flag::Value, env Some("PLEXMATCH_WORKERS"),
        value "N", check some_at_least_one, show or::<usize>("(one per core)");
    /// CPU time a plugin may use per path and section, in milliseconds.
    cpu_deadline_ms: u64 = 5000;
        key "limits.cpu_deadline_ms", flag "cpu-deadline-ms", takes Flag::Value,
        env Some("PLEXMATCH_CPU_DEADLINE_MS"), value "MS", check ok, show unit::<u64>("ms");
    /// Memory a plugin instance may use, in MiB.
    memory_mib: usize = 128;
        key "limits.memory_mib", flag "memory-mib", takes Flag::Value,
        env Some("PLEXMATCH_MEMORY_MIB"), value "MIB", check at_least_one::<usize>,
        show unit::<usize>("MiB");
    /// Wall-clock time one plugin call may take, Plex requests included, in milliseconds.
    wall_limit_ms: u64 = 60_000;
        key "limits.wall_limit_ms", flag "wall-limit-ms", takes Flag::Value,
        env Some("PLEXMATCH_WALL_LIMIT_MS"), value "MS", check ok, show unit::<u64>("ms");
    /// Memory all plugin instances together may use, in MiB (workers × plugins ×
    /// --memory-mib must fit; more workers are cut back); default: half the machine's memory.
    memory_total_mib: Option<usize> = None;
        key "limits.memory_total_mib", flag "memory-total-mib", takes Flag::Value,
        env Some("PLEXMATCH_MEMORY_TOTAL_MIB"), value "MIB", check ok,
        show |v: &Option<usize>| v.map(|n| format!("{n} MiB"))
            .unwrap_or_else(|| "(half the machine's memory)".into());
    /// Plex requests the host makes for a plugin per path and section (identical requests
    /// in a run are answered from memory and not counted).
    requests_per_path: u32 = crate::runtime::DEFAULT_REQUESTS_PER_CALL;
        key "limits.requests_per_path", flag "requests-per-path", takes Flag::Value,
        env Some("PLEXMATCH_REQUESTS_PER_PATH"), value "N", check ok,
        show |v: &u32| v.to_string();
    /// Plex requests plugins may cause in one run (0: no limit).
    requests_per_run: u64 = crate::backend::DEFAULT_RUN_REQUEST_BUDGET;
        key "limits.requests_per_run", flag "requests-per-run", takes Flag::Value,
        env Some("PLEXMATCH_REQUESTS_PER_RUN"), value "N", check ok,
        show |v: &u64| if *v == 0 { "0 (no limit)".to_owned() } else { v.to_string() };
    /// Where `plexmatch serve` listens: ADDR:PORT, or unix:PATH for a socket only its
    /// owner may use (mode 0600). Anywhere but loopback needs --api-token-file.
    listen: String = "127.0.0.1:32499".to_owned();
        key "serve.listen", flag "listen", takes Flag::Value, env Some("PLEXMATCH_LISTEN"),
        value "ADDR:PORT|unix:PATH", check |v: &String| Listen::parse(v).map(|_| ()),
        show |v: &String| v.clone();
    /// File holding the API token clients of `plexmatch serve` send
    /// (`Authorization: Bearer TOKEN`); every request is checked against it.
    api_token_file: Option<PathBuf> = None;
        key "serve.api_token_file", flag "api-token-file", takes Flag::Value,
        env Some("PLEXMATCH_API_TOKEN_FILE"), value "FILE", check ok,
        show path_or("(none: loopback and unix sockets only)");
    /// Largest request body `plexmatch serve` reads, in KiB (larger: HTTP 413).
    max_body_kib: u64 = 4096;
        key "serve.max_body_kib", flag "max-body-kib", takes Flag::Value,
        env Some("PLEXMATCH_MAX_BODY_KIB"), value "KIB", check at_least_one::<u64>,
        show unit::<u64>("KiB");
    /// Most paths in one request to `plexmatch serve` (more: HTTP 413).
    max_paths: usize = 10_000;
        key "serve.max_paths", flag "max-paths", takes Flag::Value,
        env Some("PLEXMATCH_MAX_PATHS"), value "N", check at_least_one::<usize>,
        show |v: &usize| v.to_string();
    /// Seconds a client of `plexmatch serve` may take to send its request.
    client_timeout: f64 = 30.0;
        key "serve.client_timeout", flag "client-timeout", takes Flag::Value,
        env Some("PLEXMATCH_CLIENT_TIMEOUT"), value "SECONDS", check positive_seconds,
        show unit::<f64>("s");
    /// Requests `plexmatch serve` handles at once; more are answered HTTP 503 with
    /// Retry-After.
    max_in_flight: usize = 256;
        key "serve.max_in_flight", flag "max-in-flight", takes Flag::Value,
        env Some("PLEXMATCH_MAX_IN_FLIGHT"), value "N", check at_least_one::<usize>,
        show |v: &usize| v.to_string();
}

impl Settings {
    /// The cache policy these settings describe.
    pub fn policy(&self) -> CachePolicy {
        CachePolicy {
            library_ttl: Duration::from_secs(self.library_ttl),
            negative_ttl: Duration::from_secs(self.negative_ttl),
            library_limit: self.library_cache_mib.max(1) << 20,
            match_limit: self.match_cache_mib.max(1) << 20,
            full_listing_every: self.full_listing_every,
            compiled_limit: self.compiled_plugins_mib.max(1) << 20,
            stale_limit: Duration::from_secs(self.stale_limit),
            lookup: crate::backend::LookupMode::parse(&self.lookup).unwrap_or_default(),
            ..Default::default()
        }
    }

    /// The per-call limits these settings describe.
    pub fn limits(&self) -> Limits {
        Limits {
            cpu_deadline: Duration::from_millis(self.cpu_deadline_ms.max(1)),
            wall_limit: Duration::from_millis(self.wall_limit_ms.max(1)),
            memory_bytes: self.memory_mib.max(1) << 20,
            requests_per_call: self.requests_per_path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_option_has_one_key_one_flag_one_variable_and_a_doc() {
        let mut seen = std::collections::HashSet::new();
        for s in SPECS {
            let names = [("id", s.id), ("key", s.key), ("flag", s.flag)];
            for name in names.into_iter().chain(s.env.map(|e| ("env", e))) {
                assert!(seen.insert(name), "{name:?} is used twice");
            }
            assert!(PARTS.contains(&s.section()), "{}", s.key);
            assert!(!s.help().is_empty(), "{} has no doc", s.key);
        }
    }

    #[test]
    fn a_given_value_beats_the_file_and_a_bad_one_is_named_with_its_source() {
        let file = ConfigFile::parse(
            "plexmatch.toml".into(),
            "[cache]\nlibrary_ttl = 99\nnegative_ttl = 5\n".into(),
        )
        .unwrap();
        let mut given = Given::default();
        given
            .set(
                "cache.library_ttl",
                vec!["7".into()],
                Source::Flag("library_ttl".into()),
            )
            .unwrap();
        let (s, shown) = resolve(PARTS, &given, &file).unwrap();
        assert_eq!((s.library_ttl, s.negative_ttl), (7, 5));
        let neg = shown
            .iter()
            .find(|s| s.key == "cache.negative_ttl")
            .unwrap();
        assert_eq!(neg.source, Source::File("plexmatch.toml, line 3".into()));
        given
            .set(
                "match.workers",
                vec!["0".into()],
                Source::Flag("--workers".into()),
            )
            .unwrap();
        let e = resolve(PARTS, &given, &file).unwrap_err().to_string();
        assert_eq!(e, "--workers must be at least 1");
        assert!(
            given
                .set("cache.library_tll", vec![], Source::Default)
                .is_err()
        );
    }
}
