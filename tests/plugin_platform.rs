//! The plugin platform: the second strategy, chains, the compiled-plugin cache, and the
//! plugin author's kit (`plexmatch plugin inspect` and `plexmatch plugin test`).

mod support;

use std::process::Command;
use std::sync::Arc;

use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::chain::Chain;
use plexmatch_engine::matching::Outcome;
use plexmatch_engine::runtime::compile_cache::{Readiness, artifact_path};
use plexmatch_engine::runtime::{Limits, Plugin};
use support::*;

const HOLIDAY_2020: &str = "/stash/movies/2020/holiday.mp4";

fn path_matcher(
    backend: &Arc<plexmatch_engine::backend::Backend>,
    settings: &[(&str, &str)],
) -> Arc<Plugin> {
    let settings = settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Arc::new(
        Plugin::load(
            "path-matcher",
            plexmatch_engine::PATH_MATCHER_PLUGIN,
            settings,
            Limits::default(),
            backend.clone(),
        )
        .unwrap(),
    )
}

#[test]
fn path_matcher_tells_apart_what_the_default_plugin_cannot() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    // Two items hold holiday.mp4; the default plugin, too, lets the path decide now.
    let by_name = match_one(&default_plugin(&backend), &backend, HOLIDAY_2020, &movies);
    assert_eq!(
        (by_name.outcome, by_name.item.map(|i| i.rating_key)),
        (Outcome::High, Some("109".into())),
    );
    let by_path = match_one(
        &path_matcher(&backend, &[]),
        &backend,
        HOLIDAY_2020,
        &movies,
    );
    assert_eq!(
        (by_path.outcome, by_path.item.map(|i| i.rating_key)),
        (Outcome::High, Some("109".into()))
    );

    // With the mapping known, a file of the same name elsewhere is another file.
    let mapped = path_matcher(&backend, &[("rewrite", "/stash/=>/data/")]);
    let dune = match_one(
        &mapped,
        &backend,
        "/stash/movies-4k/Dune (2021)/Dune (2021).mkv",
        &all_sections(&backend),
    );
    assert_eq!(
        (dune.outcome, dune.item.map(|i| i.rating_key)),
        (Outcome::High, Some("301".into()))
    );
    // A value not of its declared kind is refused when the plugin loads (contract 0.2).
    let bad = Plugin::load(
        "path-matcher",
        plexmatch_engine::PATH_MATCHER_PLUGIN,
        vec![("rewrite.2".into(), "no arrow".into())],
        Limits::default(),
        backend.clone(),
    );
    let err = format!("{:#}", bad.err().expect("refused"));
    assert!(
        err.contains("rewrite.2") && err.contains("FROM=>TO"),
        "{err}"
    );
    assert_eq!(
        match_one(&mapped, &backend, HOLIDAY_2020, &movies).outcome,
        Outcome::High
    );
}

#[test]
fn a_chain_takes_the_first_high_and_carries_low_candidates() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let sections = all_sections(&backend);
    let default = default_plugin(&backend);
    // Only path-matcher knows this mapping: the default sees nothing but the file name.
    let path = path_matcher(&backend, &[("rewrite", "/stash/x/=>/data/movies/2019/")]);

    let mut chain = Chain::new(&[default.clone(), path.clone()], &backend);
    let m = chain.match_path("/stash/x/holiday.mp4", &sections);
    assert_eq!(
        (m.outcome, m.plugin.as_str(), m.item.map(|i| i.rating_key)),
        (Outcome::High, "path-matcher", Some("108".into())),
        "default said LOW, path-matcher decided"
    );

    let m = chain.match_path("/x/Inception (2010) - 1080p.mkv", &sections);
    assert_eq!(
        (m.outcome, m.plugin.as_str()),
        (Outcome::High, "default"),
        "the first HIGH wins; the rest never run"
    );

    let m = chain.match_path("/elsewhere/holiday.mp4", &sections);
    assert_eq!(m.outcome, Outcome::Low);
    assert_eq!(m.plugin, "default → path-matcher", "both said LOW");
    assert_eq!(
        m.candidates.len(),
        2,
        "candidates carried forward, deduplicated"
    );

    let m = chain.match_path("/x/nothing at all.mkv", &sections);
    assert_eq!(
        (m.outcome, m.plugin.as_str()),
        (Outcome::NotFound, "default → path-matcher")
    );
}

