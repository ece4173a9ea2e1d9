//! Plugins cannot hurt the Plex server, the shared cache or the terminal (issue 15): the
//! hostile test plugin tries each way, and the emulator's counters, the match cache and the
//! real binary's output say what reached where.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use plexmatch_emulator::Fault;
use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::batch::{self, BatchOptions};
use plexmatch_engine::matching::{Failure, Outcome, PathMatch};
use plexmatch_engine::runtime::{Limits, Plugin};
use support::*;

fn hostile_with(
    backend: &Arc<plexmatch_engine::backend::Backend>,
    limits: Limits,
    settings: Vec<(String, String)>,
) -> Arc<Plugin> {
    let wasm = std::fs::read(hostile_wasm()).unwrap();
    Arc::new(Plugin::load("hostile", &wasm, settings, limits, backend.clone()).unwrap())
}

fn plugin_error(m: &PathMatch) -> String {
    match &m.error {
        Some(Failure::Plugin(msg) | Failure::Crash(msg)) => msg.clone(),
        other => panic!("expected a plugin error, got {other:?} in {m:?}"),
    }
}

#[test]
fn a_flood_of_fetches_reaches_the_server_at_most_the_budget() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(&backend, Limits::default());
    let movies = sections(&backend, &[1]);
    let before = fx.emulator.requests();
    let m = match_one(&plugin, &backend, "/x/fetchflood.mkv", &movies);
    let sent = fx.emulator.requests() - before;
    assert!(
        sent <= u64::from(Limits::default().requests_per_call),
        "{sent} requests"
    );
    let msg = plugin_error(&m);
    assert!(msg.contains("budget of 40 Plex requests"), "{msg}");
    assert_eq!(m.outcome, Outcome::Error);
}

#[test]
fn identical_searches_reach_the_server_once() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(&backend, Limits::default());
    let movies = sections(&backend, &[1]);
    let m = match_one(&plugin, &backend, "/x/searchflood.mkv", &movies);
    assert_eq!(m.outcome, Outcome::NotFound, "{m:?}");
    assert_eq!(fx.emulator.requests_to("search"), 1);
}

#[test]
fn the_run_budget_caps_every_plugin_together() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    backend.gateway.set_run_request_budget(25);
    let plugin = hostile_plugin(&backend, Limits::default());
    let movies = sections(&backend, &[1]);
    let before = fx.emulator.requests();
    let m = match_one(&plugin, &backend, "/x/fetchflood.mkv", &movies);
    assert!(
        plugin_error(&m).contains("this run's budget of 25"),
        "{m:?}"
    );
    assert!(fx.emulator.requests() - before <= 25);
}

/// The default plugin's answer for `path` in section 1 on a clean data dir.
fn clean_answer(path: &str) -> (Outcome, Vec<String>) {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let m = match_one(
        &default_plugin(&backend),
        &backend,
        path,
        &sections(&backend, &[1]),
    );
    (
        m.outcome,
        m.candidates.into_iter().map(|c| c.rating_key).collect(),
    )
}

#[test]
fn one_plugins_decisions_never_change_another_plugins_answer() {
    let path = "/data/movies/2019/holiday.mp4";
    let clean = clean_answer(path);
    // With and without a fresh snapshot at hand when the default plugin runs.
    for ttl in [Duration::ZERO, Duration::from_secs(3600)] {
        let fx = Fixture::sample();
        let policy = CachePolicy {
            library_ttl: ttl,
            ..CachePolicy::default()
        };
        let backend = fx.backend(policy);
        let movies = sections(&backend, &[1]);
        let hostile = hostile_plugin(&backend, Limits::default());
        let m = match_one(&hostile, &backend, path, &movies);
        assert_eq!(m.item.as_ref().map(|i| i.rating_key.as_str()), Some("109"));
        assert!(
            backend.decisions.matches.has_any(1, path).unwrap(),
            "it did write"
        );
        drop(hostile);
        let later = fx.backend(policy);
        let m = match_one(&default_plugin(&later), &later, path, &movies);
        assert_eq!(
            (
                m.outcome,
                m.candidates
                    .iter()
                    .map(|c| c.rating_key.clone())
                    .collect::<Vec<_>>()
            ),
            clean,
            "ttl {ttl:?}: {m:?}"
        );
    }
}

