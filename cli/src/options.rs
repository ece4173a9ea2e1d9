//! The engine's options as flags: each group of flags is made from the option table
//! (`plexmatch::options::SPECS`), so a flag, its environment variable, its default and its
//! help are written once, there. A command flattens the groups it uses; after parsing,
//! each group holds the effective settings (flags > environment > file > defaults).

use std::ops::Deref;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command};

use plexmatch_engine::options::{Flag, Given, SPECS, Settings, Source, parse_setting};

/// Adds the flags of the options in `sections` of the configuration file.
fn add_args(mut cmd: Command, sections: &[&str], with_settings: bool) -> Command {
    for spec in SPECS.iter().filter(|s| sections.contains(&s.section())) {
        let mut arg = Arg::new(spec.id)
            .long(spec.flag)
            .help(spec.help())
            .hide_env_values(spec.key == "plex.token");
        if let Some(c) = spec.short {
            arg = arg.short(c);
        }
        if let Some(env) = spec.env {
            arg = arg.env(env);
        }
        arg = match spec.takes {
            Flag::Switch(_) => arg.action(ArgAction::SetTrue),
            Flag::Repeat => arg.action(ArgAction::Append).value_name(spec.value_name),
            Flag::Value => {
                let arg = arg.action(ArgAction::Set).value_name(spec.value_name);
                match spec.default_text() {
                    Some(d) => arg.default_value(d),
                    None => arg,
                }
            }
        };
        cmd = cmd.arg(arg);
    }
    if with_settings {
        cmd = cmd.arg(
            Arg::new("settings")
                .long("setting")
                .value_name("KEY=VALUE")
                .action(ArgAction::Append)
                .value_parser(parse_setting)
                .help(
                    "A plugin setting, key=value (repeatable); plugin:key=value for one \
                     plugin of a chain. Example: --setting path-matcher:rewrite=/mnt/stash/=/data/media/",
                ),
        );
    }
    cmd
}

/// What the command line (or clap, from the environment) gave for `sections`' options.
fn given_in(m: &ArgMatches, sections: &[&str], with_settings: bool) -> Given {
    let mut given = Given::default();
    for spec in SPECS.iter().filter(|s| sections.contains(&s.section())) {
        let source = match m.value_source(spec.id) {
            Some(ValueSource::CommandLine) => Source::Flag(format!("--{}", spec.flag)),
            Some(ValueSource::EnvVariable) => Source::Env(spec.env.unwrap_or("?").to_owned()),
            _ => continue,
        };
        let values = match spec.takes {
            Flag::Switch(sets) if m.get_flag(spec.id) => vec![sets.to_owned()],
            Flag::Switch(_) => continue,
            _ => m
                .get_many::<String>(spec.id)
                .map(|v| v.cloned().collect())
                .unwrap_or_default(),
        };
        given.options.push((spec.key, values, source));
    }
    if with_settings {
        given.settings = m
            .get_many::<(String, String)>("settings")
            .map(|v| v.cloned().collect())
            .unwrap_or_default();
    }
    given
}

macro_rules! group {
    ($(#[doc = $doc:literal])+ $name:ident, [$($section:literal),+], $with_settings:expr) => {
        $(#[doc = $doc])+
        #[derive(Debug, Clone, Default)]
        pub struct $name {
            /// What the command line gave for this group.
            pub given: Given,
            /// The effective settings, once the command is configured.
            pub settings: std::sync::Arc<Settings>,
        }

        impl Configured for $name {
            fn given(&self) -> &Given {
                &self.given
            }
            fn parts(&self) -> &'static [&'static str] {
                &[$($section),+]
            }
            fn configure(&mut self, settings: &Settings) {
                self.settings = std::sync::Arc::new(settings.clone());
            }
        }

        impl Deref for $name {
            type Target = Settings;
            fn deref(&self) -> &Settings {
                &self.settings
            }
        }

        impl clap::FromArgMatches for $name {
            fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
                Ok($name {
                    given: given_in(m, &[$($section),+], $with_settings),
                    settings: Default::default(),
                })
            }
            fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
                self.given = given_in(m, &[$($section),+], $with_settings);
                Ok(())
            }
        }

        impl clap::Args for $name {
            fn augment_args(cmd: Command) -> Command {
                add_args(cmd, &[$($section),+], $with_settings)
            }
            fn augment_args_for_update(cmd: Command) -> Command {
                add_args(cmd, &[$($section),+], $with_settings)
            }
        }
    };
}

group!(
    /// Where the Plex server is and how to log in (`[plex]`).
    PlexArgs, ["plex"], false
);
group!(
    /// Where the caches live and how long they stay fresh (`[cache]`).
    CacheArgs, ["cache"], false
);
group!(
    /// What to match with: sections, plugins, their settings, parallelism and limits
    /// (`[match]` and `[limits]`).
    MatchOptions, ["match", "paths", "limits"], true
);

group!(
    /// How `plexmatch serve` listens and what it accepts (`[serve]`).
    ServeFlags, ["serve"], false
);

/// A group of option flags a command flattens.
pub trait Configured {
    /// What the command line gave for the group's options.
    fn given(&self) -> &Given;
    /// The parts of the configuration file the group's options are in.
    fn parts(&self) -> &'static [&'static str];
    /// Hands the group the effective settings.
    fn configure(&mut self, settings: &Settings);
}

/// Resolves the options of `groups` (a command's) against `file` and the environment, and
/// hands each group the effective settings; what was set from where.
pub fn configure(
    groups: Vec<&mut dyn Configured>,
    file: &plexmatch_engine::options::ConfigFile,
) -> anyhow::Result<Vec<plexmatch_engine::options::Shown>> {
    let mut given = Given::default();
    let mut parts = Vec::new();
    for g in &groups {
        given.options.extend(g.given().options.iter().cloned());
        given.settings.extend(g.given().settings.iter().cloned());
        parts.extend_from_slice(g.parts());
    }
    let (settings, shown) = plexmatch_engine::options::resolve(&parts, &given, file)?;
    for g in groups {
        g.configure(&settings);
    }
    Ok(shown)
}
