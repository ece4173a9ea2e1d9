//! The default plugin in the real host against the emulator: outcomes, caches, merges
//! and failures, with Plex requests counted on the emulator.

mod support;

use std::time::Duration;

use plexmatch_emulator::{FileSpec, LibraryFile};
use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::matching::{Failure, Outcome};
use support::*;

const INCEPTION: &str = "/stash/movies/Inception (2010)/Inception (2010) - 1080p.mkv";

/// Matches Inception with a fresh default plugin (which caches the match) and checks it.
fn match_inception(
    backend: &std::sync::Arc<plexmatch_engine::backend::Backend>,
    sections: &[plexmatch_engine::plex::Section],
) {
    let m = match_one(&default_plugin(backend), backend, INCEPTION, sections);
    assert_eq!(key(&m), Some("101"), "{m:?}");
}

fn key(m: &plexmatch_engine::matching::PathMatch) -> Option<&str> {
    m.item.as_ref().map(|i| i.rating_key.as_str())
}

#[test]
fn high_low_and_not_found() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = default_plugin(&backend);
    let sections = all_sections(&backend);
    let cases = [
        (INCEPTION, Outcome::High, Some("101")),
        (
            "/stash/movies/the matrix (1999)/THE MATRIX (1999).MKV",
            Outcome::High,
            Some("102"),
        ),
        (
            "/stash/movies/Adventure Time Machine (2019) - WEBDL-2160p.mkv",
            Outcome::High,
            Some("103"),
        ),
        (
            "/stash/scenes/Northlight/Harbor Lights - 2024-01-15/Harbor Lights - 2024-01-15.mp4",
            Outcome::High,
            Some("104"),
        ),
        (
            "/stash/movies/Blade Runner (1982) - Final Cut.mkv",
            Outcome::High,
            Some("107"),
        ),
        ("/stash/home/holiday.mp4", Outcome::Low, None),
        (
            "/stash/movies/Unknown Film (1999).mkv",
            Outcome::NotFound,
            None,
        ),
    ];
    let mut matcher = plexmatch_engine::matching::Matcher::new(plugin, backend.clone());
    for (path, outcome, rating_key) in cases {
        let m = matcher.match_path(path, &sections);
        assert_eq!(m.outcome, outcome, "{path}: {m:?}");
        assert_eq!(key(&m), rating_key, "{path}");
    }
    let low = matcher.match_path("/stash/home/holiday.mp4", &sections);
    let mut keys: Vec<_> = low
        .candidates
        .iter()
        .map(|c| c.rating_key.as_str())
        .collect();
    keys.sort();
    assert_eq!(keys, ["108", "109"]);
}

#[test]
fn episodes_windows_paths_and_unicode_forms_match() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = default_plugin(&backend);
    let sections = all_sections(&backend);
    let episode = match_one(
        &plugin,
        &backend,
        "/x/Northern Lights - S01E02 - The Long Night.mkv",
        &sections,
    );
    assert_eq!(key(&episode), Some("202"), "{episode:?}");
    assert_eq!(episode.item.as_ref().unwrap().section, "TV Shows");
    // NFD on our side, NFC in a Windows path on the Plex side (W13, W15).
    let nfd = match_one(
        &plugin,
        &backend,
        "/stash/movies/Ame\u{301}lie (2001).mkv",
        &sections,
    );
    assert_eq!(key(&nfd), Some("110"), "{nfd:?}");
    let upper = match_one(&plugin, &backend, "/stash/AMÉLIE (2001).MKV", &sections);
    assert_eq!(key(&upper), Some("110"), "{upper:?}");
}

