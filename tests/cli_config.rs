//! The command line as scripts and people use it: configuration file and precedence,
//! `config show`, output formats, colours and progress only on a terminal, exit codes.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::*;

/// plexmatch with a clean environment: no PLEX_*/PLEXMATCH_* from the caller.
fn bare(fx: &Fixture, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plexmatch"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env("PLEXMATCH_DATA_DIR", fx.data_dir());
    for (k, _) in std::env::vars() {
        if k.starts_with("PLEX_") || (k.starts_with("PLEXMATCH_") && k != "PLEXMATCH_DATA_DIR") {
            cmd.env_remove(k);
        }
    }
    // A config file in the user's config dir must not leak into the tests.
    cmd.env("XDG_CONFIG_HOME", fx.data_dir().join("xdg"));
    cmd
}

fn out(mut cmd: Command) -> (Option<i32>, String, String) {
    let o: Output = cmd.output().expect("plexmatch runs");
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const INCEPTION: &str = "/x/Inception (2010) - 1080p.mkv";

#[test]
fn the_file_alone_is_enough_and_flags_beat_env_beat_file() {
    let fx = Fixture::sample();
    let dead = "http://127.0.0.1:9";
    let token_file = write(
        fx.data_dir(),
        "token",
        &format!("{}\n", fx.emulator.token()),
    );
    let good = write(
        fx.data_dir(),
        "good.toml",
        &format!(
            "[plex]\nurl = \"{}\"\ntoken_file = \"{token_file}\"\n\n[match]\nsections = [\"Movies\"]\n",
            fx.emulator.url()
        ),
    );
    let (code, stdout, stderr) = out({
        let mut c = bare(&fx, &["match", "--json", "--config", &good, INCEPTION]);
        c.env_remove("PLEXMATCH_DATA_DIR");
        c.arg("--data-dir").arg(fx.data_dir());
        c
    });
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"rating_key\":\"101\""), "{stdout}");

    // The file points at a dead server; the environment at the emulator: env wins.
    let wrong = write(
        fx.data_dir(),
        "wrong.toml",
        &format!("[plex]\nurl = \"{dead}\"\ntoken = \"file-token\"\n"),
    );
    let mut c = bare(
        &fx,
        &[
            "match",
            "--json",
            "--config",
            &wrong,
            "--connect-timeout",
            "1",
            INCEPTION,
        ],
    );
    c.env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token());
    let (code, _, stderr) = out(c);
    assert_eq!(code, Some(0), "environment beats file: {stderr}");

    // A flag beats the environment (fresh caches, which would answer without the server).
    let fresh = tempfile::tempdir().unwrap();
    let mut c = bare(
        &fx,
        &[
            "match",
            "--json",
            "--config",
            &good,
            "--plex-url",
            dead,
            "--connect-timeout",
            "1",
            INCEPTION,
        ],
    );
    c.env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token())
        .env("PLEXMATCH_DATA_DIR", fresh.path());
    let (code, _, stderr) = out(c);
    assert_eq!(code, Some(3), "the flag's dead server was used: {stderr}");
    assert!(
        stderr.contains("127.0.0.1:9") || stderr.contains("unavailable"),
        "{stderr}"
    );

    // config show says where each value came from, and never shows the token.
    let mut c = bare(
        &fx,
        &["config", "show", "--config", &good, "--page-size", "250"],
    );
    c.env("PLEXMATCH_LIBRARY_TTL", "99");
    let (code, stdout, _) = out(c);
    assert_eq!(code, Some(0));
    let line = |key: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("{key} missing: {stdout}"))
            .to_owned()
    };
    assert!(
        line("plex.url").contains(&format!("file {good}, line 2")),
        "{stdout}"
    );
    assert!(
        line("plex.token").contains("hidden") && line("plex.token").contains("token_file"),
        "{stdout}"
    );
    assert!(
        line("plex.page_size").contains("250")
            && line("plex.page_size").contains("flag --page-size"),
        "{stdout}"
    );
    assert!(
        line("cache.library_ttl").contains("99 s")
            && line("cache.library_ttl").contains("environment PLEXMATCH_LIBRARY_TTL")
    );
    assert!(line("cache.negative_ttl").contains("(default)"));
    assert!(line("match.sections").contains("Movies"));
    assert!(
        !stdout.contains(fx.emulator.token()),
        "the token is masked: {stdout}"
    );
}

