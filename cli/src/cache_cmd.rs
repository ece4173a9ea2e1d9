//! `plexmatch cache`: statistics, refreshing, invalidating and clearing.

use std::collections::BTreeMap;

use anyhow::Result;
use clap::{Args, Subcommand};

use super::{CacheArgs, PlexArgs, exit, setup};
use plexmatch_engine::{Caches, Counts};

/// Cache subcommands.
#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Show what the caches hold, their size and hit rates per kind of lookup (kept across runs).
    ///
    /// Example: plexmatch cache stats --json
    Stats(StatsArgs),
    /// List sections from Plex again now, even if their snapshots are fresh.
    ///
    /// Example: plexmatch cache refresh --section Movies
    Refresh(RefreshArgs),
    /// Forget remembered matches: one path's, or a whole section's.
    ///
    /// Example: plexmatch cache invalidate --section 1 --path "/media/Inception (2010).mkv"
    Invalidate(InvalidateArgs),
    /// Delete cached data: everything, or one section's (snapshot, searches and matches).
    /// Pins are kept (`plexmatch unpin` removes them).
    ///
    /// Example: plexmatch cache clear --section 1
    Clear(ClearArgs),
    /// List the pinned paths (`plexmatch pin`).
    ///
    /// Example: plexmatch cache pins --json
    Pins(StatsArgs),
}

/// Which server's caches a command works on.
#[derive(Args, Debug, Clone, Default)]
pub struct ServerArg {
    /// The Plex server whose caches to use, by name or machine id (default: the one
    /// PLEX_URL was last found to be, or the only one with caches in the data dir).
    #[arg(long, env = "PLEXMATCH_SERVER", value_name = "NAME|ID")]
    pub server: Option<String>,
}

/// Options of `plexmatch cache stats` and `cache pins`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub server: ServerArg,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch cache refresh`.
#[derive(Args, Debug)]
pub struct RefreshArgs {
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Section to refresh, by title or id (repeatable; default: every movie and show section).
    #[arg(long = "section", short = 's', value_name = "SECTION")]
    pub sections: Vec<String>,
    /// List each section in full, rather than asking for the items changed since its
    /// snapshot was taken.
    #[arg(long)]
    pub full: bool,
}

/// Options of `plexmatch cache invalidate`.
#[derive(Args, Debug)]
pub struct InvalidateArgs {
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub server: ServerArg,
    /// The section, by id or by title (titles are looked up in the cached section list).
    #[arg(
        long,
        short = 's',
        value_name = "SECTION",
        required_unless_present = "plugin"
    )]
    pub section: Option<String>,
    /// Only this media path (compared case-insensitively); default: every path of the section.
    #[arg(long, value_name = "PATH", requires = "section")]
    pub path: Option<String>,
    /// Only the decisions of the plugin with this name (every build of it); with no
    /// --section, in every section. Example: plexmatch cache invalidate --plugin my-matcher
    #[arg(long, value_name = "NAME")]
    pub plugin: Option<String>,
}

/// Options of `plexmatch cache clear`.
#[derive(Args, Debug)]
pub struct ClearArgs {
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub server: ServerArg,
    /// Only this section, by id or by title (titles are looked up in the cached section list).
    #[arg(long, short = 's', value_name = "SECTION")]
    pub section: Option<String>,
}

impl CacheCommand {
    /// The subcommand's option groups, to be configured.
    pub fn groups(&mut self) -> Vec<&mut dyn super::options::Configured> {
        match self {
            CacheCommand::Stats(a) | CacheCommand::Pins(a) => vec![&mut a.cache],
            CacheCommand::Refresh(a) => vec![&mut a.plex, &mut a.cache],
            CacheCommand::Invalidate(a) => vec![&mut a.cache],
            CacheCommand::Clear(a) => vec![&mut a.cache],
        }
    }
}

/// Runs a cache subcommand.
pub fn run(cmd: CacheCommand) -> Result<i32> {
    match cmd {
        CacheCommand::Stats(a) => stats(a),
        CacheCommand::Refresh(a) => refresh(a),
        CacheCommand::Invalidate(a) => invalidate(a),
        CacheCommand::Clear(a) => clear(a),
        CacheCommand::Pins(a) => pins(a),
    }
}