#[test]
fn a_plugin_writes_only_for_the_section_it_was_asked_about() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(&backend, Limits::default());
    let m = match_one(
        &plugin,
        &backend,
        "/x/othersection.mkv",
        &sections(&backend, &[1]),
    );
    assert_eq!(m.outcome, Outcome::NotFound, "the host refused it: {m:?}");
    assert!(
        !backend
            .decisions
            .matches
            .has_any(2, "/x/othersection.mkv")
            .unwrap()
    );
}

#[test]
fn cache_invalidate_plugin_forgets_one_plugins_decisions() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    let hostile = hostile_plugin(&backend, Limits::default());
    match_one(&hostile, &backend, "/data/movies/2019/holiday.mp4", &movies);
    match_one(
        &default_plugin(&backend),
        &backend,
        "/x/Inception (2010) - 1080p.mkv",
        &movies,
    );
    drop(hostile);
    drop(backend);
    let out = plexmatch(&fx, &["cache", "invalidate", "--plugin", "hostile"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("forgot 1 match(es) decided by plugin \"hostile\""),
        "{out:?}"
    );
    let backend = fx.backend(CachePolicy::default());
    assert!(
        !backend
            .decisions
            .matches
            .has_any(1, "/data/movies/2019/holiday.mp4")
            .unwrap()
    );
    assert!(
        backend
            .decisions
            .matches
            .has_any(1, "/x/Inception (2010) - 1080p.mkv")
            .unwrap()
    );
}

#[test]
fn time_in_slow_host_calls_is_not_cpu_but_the_wall_clock_limit_stops_the_call() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    fx.emulator
        .inject_on("search", Fault::Delay(Duration::from_millis(150)), 1000);
    let limits = Limits {
        cpu_deadline: Duration::from_millis(100),
        wall_limit: Duration::from_millis(1200),
        requests_per_call: 1000,
        ..Limits::default()
    };
    let plugin = hostile_plugin(&backend, limits);
    let started = Instant::now();
    let m = match_one(
        &plugin,
        &backend,
        "/x/slowcalls.mkv",
        &sections(&backend, &[1]),
    );
    let msg = plugin_error(&m);
    assert!(msg.contains("wall-clock limit of 1.2s"), "{msg}");
    assert!(
        fx.emulator.requests_to("search") >= 7,
        "it waited well past its CPU deadline first: {} searches",
        fx.emulator.requests_to("search")
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    fx.emulator.clear_faults();
}

#[test]
fn more_workers_than_cores_never_kill_a_plugin_within_its_cpu_deadline() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    let settings = vec![("burn".to_owned(), "150000000".to_owned())];
    // How long the work takes alone (about its CPU time), to set a deadline it fits in
    // alone but not in wall-clock time when 4 workers share each core.
    let alone = hostile_with(&backend, Limits::default(), settings.clone());
    let started = Instant::now();
    let m = match_one(&alone, &backend, "/x/burn.mkv", &movies);
    assert_eq!(m.outcome, Outcome::NotFound, "{m:?}");
    let cpu = started.elapsed();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let workers = 4 * cores;
    let limits = Limits {
        cpu_deadline: cpu * 5 / 2,
        ..Limits::default()
    };
    let plugin = hostile_with(&backend, limits, settings);
    let mut answers = Vec::new();
    let started = Instant::now();
    batch::run(
        &[plugin],
        &backend,
        &movies,
        (0..workers).map(|_| "/x/burn.mkv".to_owned()),
        BatchOptions {
            workers,
            window: 1024,
            explain: false,
            mapping: None,
        },
        |a| answers.push(a.result),
    );
    let wall = started.elapsed();
    assert_eq!(answers.len(), workers);
    for a in &answers {
        assert_eq!(
            a.outcome,
            Outcome::NotFound,
            "CPU {cpu:?}, batch wall {wall:?}: {a:?}"
        );
    }
}

