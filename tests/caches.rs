//! The caches on real SQLite files: invalidation, eviction, corruption, and several
//! `plexmatch` processes sharing one data dir against the emulator.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::cache::{LibraryCache, MatchCache};
use plexmatch_engine::plex::{Item, ItemKind};
use support::*;

fn item(key: u32, title: &str, files: &[&str]) -> Item {
    Item {
        rating_key: key.to_string(),
        title: title.into(),
        kind: ItemKind::Movie,
        section_id: 0,
        files: files.iter().map(|f| f.to_string()).collect(),
        ..Default::default()
    }
}

fn items(section: u32, n: u32) -> Vec<Item> {
    (0..n)
        .map(|i| {
            let title = format!("Title {section}-{i}");
            let mut it = item(
                i + 1,
                &title,
                &[&format!(
                    "/data/s{section}/{title} (2001)/{title} (2001) - 1080p.mkv"
                )],
            );
            it.section_id = section;
            it
        })
        .collect()
}

#[test]
fn invalidating_a_section_leaves_a_section_whose_title_it_prefixes() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    backend.snapshots.sections().unwrap(); // caches the section list: "Movies" (1) and "Movies 4K" (3)
    for (section, n) in [(1u32, 30u32), (3, 20)] {
        for i in 0..n {
            backend
                .decisions
                .matches
                .put(
                    section,
                    &format!("/stash/f{i}.mkv"),
                    &tester(),
                    &i.to_string(),
                    "/data/f.mkv",
                )
                .unwrap();
        }
    }
    backend
        .decisions
        .matches
        .invalidate(1, "/STASH/F0.MKV", None)
        .unwrap();
    assert_eq!(
        backend
            .decisions
            .matches
            .get(1, "/stash/f0.mkv", &tester())
            .unwrap(),
        None,
        "paths compare case-insensitively"
    );
    assert!(
        backend
            .decisions
            .matches
            .get(1, "/stash/f1.mkv", &tester())
            .unwrap()
            .is_some(),
        "one path only"
    );
    drop(backend);

    // By title, through the CLI: "Movies" must not take "Movies 4K" with it (W11).
    let out = plexmatch(&fx, &["cache", "invalidate", "--section", "movies"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("forgot 29 match(es) of section 1"),
        "{out:?}"
    );
    let matches = MatchCache::open(&fx.cache_dir(), 50 << 20).unwrap();
    assert_eq!(matches.get(1, "/stash/f1.mkv", &tester()).unwrap(), None);
    assert_eq!(matches.len().unwrap(), 20);
    assert_eq!(
        matches
            .get(3, "/stash/f19.mkv", &tester())
            .unwrap()
            .unwrap()
            .rating_key,
        "19"
    );

    let out = plexmatch(&fx, &["cache", "invalidate", "--section", "Films"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no cached section is called \"Films\""),
        "{out:?}"
    );
}

#[test]
fn two_processes_refresh_a_stale_section_once() {
    let fx = Fixture::with(&plexmatch_emulator::generate(3000, 11));
    // Four slow pages: both processes are sure to want the snapshot at the same time.
    fx.emulator.set_listing_delay(Duration::from_millis(150));
    let spawn = || {
        plexmatch(
            &fx,
            &[
                "match",
                "--json",
                "--lookup",
                "listing",
                "--section",
                "1",
                "/stash/no such file.mkv",
            ],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "not found is exit 1: {stderr}");
        assert!(
            !stderr.contains("locked") && !stderr.contains("busy"),
            "{stderr}"
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("\"not-found\""),
            "{out:?}"
        );
    }
    let pages = (3000u64 + 3000 / 50).div_ceil(1000);
    assert_eq!(
        fx.emulator.requests_to("listing"),
        pages,
        "exactly one refresh of {pages} pages (W21)"
    );
}