#[test]
fn configuration_errors_name_the_file_the_line_and_the_key() {
    let fx = Fixture::sample();
    let unknown = write(
        fx.data_dir(),
        "unknown.toml",
        "[plex]\nurl = \"http://127.0.0.1:1\"\n\n[cache]\nlibrary_tll = 60\n",
    );
    let (code, _, stderr) = out(bare(&fx, &["match", "--config", &unknown, INCEPTION]));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&unknown) && stderr.contains("line 5") && stderr.contains("library_tll"),
        "{stderr}"
    );

    let bad = write(
        fx.data_dir(),
        "bad.toml",
        "[limits]\nmemory_mib = \"lots\"\n",
    );
    let (code, _, stderr) = out(bare(&fx, &["match", "--config", &bad, INCEPTION]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("line 2") && stderr.contains("memory_mib"),
        "{stderr}"
    );

    let zero = write(fx.data_dir(), "zero.toml", "[match]\nworkers = 0\n");
    let (code, _, stderr) = out(bare(&fx, &["match", "--config", &zero, INCEPTION]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("line 2") && stderr.contains("match.workers must be at least 1"),
        "{stderr}"
    );

    let (code, _, stderr) = out(bare(
        &fx,
        &[
            "match",
            "--config",
            "/nonexistent/plexmatch.toml",
            INCEPTION,
        ],
    ));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot read the configuration file /nonexistent/plexmatch.toml"),
        "{stderr}"
    );
}

fn with_emulator(fx: &Fixture, args: &[&str]) -> Command {
    let mut c = bare(fx, args);
    c.env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token());
    c
}

#[test]
fn table_json_and_csv_say_the_same_thing() {
    let fx = Fixture::sample();
    let paths = [INCEPTION, "/x/Dune (2021).mkv", "/x/nothing here.mkv"];
    let run = |format: &[&str]| {
        let mut args = vec!["match"];
        args.extend_from_slice(format);
        args.extend_from_slice(&paths);
        out(with_emulator(&fx, &args))
    };
    let (code, table, stderr) = run(&[]);
    assert_eq!(code, Some(1), "LOW and not found: exit 1");
    assert!(
        table.starts_with("OUTCOME") && table.contains("PLUGIN"),
        "{table}"
    );
    assert!(
        table.lines().nth(1).unwrap().starts_with("HIGH")
            && table.contains("Inception")
            && table.contains("default"),
        "{table}"
    );
    assert!(
        stderr.contains("3 path(s): 1 HIGH, 1 LOW, 1 NOT-FOUND, 0 ERROR")
            && stderr.contains("Plex request"),
        "{stderr}"
    );
    assert!(
        !table.contains('\x1b') && !stderr.contains('\x1b'),
        "no colour or progress bar when not on a terminal"
    );

    let (_, json, _) = run(&["--format", "json"]);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["high", "low", "not-found"]
    );

    let (_, csv, _) = run(&["--format", "csv"]);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "path,outcome,rating_key,title,section,plugin,candidate_keys,candidates,error"
    );
    assert_eq!(
        rows[1],
        "/x/Inception (2010) - 1080p.mkv,high,101,Inception,Movies,default,,,"
    );
    assert!(
        rows[2].starts_with("/x/Dune (2021).mkv,low,,,,default,106 301,\"[{"),
        "{csv}"
    );
    assert!(
        rows[3].starts_with("/x/nothing here.mkv,not-found,"),
        "{csv}"
    );
    // A reader that knows CSV gets the candidates back, quotes and all.
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 3);
    let candidates: serde_json::Value = serde_json::from_str(&records[1][7]).unwrap();
    assert_eq!(candidates[1]["rating_key"], "301");
    assert_eq!(candidates[1]["section"], "Movies 4K");

    let (code, quiet_out, quiet_err) = run(&["--quiet"]);
    assert_eq!(
        (code, quiet_out.as_str(), quiet_err.as_str()),
        (Some(1), "", ""),
        "--quiet prints nothing"
    );
}