fn pins(args: StatsArgs) -> Result<i32> {
    let url = std::env::var("PLEX_URL").ok();
    let pins = plexmatch_engine::engine::caches::pins(
        &args.cache.data_dir()?,
        args.server.server.as_deref(),
        url.as_deref(),
    )?
    .list()?;
    if args.json {
        for p in &pins {
            println!("{}", serde_json::to_string(p)?);
        }
        return Ok(exit::ALL_HIGH);
    }
    if pins.is_empty() {
        println!("no path is pinned");
    }
    for p in &pins {
        println!(
            "{:<8}  section {:<4}  {}  →  {}",
            p.rating_key,
            p.section_id,
            plexmatch_engine::text::escape_controls(&p.path),
            plexmatch_engine::text::escape_controls(&p.title)
        );
    }
    Ok(exit::ALL_HIGH)
}

/// The caches the options point at, if the server has any (no request is sent).
fn open(cache: &CacheArgs, server: &ServerArg) -> Result<Option<Caches>> {
    let url = std::env::var("PLEX_URL").ok();
    Caches::open(
        &cache.data_dir()?,
        server.server.as_deref(),
        url.as_deref(),
        cache.policy(),
    )
}

/// The caches to work on, or an error saying there are none yet.
fn open_existing(cache: &CacheArgs, server: &ServerArg) -> Result<Caches> {
    open(cache, server)?.ok_or_else(|| {
        anyhow::anyhow!("no server has caches in this data dir yet; nothing to change")
    })
}