#[test]
fn sections_are_merged_by_rating_key() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let plugin = default_plugin(&backend);
    let both = match_one(
        &plugin,
        &backend,
        "/stash/movies/Dune (2021).mkv",
        &sections(&backend, &[1, 3]),
    );
    assert_eq!(both.outcome, Outcome::Low);
    let mut found: Vec<_> = both
        .candidates
        .iter()
        .map(|c| (c.rating_key.as_str(), c.section.as_str()))
        .collect();
    found.sort();
    assert_eq!(found, [("106", "Movies"), ("301", "Movies 4K")]);
    let one = match_one(
        &plugin,
        &backend,
        "/stash/movies/Dune (2021).mkv",
        &sections(&backend, &[3]),
    );
    assert_eq!((one.outcome, key(&one)), (Outcome::High, Some("301")));
    // Asking the same section twice does not turn one item into two.
    let twice = match_one(&plugin, &backend, INCEPTION, &sections(&backend, &[1, 1]));
    assert_eq!((twice.outcome, twice.candidates.len()), (Outcome::High, 1));
}

#[test]
fn warm_match_cache_costs_no_plex_request() {
    let fx = Fixture::sample();
    let cold = fx.backend(CachePolicy::default());
    let plugin = default_plugin(&cold);
    let sections = all_sections(&cold);
    let m = match_one(&plugin, &cold, INCEPTION, &sections);
    assert_eq!(key(&m), Some("101"));
    // A miss elsewhere lists every section, so the next run has fresh snapshots.
    assert_eq!(
        match_one(&plugin, &cold, "/x/missing.mkv", &sections).outcome,
        Outcome::NotFound
    );
    cold.flush();
    let cold_requests = fx.emulator.requests();
    assert!(cold_requests > 0);

    // A new backend on the same data dir: what the next run of plexmatch sees.
    let warm = fx.backend(CachePolicy::default());
    let plugin = default_plugin(&warm);
    let sections = all_sections(&warm);
    let m = match_one(&plugin, &warm, INCEPTION, &sections);
    assert_eq!(key(&m), Some("101"));
    assert_eq!(
        fx.emulator.requests(),
        cold_requests,
        "a warm match must not ask Plex anything"
    );
    let hits = warm.decisions.matches.stats.session()["match"];
    assert_eq!(
        hits.hits, 1,
        "the match cache answered for section Movies: {hits:?}"
    );
}

#[test]
fn cached_match_without_a_snapshot_costs_one_fetch() {
    let fx = Fixture::sample();
    let cold = fx.backend(CachePolicy::default());
    let movies = sections(&cold, &[1]);
    match_inception(&cold, &movies);
    cold.snapshots.library.clear(Some(1)).unwrap(); // no snapshot of Movies any more
    let (before, metadata_before) = (fx.emulator.requests(), fx.emulator.requests_to("metadata"));
    let warm = fx.backend(CachePolicy::default());
    let m = match_one(&default_plugin(&warm), &warm, INCEPTION, &movies);
    assert_eq!(key(&m), Some("101"));
    assert_eq!(
        fx.emulator.requests() - before,
        1,
        "the cached match is checked by its rating key, once"
    );
    assert_eq!(fx.emulator.requests_to("metadata") - metadata_before, 1);
}

#[test]
fn cached_match_is_checked_with_one_request_when_the_snapshot_is_stale() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    match_inception(&backend, &movies);

    let stale = fx.backend(CachePolicy {
        library_ttl: Duration::ZERO,
        ..CachePolicy::default()
    });
    let plugin = default_plugin(&stale);
    let (before, metadata_before) = (fx.emulator.requests(), fx.emulator.requests_to("metadata"));
    let m = match_one(&plugin, &stale, INCEPTION, &movies);
    assert_eq!(key(&m), Some("101"));
    assert_eq!(
        fx.emulator.requests() - before,
        1,
        "one fetch by rating key checks the cached match"
    );
    assert_eq!(fx.emulator.requests_to("metadata") - metadata_before, 1);
}

