//! Refresh at the speed of change (issue 16): a stale snapshot is brought up to date with
//! the items changed since it was taken, and ends up exactly as a full listing would make
//! it, whatever changed on the server; deletions always lead to a full listing; a server
//! that ignores the filter is handled; pages listed in parallel keep every integrity check.

mod support;

use std::time::Duration;

use plexmatch_emulator::{Change, Fault, FileSpec, ItemSpec};
use plexmatch_engine::backend::{Backend, CachePolicy};
use plexmatch_engine::plex::{Item, PlexError};
use support::*;

/// A policy whose snapshots are always stale, so that every lookup would refresh.
fn policy() -> CachePolicy {
    CachePolicy::default()
}

/// The section's snapshot, item by item.
fn snapshot(backend: &Backend, section: u32) -> Vec<Item> {
    let mut items = backend.snapshots.library.snapshot_items(section).unwrap();
    items.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
    items
}

/// The snapshot a full listing makes now, on a data dir of its own.
fn full_listing(fx: &Fixture, section: u32) -> Vec<Item> {
    let dir = tempfile::tempdir().unwrap();
    let config = fx.config_with_token(fx.emulator.token());
    let other = Backend::open(&config, dir.path(), policy()).unwrap();
    let r = other
        .snapshots
        .force_refresh(section, true)
        .unwrap()
        .unwrap();
    assert!(r.full);
    snapshot(&other, section)
}

fn movie(key: u64, title: &str, file: &str) -> ItemSpec {
    ItemSpec {
        rating_key: Some(key),
        title: title.into(),
        year: None,
        show: None,
        season: None,
        episode: None,
        files: vec![FileSpec::Single(file.into())],
        guids: Vec::new(),
    }
}

/// Brings `section` up to date as a stale snapshot would be; checks that it took the
/// incremental way (or not) and matches a full listing.
fn refresh_and_compare(fx: &Fixture, backend: &Backend, section: u32, full: bool) {
    let r = backend
        .snapshots
        .force_refresh(section, false)
        .unwrap()
        .unwrap();
    assert_eq!(r.full, full, "section {section}: {r:?}");
    if !full {
        assert_eq!(r.requests, 2, "the changed items and the count: {r:?}");
    }
    assert_eq!(
        snapshot(backend, section),
        full_listing(fx, section),
        "section {section} after {r:?}"
    );
}

#[test]
fn incremental_refresh_gives_what_a_full_listing_gives() {
    let fx = Fixture::sample();
    let backend = fx.backend(policy());
    for s in [1, 2, 3] {
        assert!(
            backend
                .snapshots
                .force_refresh(s, true)
                .unwrap()
                .unwrap()
                .full
        );
    }
    // Nothing changed: two requests, nothing new.
    refresh_and_compare(&fx, &backend, 1, false);

    // Additions, a renamed file, a new title, a new episode of a known show.
    let e = &fx.emulator;
    e.change(&Change::Add {
        section: 1,
        item: movie(150, "Heat", "/data/movies/Heat (1995)/Heat (1995).mkv"),
    })
    .unwrap();
    e.change(&Change::SetFiles {
        rating_key: 102,
        files: vec![FileSpec::Single(
            "/data/movies/The Matrix (1999)/The Matrix (1999) - Remux.mkv".into(),
        )],
    })
    .unwrap();
    e.change(&Change::SetTitle {
        rating_key: 302,
        title: "Arrival (Director's Cut)".into(),
    })
    .unwrap();
    e.change(&Change::Add {
        section: 2,
        item: ItemSpec {
            rating_key: Some(250),
            title: "Breakup".into(),
            year: None,
            show: Some("Northern Lights".into()),
            season: Some(2),
            episode: Some(2),
            files: vec![FileSpec::Single(
                "/data/tv/Northern Lights/Season 02/Northern Lights - S02E02 - Breakup.mkv".into(),
            )],
            guids: Vec::new(),
        },
    })
    .unwrap();
    for s in [1, 2, 3] {
        refresh_and_compare(&fx, &backend, s, false);
    }
    assert!(
        backend
            .snapshots
            .library
            .items_by_file_name(1, "The Matrix (1999).mkv")
            .unwrap()
            .is_empty(),
        "the renamed file's old name is gone"
    );

    // A deletion: the count gives it away, and the section is listed in full.
    e.change(&Change::Delete { rating_key: 106 }).unwrap();
    refresh_and_compare(&fx, &backend, 1, true);
    assert!(backend.snapshots.library.item(1, "106").unwrap().is_none());

    // A deletion and an addition at once: the count alone would not change.
    e.change(&Change::Delete { rating_key: 101 }).unwrap();
    e.change(&Change::Add {
        section: 1,
        item: movie(151, "Ronin", "/data/movies/Ronin (1998)/Ronin (1998).mkv"),
    })
    .unwrap();
    refresh_and_compare(&fx, &backend, 1, true);

    // A move between sections: an addition for one, a deletion for the other.
    e.change(&Change::Move {
        rating_key: 105,
        section: 3,
    })
    .unwrap();
    refresh_and_compare(&fx, &backend, 3, false);
    refresh_and_compare(&fx, &backend, 1, true);

    // An episode deleted (its season with it).
    e.change(&Change::Delete { rating_key: 250 }).unwrap();
    refresh_and_compare(&fx, &backend, 2, true);
}

