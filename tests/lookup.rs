//! Find by file (issue 28): a section with no snapshot answers which items hold a file by
//! asking Plex for them (`/all?type=1&file=NAME`) instead of being listed, with the same
//! answers a listing gives; a server that ignores or refuses the filter is listed instead,
//! and that is remembered.

use plexmatch_emulator::{Emulator, FileFilter, LibraryFile, Options};
use plexmatch_engine::{Engine, EngineOptions, PathMatch, PlexConfig};

/// Names that contain each other, case and Unicode forms, URL-hostile characters, two
/// holders of one name in different folders, and one holder a title search cannot see.
const LIBRARY: &str = r#"
server_name = "Lookups"

[[sections]]
id = 1
title = "Movies"
type = "movie"

[[sections.items]]
rating_key = 201
title = "Heat"
year = 1995
files = ["/data/movies/Heat (1995)/Heat (1995).mkv"]

[[sections.items]]
rating_key = 202
title = "The Heat"
year = 2013
files = ["/data/movies/The Heat (2013)/The Heat (1995).mkv"]

[[sections.items]]
rating_key = 203
title = "Tom & Jerry: 100% #1; \"quoted\" + more"
files = ["/data/movies/Tom/Tom & Jerry 100% #1; \"quoted\" + more.mkv"]

[[sections.items]]
rating_key = 204
title = "Amélie"
year = 2001
files = ["/data/movies/Amélie (2001)/Amélie (2001).mkv"]

[[sections.items]]
rating_key = 205
title = "Holiday"
files = ["/data/movies/2019/holiday.mp4"]

[[sections.items]]
rating_key = 206
title = "Holiday"
files = ["/data/movies/2020/holiday.mp4"]

[[sections.items]]
rating_key = 208
title = "Kelvin"
files = ["/data/movies/\u212Aelvin/\u212Aelvin Scale (2020).mkv"]

[[sections.items]]
rating_key = 207
title = "Something Else Entirely"
files = ["/data/movies/misc/Untitled Home Video.mkv"]
"#;

struct Setup {
    emulator: Emulator,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let library = LibraryFile::from_toml(LIBRARY).expect("library");
        Setup {
            emulator: Emulator::start(&library, Options::default()).expect("emulator"),
            dir: tempfile::tempdir().expect("dir"),
        }
    }

    /// A new engine (as a new process would open) on the same data dir.
    fn engine(&self, lookup: &str) -> Engine {
        let config = PlexConfig::new(self.emulator.url(), self.emulator.token());
        let mut options = EngineOptions::new(config, self.dir.path());
        options.cache.lookup = plexmatch_engine::engine::LookupMode::parse(lookup).unwrap();
        Engine::open(options).expect("engine opens")
    }
}

fn word(m: &PathMatch) -> (&'static str, Option<String>) {
    (
        m.outcome.word(),
        m.item.as_ref().map(|i| i.rating_key.clone()),
    )
}

/// Each path with the answer a listing gives, asked of a cold data dir.
const CASES: &[(&str, &str, Option<&str>)] = &[
    // The name is inside another one ("The Heat (1995).mkv"): the lookup's answer holds
    // both, and only the exact name counts.
    ("/stash/Heat (1995)/Heat (1995).mkv", "high", Some("201")),
    // Case differs from Plex's file: the same item.
    ("/stash/heat (1995)/HEAT (1995).MKV", "high", Some("201")),
    // Characters a URL must encode.
    (
        "/stash/Tom & Jerry 100% #1; \"quoted\" + more.mkv",
        "high",
        Some("203"),
    ),
    // NFD against Plex's NFC, and NFC against NFC.
    ("/stash/Ame\u{301}lie (2001).mkv", "high", Some("204")),
    ("/stash/Amélie (2001).mkv", "high", Some("204")),
    // Two holders: the folder tail decides, else LOW.
    ("/stash/2019/holiday.mp4", "high", Some("205")),
    ("/stash/holiday.mp4", "low", None),
    // A holder no title search finds (W29): answered from the file alone.
    ("/stash/misc/Untitled Home Video.mkv", "high", Some("207")),
    ("/stash/Not In Plex (2020).mkv", "not-found", None),
    // Plex spells the K with the Kelvin sign, which the name rules fold and LIKE does not.
    ("/stash/Kelvin Scale (2020).mkv", "high", Some("208")),
];