/// The sample library with Inception's file moved to a new item (as after a Plex rescan).
fn inception_replaced() -> LibraryFile {
    let mut lib = LibraryFile::sample();
    let items = &mut lib.sections[0].items;
    let old = items
        .iter()
        .position(|i| i.rating_key == Some(101))
        .unwrap();
    let mut moved = items.remove(old);
    moved.rating_key = Some(150);
    moved.title = "Inception (Remastered)".into();
    items.push(moved);
    lib
}

#[test]
fn stale_match_cache_entry_is_replaced_when_plex_answers_404() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    match_inception(&backend, &movies);

    fx.emulator.set_library(&inception_replaced()).unwrap();
    let stale = fx.backend(CachePolicy {
        library_ttl: Duration::ZERO,
        ..CachePolicy::default()
    });
    let m = match_one(&default_plugin(&stale), &stale, INCEPTION, &movies);
    assert_eq!((m.outcome, key(&m)), (Outcome::High, Some("150")), "{m:?}");
    assert_eq!(
        stale
            .decisions
            .matches
            .get(1, INCEPTION, &decider(&default_plugin(&stale)))
            .unwrap()
            .unwrap()
            .rating_key,
        "150"
    );
}

#[test]
fn stale_match_cache_entry_is_replaced_from_a_fresh_snapshot() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    let plugin = default_plugin(&backend);
    match_inception(&backend, &movies);

    fx.emulator.set_library(&inception_replaced()).unwrap();
    backend.snapshots.refresh_snapshot(1, true).unwrap();
    let before = fx.emulator.requests();
    let m = match_one(&plugin, &backend, INCEPTION, &movies);
    assert_eq!(key(&m), Some("150"), "{m:?}");
    assert_eq!(
        fx.emulator.requests(),
        before,
        "the fresh snapshot answers without a request"
    );
}

#[test]
fn a_duplicate_added_later_turns_a_cached_match_low() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    let plugin = default_plugin(&backend);
    match_inception(&backend, &movies);

    let mut lib = LibraryFile::sample();
    let mut copy = lib.sections[0].items[0].clone();
    copy.rating_key = Some(160);
    // In a folder of the same name: the path cannot tell the two apart.
    copy.files = vec![FileSpec::Single(
        "/archive/movies/Inception (2010)/Inception (2010) - 1080p.mkv".into(),
    )];
    lib.sections[0].items.push(copy);
    fx.emulator.set_library(&lib).unwrap();
    backend.snapshots.refresh_snapshot(1, true).unwrap();
    let m = match_one(&plugin, &backend, INCEPTION, &movies);
    assert_eq!(
        m.outcome,
        Outcome::Low,
        "W2: the duplicate must be noticed: {m:?}"
    );
}

#[test]
fn snapshot_ttl_expiry_refreshes_once() {
    let fx = Fixture::sample();
    let short = CachePolicy {
        library_ttl: Duration::from_secs(1),
        ..listing()
    };
    let backend = fx.backend(short);
    let plugin = default_plugin(&backend);
    let tv = sections(&backend, &[2]);
    let episode = "/x/Northern Lights - S02E01 - Thaw.mkv";
    assert_eq!(
        key(&match_one(&plugin, &backend, "/x/other.mkv", &tv)),
        None
    );
    assert_eq!(fx.emulator.requests_to("listing"), 1);
    // Within the TTL the snapshot answers.
    assert_eq!(
        key(&match_one(&plugin, &backend, episode, &tv)),
        Some("203")
    );
    backend
        .decisions
        .matches
        .invalidate(2, episode, None)
        .unwrap();
    assert_eq!(fx.emulator.requests_to("listing"), 1);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        key(&match_one(&plugin, &backend, episode, &tv)),
        Some("203")
    );
    assert_eq!(
        fx.emulator.requests_to("listing"),
        3,
        "an expired snapshot is brought up to date once: the items changed since, and the count"
    );
}