#[test]
fn deletions_are_detected_every_time() {
    let fx = Fixture::with(&plexmatch_emulator::generate(3000, 4));
    let backend = fx.backend(policy());
    backend.snapshots.force_refresh(1, true).unwrap();
    let mut rng = fastrand::Rng::with_seed(16);
    for round in 0..6u64 {
        let keys = fx.emulator.leaf_keys(1);
        let gone = keys[rng.usize(..keys.len())];
        fx.emulator
            .change(&Change::Delete { rating_key: gone })
            .unwrap();
        // Every other round also adds one, so that the server's count stays the same.
        if round % 2 == 1 {
            let file = format!("/data/movies/New {round}/New {round}.mkv");
            fx.emulator
                .change(&Change::Add {
                    section: 1,
                    item: movie(900_000 + round, &format!("New {round}"), &file),
                })
                .unwrap();
        }
        let r = backend.snapshots.force_refresh(1, false).unwrap().unwrap();
        assert!(r.full, "round {round}: a deletion is never missed: {r:?}");
        assert!(
            backend
                .snapshots
                .library
                .item(1, &gone.to_string())
                .unwrap()
                .is_none(),
            "round {round}: item {gone} is gone"
        );
        let mut held: Vec<u64> = snapshot(&backend, 1)
            .iter()
            .map(|i| i.rating_key.parse().unwrap())
            .collect();
        held.sort_unstable();
        let mut served = fx.emulator.leaf_keys(1);
        served.sort_unstable();
        assert_eq!(held, served, "round {round}");
    }
}

#[test]
fn a_server_that_ignores_the_filter_is_handled() {
    let fx = Fixture::with(&plexmatch_emulator::generate(2500, 9));
    let backend = fx.backend(policy());
    backend.snapshots.force_refresh(1, true).unwrap();
    fx.emulator.set_ignore_filters(true);
    fx.emulator
        .change(&Change::Add {
            section: 1,
            item: movie(700_001, "Heat", "/data/movies/Heat (1995)/Heat (1995).mkv"),
        })
        .unwrap();
    let listed = fx.emulator.requests_to("listing");
    let r = backend.snapshots.force_refresh(1, false).unwrap().unwrap();
    // Its answer to the filtered request is every item: used as the full listing it is,
    // with no second listing.
    assert!(r.full, "{r:?}");
    assert_eq!(r.items, 2500 + 50 + 1);
    assert_eq!(
        fx.emulator.requests_to("listing") - listed,
        3,
        "three pages"
    );
    assert_eq!(snapshot(&backend, 1), full_listing(&fx, 1));
}

