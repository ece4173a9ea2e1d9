//! `plexmatch plugin`: what a plugin file is (`inspect`), and whether it answers as its
//! author expects against a library served by the emulator (`test`) — the kit a plugin
//! author uses without a Plex server.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;

use super::{exit, setup};
use plexmatch_emulator::{Emulator, LibraryFile, Options};
use plexmatch_engine::engine::kit::{CONTRACT, supported_contracts};
use plexmatch_engine::{Engine, EngineOptions, Failure, Outcome, PlexConfig, PluginKit, Readiness};

/// Plugin subcommands.
#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// Show a plugin's name, version, contract version, imports, size and whether this
    /// plexmatch can run it.
    ///
    /// Example: plexmatch plugin inspect target/wasm32-wasip2/release/my_matcher.wasm
    Inspect(InspectArgs),
    /// Run a plugin against a library served by the emulator and check the outcomes a
    /// cases file expects; prints a pass/fail table (exit 0 when every case passes).
    ///
    /// Example: plexmatch plugin test my_matcher.wasm --library library.toml --cases cases.toml
    Test(TestArgs),
    /// Compile plugins ahead of time into the compiled-plugin cache (`plugins/` in the data
    /// dir), so that their first `match` starts at once.
    ///
    /// Example: plexmatch plugin compile my_matcher.wasm
    Compile(CompileArgs),
    /// Create a plugin project that builds with one command and passes `plugin test` as
    /// written (the SDK and the contract come with it).
    ///
    /// Example: plexmatch plugin new my-matcher && cd my-matcher && sh build.sh
    New(super::plugin_new::NewArgs),
}

/// Options of `plexmatch plugin compile`.
#[derive(Args, Debug)]
pub struct CompileArgs {
    /// Component files (or built-in plugins' names).
    #[arg(required = true)]
    pub plugins: Vec<String>,
}

/// Options of `plexmatch plugin inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The plugin: a component file, or a built-in plugin's name.
    pub plugin: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `plexmatch plugin test`.
#[derive(Args, Debug)]
pub struct TestArgs {
    /// The plugin: a component file, or a built-in plugin's name (repeat --plugin after it for a chain).
    pub plugin: String,
    /// More plugins after the first, tried in order (a chain).
    #[arg(long = "plugin", value_name = "NAME|FILE")]
    pub more: Vec<String>,
    /// The library the emulator serves (TOML, or JSON with a .json extension); default:
    /// the bundled sample library (`plexmatch emulator --sample`).
    #[arg(long, value_name = "FILE")]
    pub library: Option<PathBuf>,
    /// The cases: a TOML file of [[case]] tables (path, expect, rating_key, candidates,
    /// sections); default: cases.toml in the current folder, as `plugin new` writes it.
    #[arg(long, value_name = "FILE", default_value = "cases.toml")]
    pub cases: PathBuf,
    /// A plugin setting, key=value (repeatable; plugin:key=value for one plugin of a chain).
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = setup::parse_setting)]
    pub settings: Vec<(String, String)>,
}

/// Runs a plugin subcommand.
pub fn run(cmd: PluginCommand) -> Result<i32> {
    match cmd {
        PluginCommand::Inspect(a) => inspect(a),
        PluginCommand::Test(a) => test(a),
        PluginCommand::Compile(a) => compile(a),
        PluginCommand::New(a) => super::plugin_new::run(a),
    }
}

fn compile(args: CompileArgs) -> Result<i32> {
    let kit = kit()?;
    let mut failed = 0;
    for spec in &args.plugins {
        match kit.load(Some(spec)) {
            Ok(p) => match p.readiness {
                Readiness::Compiled(d) => println!(
                    "{spec}: compiled in {d:.1?} into {}",
                    kit.plugins_dir().display()
                ),
                Readiness::Cached(d) => println!("{spec}: already compiled (loads in {d:.1?})"),
            },
            Err(e) => {
                failed += 1;
                eprintln!("error: {e:#}");
            }
        }
    }
    Ok(if failed == 0 {
        exit::ALL_HIGH
    } else {
        exit::USAGE
    })
}

/// Where compiled plugins go: the user's data dir, not a scratch one, so that a plugin (a
/// Python one compiles for 13 s or more) is compiled once, not per command.
fn plugins_dir() -> PathBuf {
    plexmatch_engine::options::default_data_dir()
        .map(|d| d.join("plugins"))
        .unwrap_or_else(|_| std::env::temp_dir().join("plexmatch-plugins"))
}

/// The plugin kit, keeping compiled plugins in the user's data dir.
fn kit() -> Result<PluginKit> {
    PluginKit::new(plugins_dir())
}

