//! The real `plexmatch` binary against the emulator: JSON output, exit codes, stdin,
//! and the demo.

mod support;

use std::process::{Command, Output};

use support::*;

fn run(mut cmd: Command) -> Output {
    cmd.output().expect("plexmatch runs")
}

#[test]
fn match_answers_in_json_lines_and_exits_0_when_all_high() {
    let fx = Fixture::sample();
    let out = run(plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "/a/Inception (2010) - 1080p.mkv",
            "/b/Arrival (2016) - 2160p.mkv",
        ],
    ));
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["outcome"], "high");
    assert_eq!(lines[0]["item"]["rating_key"], "101");
    assert_eq!(lines[0]["item"]["section"], "Movies");
    assert_eq!(lines[0]["plugin"], "default");
    assert_eq!(lines[1]["item"]["rating_key"], "302");
}

#[test]
fn paths_come_from_stdin_and_low_or_missing_exit_1() {
    let fx = Fixture::sample();
    let cmd = plexmatch(
        &fx,
        &["match", "--json", "--section", "Movies", "--section", "3"],
    );
    let out = run_with_stdin(cmd, b"/x/Dune (2021).mkv\n\n/x/Nope.mkv\n");
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["outcome"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["low", "error", "not-found"],
        "every line gets one answer: the empty one is an input error"
    );
    assert_eq!(lines[1]["error"]["kind"], "input");
    assert_eq!(lines[0]["candidates"].as_array().unwrap().len(), 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("3 path(s): 0 HIGH, 1 LOW, 1 NOT-FOUND, 1 ERROR"),
        "{stderr}"
    );
}

#[test]
fn a_refused_token_exits_3_without_printing_the_token() {
    let fx = Fixture::sample();
    let mut cmd = plexmatch(&fx, &["match", "-vv", "/a/Inception (2010) - 1080p.mkv"]);
    cmd.env("PLEX_TOKEN", "secret-token-value-123");
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(3));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("refused the token"), "{all}");
    assert!(
        !all.contains("secret-token-value-123"),
        "the token leaked: {all}"
    );
}

#[test]
fn bad_plugin_files_and_sections_exit_2_with_a_clear_message() {
    let fx = Fixture::sample();
    let junk = fx.data_dir().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0").unwrap();
    let out = run(plexmatch(
        &fx,
        &["match", "--plugin", junk.to_str().unwrap(), "/a/b.mkv"],
    ));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("junk.wasm") && stderr.contains("not a component"),
        "{stderr}"
    );

    let out = run(plexmatch(&fx, &["match", "--section", "Films", "/a/b.mkv"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no library section is called or numbered \"Films\"")
    );
}

#[test]
fn a_trapping_plugin_exits_4() {
    let fx = Fixture::sample();
    let wasm = hostile_wasm().to_str().unwrap().to_owned();
    let out = run(plexmatch(
        &fx,
        &[
            "match",
            "--plugin",
            &wasm,
            "--cpu-deadline-ms",
            "200",
            "/x/panic.mkv",
            "/x/Arrival (2016) - 2160p.mkv",
        ],
    ));
    assert_eq!(out.status.code(), Some(4));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("crashed") && stdout.contains("HIGH"),
        "{stdout}"
    );
}

