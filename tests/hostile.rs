//! A plugin that misbehaves on purpose, in the real sandbox: each misdeed becomes an
//! error for its own path, and the next path is matched by a fresh instance.

mod support;

use std::time::{Duration, Instant};

use plexmatch::backend::CachePolicy;
use plexmatch::matching::{Failure, Matcher, Outcome};
use plexmatch::runtime::Limits;
use support::*;

const GOOD: &str = "/stash/movies/Arrival (2016) - 2160p.mkv";

fn limits() -> Limits {
    Limits {
        cpu_deadline: Duration::from_millis(300),
        memory_bytes: 64 << 20,
    }
}

fn plugin_error(m: &plexmatch::matching::PathMatch) -> String {
    match &m.error {
        Some(Failure::Plugin(msg)) => msg.clone(),
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
    assert_eq!(backend.matches.get(1, "/x/lie.mkv").unwrap(), None);

    let poison = match_one(&plugin, &backend, "/x/poison.mkv", &movies);
    assert!(
        matches!(&poison.error, Some(Failure::Input(m)) if m.contains("host refused")),
        "{poison:?}"
    );
    assert_eq!(backend.matches.get(1, "/x/poison.mkv").unwrap(), None);
}

#[test]
fn time_waiting_on_the_host_is_not_charged_to_the_plugin() {
    // Listing 20,000 items takes far longer than the plugin's 100 ms CPU deadline,
    // but the plugin is only waiting on the host.
    let fx = Fixture::with(&plexmatch_emulator::generate(20_000, 3));
    let backend = fx.backend(CachePolicy::default());
    let plugin = hostile_plugin(
        &backend,
        Limits {
            cpu_deadline: Duration::from_millis(100),
            memory_bytes: 128 << 20,
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