#[test]
fn empty_search_answers_are_cached_only_briefly() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    backend.snapshots.search(1, "Nothing Like This").unwrap();
    assert_eq!(
        backend.snapshots.cached_search(1, "Nothing Like This"),
        Some(vec![])
    );
    let brief = fx.backend(CachePolicy {
        negative_ttl: Duration::ZERO,
        ..CachePolicy::default()
    });
    brief.snapshots.search(1, "Nothing Like This").unwrap();
    brief.snapshots.search(1, "Inception").unwrap();
    assert_eq!(
        brief.snapshots.cached_search(1, "Nothing Like This"),
        None,
        "W1: an empty answer must not hide new items for an hour"
    );
    assert_eq!(
        brief
            .snapshots
            .cached_search(1, "inception")
            .map(|v| v.len()),
        Some(1)
    );
}

#[test]
fn a_refused_token_is_an_error_not_a_miss() {
    let fx = Fixture::sample();
    let good = fx.backend(CachePolicy::default());
    let movies = sections(&good, &[1]);
    let config = fx.config_with_token("wrong-token");
    // Opening with another token asks the server at once (issue 27): refused.
    let refused =
        plexmatch_engine::backend::Backend::open(&config, fx.data_dir(), CachePolicy::default())
            .err()
            .expect("a token not accepted before is checked when the backend opens");
    assert!(
        refused.to_string().contains("refused the token"),
        "{refused}"
    );
    // A backend for the known server that never checked the token meets it per path.
    let bad = std::sync::Arc::new(
        plexmatch_engine::backend::Backend::open_for(
            &config,
            good.server.clone(),
            fx.data_dir(),
            CachePolicy::default(),
        )
        .unwrap(),
    );
    let err = bad.gateway.plex.sections().unwrap_err();
    assert!(
        matches!(err, plexmatch_engine::plex::PlexError::Unauthorized(_)),
        "{err:?}"
    );
    assert!(
        !err.to_string().contains("wrong-token"),
        "the token must not appear in errors: {err}"
    );
    let m = match_one(
        &default_plugin(&bad),
        &bad,
        "/stash/movies/Arrival (2016) - 2160p.mkv",
        &movies,
    );
    assert_eq!(m.outcome, Outcome::Error);
    assert!(
        matches!(m.error, Some(Failure::Unauthorized(_))),
        "W4: {m:?}"
    );
}

#[test]
fn an_unreachable_server_keeps_cached_matches() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    match_inception(&backend, &movies);
    let Fixture { emulator, dir } = fx;
    let url = emulator.url().to_owned();
    drop(emulator);

    let config = plexmatch_engine::plex::PlexConfig {
        url,
        token: "plexmatch-emulator-token".into(),
        client_id: "tests".into(),
        connect_timeout: Duration::from_secs(1),
        read_timeout: Duration::from_secs(2),
        page_size: 1000,
        pages_in_flight: plexmatch_engine::plex::DEFAULT_PAGES_IN_FLIGHT,
        retry: plexmatch_engine::plex::RetryPolicy {
            attempts: 2,
            base: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
            budget: Duration::from_secs(2),
        },
        tls: plexmatch_engine::plex::TlsOptions::default(),
        offline: false,
    };
    let stale = std::sync::Arc::new(
        plexmatch_engine::backend::Backend::open(
            &config,
            dir.path(),
            CachePolicy {
                library_ttl: Duration::ZERO,
                ..CachePolicy::default()
            },
        )
        .unwrap(),
    );
    let m = match_one(&default_plugin(&stale), &stale, INCEPTION, &movies);
    assert_eq!(m.outcome, Outcome::Error, "{m:?}");
    assert!(matches!(m.error, Some(Failure::Plex(_))), "{m:?}");
    assert_eq!(
        stale
            .decisions
            .matches
            .get(1, INCEPTION, &decider(&default_plugin(&stale)))
            .unwrap()
            .map(|c| c.rating_key),
        Some("101".into()),
        "W3: an outage must not delete the entry"
    );
}