#[test]
fn compiled_plugins_are_cached_and_a_damaged_artifact_is_rebuilt() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let load = || {
        Plugin::load(
            "path-matcher",
            plexmatch_engine::PATH_MATCHER_PLUGIN,
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )
        .unwrap()
    };
    let first = load();
    let artifact = artifact_path(
        plexmatch_engine::runtime::engine(),
        &fx.data_dir().join("plugins"),
        &plexmatch_engine::runtime::compile_cache::digest(plexmatch_engine::PATH_MATCHER_PLUGIN),
    );
    assert!(artifact.is_file(), "{} written", artifact.display());
    drop(first);
    let second = load();
    assert!(
        matches!(second.readiness(), Readiness::Cached(_)),
        "{:?}",
        second.readiness()
    );
    assert_eq!(
        match_one(
            &Arc::new(second),
            &backend,
            HOLIDAY_2020,
            &sections(&backend, &[1])
        )
        .outcome,
        Outcome::High
    );

    std::fs::write(&artifact, b"not a compiled component").unwrap();
    let third = load();
    assert!(
        matches!(third.readiness(), Readiness::Compiled(_)),
        "a damaged artifact is compiled again"
    );
    assert!(
        std::fs::read(&artifact).unwrap().len() > 1000,
        "and replaced"
    );
}

fn plexmatch_cmd(args: &[&str]) -> (Option<i32>, String, String) {
    plexmatch_in(args, tempfile::tempdir().unwrap().path())
}