#[test]
fn colours_appear_only_on_a_terminal_and_never_with_no_color() {
    let fx = Fixture::sample();
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    let line = format!("{} match '{INCEPTION}'", env!("CARGO_BIN_EXE_plexmatch"));
    let tty = |no_color: bool| {
        let c = with_emulator(&fx, &[]);
        let mut s = Command::new("script");
        s.args(["-qec", &line, "/dev/null"]);
        for (k, v) in c.get_envs() {
            match v {
                Some(v) => s.env(k, v),
                None => s.env_remove(k),
            };
        }
        if no_color {
            s.env("NO_COLOR", "1");
        }
        out(s)
    };
    let (code, coloured, _) = tty(false);
    assert_eq!(code, Some(0), "{coloured}");
    assert!(
        coloured.contains("\x1b[32mHIGH"),
        "HIGH in green on a terminal: {coloured:?}"
    );
    let (_, plain, _) = tty(true);
    assert!(
        plain.contains("HIGH") && !plain.contains("\x1b[32m"),
        "NO_COLOR: {plain:?}"
    );
}

#[test]
fn exit_codes_tell_what_happened() {
    let fx = Fixture::sample();
    let code = |c: Command| out(c).0;
    assert_eq!(
        code(with_emulator(&fx, &["match", "-q", INCEPTION])),
        Some(0),
        "all HIGH"
    );
    assert_eq!(
        code(with_emulator(&fx, &["match", "-q", "/x/Dune (2021).mkv"])),
        Some(1),
        "some LOW"
    );
    assert_eq!(
        code(with_emulator(&fx, &["match", "-q", "/x/none.mkv"])),
        Some(1),
        "some not found"
    );
    assert_eq!(
        code(with_emulator(
            &fx,
            &["match", "-q", "--workers", "zero", INCEPTION]
        )),
        Some(2),
        "bad arguments"
    );
    assert_eq!(
        code(bare(&fx, &["match", "-q", INCEPTION])),
        Some(2),
        "no server configured"
    );
    // A fresh data dir: with fresh caches plexmatch may answer without asking Plex at all.
    let fresh = tempfile::tempdir().unwrap();
    let mut refused = with_emulator(&fx, &["match", "-q", INCEPTION]);
    refused
        .env("PLEX_TOKEN", "nope")
        .env("PLEXMATCH_DATA_DIR", fresh.path());
    assert_eq!(code(refused), Some(3), "token refused");
    let mut down = with_emulator(&fx, &["match", "-q", "--connect-timeout", "1", INCEPTION]);
    down.env("PLEX_URL", "http://127.0.0.1:9")
        .env("PLEXMATCH_DATA_DIR", fresh.path());
    assert_eq!(code(down), Some(3), "server unreachable");
}

#[test]
fn help_has_examples_and_completions_are_generated() {
    let fx = Fixture::sample();
    for cmd in [
        &["match", "--help"][..],
        &["cache", "refresh", "--help"],
        &["config", "show", "--help"],
        &["doctor", "--help"],
    ] {
        let (code, stdout, _) = out(bare(&fx, cmd));
        assert_eq!(code, Some(0));
        assert!(
            stdout.contains("Example:") && stdout.contains("plexmatch "),
            "{cmd:?}: {stdout}"
        );
    }
    let (code, bash, _) = out(bare(&fx, &["completions", "bash"]));
    assert_eq!(code, Some(0));
    assert!(
        bash.contains("_plexmatch()") && bash.contains("--plex-url"),
        "bash completion script"
    );
}