/// The default plugin with these settings.
fn default_with(
    backend: &std::sync::Arc<plexmatch_engine::backend::Backend>,
    settings: &[(&str, &str)],
) -> std::sync::Arc<plexmatch_engine::runtime::Plugin> {
    std::sync::Arc::new(
        plexmatch_engine::runtime::Plugin::load(
            "default",
            plexmatch_engine::DEFAULT_PLUGIN,
            settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            plexmatch_engine::runtime::Limits::default(),
            backend.clone(),
        )
        .unwrap(),
    )
}

#[test]
fn paths_decide_before_names_step_by_step() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    let plain = default_plugin(&backend);
    let mapped = default_with(&backend, &[("rewrite", "/mnt/stash/=>/data/movies/")]);
    for (plugin, path, want) in [
        // 1. exact path: 108 holds /data/movies/2019/holiday.mp4, 109 …/2020/holiday.mp4.
        (&plain, "/DATA/Movies/2019/holiday.mp4", Some("108")),
        (&plain, "/data/movies/2020/holiday.mp4", Some("109")),
        // 2. mapped path.
        (&mapped, "/mnt/stash/2020/holiday.mp4", Some("109")),
        // 3. folder tail of at least the parent folder.
        (&plain, "/media/elsewhere/2019/holiday.mp4", Some("108")),
        // The file name alone decides nothing: LOW, as before.
        (&plain, "/media/holiday.mp4", None),
    ] {
        let m = match_one(plugin, &backend, path, &movies);
        match want {
            Some(k) => assert_eq!(
                (m.outcome, key(&m)),
                (Outcome::High, Some(k)),
                "{path}: {m:?}"
            ),
            None => assert_eq!(m.outcome, Outcome::Low, "{path}: {m:?}"),
        }
    }
}

#[test]
fn across_sections_the_path_decides_by_the_same_rule() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let both = sections(&backend, &[1, 3]);
    let plugin = default_plugin(&backend);
    let m = match_one(
        &plugin,
        &backend,
        "/data/movies-4k/Dune (2021)/Dune (2021).mkv",
        &both,
    );
    assert_eq!((m.outcome, key(&m)), (Outcome::High, Some("301")), "{m:?}");
    let m = match_one(&plugin, &backend, "/stash/Dune (2021).mkv", &both);
    assert_eq!(m.outcome, Outcome::Low, "{m:?}");
    assert_eq!(m.candidates.len(), 2);
}

#[test]
fn a_library_queried_with_its_own_paths_is_low_only_where_two_items_hold_that_very_path() {
    let lib = plexmatch_emulator::generate(3000, 7);
    let fx = Fixture::with(&lib);
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    let mut holders: std::collections::HashMap<String, Vec<u64>> = Default::default();
    let mut paths = Vec::new();
    for it in &lib.sections[0].items {
        for f in &it.files {
            for p in f.parts() {
                holders
                    .entry(plexmatch_matchkit::name_key(p))
                    .or_default()
                    .push(it.rating_key.unwrap_or(0));
                paths.push(p.to_owned());
            }
        }
    }
    let plugin = default_plugin(&backend);
    let mut answers = Vec::new();
    plexmatch_engine::batch::run(
        &[plugin],
        &backend,
        &movies,
        paths.clone().into_iter(),
        plexmatch_engine::batch::BatchOptions::default(),
        |a| answers.push(a.result),
    );
    let mut low = 0;
    for m in &answers {
        let shared = holders[&plexmatch_matchkit::name_key(&m.path)].len() > 1;
        match m.outcome {
            Outcome::Low => {
                low += 1;
                assert!(shared, "LOW though one item holds this very path: {m:?}")
            }
            Outcome::High => assert!(!shared, "{m:?}"),
            _ => panic!("{m:?}"),
        }
    }
    assert!(low < answers.len() / 10, "{low} LOW of {}", answers.len());
}