#[test]
fn a_full_listing_comes_after_n_incremental_ones() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy {
        full_listing_every: 2,
        ..policy()
    });
    backend.snapshots.force_refresh(1, true).unwrap();
    assert!(
        !backend
            .snapshots
            .force_refresh(1, false)
            .unwrap()
            .unwrap()
            .full
    );
    assert!(
        !backend
            .snapshots
            .force_refresh(1, false)
            .unwrap()
            .unwrap()
            .full
    );
    // The backstop: after two incremental refreshes in a row, a full listing.
    assert!(
        backend
            .snapshots
            .force_refresh(1, false)
            .unwrap()
            .unwrap()
            .full
    );
    assert!(
        !backend
            .snapshots
            .force_refresh(1, false)
            .unwrap()
            .unwrap()
            .full
    );
}

#[test]
fn parallel_pages_keep_every_integrity_check() {
    let fx = Fixture::with(&plexmatch_emulator::generate(6800, 3));
    // 7 pages, 4 in flight.
    let backend = fx.backend(policy());
    backend.snapshots.force_refresh(1, true).unwrap();
    let before = snapshot(&backend, 1);
    let faults: [(Fault, &str); 4] = [
        (Fault::DropItems(1), "items where"),
        (Fault::TotalSizeOff(-3), "totalSize changed"),
        (Fault::NoTotalSize, "no usable totalSize"),
        (
            Fault::BadItem(plexmatch_emulator::BadItem::NoRatingKey),
            "has no ratingKey",
        ),
    ];
    for (fault, says) in faults {
        let listed = fx.emulator.requests_to("listing");
        // The fault hits the fourth page request: one of the pages in flight.
        fx.emulator
            .inject_on("listing", Fault::Delay(Duration::ZERO), 3);
        fx.emulator.inject_on("listing", fault.clone(), 1);
        let e = backend.snapshots.force_refresh(1, true).unwrap_err();
        assert!(
            matches!(&e, PlexError::BadResponse(m) if m.contains(says)),
            "{fault:?}: {e}"
        );
        assert!(
            fx.emulator.requests_to("listing") - listed <= 7,
            "{fault:?}: no page asked twice"
        );
        fx.emulator.clear_faults();
        assert_eq!(snapshot(&backend, 1), before, "{fault:?}: nothing stored");
    }
    // A page that fails for a while is retried on its own; the listing completes.
    fx.emulator.inject_on(
        "listing",
        Fault::Status {
            code: 503,
            retry_after: None,
        },
        2,
    );
    let r = backend.snapshots.force_refresh(1, true).unwrap().unwrap();
    assert_eq!(r.items, 6800 + 136);
    assert_eq!(snapshot(&backend, 1), before);
}

#[test]
fn a_deleted_item_and_moved_files_are_seen_once_the_ttl_passes() {
    // The outside check: the server loses one item and three files move to other items;
    // within the TTL the snapshot is trusted, after it the answers follow the server.
    let fx = Fixture::sample();
    let ttl = ["--library-ttl", "1"];
    let paths = [
        "/data/movies/Inception (2010)/Inception (2010) - 1080p.mkv",
        "/data/movies/The Matrix (1999)/The Matrix (1999).mkv",
        "/data/movies-4k/Arrival (2016)/Arrival (2016) - 2160p.mkv",
        "/data/movies/Dune (2021)/Dune (2021).mkv",
    ];
    let run = || {
        let mut args = vec!["match", "--json"];
        args.extend(ttl);
        args.extend(paths);
        json_lines(&plexmatch(&fx, &args).output().unwrap())
    };
    let keys = |rows: &[serde_json::Value]| -> Vec<String> {
        rows.iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["outcome"].as_str().unwrap(),
                    r["item"]["rating_key"].as_str().unwrap_or("-")
                )
            })
            .collect()
    };
    assert_eq!(
        keys(&run()),
        ["high:101", "high:102", "high:302", "high:106"]
    );
    let e = &fx.emulator;
    e.change(&Change::Delete { rating_key: 101 }).unwrap();
    // Three files move to other items: Matrix's to 103, Arrival's to 301, Dune's to 104.
    for (from, to, file) in [
        (102, 103, paths[1]),
        (302, 301, paths[2]),
        (106, 104, paths[3]),
    ] {
        e.change(&Change::SetFiles {
            rating_key: from,
            files: vec![FileSpec::Single(format!("{file}.old"))],
        })
        .unwrap();
        e.change(&Change::SetFiles {
            rating_key: to,
            files: vec![FileSpec::Single(file.into())],
        })
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        keys(&run()),
        ["not-found:-", "high:103", "high:301", "high:104"],
        "after the TTL the answers follow the server"
    );
}