fn inspect(args: InspectArgs) -> Result<i32> {
    let seen = kit()?.inspect(&args.plugin)?;
    let loaded = seen.loaded.as_ref();
    let (compatible, problem) = match loaded {
        Ok(_) => (true, None),
        Err(e) => (false, Some(e.clone())),
    };
    let escape = |v: &str| plexmatch_engine::text::escape_controls(v).into_owned();
    let settings: Vec<serde_json::Value> = loaded
        .ok()
        .and_then(|p| p.settings.as_ref())
        .map(|declared| {
            declared
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "name": d.name,
                        "kind": d.kind,
                        "default": d.default.as_deref().map(escape),
                        "description": d.description,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if args.json {
        let v = serde_json::json!({
            "file": args.plugin,
            "size_bytes": seen.size_bytes,
            "name": loaded.ok().map(|i| i.name.clone()),
            "version": loaded.ok().map(|i| i.version.clone()),
            "description": loaded.ok().map(|i| i.description.clone()),
            "contract": seen.contract,
            "host_supports": supported_contracts(),
            "imports": seen.imports,
            "settings": settings,
            "compatible": compatible,
            "problem": problem,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("file:        {} ({} bytes)", args.plugin, seen.size_bytes);
        if let Ok(p) = loaded {
            println!("name:        {}", p.name);
            println!("version:     {}", p.version);
            println!("description: {}", p.description);
            let ready = match p.readiness {
                Readiness::Compiled(d) => format!("compiled in {d:.1?}"),
                Readiness::Cached(d) => format!("loaded compiled in {d:.1?}"),
            };
            println!("start:       {ready}");
        }
        println!(
            "contract:    {} (this plexmatch runs {})",
            seen.contract
                .as_deref()
                .map(|v| format!("{CONTRACT}@{v}"))
                .unwrap_or_else(|| "none found".into()),
            supported_contracts()
        );
        if let Ok(p) = loaded {
            match &p.settings {
                None => println!("settings:    not declared (contract 0.1)"),
                Some(declared) if declared.is_empty() => println!("settings:    none"),
                Some(declared) => {
                    println!("settings:");
                    for d in declared {
                        let default = d
                            .default
                            .as_deref()
                            .map(|v| format!(", default {:?}", escape(v)))
                            .unwrap_or_default();
                        println!("  {:<16} {}{default}: {}", d.name, d.kind, d.description);
                    }
                }
            }
        }
        println!("imports:");
        for i in &seen.imports {
            println!("  {i}");
        }
        match &problem {
            None => println!("compatible:  yes"),
            Some(p) => println!("compatible:  no: {p}"),
        }
    }
    // A file that cannot be used as a plugin is a bad argument, as for `match --plugin`.
    Ok(if compatible {
        exit::ALL_HIGH
    } else {
        exit::USAGE
    })
}

/// One expected outcome.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// The media path to match.
    path: String,
    /// `high`, `low`, `not-found`, `error` (the plugin answered an error, or an answer the
    /// host refused) or `crash` (it trapped, hit a limit or could not start).
    expect: String,
    /// For `high`: the item's rating key.
    rating_key: Option<String>,
    /// For `low`: the candidates' rating keys (any order).
    candidates: Option<Vec<String>>,
    /// Sections to match against (titles or ids; default: every movie and show section).
    #[serde(default)]
    sections: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    #[serde(rename = "case")]
    cases: Vec<Case>,
}

fn test(args: TestArgs) -> Result<i32> {
    let library = match &args.library {
        Some(path) => LibraryFile::load(path)?,
        None => LibraryFile::sample(),
    };
    if !args.cases.exists() {
        bail!(
            "no cases file {}: give one with --cases FILE (a TOML file of [[case]] tables; `plexmatch plugin new` writes an example)",
            args.cases.display()
        );
    }
    let text = std::fs::read_to_string(&args.cases)
        .with_context(|| format!("cannot read cases file {}", args.cases.display()))?;
    let cases: CasesFile = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start].matches('\n').count() + 1);
        anyhow::anyhow!(
            "cases file {}{}: {}",
            args.cases.display(),
            line.map(|l| format!(", line {l}")).unwrap_or_default(),
            e.message()
        )
    })?;
    for (n, c) in cases.cases.iter().enumerate() {
        if !EXPECTATIONS.contains(&c.expect.as_str()) {
            bail!(
                "case {} ({}): expect must be one of {}, not {:?}",
                n + 1,
                c.path,
                EXPECTATIONS.join(", "),
                c.expect
            );
        }
    }
    let emulator = Emulator::start(&library, Options::default())?;
    let dir = tempfile::tempdir()?;
    let mut specs = vec![args.plugin.clone()];
    specs.extend(args.more.iter().cloned());
    let config = PlexConfig {
        client_id: "plexmatch-plugin-kit".into(),
        ..PlexConfig::new(emulator.url(), emulator.token())
    };
    let engine = Engine::open(EngineOptions {
        plugins: specs,
        settings: args.settings.clone(),
        plugins_dir: Some(plugins_dir()),
        workers: 1,
        ..EngineOptions::new(config, dir.path())
    })?;
    /// Case number, passed, expected, got, path, lines under it.
    type Row = (usize, bool, String, String, String, Vec<String>);
    let mut rows: Vec<Row> = Vec::new();
    for (n, c) in cases.cases.iter().enumerate() {
        // Every answer carries its steps and the plugin's log lines, shown under a failing case.
        let m = engine.match_in(&c.path, &c.sections, true)?;
        let (got, problem) = match (&m.outcome, &m.error) {
            (Outcome::High, _) => (
                format!(
                    "high {}",
                    m.item
                        .as_ref()
                        .map(|i| i.rating_key.as_str())
                        .unwrap_or("?")
                ),
                None,
            ),
            (Outcome::Low, _) => {
                let mut keys: Vec<&str> =
                    m.candidates.iter().map(|i| i.rating_key.as_str()).collect();
                keys.sort();
                (format!("low {}", keys.join(",")), None)
            }
            (Outcome::NotFound, _) => ("not-found".into(), None),
            (Outcome::Error, Some(f @ Failure::Crash(_))) => ("crash".into(), Some(f.to_string())),
            (Outcome::Error, f) => ("error".into(), f.as_ref().map(|f| f.to_string())),
        };
        let expected = match (c.expect.as_str(), &c.rating_key, &c.candidates) {
            ("high", Some(k), _) => format!("high {k}"),
            ("low", _, Some(keys)) => {
                let mut keys = keys.clone();
                keys.sort();
                format!("low {}", keys.join(","))
            }
            (e, _, _) => e.to_owned(),
        };
        let pass = if expected.contains(' ') {
            got == expected
        } else {
            got.split(' ').next() == Some(expected.as_str())
        };
        let mut details: Vec<String> = Vec::new();
        // A traceback's lines (escaped `\n` in the message) each on a line of their own.
        if let Some(p) = &problem {
            let mut lines = p.split("\\n");
            details.extend(lines.next().map(str::to_owned));
            details.extend(lines.map(|l| format!("  {l}")));
        }
        // The error is said once, above: the explanation's lines that repeat it say so.
        let first_line = problem
            .as_deref()
            .and_then(|p| p.split("\\n").next())
            .filter(|l| !l.is_empty());
        let repeats = |text: &str| first_line.is_some_and(|l| text.contains(l));
        if !pass && let Some(e) = &m.explain {
            if !repeats(&e.decided_by) {
                details.push(e.decided_by.clone());
            }
            for t in &e.sections {
                let answer = if repeats(&t.answer) {
                    "the error above"
                } else {
                    t.answer.as_str()
                };
                details.push(format!("{} ({}): → {answer}", t.section, t.plugin));
                details.extend(t.steps.iter().map(|s| format!("  {s}")));
            }
        }
        rows.push((n + 1, pass, expected, got, c.path.clone(), details));
    }
    // Columns as wide as their widest cell.
    let widest = |cell: fn(&Row) -> &String, header: &str| {
        rows.iter()
            .map(|r| cell(r).len())
            .fold(header.len(), usize::max)
    };
    let we = widest(|r| &r.2, "EXPECTED");
    let wg = widest(|r| &r.3, "GOT");
    println!(
        "{:<4}  {:<6}  {:<we$}  {:<wg$}  PATH",
        "CASE", "RESULT", "EXPECTED", "GOT"
    );
    let mut failed = 0;
    for (n, pass, expected, got, path, details) in &rows {
        if !pass {
            failed += 1;
        }
        println!(
            "{n:<4}  {:<6}  {expected:<we$}  {got:<wg$}  {}",
            if *pass { "pass" } else { "FAIL" },
            plexmatch_engine::text::escape_controls(path)
        );
        for d in details {
            println!("      {}", plexmatch_engine::text::escape_controls(d));
        }
    }
    println!(
        "{} case(s): {} passed, {failed} failed",
        rows.len(),
        rows.len() - failed
    );
    Ok(if failed == 0 {
        exit::ALL_HIGH
    } else {
        exit::NOT_ALL_HIGH
    })
}

/// What a case may expect.
const EXPECTATIONS: [&str; 5] = ["high", "low", "not-found", "error", "crash"];