#[test]
fn the_readme_configuration_example_is_accepted() {
    let fx = Fixture::sample();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let after = &readme[readme
        .find("### Configuration")
        .expect("a configuration section")..];
    let start = after.find("```toml\n").expect("a TOML example") + "```toml\n".len();
    let example = &after[start..start + after[start..].find("```").unwrap()];
    // The example's token file does not exist here: point it at one that does.
    let token = write(fx.data_dir(), "token", fx.emulator.token());
    let text = example.replace("~/.config/plexmatch/token", &token);
    let file = write(fx.data_dir(), "readme.toml", &text);
    let (code, stdout, stderr) = out(bare(&fx, &["config", "show", "--config", &file]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("/mnt/stash/=/data/media/"), "{stdout}");
    assert!(stdout.contains("requests_per_path"), "{stdout}");
}

#[test]
fn an_unreadable_token_file_is_shown_by_config_show_and_stops_match() {
    let fx = Fixture::sample();
    let file = write(
        fx.data_dir(),
        "c.toml",
        "[plex]\nurl = \"http://127.0.0.1:9\"\ntoken_file = \"/nonexistent/plexmatch-token\"\n",
    );
    let (code, stdout, stderr) = out(bare(&fx, &["config", "show", "--config", &file]));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("(unreadable: ") && stdout.contains("line 3"),
        "{stdout}"
    );
    let (code, _, stderr) = out(bare(&fx, &["match", "--config", &file, "/x/a.mkv"]));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot read plex.token_file /nonexistent/plexmatch-token"),
        "{stderr}"
    );
}

#[test]
fn every_toml_block_of_the_readme_loads_and_config_show_types_its_values() {
    let fx = Fixture::sample();
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(!blocks.is_empty(), "the README has TOML examples");
    for (n, block) in blocks.iter().enumerate() {
        if block.contains("[[sections]]") {
            // The emulator's library format: it must load and be served.
            let lib = plexmatch_emulator::LibraryFile::from_toml(block)
                .unwrap_or_else(|e| panic!("README library block {n}: {e:#}\n{block}"));
            plexmatch_emulator::Emulator::start(&lib, Default::default())
                .unwrap_or_else(|e| panic!("README library block {n}: {e:#}"));
            continue;
        }
        let file = write(fx.data_dir(), &format!("readme-{n}.toml"), block);
        let (code, stdout, stderr) =
            out(bare(&fx, &["config", "show", "--json", "--config", &file]));
        assert_eq!(
            code,
            Some(0),
            "README TOML block {n} is refused: {stderr}\n{block}"
        );
        let shown: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let value = |key: &str| {
            shown["values"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["key"] == key)
                .unwrap_or_else(|| panic!("{key} missing: {stdout}"))
                .clone()
        };
        // Typed for programs, with the text people read beside it.
        assert!(value("plex.connect_timeout")["value"].is_f64(), "{stdout}");
        assert!(value("cache.library_ttl")["value"].is_u64(), "{stdout}");
        assert_eq!(value("cache.library_ttl")["shown"], "300 s");
        assert!(value("match.sections")["value"].is_array(), "{stdout}");
    }
}

#[test]
fn the_coprocess_example_drives_match_json_line_by_line() {
    let fx = Fixture::sample();
    let out = std::process::Command::new("python3")
        .arg(repo_root().join("docs/examples/coprocess.py"))
        .args([INCEPTION, "/x/Dune (2021).mkv", "/x/nothing here.mkv"])
        .env("PLEXMATCH", env!("CARGO_BIN_EXE_plexmatch"))
        .env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token())
        .env("PLEXMATCH_DATA_DIR", fx.data_dir())
        .env("PLEXMATCH_CONFIG", "/dev/null")
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].ends_with("101 'Inception' (Movies)"), "{stdout}");
    assert!(lines[1].contains("one of 106, 301"), "{stdout}");
    assert!(lines[2].contains("not-found"), "{stdout}");
}