#[test]
fn cache_stats_report_persisted_hit_rates() {
    let fx = Fixture::sample();
    let path = "/a/Inception (2010) - 1080p.mkv";
    assert_eq!(
        run(plexmatch(&fx, &["match", "--section", "1", path]))
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(plexmatch(&fx, &["match", "--section", "1", path]))
            .status
            .code(),
        Some(0)
    );
    let out = run(plexmatch(&fx, &["cache", "stats", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["match"]["entries"], 1);
    assert_eq!(v["match"]["lookups"]["match"]["hits"], 1);
    assert_eq!(v["match"]["lookups"]["match"]["misses"], 1);
    assert_eq!(v["match"]["lookups"]["match"]["hit_rate"], 50.0);
    assert_eq!(
        run(plexmatch(&fx, &["cache", "clear"])).status.code(),
        Some(0)
    );
    let out = run(plexmatch(&fx, &["cache", "stats", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["match"]["entries"], 0);
    assert_eq!(v["library"]["items"], 0);
}

#[test]
fn the_demo_shows_every_outcome_and_a_cheaper_warm_pass() {
    let out = Command::new(env!("CARGO_BIN_EXE_plexmatch"))
        .arg("demo")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for word in ["HIGH", "LOW", "NOT-FOUND"] {
        assert!(stdout.contains(word), "{word} missing from:\n{stdout}");
    }
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Plex requests:"))
        .expect("a requests line");
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 2, "{line}");
    assert!(
        numbers[1] < numbers[0],
        "the warm pass must make fewer requests: {line}"
    );
}

#[test]
fn doctor_reports_a_healthy_setup_and_says_what_to_do_otherwise() {
    let fx = Fixture::sample();
    let out = run(plexmatch(&fx, &["doctor"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"plexmatch demo server\", Plex Media Server 1."),
        "{stdout}"
    );
    assert!(
        stdout.contains("section 1 \"Movies\" (movie): 10 items"),
        "{stdout}"
    );
    assert!(
        stdout.contains("section 2 \"TV Shows\" (show): 3 episodes"),
        "{stdout}"
    );
    assert!(stdout.contains("default 0.1.0 loads"), "{stdout}");

    let mut cmd = plexmatch(&fx, &["doctor"]);
    cmd.env("PLEX_TOKEN", "a-stale-token-5678");
    let out = run(cmd);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("refused the token") && all.contains("set PLEX_TOKEN"),
        "{all}"
    );
    assert!(!all.contains("a-stale-token-5678"), "{all}");

    fx.emulator.refuse_connections(true);
    let out = run(plexmatch(&fx, &["doctor", "--connect-timeout", "1"]));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("Connection refused") && stdout.contains("Is Plex Media Server running"),
        "{stdout}"
    );
}

#[test]
fn the_token_appears_in_no_output_or_log_even_when_plex_fails() {
    let fx = Fixture::sample();
    let token = fx.emulator.token().to_owned();
    fx.emulator
        .inject(plexmatch_emulator::Fault::status(503), 1);
    fx.emulator.inject(plexmatch_emulator::Fault::CutShort, 1);
    fx.emulator.inject(
        plexmatch_emulator::Fault::Status {
            code: 429,
            retry_after: Some(0),
        },
        1,
    );
    let out = run(plexmatch(
        &fx,
        &[
            "match",
            "-vv",
            "--json",
            "/x/Inception (2010) - 1080p.mkv",
            "/x/nothing.mkv",
        ],
    ));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("trying again"),
        "the retries are logged at -vv: {all}"
    );
    assert!(!all.contains(&token), "the token leaked: {all}");
    assert!(
        all.contains("\"rating_key\":\"101\""),
        "and the match still came through: {all}"
    );
}

#[test]
fn out_of_range_workers_unknown_sections_and_clear_tell_the_truth() {
    let fx = Fixture::with(&plexmatch_emulator::generate(3000, 9));
    let out = run(plexmatch(&fx, &["match", "--workers", "100", "/x/a.mkv"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--workers must be between 1 and 64, not 100"),
        "{out:?}"
    );
    assert_eq!(
        run(plexmatch(&fx, &["cache", "refresh", "--section", "1"]))
            .status
            .code(),
        Some(0)
    );
    let out = run(plexmatch(&fx, &["cache", "clear", "--section", "7"]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no section 7; known: 1 \"Movies\""),
        "{out:?}"
    );
    let size = |name: &str| {
        let f = fx.cache_dir().join(name);
        let wal = fx.cache_dir().join(format!("{name}-wal"));
        [f, wal]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum::<u64>()
    };
    let before = size("library.sqlite3");
    assert!(
        before > 200 << 10,
        "{before} bytes with a 3,060-item snapshot"
    );
    assert_eq!(
        run(plexmatch(&fx, &["cache", "clear"])).status.code(),
        Some(0)
    );
    let after = size("library.sqlite3");
    assert!(
        after < 64 << 10,
        "cache clear gives the space back: {before} → {after} bytes"
    );
}

#[test]
fn color_always_colours_a_piped_table_and_never_does_not() {
    let fx = Fixture::sample();
    let path = "/x/Inception (2010) - 1080p.mkv";
    let coloured = run(plexmatch(&fx, &["match", "--color", "always", path]));
    assert!(
        String::from_utf8_lossy(&coloured.stdout).contains("\u{1b}[32mHIGH"),
        "{coloured:?}"
    );
    for args in [vec!["match", "--color", "never", path], vec!["match", path]] {
        let plain = run(plexmatch(&fx, &args));
        assert!(
            !String::from_utf8_lossy(&plain.stdout).contains('\u{1b}'),
            "{plain:?}"
        );
    }
}