/// plexmatch from the repository root with `data` as its data dir.
fn plexmatch_in(args: &[&str], data: &std::path::Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_plexmatch"))
        .args(args)
        .current_dir(repo_root())
        .env("PLEXMATCH_DATA_DIR", data)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plugin_test_runs_a_cases_file_against_a_library_without_plex() {
    let args = [
        "plugin",
        "test",
        "path-matcher",
        "--library",
        "host/emulator/libraries/sample.toml",
        "--cases",
        "tests/plugins/cases/path-matcher.toml",
        "--setting",
        "rewrite=/stash/=>/data/",
    ];
    let (code, stdout, stderr) = plexmatch_cmd(&args);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("6 case(s): 6 passed, 0 failed"), "{stdout}");

    // With a rewrite to where nothing is, only exact mapped paths count: cases fail.
    let mut wrong = args;
    wrong[8] = "rewrite=/stash/=>/nowhere/";
    let (code, stdout, _) = plexmatch_cmd(&wrong);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("FAIL    high 109"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("bad.toml");
    std::fs::write(&cases, "[[case]]\npath = \"/a.mkv\"\nexpect = \"maybe\"\n").unwrap();
    let (code, _, stderr) = plexmatch_cmd(&[
        "plugin",
        "test",
        "default",
        "--library",
        "host/emulator/libraries/sample.toml",
        "--cases",
        cases.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("expect must be one of high, low, not-found, error, crash, not \"maybe\""),
        "{stderr}"
    );
}

#[test]
fn plugin_test_tells_a_crash_from_an_error_and_shows_a_failing_case_s_log() {
    let wasm = support::hostile_wasm();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        "[[case]]\npath = \"/m/panic.mkv\"\nexpect = \"crash\"\n\
         [[case]]\npath = \"/m/readfile.mkv\"\nexpect = \"error\"\n\
         [[case]]\npath = \"/m/panic.mkv\"\nexpect = \"error\"\n\
         [[case]]\npath = \"/m/readfile.mkv\"\nexpect = \"crash\"\n\
         [[case]]\npath = \"/m/ctrl.mkv\"\nexpect = \"high\"\nrating_key = \"101\"\n",
    )
    .unwrap();
    // No --library: the bundled sample library.
    let (code, stdout, stderr) = plexmatch_cmd(&[
        "plugin",
        "test",
        wasm.to_str().unwrap(),
        "--cases",
        cases.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let row = |n: usize| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{n:<4}  ")))
            .unwrap_or_else(|| panic!("case {n} missing: {stdout}"))
            .to_string()
    };
    assert!(
        row(1).contains("pass") && row(2).contains("pass"),
        "{stdout}"
    );
    assert!(
        row(3).contains("FAIL") && row(3).contains("crash"),
        "{stdout}"
    );
    assert!(
        row(4).contains("FAIL") && row(4).contains("error"),
        "{stdout}"
    );
    assert!(row(5).contains("FAIL"), "{stdout}");
    // The failing case's own log line, escaped, under its row.
    assert!(stdout.contains("log warn: forged\\n"), "{stdout}");
    assert!(stdout.contains("5 case(s): 2 passed, 3 failed"), "{stdout}");
    // Columns line up: every row's PATH starts in the same column.
    let at: Vec<usize> = lines
        .iter()
        .filter(|l| {
            (l.starts_with(|c: char| c.is_ascii_digit()) && !l.contains("case(s)"))
                || l.starts_with("CASE")
        })
        .map(|l| l.find("/m/").or_else(|| l.find("PATH")).unwrap())
        .collect();
    assert!(at.windows(2).all(|w| w[0] == w[1]), "{stdout}");
}

#[test]
fn plugin_inspect_says_what_a_file_is_and_whether_it_runs_here() {
    let (code, stdout, _) = plexmatch_cmd(&["plugin", "inspect", "--json", "path-matcher"]);
    assert_eq!(code, Some(0), "{stdout}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["name"], "path-matcher");
    assert_eq!(v["contract"], "0.2.1");
    assert_eq!(v["compatible"], true);
    assert!(
        v["imports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == "plexmatch:plugin/plex@0.2.1")
    );
    assert!(v["size_bytes"].as_u64().unwrap() > 10_000);

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.wasm");
    std::fs::write(&broken, &plexmatch_engine::PATH_MATCHER_PLUGIN[..5000]).unwrap();
    let (code, stdout, _) = plexmatch_cmd(&["plugin", "inspect", broken.to_str().unwrap()]);
    assert_eq!(
        code,
        Some(2),
        "an unusable plugin file, as the README says: {stdout}"
    );
    assert!(
        stdout.contains("compatible:  no") && stdout.contains("broken.wasm"),
        "{stdout}"
    );
}

#[test]
fn plugin_compile_fills_the_cache_that_inspect_and_test_then_use() {
    let wasm = support::hostile_wasm().to_str().unwrap().to_owned();
    let data = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let (code, stdout, _) = plexmatch_in(args, data.path());
        (code, stdout)
    };
    let (code, first) = run(&["plugin", "compile", &wasm]);
    assert_eq!(code, Some(0), "{first}");
    assert!(first.contains("compiled in"), "{first}");
    let (_, again) = run(&["plugin", "compile", &wasm]);
    assert!(again.contains("already compiled"), "{again}");
    // inspect and test start from the user's compiled-plugin cache, not a scratch one.
    let (code, inspected) = run(&["plugin", "inspect", &wasm]);
    assert_eq!(code, Some(0), "{inspected}");
    assert!(
        inspected.contains("start:       loaded compiled"),
        "{inspected}"
    );
    let (code, bad) = run(&["plugin", "compile", "/nonexistent/x.wasm"]);
    assert_eq!(code, Some(2), "{bad}");
}

#[test]
fn a_plugin_importing_wasi_http_loads_matches_and_is_refused_the_network() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let wasm = std::fs::read(support::httpish_wasm()).unwrap();
    let plugin = Arc::new(
        Plugin::load(
            "httpish",
            &wasm,
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )
        .expect("a component importing wasi:http loads"),
    );
    let sections = all_sections(&backend);
    let m = match_one(
        &plugin,
        &backend,
        "/m/Inception (2010) - 1080p.mkv",
        &sections,
    );
    assert_eq!(m.outcome, Outcome::High, "{m:?}");
    let refused = match_one(&plugin, &backend, "/m/http.mkv", &sections);
    match &refused.error {
        Some(plexmatch_engine::matching::Failure::Crash(msg)) => {
            assert!(msg.contains("wasi:http"), "{msg}")
        }
        other => panic!("the request was not refused: {other:?}"),
    }
    // The instance after the refusal matches again.
    let again = match_one(
        &plugin,
        &backend,
        "/m/Inception (2010) - 1080p.mkv",
        &sections,
    );
    assert_eq!(again.outcome, Outcome::High);
}

#[test]
fn the_host_s_build_settings_do_not_reach_the_plugins_build() {
    // The built-in plugins' bytes, and so their digests and every user's match-cache
    // entries, must not depend on how the host was built.
    for name in [
        "CARGO_PROFILE_RELEASE_DEBUG",
        "CARGO_PROFILE_RELEASE_STRIP",
        "CARGO_PROFILE_RELEASE_LTO",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
    ] {
        assert!(support::shapes_the_build(name), "{name} must not reach it");
    }
    for name in [
        "CARGO_HOME",
        "CARGO_NET_OFFLINE",
        "CARGO_BUILD_RUSTC",
        "RUSTC",
        "PATH",
    ] {
        assert!(!support::shapes_the_build(name), "{name} must reach it");
    }
}
