//! `plexmatch doctor`: checks the Plex server, the token, the sections, the data dir and
//! the plugins, and says what is wrong in words a user can act on.

use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::{CacheArgs, PlexArgs, exit};
use plexmatch_engine::{PlexConfig, PlexError, PluginKit, Server};

/// Options of `plexmatch doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Also check this plugin (a built-in name or a file; repeatable); the default plugin is always checked.
    #[arg(long, value_name = "NAME|FILE")]
    pub plugin: Vec<String>,
}

/// Findings, printed as they come; the exit code is that of the first problem's kind.
struct Report {
    code: i32,
}

impl Report {
    fn ok(&self, what: &str) {
        println!("  ok       {what}");
    }

    fn note(&self, what: &str) {
        println!("  note     {what}");
    }

    fn problem(&mut self, code: i32, what: &str) {
        println!("  PROBLEM  {what}");
        if self.code == exit::ALL_HIGH {
            self.code = code;
        }
    }
}

/// Runs `plexmatch doctor`.
pub fn run(args: DoctorArgs) -> Result<i32> {
    let mut r = Report {
        code: exit::ALL_HIGH,
    };
    println!("plexmatch {} doctor", env!("CARGO_PKG_VERSION"));

    println!("data dir");
    let dir = match args.cache.data_dir() {
        Ok(d) => Some(d),
        Err(e) => {
            r.problem(exit::USAGE, &format!("{e:#}"));
            None
        }
    };
    if let Some(dir) = &dir {
        let probe = dir.join(".plexmatch-doctor");
        match std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&probe, b"ok")) {
            Ok(()) => {
                let _ = std::fs::remove_file(&probe);
                r.ok(&format!("{} is writable", dir.display()));
            }
            Err(e) => r.problem(
                exit::USAGE,
                &format!("cannot write to {} ({e}); choose another with --data-dir or PLEXMATCH_DATA_DIR", dir.display()),
            ),
        }
    }

    println!("Plex server");
    let config = match (
        &dir,
        args.plex
            .plex_config(dir.as_deref().unwrap_or(std::path::Path::new("."))),
    ) {
        (_, Ok(c)) => Some(c),
        (_, Err(e)) => {
            r.problem(exit::USAGE, &format!("{e:#}"));
            None
        }
    };
    let backend = match (&config, &dir) {
        (Some(c), Some(d)) => match Server::open(c, d, args.cache.policy()) {
            Ok(b) => {
                r.ok(&format!(
                    "server {}; its caches are in {}",
                    b.identity().describe(),
                    b.cache_dir().display()
                ));
                Some(b)
            }
            Err(e) if e.chain().any(|c| c.downcast_ref::<PlexError>().is_some()) => {
                let why = e
                    .chain()
                    .find_map(|c| c.downcast_ref::<PlexError>())
                    .map(|pe| explain(pe, c))
                    .unwrap_or_else(|| format!("{e:#}"));
                r.problem(
                    exit::PLEX,
                    &format!("cannot tell which Plex server {} is: {why}", c.url),
                );
                None
            }
            Err(e) => {
                r.problem(
                    exit::USAGE,
                    &format!("cannot open the caches in {}: {e:#}", d.display()),
                );
                None
            }
        },
        _ => None,
    };
    if let (Some(config), Some(backend)) = (&config, &backend) {
        check_server(&mut r, config, backend);
        check_caches(&r, backend);
    }

    println!("plugins");
    let kit = dir
        .as_deref()
        .and_then(|d| PluginKit::new(d.join("plugins")).ok());
    match kit {
        Some(kit) => {
            let mut plugins: Vec<Option<String>> = vec![None];
            plugins.extend(args.plugin.iter().cloned().map(Some));
            for p in plugins {
                let started = Instant::now();
                match kit.load(p.as_deref()) {
                    Ok(plugin) => r.ok(&format!(
                        "{} {} loads ({:.0?}): {}",
                        plugin.name,
                        plugin.version,
                        started.elapsed(),
                        plugin.description
                    )),
                    Err(e) => r.problem(exit::PLUGIN, &format!("{e:#}")),
                }
            }
        }
        None => r.note("plugins not checked: no data dir"),
    }
    println!(
        "{}",
        if r.code == exit::ALL_HIGH {
            "no problem found"
        } else {
            "problems found: see above"
        }
    );
    Ok(r.code)
}