#[test]
fn malformed_answers_are_plugin_errors() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(&backend, Limits::default());
    let movies = sections(&backend, &[1]);
    for (path, says) in [
        ("/x/highnochosen.mkv", "HIGH without a chosen item"),
        ("/x/highextra.mkv", "listed other candidates"),
        ("/x/lowone.mkv", "LOW with 1 candidate(s)"),
        ("/x/ctrl.mkv", "refused the path"),
    ] {
        let m = match_one(&plugin, &backend, path, &movies);
        let msg = plugin_error(&m);
        assert!(msg.contains(says), "{path}: {msg}");
        assert!(!msg.chars().any(char::is_control), "{msg:?}");
    }
    let mut cmd = plexmatch(&fx, &["match", "--plugin"]);
    cmd.arg(hostile_wasm()).arg("/x/highnochosen.mkv");
    assert_eq!(cmd.output().unwrap().status.code(), Some(4));
}

#[test]
fn plugin_text_is_escaped_everywhere_and_its_log_is_capped() {
    let fx = Fixture::sample();
    let name = "evil\u{1b}[2J\nname";
    // The table: one line per answer, nothing raw.
    let mut cmd = plexmatch(&fx, &["match", "-v", "--section", "1", "--plugin"]);
    cmd.arg(hostile_wasm())
        .args(["--setting", &format!("name={name}")])
        .args(["/x/ctrl.mkv", "/x/Inception (2010) - 1080p.mkv"]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The header, two rows and the error's own line under its row.
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(
            !text.contains('\u{1b}') && !text.contains('\r') && !text.contains('\u{7}'),
            "{text:?}"
        );
    }
    assert!(
        !stderr.lines().any(|l| l.starts_with("2026-01-01")),
        "no forged log line: {stderr}"
    );
    assert!(stderr.contains("forged\\n2026-01-01"), "{stderr}");
    assert!(stdout.contains("evil\\u{1b"), "{stdout}");

    // A million log lines from one call: at most the cap, then one line saying so. (A
    // million calls into the host take seconds of CPU in a debug build: a deadline to fit.)
    let mut cmd = plexmatch(
        &fx,
        &[
            "match",
            "-vv",
            "--section",
            "1",
            "--cpu-deadline-ms",
            "120000",
            "--wall-limit-ms",
            "240000",
            "--plugin",
        ],
    );
    cmd.arg(hostile_wasm()).arg("/x/logflood.mkv");
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let flood = stderr.lines().filter(|l| l.contains("flood line")).count();
    assert_eq!(flood, 1000, "{}", stderr.len());
    assert!(
        stderr.contains("999000 more log line(s) of this call dropped"),
        "{}",
        &stderr[stderr.len().saturating_sub(500)..]
    );
    // Without -v, none of a plugin's lines, whatever their level.
    let mut cmd = plexmatch(&fx, &["match", "--section", "1", "--plugin"]);
    cmd.arg(hostile_wasm()).arg("/x/logflood.mkv");
    let out = cmd.output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("flood line"));
}

#[test]
fn workers_are_cut_back_to_the_memory_budget() {
    let fx = Fixture::sample();
    let mut cmd = plexmatch(
        &fx,
        &[
            "match",
            "--section",
            "1",
            "--workers",
            "8",
            "--memory-mib",
            "128",
            "--memory-total-mib",
            "300",
        ],
    );
    cmd.arg("/x/Inception (2010) - 1080p.mkv")
        .env("RUST_LOG", "warn");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("running 2, which fit in 300 MiB"),
        "{out:?}"
    );
    let mut cmd = plexmatch(
        &fx,
        &["match", "--memory-mib", "512", "--memory-total-mib", "300"],
    );
    cmd.arg("/x/Inception (2010) - 1080p.mkv");
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}
