//! The `plexmatch` command line: argument definitions and dispatch.

mod bench_cmd;
mod cache_cmd;
mod config_cmd;
mod demo;
mod doctor_cmd;
mod emulator_cmd;
mod interrupt;
mod match_cmd;
mod options;
mod output;
mod paths_cmd;
mod pin_cmd;
mod plugin_cmd;
mod plugin_new;
mod progress;
mod sections_cmd;
mod serve_cmd;
mod setup;
mod table;

use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

pub use options::{CacheArgs, MatchOptions, PlexArgs};

/// Exit codes, documented in the README and in `plexmatch --help`.
pub mod exit {
    /// Every path matched one item (HIGH).
    pub const ALL_HIGH: i32 = 0;
    /// Some path was LOW, not found, or not a matchable path.
    pub const NOT_ALL_HIGH: i32 = 1;
    /// Bad arguments or configuration (including an unusable plugin file).
    pub const USAGE: i32 = 2;
    /// The Plex server could not be reached, failed, or refused the token.
    pub const PLEX: i32 = 3;
    /// A plugin failed (trap, deadline, memory cap, or an answer the host refused).
    pub const PLUGIN: i32 = 4;
    /// Stopped by Ctrl-C (SIGINT) after the paths in flight were answered.
    pub const INTERRUPTED: i32 = 130;
}

const EXIT_CODES: &str = "Exit codes: 0 every path matched HIGH; 1 some path LOW or not found; \
2 bad arguments or configuration; 3 Plex unreachable, failing or token refused; 4 a plugin failed; \
130 interrupted (Ctrl-C).";

/// Decide which item of a Plex library holds a media file, with sandboxed matcher plugins.
#[derive(Parser, Debug)]
#[command(name = "plexmatch", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// More log output on stderr (-v: info, -vv: debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Configuration file (default: plexmatch/config.toml in the user's config dir).
    #[arg(long, global = true, env = "PLEXMATCH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Match media paths (arguments, or one per line on stdin) against Plex sections.
    ///
    /// Example: plexmatch match --plex-url http://127.0.0.1:32400 --section Movies "/media/Inception (2010).mkv"
    #[command(after_help = EXIT_CODES)]
    Match(match_cmd::MatchArgs),
    /// List the server's library sections.
    ///
    /// Example: plexmatch sections --plex-url http://127.0.0.1:32400
    Sections(sections_cmd::SectionsArgs),
    /// Check the Plex server, the token, the sections, the data dir and the plugins.
    ///
    /// Example: PLEX_URL=http://127.0.0.1:32400 PLEX_TOKEN=... plexmatch doctor
    Doctor(doctor_cmd::DoctorArgs),
    /// Settle a path: it is this Plex item, whatever any plugin says (checked against Plex).
    ///
    /// Example: plexmatch pin "/media/Heat (1995).mkv" 501
    Pin(pin_cmd::PinArgs),
    /// Remove pins: the paths are matched by the plugins again.
    ///
    /// Example: plexmatch unpin "/media/Heat (1995).mkv"
    Unpin(pin_cmd::UnpinArgs),
    /// Inspect or clear the caches.
    #[command(subcommand)]
    Cache(cache_cmd::CacheCommand),
    /// Path mapping: propose the --map rules that turn your paths into the server's.
    #[command(subcommand)]
    Paths(paths_cmd::PathsCommand),
    /// Serve matching over HTTP: one warm engine for many programs (docs/serve.md).
    ///
    /// Example: plexmatch serve --listen 127.0.0.1:32499 --section Movies
    Serve(serve_cmd::ServeArgs),
    /// Serve a Plex library on 127.0.0.1 (a library file, or a generated one) until stopped.
    ///
    /// Example: plexmatch emulator --generate 1000 --port 32400
    Emulator(emulator_cmd::EmulatorArgs),
    /// Run a demonstration: the bundled library on the emulator, matched cold then warm.
    ///
    /// Example: plexmatch demo
    Demo(demo::DemoArgs),
    /// Run a shipped benchmark against a generated library on the emulator.
    #[command(subcommand)]
    Bench(bench_cmd::BenchCommand),
    /// Inspect a plugin, or test it against a library on the emulator.
    #[command(subcommand)]
    Plugin(plugin_cmd::PluginCommand),
    /// Show the effective configuration and where each value comes from.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Print a shell completion script.
    ///
    /// Example: plexmatch completions bash > ~/.local/share/bash-completion/completions/plexmatch
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Options of the shared groups that only some commands use: another command accepts them
/// (they may come from the environment or the config file) but its help leaves them out.
const UNUSED: &[(&[&str], &[&[&str]])] = {
    const PAGING: &[&str] = &["page_size", "pages_in_flight"];
    const TTL: &[&str] = &["library_ttl", "negative_ttl", "stale_limit"];
    const TUNING: &[&str] = &[
        "full_listing_every",
        "library_cache_mib",
        "match_cache_mib",
        "compiled_plugins_mib",
    ];
    &[
        (&["sections"], &[PAGING, TUNING]),
        (&["doctor"], &[PAGING, TTL, TUNING]),
        (&["pin"], &[PAGING, TUNING]),
        (&["unpin"], &[TTL, TUNING]),
        (&["cache", "stats"], &[TTL, &["full_listing_every"]]),
        (
            &["cache", "refresh"],
            &[&["negative_ttl", "match_cache_mib", "compiled_plugins_mib"]],
        ),
        (&["cache", "invalidate"], &[TTL, TUNING]),
        (&["cache", "clear"], &[TTL, TUNING]),
        (&["cache", "pins"], &[TTL, TUNING]),
    ]
};