#[test]
fn a_refresh_killed_midway_leaves_the_previous_snapshot() {
    let fx = Fixture::with(&plexmatch_emulator::generate(2500, 5));
    let backend = fx.backend(CachePolicy::default());
    backend.snapshots.sections().unwrap();
    backend.snapshots.force_refresh(1, true).unwrap();
    let before = backend.snapshots.snapshot(1).unwrap().0;
    drop(backend);

    fx.emulator
        .set_library(&plexmatch_emulator::generate(2600, 5))
        .unwrap();
    fx.emulator.set_listing_delay(Duration::from_millis(400));
    let listed = fx.emulator.requests_to("listing");
    let mut child = plexmatch(&fx, &["cache", "refresh", "--full", "--section", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while fx.emulator.requests_to("listing") < listed + 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the refresh never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    fx.emulator.set_listing_delay(Duration::ZERO);
    let after = fx.backend(CachePolicy::default());
    assert_eq!(
        after.snapshots.snapshot(1).unwrap().0,
        before,
        "the half-listed snapshot was never written"
    );
    let known = after
        .snapshots
        .library
        .items_by_file_name(1, "x.mkv")
        .unwrap();
    assert!(known.is_empty());
    // The killed process's lock died with it: a new refresh goes through at once.
    assert_eq!(
        after
            .snapshots
            .force_refresh(1, true)
            .unwrap()
            .map(|r| r.items),
        Some(2600 + 2600 / 50)
    );
}

#[test]
fn corrupt_or_foreign_cache_files_are_moved_aside_and_rebuilt() {
    let fx = Fixture::sample();
    std::fs::create_dir_all(fx.cache_dir()).unwrap();
    std::fs::write(
        fx.cache_dir().join("library.sqlite3"),
        b"this is not a database, it is a cache that got damaged",
    )
    .unwrap();
    {
        let conn = rusqlite::Connection::open(fx.cache_dir().join("matches.sqlite3")).unwrap();
        conn.execute_batch("CREATE TABLE matches (x); PRAGMA user_version = 1;")
            .unwrap();
    }
    let backend = fx.backend(CachePolicy::default());
    let m = match_one(
        &default_plugin(&backend),
        &backend,
        "/x/Inception (2010) - 1080p.mkv",
        &sections(&backend, &[1]),
    );
    assert_eq!(m.item.map(|i| i.rating_key), Some("101".to_owned()));
    assert_eq!(backend.decisions.matches.len().unwrap(), 1);
    let aside: Vec<String> = std::fs::read_dir(fx.cache_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".corrupt-"))
        .collect();
    assert_eq!(
        aside.len(),
        2,
        "both unusable files are kept for inspection: {aside:?}"
    );
}

#[test]
fn match_eviction_keeps_the_file_under_its_limit_and_recently_used_entries() {
    let dir = tempfile::tempdir().unwrap();
    let limit = 256 << 10;
    let cache = MatchCache::open(dir.path(), limit).unwrap();
    // The test's uses are milliseconds apart: keep their exact order (by default a use
    // within ten minutes of the recorded one is not written again).
    cache.set_use_grain(Duration::ZERO);
    for i in 0..500 {
        cache
            .put(
                1,
                &format!("/stash/old/{i:05}.mkv"),
                &tester(),
                &i.to_string(),
                "/data/f.mkv",
            )
            .unwrap();
    }
    // Every tenth old entry keeps being hit while new entries pour in (a match served
    // every run): it must outlive entries stored after it but used less recently.
    for i in 0..6000 {
        if i % 500 == 0 {
            std::thread::sleep(Duration::from_millis(2));
            for j in 0..50 {
                assert!(
                    cache
                        .get(1, &format!("/stash/old/{:05}.mkv", j * 10), &tester())
                        .unwrap()
                        .is_some(),
                    "entry {} evicted",
                    j * 10
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        cache
            .put(
                1,
                &format!("/stash/new/a-rather-long-folder-name/{i:05}.mkv"),
                &tester(),
                &i.to_string(),
                "/data/f.mkv",
            )
            .unwrap();
    }
    cache.enforce_limit().unwrap();
    let (used, _) = cache.bytes().unwrap();
    assert!(used <= limit, "{used} bytes in use, limit {limit}");
    let file = std::fs::metadata(dir.path().join("matches.sqlite3"))
        .unwrap()
        .len();
    assert!(
        file <= limit + (64 << 10),
        "the file gave its pages back: {file} bytes"
    );
    for i in 0..50 {
        assert!(
            cache
                .get(1, &format!("/stash/old/{:05}.mkv", i * 10), &tester())
                .unwrap()
                .is_some(),
            "recently used entry {} evicted",
            i * 10
        );
    }
    assert_eq!(
        cache.get(1, "/stash/old/00001.mkv", &tester()).unwrap(),
        None,
        "an entry unused since it was stored goes first (W22)"
    );
    assert!(
        cache
            .get(
                1,
                "/stash/new/a-rather-long-folder-name/05999.mkv",
                &tester()
            )
            .unwrap()
            .is_some()
    );
}

#[test]
fn library_eviction_drops_the_least_recently_used_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let one = {
        let probe = LibraryCache::open(dir.path(), u64::MAX).unwrap();
        probe.replace_snapshot(1, &items(1, 3000), None).unwrap();
        probe.footprint().unwrap().used_bytes
    };
    let cache = LibraryCache::open(dir.path(), one * 5 / 2).unwrap();
    cache.replace_snapshot(2, &items(2, 3000), None).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        cache
            .items_by_file_name(1, "Title 1-7 (2001) - 1080p.mkv")
            .unwrap()
            .len(),
        1
    ); // section 1 is used
    std::thread::sleep(Duration::from_millis(5));
    cache.replace_snapshot(3, &items(3, 3000), None).unwrap();
    assert!(cache.snapshot_info(1).unwrap().is_some(), "recently used");
    assert!(
        cache.snapshot_info(2).unwrap().is_none(),
        "least recently used"
    );
    assert!(cache.snapshot_info(3).unwrap().is_some(), "just written");
    assert!(cache.footprint().unwrap().used_bytes <= one * 5 / 2);
}

#[test]
fn file_names_match_across_case_unicode_form_and_windows_separators() {
    let dir = tempfile::tempdir().unwrap();
    let cache = LibraryCache::open(dir.path(), u64::MAX).unwrap();
    let mut amelie = item(
        110,
        "Amélie",
        &[r"D:\Media\Amélie (2001)\Amélie (2001).mkv"],
    );
    amelie.section_id = 1;
    let mut two = item(
        111,
        "Two Parts",
        &[
            "/data/two/Two Parts - part1.mkv",
            r"\\nas\share\Two Parts - part2.MKV",
        ],
    );
    two.section_id = 1;
    cache
        .replace_snapshot(1, &[amelie.clone(), two.clone()], None)
        .unwrap();
    for name in [
        "Ame\u{301}lie (2001).mkv",
        "AMÉLIE (2001).MKV",
        "amélie (2001).mkv",
    ] {
        assert_eq!(
            cache.items_by_file_name(1, name).unwrap(),
            vec![amelie.clone()],
            "{name:?}"
        );
    }
    assert_eq!(
        cache
            .items_by_file_name(1, "two parts - PART2.mkv")
            .unwrap(),
        vec![two.clone()]
    );
    assert_eq!(
        cache.item(1, "111").unwrap(),
        Some(two),
        "every file of the item, exactly as Plex wrote it"
    );
    assert!(
        cache
            .items_by_file_name(1, "Amelie (2001).mkv")
            .unwrap()
            .is_empty(),
        "accents still count"
    );
}

#[test]
fn ten_threads_needing_one_stale_section_refresh_it_once() {
    let fx = Fixture::with(&plexmatch_emulator::generate(2000, 3));
    fx.emulator.set_listing_delay(Duration::from_millis(100));
    let shared = fx.backend(listing());
    shared.snapshots.sections().unwrap();
    let others: Vec<_> = (0..3).map(|_| fx.backend(listing())).collect();
    std::thread::scope(|s| {
        for i in 0..10 {
            // Seven threads share one backend (one process); three have their own (as
            // separate processes do, with their own SQLite connections).
            let backend = if i < 7 {
                shared.clone()
            } else {
                others[i - 7].clone()
            };
            s.spawn(move || {
                let found = backend
                    .snapshots
                    .items_by_file_name(1, "nothing-like-this.mkv")
                    .unwrap();
                assert!(found.is_empty());
            });
        }
    });
    let pages = (2000u64 + 2000 / 50).div_ceil(1000);
    assert_eq!(
        fx.emulator.requests_to("listing"),
        pages,
        "one refresh for ten callers"
    );
}

#[test]
fn processes_creating_the_cache_files_at_once_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let children: Vec<_> = (0..6)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_plexmatch"))
                .args(["cache", "stats", "--json", "--data-dir"])
                .arg(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "no warning either: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        !std::fs::read_dir(dir.path()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains("corrupt"))
    );
}

#[test]
fn held_match_entries_answer_as_the_file_does_and_follow_this_processes_writes() {
    // Past a few hundred look-ups, a plugin's entries of a section are read into memory
    // for the run; what the run writes or forgets must show there at once.
    let dir = tempfile::tempdir().unwrap();
    let cache = MatchCache::open(dir.path(), 50 << 20).unwrap();
    let other = plexmatch_engine::cache::Decider::new("other", "d2");
    let path = |i: u32| format!("/stash/Film {i:03}.mkv");
    for i in 0..400 {
        cache
            .put(1, &path(i), &tester(), &i.to_string(), "/data/f.mkv")
            .unwrap();
    }
    cache
        .put(1, &path(900), &other, "9", "/data/g.mkv")
        .unwrap();
    for round in 0..2 {
        for i in 0..400 {
            let got = cache.get(1, &path(i).to_uppercase(), &tester()).unwrap();
            assert_eq!(
                got.map(|m| m.rating_key),
                Some(i.to_string()),
                "round {round}"
            );
        }
        assert!(
            cache.get(1, &path(900), &tester()).unwrap().is_none(),
            "another plugin's"
        );
        assert!(
            cache.get(2, &path(1), &tester()).unwrap().is_none(),
            "another section"
        );
    }
    cache.invalidate(1, &path(3), Some(&tester())).unwrap();
    assert!(cache.get(1, &path(3), &tester()).unwrap().is_none());
    cache
        .put(1, &path(4), &tester(), "44", "/data/h.mkv")
        .unwrap();
    cache
        .put(1, &path(401), &tester(), "401", "/data/i.mkv")
        .unwrap();
    let four = cache.get(1, &path(4), &tester()).unwrap().unwrap();
    assert_eq!(
        (four.rating_key.as_str(), four.file.as_str()),
        ("44", "/data/h.mkv")
    );
    assert_eq!(
        cache
            .get(1, &path(401), &tester())
            .unwrap()
            .unwrap()
            .rating_key,
        "401"
    );
    cache.invalidate_plugin(&tester().name, Some(1)).unwrap();
    assert!(cache.get(1, &path(5), &tester()).unwrap().is_none());
    // What the run held agrees with the file, read by a run that holds nothing.
    let fresh = MatchCache::open(dir.path(), 50 << 20).unwrap();
    for i in [3, 4, 5, 401] {
        assert!(fresh.get(1, &path(i), &tester()).unwrap().is_none());
    }
    assert_eq!(
        fresh
            .get(1, &path(900), &other)
            .unwrap()
            .unwrap()
            .rating_key,
        "9"
    );
}

#[test]
fn a_full_listing_over_a_snapshot_stores_exactly_what_a_fresh_store_would() {
    // Only the items that differ are rewritten; what is read back must be the listing, as
    // if it had been stored into an empty cache.
    let before = items(1, 400);
    let mut after: Vec<Item> = before.clone();
    after.retain(|i| i.rating_key != "7" && i.rating_key != "250"); // deleted
    after[3].files = vec!["/data/s1/renamed/Other Name.mkv".into()]; // a file renamed
    after[10].title = "Retitled".into(); // retitled
    after[11]
        .files
        .push("/data/s1/extra/second part.mkv".into()); // a second file
    after[12].extras =
        plexmatch_engine::plex::Extras::new(Some(1999), &["imdb://tt0000012".into()], &[]);
    after[13].kind = ItemKind::Episode;
    let mut added = item(5000, "Brand New", &["/data/s1/Brand New/Brand New.mkv"]);
    added.section_id = 1;
    after.push(added);
    let mut text_key = item(0, "Text Key", &["/data/s1/t/Text Key.mkv"]);
    text_key.rating_key = "plex://movie/abc".into();
    text_key.section_id = 1;
    after.push(text_key);

    let dir = tempfile::tempdir().unwrap();
    let cache = LibraryCache::open(dir.path(), u64::MAX).unwrap();
    cache.replace_snapshot(1, &before, None).unwrap();
    cache.replace_snapshot(1, &after, None).unwrap();
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = LibraryCache::open(fresh_dir.path(), u64::MAX).unwrap();
    fresh.replace_snapshot(1, &after, None).unwrap();

    let sorted = |mut v: Vec<Item>| {
        v.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
        v
    };
    let stored = sorted(cache.snapshot_items(1).unwrap());
    assert_eq!(stored, sorted(fresh.snapshot_items(1).unwrap()));
    assert_eq!(stored, sorted(after.clone()));
    for name in [
        "Other Name.mkv",
        "second part.mkv",
        "Brand New.mkv",
        "Text Key.mkv",
    ] {
        assert_eq!(
            cache.items_by_file_name(1, name).unwrap().len(),
            1,
            "{name}"
        );
    }
    let old_name = before[3].files[0].rsplit('/').next().unwrap();
    assert!(cache.items_by_file_name(1, old_name).unwrap().is_empty());
    assert!(cache.item(1, "7").unwrap().is_none(), "deleted");
    assert_eq!(
        cache.snapshot_info(1).unwrap().unwrap().item_count,
        after.len() as u32
    );
}

#[test]
fn a_batch_over_two_resident_sections_records_the_use_of_both() {
    // Each worker keeps the resident snapshots it uses and records their use now and then,
    // not at every look-up: every section in use must still be recorded, or the size limit
    // would evict a section in steady use before an idle one.
    use plexmatch_engine::batch::{self, BatchOptions};
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    // Two sections: with one counter for both, a use recorded every 256 look-ups would
    // have fallen on the same one every time.
    let sections = sections(&backend, &[1, 2]);
    for s in &sections {
        backend.snapshots.force_refresh(s.id, true).unwrap();
    }
    let last_uses = || -> Vec<(u32, i64)> {
        let conn = rusqlite::Connection::open(fx.cache_dir().join("library.sqlite3")).unwrap();
        let mut st = conn
            .prepare("SELECT section_id, last_used FROM snapshots ORDER BY section_id")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    // Enough paths for a batch to hold both sections in memory from its start; every
    // path is looked up in each section in turn. The first batch reads the sections into
    // memory (which records a use by itself); the second finds them there.
    let run = || {
        let paths = (0..600).map(|i| format!("/elsewhere/{i}/Inception (2010).mkv"));
        let options = BatchOptions {
            workers: 1,
            window: 1024,
            explain: false,
            mapping: None,
        };
        let mut answers = 0;
        batch::run(
            &[default_plugin(&backend)],
            &backend,
            &sections,
            paths,
            options,
            |_| answers += 1,
        );
        assert_eq!(answers, 600);
        backend.flush();
    };
    run();
    let before = last_uses();
    assert_eq!(before.len(), sections.len());
    std::thread::sleep(Duration::from_millis(20));
    run();
    let after = last_uses();
    for ((id, was), (_, now)) in before.iter().zip(&after) {
        assert!(now > was, "section {id}: last use {was} → {now}");
    }
}