#[test]
fn one_path_on_a_cold_data_dir_costs_one_lookup_and_no_listing() {
    let s = Setup::new();
    let before = s.emulator.requests();
    let engine = s.engine("auto");
    let m = engine.match_path("/stash/Heat (1995)/Heat (1995).mkv", false);
    assert_eq!(word(&m), ("high", Some("201".into())));
    assert_eq!(s.emulator.requests_to("listing"), 0, "no section listed");
    assert_eq!(s.emulator.requests_to("file-lookup"), 1);
    let kinds = || -> Vec<(&str, u64)> {
        [
            "identity",
            "root",
            "sections",
            "listing",
            "search",
            "metadata",
            "file-lookup",
        ]
        .iter()
        .map(|k| (*k, s.emulator.requests_to(k)))
        .collect()
    };
    assert!(
        s.emulator.requests() - before <= 3,
        "identity, sections and one look-up: {} requests {:?}",
        s.emulator.requests() - before,
        kinds()
    );
    // The answer is cached: a new process asks nothing more for the same file.
    drop(engine);
    let again = s.engine("auto");
    let asked = s.emulator.requests();
    assert_eq!(
        word(&again.match_path("/other/Heat (1995).mkv", false)),
        ("high", Some("201".into()))
    );
    let by_kind: Vec<(&str, u64)> = [
        "identity",
        "root",
        "sections",
        "listing",
        "search",
        "metadata",
        "file-lookup",
    ]
    .iter()
    .map(|k| (*k, s.emulator.requests_to(k)))
    .collect();
    assert_eq!(
        s.emulator.requests(),
        asked,
        "answered from the cached look-up: {by_kind:?}"
    );
}

#[test]
fn lookups_give_the_answers_a_listing_gives() {
    for (path, outcome, key) in CASES {
        // Each path on its own cold data dir, once by look-up, once by listing.
        let by_lookup = Setup::new();
        let looked = by_lookup.engine("file").match_path(path, false);
        assert_eq!(
            by_lookup.emulator.requests_to("listing"),
            0,
            "{path}: looked up, not listed"
        );
        let by_listing = Setup::new();
        let listed = by_listing.engine("listing").match_path(path, false);
        assert_eq!(by_listing.emulator.requests_to("file-lookup"), 0);
        let expected = (*outcome, key.map(str::to_owned));
        assert_eq!(word(&looked), expected, "{path} by look-up");
        assert_eq!(word(&listed), expected, "{path} by listing");
        let keys = |m: &PathMatch| {
            let mut k: Vec<String> = m.candidates.iter().map(|c| c.rating_key.clone()).collect();
            k.sort();
            k
        };
        assert_eq!(keys(&looked), keys(&listed), "{path}: the same candidates");
    }
}

#[test]
fn a_server_that_ignores_or_refuses_the_filter_is_listed_and_remembered() {
    for how in [FileFilter::Ignored, FileFilter::Refused] {
        let s = Setup::new();
        s.emulator.set_file_filter(how);
        let engine = s.engine("auto");
        // Right answers all the same, from a listing.
        for (path, outcome, key) in CASES {
            let m = engine.match_path(path, false);
            assert_eq!(
                word(&m),
                (*outcome, key.map(str::to_owned)),
                "{how:?}: {path}"
            );
        }
        assert!(s.emulator.requests_to("listing") >= 1, "{how:?}: listed");
        let lookups = s.emulator.requests_to("file-lookup");
        assert!(lookups >= 1, "{how:?}: tried once");
        drop(engine);
        // Remembered for the server: a new process does not try again.
        let s2 = s.engine("auto");
        s2.match_path("/stash/x/Unknown.mkv", false);
        assert_eq!(
            s.emulator.requests_to("file-lookup"),
            lookups,
            "{how:?}: not asked again"
        );
        assert!(
            s2.server().file_lookups_unsupported().is_some(),
            "{how:?}: the finding is kept"
        );
    }
}

