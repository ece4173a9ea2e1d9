//! A plugin that misbehaves on purpose, in the real sandbox: each misdeed becomes an
//! error for its own path, and the next path is matched by a fresh instance.

mod support;

use std::time::{Duration, Instant};

use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::matching::{Failure, Matcher, Outcome};
use plexmatch_engine::runtime::Limits;
use support::*;

const GOOD: &str = "/stash/movies/Arrival (2016) - 2160p.mkv";

fn limits() -> Limits {
    Limits {
        cpu_deadline: Duration::from_millis(300),
        memory_bytes: 64 << 20,
        ..Limits::default()
    }
}

fn plugin_error(m: &plexmatch_engine::matching::PathMatch) -> String {
    match &m.error {
        Some(Failure::Plugin(msg) | Failure::Crash(msg)) => msg.clone(),
        other => panic!(
            "expected a plugin failure for {}, got {other:?} ({:?})",
            m.path, m.outcome
        ),
    }
}

#[test]
fn misbehaviour_is_an_error_for_one_path_and_the_next_path_matches() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(&backend, limits());
    let sections = sections(&backend, &[3]);
    let mut matcher = Matcher::new(plugin, backend.clone());
    assert_eq!(matcher.match_path(GOOD, &sections).outcome, Outcome::High);

    let started = Instant::now();
    let spin = matcher.match_path("/x/spin.mkv", &sections);
    let msg = plugin_error(&spin);
    assert!(
        msg.contains("\"hostile\"") && msg.contains("CPU deadline"),
        "{msg}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the deadline stopped the loop"
    );
    assert_eq!(matcher.match_path(GOOD, &sections).outcome, Outcome::High);

    let alloc = matcher.match_path("/x/alloc.mkv", &sections);
    let msg = plugin_error(&alloc);
    assert!(
        msg.contains("\"hostile\"") && msg.contains("out of memory") && msg.contains("64 MiB"),
        "{msg}"
    );
    assert_eq!(matcher.match_path(GOOD, &sections).outcome, Outcome::High);

    let panic = matcher.match_path("/x/panic.mkv", &sections);
    let msg = plugin_error(&panic);
    assert!(
        msg.contains("\"hostile\"") && msg.contains("crashed") && msg.contains("panics on purpose"),
        "{msg}"
    );
    // The panic's two lines stay two lines, escaped (a Python traceback likewise).
    assert!(
        msg.contains(":\\nhostile plugin panics on purpose") && !msg.contains('\n'),
        "{msg}"
    );
    assert_eq!(matcher.match_path(GOOD, &sections).outcome, Outcome::High);

    // Output on stderr is captured into the log, and the call still answers.
    assert_eq!(
        matcher.match_path("/x/stderr.mkv", &sections).outcome,
        Outcome::NotFound
    );
}

#[test]
fn plugin_claims_are_checked_before_anything_is_cached() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(&backend, limits());
    let movies = sections(&backend, &[1]);
    let lie = match_one(&plugin, &backend, "/x/lie.mkv", &movies);
    let msg = plugin_error(&lie);
    assert!(
        msg.contains("item 101") && msg.contains("no file named"),
        "{msg}"
    );
    assert!(!backend.decisions.matches.has_any(1, "/x/lie.mkv").unwrap());

    let poison = match_one(&plugin, &backend, "/x/poison.mkv", &movies);
    assert!(
        matches!(&poison.error, Some(Failure::Plugin(m)) if m.contains("host refused")),
        "{poison:?}"
    );
    assert!(
        !backend
            .decisions
            .matches
            .has_any(1, "/x/poison.mkv")
            .unwrap()
    );
}

#[test]
fn time_waiting_on_the_host_is_not_charged_to_the_plugin() {
    // Listing 20,000 items takes far longer than the plugin's 100 ms CPU deadline,
    // but the plugin is only waiting on the host.
    let fx = Fixture::with(&plexmatch_emulator::generate(20_000, 3));
    let backend = fx.backend(listing());
    let plugin = hostile_plugin(
        &backend,
        Limits {
            cpu_deadline: Duration::from_millis(100),
            memory_bytes: 128 << 20,
            ..Limits::default()
        },
    );
    let movies = sections(&backend, &[1]);
    let started = Instant::now();
    let m = match_one(&plugin, &backend, "/nothing/here.mkv", &movies);
    assert_eq!(m.outcome, Outcome::NotFound, "{m:?}");
    assert!(
        started.elapsed() > Duration::from_millis(100),
        "the refresh took longer than the deadline ({:?})",
        started.elapsed()
    );
}