fn stats(args: StatsArgs) -> Result<i32> {
    let Some(caches) = open(&args.cache, &args.server)? else {
        let dir = args.cache.data_dir()?;
        if args.json {
            println!("{}", serde_json::json!({"data_dir": dir, "server": null}));
        } else {
            println!("data dir: {} (no server's caches yet)", dir.display());
        }
        return Ok(exit::ALL_HIGH);
    };
    let stats = caches.stats()?;
    let (server, dir, policy) = (caches.server(), caches.dir(), caches.policy());
    let lib = &stats.library;
    let entries = stats.decisions;
    let (match_used, match_file) = stats.match_bytes;
    let (lib_stats, match_stats) = (&stats.library_lookups, &stats.match_lookups);
    let (plugins_dir, compiled, pins) = (&stats.compiled_dir, stats.compiled, stats.pins);
    if args.json {
        let kinds = |m: &BTreeMap<String, Counts>| {
            m.iter()
                .map(|(k, c)| (k.clone(), serde_json::json!({"hits": c.hits, "misses": c.misses, "hit_rate": c.hit_rate(), "counts": lookup_meaning(k)})))
                .collect::<serde_json::Map<_, _>>()
        };
        let v = serde_json::json!({
            "data_dir": dir,
            "server": {"name": server.name, "machine_id": server.machine_id},
            "library": {
                "sections": lib.sections, "snapshots": lib.snapshots, "items": lib.items, "files": lib.files,
                "searches": lib.searches, "used_bytes": lib.used_bytes, "file_bytes": lib.file_bytes,
                "limit_bytes": policy.library_limit, "lookups": kinds(lib_stats),
            },
            "match": {
                "entries": entries, "used_bytes": match_used, "file_bytes": match_file,
                "limit_bytes": policy.match_limit, "lookups": kinds(match_stats),
            },
            "compiled_plugins": {
                "count": compiled.0, "bytes": compiled.1, "limit_bytes": policy.compiled_limit,
                "dir": plugins_dir,
            },
            "pins": pins,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(exit::ALL_HIGH);
    }
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    println!("server: {}", server.describe());
    println!("caches: {}", dir.display());
    println!(
        "library cache: {} snapshot(s) of {} section(s), {} items, {} files, {} search answer(s); {:.2} MiB of {:.0} MiB",
        lib.snapshots,
        lib.sections,
        lib.items,
        lib.files,
        lib.searches,
        mib(lib.file_bytes),
        mib(policy.library_limit)
    );
    print_lookups(lib_stats);
    println!(
        "match cache: {entries} entries; {:.2} MiB of {:.0} MiB",
        mib(match_file),
        mib(policy.match_limit)
    );
    print_lookups(match_stats);
    println!("pins: {pins} (plexmatch cache pins lists them)");
    println!(
        "compiled plugins: {} in {:.2} MiB of {:.0} MiB ({})",
        compiled.0,
        mib(compiled.1),
        mib(policy.compiled_limit),
        plugins_dir.display()
    );
    Ok(exit::ALL_HIGH)
}

fn print_lookups(stats: &BTreeMap<String, Counts>) {
    if stats.is_empty() {
        println!("  no lookups yet");
    }
    for (k, c) in stats {
        println!(
            "  {k:<10} {:>5.1}% hits ({} hits, {} misses): {}",
            c.hit_rate(),
            c.hits,
            c.misses,
            lookup_meaning(k)
        );
    }
}

/// What a lookup counter counts, for people reading `cache stats`.
fn lookup_meaning(kind: &str) -> &'static str {
    match kind {
        "match" => "a plugin asked the match cache about a path in a section",
        "file-name" => "a file name looked up in a section's snapshot (a miss: no fresh snapshot)",
        "search" => "a title search answered from the cache (a miss: asked of Plex)",
        "sections" => "the section list read from the cache (a miss: listed by Plex)",
        _ => "",
    }
}

fn refresh(args: RefreshArgs) -> Result<i32> {
    let server = setup::server(&args.plex, &args.cache)?;
    let chosen = server.choose(&args.sections)?;
    for s in &chosen {
        let started = std::time::Instant::now();
        match server.refresh(s.id, args.full)? {
            Some(r) if r.full => println!(
                "listed {} {:?} in full: {} items, {} request(s) in {:.0?}",
                s.id,
                s.title,
                r.items,
                r.requests,
                started.elapsed()
            ),
            Some(r) => println!(
                "brought {} {:?} up to date: {} item(s) changed, {} in all, {} request(s) in {:.0?}",
                s.id,
                s.title,
                r.changed,
                r.items,
                r.requests,
                started.elapsed()
            ),
            None => println!(
                "{} {:?} was refreshed by another plexmatch meanwhile",
                s.id, s.title
            ),
        }
    }
    server.flush();
    Ok(exit::ALL_HIGH)
}

fn invalidate(args: InvalidateArgs) -> Result<i32> {
    let caches = open_existing(&args.cache, &args.server)?;
    let section = match &args.section {
        Some(sel) => Some(caches.section_id(sel)?),
        None => None,
    };
    let whose = match &args.plugin {
        Some(p) => format!(" decided by plugin {p:?}"),
        None => String::new(),
    };
    match (section, &args.path, &args.plugin) {
        (Some(section), Some(p), plugin) => {
            // One plugin's entry for the path: every build of it.
            let n = caches.forget_path(section, p, plugin.as_deref())?;
            if n == 0 {
                println!("no match{whose} of {p:?} was remembered in section {section}");
            } else {
                println!("forgot {n} match(es){whose} of {p:?} in section {section}");
            }
        }
        (Some(section), None, Some(name)) => {
            let n = caches.forget_plugin(name, Some(section))?;
            println!("forgot {n} match(es){whose} in section {section}");
        }
        (Some(section), None, None) => {
            let n = caches.forget_section(section)?;
            println!("forgot {n} match(es) of section {section}");
        }
        (None, _, Some(name)) => {
            let n = caches.forget_plugin(name, None)?;
            println!("forgot {n} match(es){whose}");
        }
        (None, _, None) => unreachable!("clap requires --section or --plugin"),
    }
    Ok(exit::ALL_HIGH)
}

fn clear(args: ClearArgs) -> Result<i32> {
    let caches = open_existing(&args.cache, &args.server)?;
    match &args.section {
        Some(sel) => {
            let id = caches.section_id(sel)?;
            let n = caches.clear_section(id)?;
            println!("cleared section {id}: its snapshot, searches and {n} match(es)");
        }
        None => {
            caches.clear()?;
            println!(
                "cleared both caches of server {} (pins kept: plexmatch unpin removes them)",
                caches.server().describe()
            );
        }
    }
    Ok(exit::ALL_HIGH)
}