fn check_server(r: &mut Report, config: &PlexConfig, server: &Server) {
    let started = Instant::now();
    let info = match server.server_info() {
        Ok(i) => i,
        Err(e) => {
            r.problem(exit::PLEX, &explain(&e, config));
            return;
        }
    };
    r.ok(&format!(
        "{} answers: {:?}, Plex Media Server {} ({} ms)",
        config.url,
        info.name,
        if info.version.is_empty() {
            "of unknown version"
        } else {
            &info.version
        },
        started.elapsed().as_millis()
    ));
    r.ok("the token is accepted");
    let sections = match server.list_sections() {
        Ok(s) => s,
        Err(e) => {
            r.problem(exit::PLEX, &explain(&e, config));
            return;
        }
    };
    if sections.is_empty() {
        r.problem(exit::PLEX, "the server has no library section: add one in Plex, or check that the token's user can see them");
    }
    for s in &sections {
        match s.kind.leaf_type() {
            Some(t) => match server.count_items(s.id, t) {
                Ok(n) => r.ok(&format!(
                    "section {} {:?} ({}): {n} {}",
                    s.id,
                    s.title,
                    s.kind.as_str(),
                    if t == 4 { "episodes" } else { "items" }
                )),
                Err(e) => r.problem(
                    exit::PLEX,
                    &format!("section {} {:?}: {}", s.id, s.title, explain(&e, config)),
                ),
            },
            None => r.note(&format!(
                "section {} {:?} ({}): not matched by plexmatch",
                s.id,
                s.title,
                s.kind.as_str()
            )),
        }
    }
    // Whether a path of a section with no snapshot yet can be answered in one request.
    if let Some(s) = sections.iter().find(|s| s.kind.leaf_type().is_some()) {
        match server.probe_file_lookups(s) {
            Ok(()) => {
                r.ok(
                    "the server finds items by file: a new data dir answers a path in one request",
                );
                let ms = |t: Option<f64>| {
                    t.map_or("not measured yet".to_owned(), |t| format!("{t:.0} ms"))
                };
                let (lookup, page) = server.request_costs();
                r.note(&format!(
                    "measured: a file look-up {}, a listing page {} (a batch on a section with no snapshot weighs one against the other)",
                    ms(lookup),
                    ms(page)
                ));
            }
            Err(why) => r.note(&format!("the server does not find items by file: {why}")),
        }
    }
}

fn check_caches(r: &Report, server: &Server) {
    match server.footprint() {
        Ok(f) => r.ok(&format!(
            "library cache: {} snapshot(s), {} items, {:.2} MiB",
            f.snapshots,
            f.items,
            f.file_bytes as f64 / (1 << 20) as f64
        )),
        Err(e) => r.note(&format!(
            "library cache unreadable ({e:#}); it will be rebuilt"
        )),
    }
    match server.decisions() {
        Ok(n) => r.ok(&format!("match cache: {n} entries")),
        Err(e) => r.note(&format!(
            "match cache unreadable ({e:#}); it will be rebuilt"
        )),
    }
}

/// What to do about a Plex failure.
fn explain(e: &PlexError, config: &PlexConfig) -> String {
    match e {
        PlexError::Unauthorized(_) => format!("{e}. {}", super::setup::TOKEN_HINT),
        PlexError::Unavailable(_) => format!(
            "{e}. Is Plex Media Server running, and is {} the right address (scheme, host, port 32400)?",
            config.url
        ),
        PlexError::Timeout(_) => format!(
            "{e}. The server is slow or unreachable; raise --connect-timeout / --read-timeout if it is just busy"
        ),
        PlexError::BadResponse(_) => format!(
            "{e}. Something answers at {}, but not like a Plex Media Server",
            config.url
        ),
        _ => e.to_string(),
    }
}