#[test]
fn oversized_answers_recursion_and_sandbox_escapes_fail_alone() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(
        &backend,
        Limits {
            cpu_deadline: Duration::from_secs(3),
            memory_bytes: 128 << 20,
            ..Limits::default()
        },
    );
    let movies = sections(&backend, &[3]);
    let mut matcher = Matcher::new(plugin, backend.clone());
    let good = |m: &mut Matcher| {
        assert_eq!(
            m.match_path(GOOD, &movies).outcome,
            Outcome::High,
            "the next path matches"
        )
    };

    let huge = plugin_error(&matcher.match_path("/x/huge.mkv", &movies));
    assert!(
        huge.contains("\"hostile\"")
            && huge.contains("200000 candidates")
            && huge.contains("limit is 1000"),
        "{huge}"
    );
    good(&mut matcher);

    let big = plugin_error(&matcher.match_path("/x/bigstring.mkv", &movies));
    assert!(
        big.contains("\"hostile\"")
            && big.contains("an item of 3355")
            && big.contains("limit is 1048576"),
        "{big}"
    );
    good(&mut matcher);

    let deep = plugin_error(&matcher.match_path("/x/recurse.mkv", &movies));
    assert!(
        deep.contains("\"hostile\" crashed")
            && (deep.contains("call stack exhausted") || deep.contains("stack overflow")),
        "{deep}"
    );
    good(&mut matcher);

    // The plugin reports what happened as a refusal of the path: a plugin error.
    let said = |m: &plexmatch_engine::matching::PathMatch| match &m.error {
        Some(Failure::Plugin(msg)) => msg
            .split_once("refused the path: ")
            .map(|(_, said)| said.to_owned())
            .unwrap_or_else(|| msg.clone()),
        other => panic!("{other:?}"),
    };
    let read = said(&matcher.match_path("/x/readfile.mkv", &movies));
    assert!(read.starts_with("read denied"), "no filesystem: {read}");
    let socket = said(&matcher.match_path("/x/socket.mkv", &movies));
    assert!(socket.starts_with("socket denied"), "no network: {socket}");
    let env = said(&matcher.match_path("/x/env.mkv", &movies));
    assert_eq!(env, "env: 0 variables, PLEX_TOKEN absent", "no environment");
    good(&mut matcher);
}

/// The hostile plugin with its contract version rewritten in place (same length), as a
/// plugin built for another version of the contract would declare it.
fn with_contract_version(wasm: &[u8], version: &[u8; 5]) -> Vec<u8> {
    let mut out = wasm.to_vec();
    let needle = b"plexmatch:plugin/";
    let mut i = 0;
    while let Some(at) = out[i..].windows(needle.len()).position(|w| w == needle) {
        let start = i + at + needle.len();
        if let Some(v) = out[start..].iter().take(40).position(|b| *b == b'@') {
            let v = start + v + 1;
            if out[v..].starts_with(b"0.2.1") {
                out[v..v + 5].copy_from_slice(version);
            }
        }
        i = start;
    }
    out
}

#[test]
fn broken_files_and_other_contract_versions_are_refused_before_running() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let wasm = std::fs::read(hostile_wasm()).unwrap();
    let load = |name: &str, bytes: &[u8]| match plexmatch_engine::runtime::Plugin::load(
        name,
        bytes,
        Vec::new(),
        limits(),
        backend.clone(),
    ) {
        Ok(_) => panic!("{name} loaded"),
        Err(e) => format!("{e:#}"),
    };

    let truncated = load("truncated.wasm", &wasm[..wasm.len() / 2]);
    assert!(
        truncated.contains("truncated.wasm")
            && truncated.contains("not a valid WebAssembly component"),
        "{truncated}"
    );

    let core = load("core.wasm", b"\0asm\x01\0\0\0");
    assert!(
        core.contains("core.wasm") && core.contains("core WebAssembly module, not a component"),
        "{core}"
    );

    let text = load("notes.txt", b"these are not the bytes you are looking for");
    assert!(
        text.contains("notes.txt") && text.contains("not a WebAssembly file"),
        "{text}"
    );

    let future = load("future.wasm", &with_contract_version(&wasm, b"0.9.0"));
    assert!(
        future.contains("future.wasm")
            && future.contains("plexmatch:plugin@0.9.0")
            && future.contains(">=0.1.0, <=0.1.0 or >=0.2.0, <=0.2.1"),
        "{future}"
    );
    let newer = load("newer.wasm", &with_contract_version(&wasm, b"0.2.7"));
    assert!(
        newer.contains("@0.2.7") && newer.contains("upgrade plexmatch"),
        "{newer}"
    );

    // And the host goes on: the real plugin still loads and matches.
    let plugin = hostile_plugin(&backend, limits());
    assert_eq!(
        match_one(&plugin, &backend, GOOD, &sections(&backend, &[3])).outcome,
        Outcome::High
    );
}