#[test]
fn the_in_memory_index_answers_as_sqlite_does() {
    // Once a section is looked up often, its snapshot is served from memory: for every
    // file name of a generated library (duplicates included), and names it does not hold,
    // the answer is the SQLite index's, also after an incremental refresh changed it.
    let lib = plexmatch_emulator::generate(3000, 21);
    let fx = Fixture::with(&lib);
    let backend = fx.backend(policy());
    backend.snapshots.force_refresh(1, true).unwrap();
    let mut names: Vec<String> = lib.sections[0]
        .items
        .iter()
        .flat_map(|i| i.files.iter().flat_map(|f| f.parts()))
        .map(|p| plexmatch_matchkit::file_name(p).unwrap().to_owned())
        .collect();
    names.extend((0..50).map(|i| format!("not there {i}.mkv")));
    names.push(names[5].to_uppercase());
    let sorted = |mut items: Vec<Item>| {
        items.sort_by(|a, b| a.rating_key.cmp(&b.rating_key));
        items
    };
    let compare = |backend: &Backend| {
        for name in &names {
            let fast = backend
                .snapshots
                .snapshot_items_by_file_name(1, name)
                .unwrap();
            let sqlite = backend
                .snapshots
                .library
                .items_by_file_name(1, name)
                .unwrap();
            assert_eq!(sorted(fast), sorted(sqlite), "{name}");
        }
    };
    compare(&backend);
    // The next run reads the copy this one stored, in one piece, and answers alike.
    let next_run = fx.backend(policy());
    let (_, built) = next_run
        .snapshots
        .library
        .resident_snapshot(1)
        .unwrap()
        .unwrap();
    assert!(!built, "the stored copy is read, not the rows");
    compare(&next_run);
    // Not vacuous for what items carry besides files: year, external ids, part sizes.
    let one = &backend
        .snapshots
        .library
        .items_by_file_name(1, &names[0])
        .unwrap()[0];
    assert!(one.year().is_some() && one.guids().len() >= 2, "{one:?}");
    assert!(one.part(0).size.is_some() && one.part(0).duration_ms.is_some());
    fx.emulator
        .change(&Change::SetFiles {
            rating_key: fx.emulator.leaf_keys(1)[10],
            files: vec![FileSpec::Single(format!("/data/movies/x/{}", names[20]))],
        })
        .unwrap();
    assert!(
        !backend
            .snapshots
            .force_refresh(1, false)
            .unwrap()
            .unwrap()
            .full
    );
    // A refresh leaves no copy of the old snapshot to be read.
    let (copy, built) = next_run
        .snapshots
        .library
        .resident_snapshot(1)
        .unwrap()
        .unwrap();
    assert!(built, "the copy of the old version is gone");
    assert_eq!(
        copy.version(),
        backend.snapshots.snapshot(1).unwrap().0.version
    );
    compare(&backend);
}

#[test]
fn items_keep_year_external_ids_and_part_sizes_through_the_snapshot() {
    // The sample's Inception as the server lists it (includeGuids=1), stored in the
    // snapshot and read back; and as one fetched item.
    let fx = Fixture::sample();
    let backend = fx.backend(policy());
    let name = "Inception (2010) - 1080p.mkv";
    let stored = backend.snapshots.items_by_file_name(1, name).unwrap();
    assert_eq!(stored.len(), 1);
    let inception = &stored[0];
    assert_eq!(inception.year(), Some(2010));
    assert_eq!(inception.guids(), ["imdb://tt1375666", "tmdb://27205"]);
    assert!(inception.part(0).size.unwrap() > 700_000_000);
    assert_eq!(inception.part(0).duration_ms, Some(5_400_000));
    let fetched = backend.gateway.fetch_item(&inception.rating_key).unwrap();
    assert_eq!(&fetched, inception);
}