/// The command line's definition, each command showing only the options it uses.
pub fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for (path, groups) in UNUSED {
        let ids: Vec<&str> = groups.iter().flat_map(|g| g.iter().copied()).collect();
        cmd = hide_in(cmd, path, &ids);
    }
    cmd
}

fn hide_in(cmd: clap::Command, path: &[&str], ids: &[&str]) -> clap::Command {
    match path {
        [] => ids
            .iter()
            .fold(cmd, |c, id| c.mut_arg(*id, |a| a.hide(true))),
        [first, rest @ ..] => cmd.mut_subcommand(*first, |c| hide_in(c, rest, ids)),
    }
}

/// Runs the command line and returns the process exit code.
pub fn run() -> i32 {
    let matches = match command().try_get_matches() {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::ALL_HIGH
            };
        }
    };
    let mut cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return exit::USAGE;
        }
    };
    let quiet = matches!(&cli.command, Command::Match(a) if a.quiet);
    setup::init_logging(cli.verbose, quiet);
    let result = configure(&mut cli).and_then(|(file, shown)| match cli.command {
        Command::Match(a) => match_cmd::run(a),
        Command::Sections(a) => sections_cmd::run(a),
        Command::Pin(a) => pin_cmd::pin(a),
        Command::Unpin(a) => pin_cmd::unpin(a),
        Command::Cache(c) => cache_cmd::run(c),
        Command::Paths(c) => paths_cmd::run(c),
        Command::Serve(a) => serve_cmd::run(a),
        Command::Emulator(a) => emulator_cmd::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Doctor(a) => doctor_cmd::run(a),
        Command::Bench(c) => bench_cmd::run(c),
        Command::Config(c) => config_cmd::run(c, file.as_deref(), &shown),
        Command::Plugin(c) => plugin_cmd::run(c),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut command(), "plexmatch", &mut std::io::stdout());
            Ok(exit::ALL_HIGH)
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{}", setup::error_line(&e));
            setup::exit_code_for(&e)
        }
    }
}

/// Reads the configuration file and fills the command's options from it where no flag or
/// environment variable set them; returns the file's path and what was set from where.
fn configure(
    cli: &mut Cli,
) -> anyhow::Result<(Option<PathBuf>, Vec<plexmatch_engine::options::Shown>)> {
    let file = plexmatch_engine::options::ConfigFile::load(cli.config.as_deref())?;
    let groups: Vec<&mut dyn options::Configured> = match &mut cli.command {
        Command::Match(a) => vec![&mut a.plex, &mut a.cache, &mut a.options],
        Command::Sections(a) => vec![&mut a.plex, &mut a.cache],
        Command::Doctor(a) => vec![&mut a.plex, &mut a.cache],
        Command::Pin(a) => vec![&mut a.plex, &mut a.cache],
        Command::Unpin(a) => vec![&mut a.cache],
        Command::Cache(c) => c.groups(),
        Command::Paths(c) => c.groups(),
        Command::Serve(a) => vec![&mut a.serve, &mut a.plex, &mut a.cache, &mut a.options],
        Command::Config(config_cmd::ConfigCommand::Show(a)) => {
            vec![&mut a.plex, &mut a.cache, &mut a.options, &mut a.serve]
        }
        _ => Vec::new(),
    };
    let shown = options::configure(groups, &file)?;
    Ok((file.path.clone(), shown))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent_and_hides_only_options_that_exist() {
        // clap checks every argument, and `mut_arg` panics on an id no command has.
        super::command().debug_assert();
        let sections = super::command()
            .find_subcommand("sections")
            .expect("sections")
            .clone();
        let hidden: Vec<&str> = sections
            .get_arguments()
            .filter(|a| a.is_hide_set())
            .map(|a| a.get_id().as_str())
            .collect();
        assert!(hidden.contains(&"page_size") && hidden.contains(&"match_cache_mib"));
        assert!(!hidden.contains(&"library_ttl"));
    }
}