#[test]
fn a_large_known_batch_lists_the_section_instead() {
    let s = Setup::new();
    let engine = s.engine("auto");
    let paths: Vec<String> = (0..40).map(|i| format!("/stash/missing {i}.mkv")).collect();
    let mut answers = 0;
    engine.match_stream(paths.iter().cloned(), false, |_| answers += 1);
    assert_eq!(answers, 40);
    // 40 look-ups against a one-page listing: the listing (and one count) wins.
    assert_eq!(s.emulator.requests_to("file-lookup"), 0);
    assert!(s.emulator.requests_to("listing") >= 1);
}

#[test]
fn the_emulator_answers_file_filters_as_plex_does() {
    let s = Setup::new();
    let client = reqwest::blocking::Client::new();
    let get = |q: &str| {
        let r = client
            .get(format!("{}/library/sections/1/all?{q}", s.emulator.url()))
            .header("X-Plex-Token", s.emulator.token())
            .header("Accept", "application/json")
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value =
            serde_json::from_str(&r.text().unwrap_or_default()).unwrap_or(serde_json::Value::Null);
        let keys: Vec<String> = body["MediaContainer"]["Metadata"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["ratingKey"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        (status, keys)
    };
    assert_eq!(
        get("type=1&file=Heat%20(1995).mkv"),
        (200, vec!["201".into(), "202".into()])
    );
    assert_eq!(
        get("type=1&file=heat%20(1995).MKV").1.len(),
        2,
        "ASCII case folded"
    );
    assert_eq!(
        get("type=1&file==%2Fdata%2Fmovies%2FHeat%20(1995)%2FHeat%20(1995).mkv").1,
        vec!["201".to_owned()],
        "== is equality"
    );
    assert_eq!(get("file=Heat").0, 500, "type is required");
}

#[test]
fn a_short_or_unreadable_lookup_answer_is_refused_and_nothing_cached() {
    use plexmatch_emulator::{BadItem, Fault};
    for fault in [
        // Holds one item fewer than it says: Heat (201) missing would read "not found".
        Fault::DropItems(1),
        Fault::TotalSizeOff(1),
        Fault::BadItem(BadItem::FileNumber),
        Fault::BadItem(BadItem::FileRelative),
    ] {
        let s = Setup::new();
        s.emulator.inject_on("file-lookup", fault.clone(), 100);
        let engine = s.engine("file");
        let m = engine.match_path("/stash/Heat (1995)/Heat (1995).mkv", false);
        // Read as complete, the answer would say nothing holds the file: never that, and
        // never another item.
        assert_ne!(m.outcome.word(), "not-found", "{fault:?}: {m:?}");
        assert!(
            m.item.as_ref().is_none_or(|i| i.rating_key == "201"),
            "{fault:?}: {m:?}"
        );
        s.emulator.clear_faults();
        drop(engine);
        // Nothing of it was kept: a new process asks again and is right.
        let lookups = s.emulator.requests_to("file-lookup");
        let m = s
            .engine("file")
            .match_path("/stash/Heat (1995)/Heat (1995).mkv", false);
        assert_eq!(word(&m), ("high", Some("201".into())), "{fault:?}");
        assert_eq!(
            s.emulator.requests_to("file-lookup"),
            lookups + 1,
            "{fault:?}"
        );
    }
}

#[test]
fn cached_decisions_are_verified_in_grouped_metadata_requests() {
    let s = Setup::new();
    let paths = [
        "/stash/Heat (1995)/Heat (1995).mkv",
        "/stash/Tom & Jerry 100% #1; \"quoted\" + more.mkv",
        "/stash/Amélie (2001).mkv",
        "/stash/2019/holiday.mp4",
        "/stash/misc/Untitled Home Video.mkv",
    ];
    let run = |ttl: u64| {
        let config = PlexConfig::new(s.emulator.url(), s.emulator.token());
        let mut options = EngineOptions::new(config, s.dir.path());
        options.cache.lookup = plexmatch_engine::engine::LookupMode::File;
        options.cache.library_ttl = std::time::Duration::from_secs(ttl);
        let engine = Engine::open(options).expect("engine opens");
        let mut got = Vec::new();
        engine.match_stream(paths.iter().map(|p| p.to_string()), false, |a| {
            got.push(word(&a.result))
        });
        got
    };
    let cold = run(300);
    assert!(cold.iter().all(|(o, _)| *o == "high"), "{cold:?}");
    // Past the TTL: no snapshot and no look-up answer at hand; the five cached decisions
    // are checked in one /library/metadata/k1,…,k5 request, not five (nor five look-ups).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (metadata, lookups) = (
        s.emulator.requests_to("metadata"),
        s.emulator.requests_to("file-lookup"),
    );
    let warm = run(1);
    assert_eq!(warm, cold);
    assert_eq!(s.emulator.requests_to("metadata") - metadata, 1);
    assert_eq!(s.emulator.requests_to("file-lookup"), lookups);
}

/// The server's times as a data dir that has used it remembers them: `request-times` from
/// one run that listed the section (pages of two items, each waiting 300 ms) and one that
/// looked three files up (at once), each on its own data dir.
fn remembered_times(s: &Setup) -> (std::path::PathBuf, String) {
    s.emulator
        .set_listing_delay(std::time::Duration::from_millis(300));
    s.emulator.set_lookup_delay(std::time::Duration::ZERO);
    let mut text = String::new();
    let mut relative = None;
    for (mode, paths) in [("listing", 1), ("file", 3)] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = PlexConfig::new(s.emulator.url(), s.emulator.token());
        config.page_size = 2;
        let mut options = EngineOptions::new(config, dir.path());
        options.cache.lookup = plexmatch_engine::engine::LookupMode::parse(mode).unwrap();
        let engine = Engine::open(options).unwrap();
        let input = CASES.iter().take(paths).map(|c| c.0.to_owned());
        engine.match_stream(input, false, |_| {});
        drop(engine);
        let server = std::fs::read_dir(dir.path().join("servers"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let file = server.join("request-times");
        let lines = std::fs::read_to_string(&file).expect("a run records the server's times");
        let kind = if mode == "listing" {
            "listing-item "
        } else {
            "file-lookup "
        };
        assert!(
            lines.starts_with(kind) || lines.contains(&format!("\n{kind}")),
            "{lines}"
        );
        text.push_str(&lines);
        relative = Some(file.strip_prefix(dir.path()).unwrap().to_owned());
    }
    (relative.unwrap(), text)
}

#[test]
fn measured_request_times_weigh_lookups_against_a_listing() {
    let s = Setup::new();
    let (relative, times) = remembered_times(&s);
    let batch = |remember: bool| {
        let dir = tempfile::tempdir().unwrap();
        if remember {
            let file = dir.path().join(&relative);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &times).unwrap();
        }
        let mut config = PlexConfig::new(s.emulator.url(), s.emulator.token());
        config.page_size = 2;
        let engine = Engine::open(EngineOptions::new(config, dir.path())).unwrap();
        let (lookups, listing) = (
            s.emulator.requests_to("file-lookup"),
            s.emulator.requests_to("listing"),
        );
        let mut answers = Vec::new();
        let input = CASES.iter().map(|c| c.0.to_owned());
        engine.match_stream(input, false, |a| answers.push(word(&a.result)));
        let expected: Vec<_> = CASES
            .iter()
            .map(|c| (c.1, c.2.map(str::to_owned)))
            .collect();
        assert_eq!(answers, expected, "the same answers either way");
        (
            s.emulator.requests_to("file-lookup") - lookups,
            s.emulator.requests_to("listing") - listing,
        )
    };
    // Nine paths against a section of four pages and a count: requests alone say list.
    let (lookups, listing) = batch(false);
    assert_eq!(
        lookups, 0,
        "with no times known, requests are weighed alone"
    );
    assert!(listing >= 4, "{listing}");
    // A look-up measured at a small part of a page's 300 ms: nine look-ups cost less.
    let (lookups, listing) = batch(true);
    assert!(lookups >= 5, "one look-up a name: {lookups}");
    assert_eq!(
        listing, 1,
        "the section's size is counted, and no page is asked"
    );
}
