//! Never a wrong or lost answer (issue 11): caches kept per server, only complete and
//! consistent listings cached, failures that are cheap and loud, input that is data,
//! redirects that keep the token home, cache files that heal. Each scenario is followed by
//! a clean run on the same data dir that must give the clean answer (nothing wrong was
//! cached).

mod support;

use std::time::Duration;

use plexmatch_emulator::{BadItem, Emulator, Fault, LibraryFile, Options};
use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::matching::Outcome;
use plexmatch_engine::plex::PlexError;
use support::*;

const INCEPTION: &str = "/x/Inception (2010) - 1080p.mkv";

/// The sample library with Inception's rating key given to another film: what a second
/// server with its own numbering looks like.
fn other_server() -> LibraryFile {
    let mut lib = LibraryFile::sample();
    lib.server_name = Some("the other server".into());
    for it in &mut lib.sections[0].items {
        if let Some(k) = it.rating_key {
            it.rating_key = Some(k + 1000);
        }
    }
    lib
}

#[test]
fn two_servers_on_one_data_dir_never_answer_for_each_other() {
    let first = Fixture::sample();
    let second = Emulator::start(&other_server(), Options::default()).unwrap();
    assert_ne!(first.emulator.machine_id(), second.machine_id());

    let a = first.backend(CachePolicy::default());
    let m = match_one(&default_plugin(&a), &a, INCEPTION, &sections(&a, &[1]));
    assert_eq!(m.item.unwrap().rating_key, "101");
    drop(a);

    // The same data dir, pointed at the other server.
    let mut config = first.config_with_token(second.token());
    config.url = second.url().to_owned();
    let b = std::sync::Arc::new(
        plexmatch_engine::backend::Backend::open(&config, first.data_dir(), CachePolicy::default())
            .unwrap(),
    );
    assert_eq!(b.server.machine_id, second.machine_id());
    assert_eq!(b.server.name, "the other server");
    let m = match_one(&default_plugin(&b), &b, INCEPTION, &sections(&b, &[1]));
    assert_eq!(
        m.item.unwrap().rating_key,
        "1101",
        "the second server's own item, not the first server's cached key"
    );
    assert!(
        second.requests_to("sections") >= 1,
        "its own section list was asked"
    );
    drop(b);

    // And the first server still answers from its own, warm caches.
    let before = first.emulator.requests();
    let a = first.backend(CachePolicy::default());
    let m = match_one(&default_plugin(&a), &a, INCEPTION, &sections(&a, &[1]));
    assert_eq!(m.item.unwrap().rating_key, "101");
    assert_eq!(first.emulator.requests(), before, "warm: no request");
    assert_eq!(plexmatch_engine::servers::known(first.data_dir()).len(), 2);
}

#[test]
fn caches_from_before_per_server_keys_are_set_aside_never_served() {
    let fx = Fixture::sample();
    std::fs::write(fx.data_dir().join("library.sqlite3"), b"old unkeyed cache").unwrap();
    std::fs::write(fx.data_dir().join("matches.sqlite3"), b"old unkeyed cache").unwrap();
    let backend = fx.backend(CachePolicy::default());
    assert!(!fx.data_dir().join("library.sqlite3").exists());
    let aside: Vec<_> = std::fs::read_dir(fx.data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("unkeyed-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    let m = match_one(
        &default_plugin(&backend),
        &backend,
        INCEPTION,
        &sections(&backend, &[1]),
    );
    assert_eq!(m.outcome, Outcome::High);
}

/// A refresh of section 1 with `fault` on the page `page` (1-based) of the listing fails
/// with a bad answer naming `expect`, leaves no snapshot, and a clean refresh works.
fn listing_is_refused(fault: Fault, page: usize, expect: &str) {
    let fx = Fixture::with(&plexmatch_emulator::generate(2500, 3));
    // One page at a time, so that the fault hits page `page` (tests/refresh.rs has the
    // same faults with pages in flight).
    let backend = fx.sequential_backend(CachePolicy::default());
    backend.snapshots.sections().unwrap();
    for _ in 1..page {
        fx.emulator
            .inject_on("listing", Fault::Delay(Duration::ZERO), 1);
    }
    fx.emulator.inject_on("listing", fault.clone(), 1);
    let e = backend.snapshots.force_refresh(1, true).unwrap_err();
    assert!(
        matches!(&e, PlexError::BadResponse(m) if m.contains(expect)),
        "{fault:?}: {e:?}"
    );
    assert!(
        backend.snapshots.snapshot(1).is_none(),
        "{fault:?}: nothing was cached"
    );
    assert_eq!(
        backend
            .snapshots
            .force_refresh(1, true)
            .unwrap()
            .map(|r| r.items),
        Some(2500 + 50),
        "{fault:?}"
    );
}

#[test]
fn short_pages_are_refused_not_stored_as_complete() {
    listing_is_refused(
        Fault::DropItems(8),
        1,
        "holds 992 items where 1000 were due",
    );
    listing_is_refused(Fault::DropItems(1), 3, "page 3");
}

#[test]
fn listings_without_a_usable_or_steady_total_are_refused() {
    listing_is_refused(Fault::NoTotalSize, 1, "no usable totalSize");
    listing_is_refused(Fault::NoTotalSize, 2, "page 2");
    listing_is_refused(Fault::TotalSizeNotANumber, 1, "no usable totalSize");
    listing_is_refused(
        Fault::TotalSizeOff(-1),
        2,
        "totalSize changed from 2550 to 2549",
    );
}

#[test]
fn unparseable_items_fail_the_listing_naming_page_item_and_field() {
    listing_is_refused(
        Fault::BadItem(BadItem::NoRatingKey),
        2,
        "item 1001 of the listing has no ratingKey",
    );
    listing_is_refused(
        Fault::BadItem(BadItem::RatingKeyObject),
        1,
        "item 1 of the listing has a ratingKey that is neither a string nor a number (an object)",
    );
    listing_is_refused(
        Fault::BadItem(BadItem::NoMedia),
        1,
        "with no Media > Part > file",
    );
    // Once stored under a made-up name, every path of the section was "not found" from the
    // cache until the TTL passed.
    listing_is_refused(
        Fault::BadItem(BadItem::FileNumber),
        1,
        "has a Part file that is a number, not a path",
    );
    listing_is_refused(
        Fault::BadItem(BadItem::FileRelative),
        2,
        "has a Part file that is not an absolute path",
    );
}

#[test]
fn a_dropped_item_never_turns_a_duplicate_into_a_cached_high() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    // The listing loses its last two items, 109 and 110 (sizes kept): 108 would look like
    // the only holder of holiday.mp4. Refused, so the path is an error now, and on a clean
    // run the right answer.
    fx.emulator.inject_on("listing", Fault::DropItems(2), 1);
    let plugin = default_plugin(&backend);
    let m = match_one(&plugin, &backend, "/x/holiday.mp4", &movies);
    assert_ne!(m.outcome, Outcome::High, "{m:?}");
    drop(backend);
    let clean = fx.backend(CachePolicy {
        failure_backoff: Duration::ZERO,
        ..CachePolicy::default()
    });
    let m = match_one(&default_plugin(&clean), &clean, "/x/holiday.mp4", &movies);
    assert_eq!(
        m.outcome,
        Outcome::Low,
        "both holders of holiday.mp4: {m:?}"
    );
}

#[test]
fn an_empty_listing_is_trusted_only_for_the_negative_ttl() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy {
        negative_ttl: Duration::ZERO,
        ..CachePolicy::default()
    });
    backend.snapshots.sections().unwrap();
    fx.emulator.inject_on("listing", Fault::Empty, 1);
    assert_eq!(
        backend
            .snapshots
            .force_refresh(1, true)
            .unwrap()
            .map(|r| r.items),
        Some(0)
    );
    assert_eq!(
        backend.snapshots.snapshot(1).map(|(_, fresh)| fresh),
        Some(false),
        "an empty snapshot is not trusted past the negative TTL"
    );
    let m = match_one(
        &default_plugin(&backend),
        &backend,
        INCEPTION,
        &sections(&backend, &[1]),
    );
    assert_eq!(m.item.unwrap().rating_key, "101");
}

#[test]
fn a_broken_section_list_is_refused_and_a_404_lists_sections_again() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy::default());
    fx.emulator.inject_on("sections", Fault::BadSectionKey, 1);
    let e = backend.snapshots.sections().unwrap_err();
    assert!(
        matches!(&e, PlexError::BadResponse(m) if m.contains("section entry 1") && m.contains("not a section id")),
        "{e:?}"
    );
    drop(backend);
    let backend = fx.backend(CachePolicy::default());
    assert_eq!(
        backend.snapshots.sections().unwrap().len(),
        3,
        "nothing broken was cached"
    );

    // The server loses section 2; the cached list still has it.
    let mut lib = LibraryFile::sample();
    lib.sections.retain(|s| s.id != 2);
    fx.emulator.set_library(&lib).unwrap();
    let listed = fx.emulator.requests_to("sections");
    let e = backend.snapshots.refresh_if_stale(2).unwrap_err();
    assert!(matches!(e, PlexError::NotFound(_)), "{e:?}");
    assert_eq!(
        fx.emulator.requests_to("sections"),
        listed + 1,
        "listed again once"
    );
    assert!(
        backend
            .snapshots
            .sections()
            .unwrap()
            .iter()
            .all(|s| s.id != 2)
    );
    let _ = backend.snapshots.refresh_if_stale(2);
    assert_eq!(
        fx.emulator.requests_to("sections"),
        listed + 1,
        "only once per run"
    );
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_the_token_stays_home() {
    let fx = Fixture::sample();
    let elsewhere = Emulator::start(&LibraryFile::sample(), Options::default()).unwrap();
    // Another origin: same machine, another port.
    let target = format!(
        "{}/library/sections",
        elsewhere.url().replace("127.0.0.1", "localhost")
    );
    let client =
        plexmatch_engine::plex::PlexClient::new(&fx.config_with_token(fx.emulator.token()))
            .unwrap();
    fx.emulator
        .inject_on("sections", Fault::Redirect(target.clone()), 1);
    let e = client.sections().unwrap_err();
    assert!(
        matches!(&e, PlexError::BadResponse(m) if m.contains(&target) && m.contains("not followed")),
        "{e:?}"
    );
    assert_eq!(
        elsewhere.requests(),
        0,
        "nothing was sent to the other host"
    );
    assert_eq!(fx.emulator.requests_to("sections"), 1, "not retried");
}

#[test]
fn a_line_that_is_not_utf8_is_its_own_input_error_and_the_batch_goes_on() {
    let fx = Fixture::sample();
    let input = b"/x/Inception (2010) - 1080p.mkv\n/m/caf\xe9.mkv\n/x/The Matrix (1999).mkv\n";
    let out = run_with_stdin(
        plexmatch(&fx, &["match", "--json", "--section", "1"]),
        input,
    );
    let lines = json_lines(&out);
    let outcomes: Vec<&str> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["high", "error", "high"], "{out:?}");
    assert_eq!(lines[1]["error"]["kind"], "input");
    assert_eq!(lines[1]["path"], "/m/caf\u{fffd}.mkv");
    assert_eq!(out.status.code(), Some(1), "input errors exit 1");
}

#[test]
fn unusable_paths_are_input_errors_shown_escaped_as_arguments_or_on_stdin() {
    let fx = Fixture::sample();
    let long = format!("/m/{}.mkv", "a".repeat(5000));
    let weird = "/m/\x1b[31mred\r\nfake.mkv";
    let args = ["", "relative.mkv", long.as_str(), weird, "/m/folder/"];
    let mut cmd = plexmatch(&fx, &["match", "--json", "--section", "1"]);
    cmd.args(args);
    let out = cmd.output().unwrap();
    let from_args = json_lines(&out);
    assert_eq!(from_args.len(), 5, "{out:?}");
    for l in &from_args {
        assert_eq!(l["outcome"], "error", "{l}");
        assert_eq!(l["error"]["kind"], "input", "{l}");
    }
    assert!(
        from_args[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("5007 bytes")
    );
    assert_eq!(from_args[3]["path"], "/m/\\u{1b}[31mred\\r\\nfake.mkv");
    assert_eq!(out.status.code(), Some(1));

    // The same lines on stdin (the CR LF pair in `weird` would end a line there, so it is
    // sent with a NUL instead) give the same kind of answer each, and no raw control
    // character reaches the table.
    let stdin = format!("\nrelative.mkv\n{long}\n/m/\x1b[31mred\0fake.mkv\n/m/folder/\n");
    let out = run_with_stdin(
        plexmatch(&fx, &["match", "--section", "1"]),
        stdin.as_bytes(),
    );
    let table = String::from_utf8_lossy(&out.stdout);
    // The header, and each answer's row with its error's line under it.
    assert_eq!(table.lines().count(), 1 + 5 * 2, "{table}");
    assert!(
        !table.contains('\x1b') && !table.contains('\0'),
        "{table:?}"
    );
    assert!(table.contains("\\u{1b}[31mred\\0fake.mkv"), "{table}");
}

#[test]
fn a_refused_token_stops_the_run_at_the_first_refusal() {
    let fx = Fixture::sample();
    // Warm the section list with the right token.
    let out = plexmatch(&fx, &["match", "--section", "1", INCEPTION])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let before = fx.emulator.requests();
    let paths: String = (0..2000).map(|i| format!("/m/film {i}.mkv\n")).collect();
    let mut cmd = plexmatch(&fx, &["match", "--json"]);
    cmd.env("PLEX_TOKEN", "wrong-token");
    let out = run_with_stdin(cmd, paths.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2000);
    assert!(
        lines.iter().all(|l| l["error"]["kind"] == "unauthorized"),
        "{:?}",
        lines[1999]
    );
    let sent = fx.emulator.requests() - before;
    assert!(sent <= 10, "{sent} requests for 2,000 paths");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().count() < 20, "{stderr}");
}

#[test]
fn a_failing_listing_costs_a_bounded_number_of_requests_whatever_the_paths() {
    let fx = Fixture::sample();
    fx.emulator
        .inject_on("listing", Fault::status(503), 100_000);
    let paths: String = (0..200).map(|i| format!("/m/film {i}.mkv\n")).collect();
    let out = run_with_stdin(
        plexmatch(
            &fx,
            &["match", "--json", "--lookup", "listing", "--section", "1"],
        ),
        paths.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 200);
    assert!(
        lines.iter().all(|l| l["error"]["kind"] == "plex"),
        "{}",
        lines[0]
    );
    let sent = fx.emulator.requests();
    assert!(sent <= 16, "{sent} requests for 200 paths");
    fx.emulator.clear_faults();

    // The clean re-run on the same data dir: nothing failed was cached.
    let out = plexmatch(&fx, &["match", "--section", "1", INCEPTION])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_cache_file_damaged_inside_is_moved_aside_and_rebuilt_while_the_run_goes_on() {
    let fx = Fixture::with(&plexmatch_emulator::generate(3000, 5));
    let backend = fx.backend(CachePolicy::default());
    let movies = sections(&backend, &[1]);
    backend.snapshots.force_refresh(1, true).unwrap();
    let probe = |b: &std::sync::Arc<plexmatch_engine::backend::Backend>| {
        let lib = plexmatch_emulator::generate(3000, 5);
        let path = lib.sections[0].items[1500].files[0].parts()[0].to_owned();
        match_one(&default_plugin(b), b, &path, &movies)
    };
    let expected = probe(&backend);
    assert!(
        matches!(expected.outcome, Outcome::High | Outcome::Low),
        "{expected:?}"
    );
    drop(backend);
    for name in ["library.sqlite3", "matches.sqlite3"] {
        let file = fx.cache_dir().join(name);
        let mut bytes = std::fs::read(&file).unwrap();
        let mid = bytes.len() / 2;
        let end = (mid + (64 << 10)).min(bytes.len());
        for (i, b) in bytes[mid.min(8192)..end].iter_mut().enumerate() {
            *b = (i * 131 % 251) as u8;
        }
        std::fs::write(&file, bytes).unwrap();
    }
    let backend = fx.backend(CachePolicy::default());
    let _ = probe(&backend);
    let m = probe(&backend);
    assert_eq!(m.outcome, expected.outcome, "{m:?}");
    let aside = std::fs::read_dir(fx.cache_dir())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".corrupt-")
        })
        .count();
    assert!(aside >= 1, "the damaged file was kept aside");
    drop(backend);
    let again = fx.backend(CachePolicy::default());
    assert_eq!(probe(&again).outcome, expected.outcome);
}

/// Makes a data dir unwritable for the test, even for root (`chattr +i`, which binds root
/// too; `chmod` otherwise), and writable again when dropped.
struct Unwritable<'a>(&'a std::path::Path);

impl<'a> Unwritable<'a> {
    fn new(dir: &'a std::path::Path) -> Unwritable<'a> {
        let chattr = std::process::Command::new("chattr")
            .arg("-R")
            .arg("+i")
            .arg(dir)
            .status();
        if !chattr.is_ok_and(|s| s.success()) {
            std::process::Command::new("chmod")
                .args(["-R", "a-w"])
                .arg(dir)
                .status()
                .unwrap();
        }
        assert!(
            std::fs::write(dir.join("probe"), b"x").is_err(),
            "the data dir must be unwritable for this test (chattr +i or chmod a-w)"
        );
        Unwritable(dir)
    }
}

impl Drop for Unwritable<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr")
            .arg("-R")
            .arg("-i")
            .arg(self.0)
            .status();
        let _ = std::process::Command::new("chmod")
            .args(["-R", "u+w"])
            .arg(self.0)
            .status();
    }
}

#[test]
fn a_read_only_data_dir_is_read_and_nothing_is_moved() {
    let fx = Fixture::sample();
    let out = plexmatch(&fx, &["match", "--section", "1", INCEPTION])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let listing = |dir: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = listing(&fx.cache_dir());
    let _guard = Unwritable::new(fx.data_dir());
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--section",
            "1",
            INCEPTION,
            "/x/The Matrix (1999).mkv",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("HIGH").count(), 2, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be written"), "{stderr}");
    assert!(stderr.lines().count() < 10, "{stderr}");
    assert_eq!(listing(&fx.cache_dir()), before, "nothing moved aside");
}

#[test]
fn a_full_disk_gives_warnings_and_right_answers() {
    let lib = plexmatch_emulator::generate(20_000, 13);
    let paths: Vec<String> = (77..82)
        .map(|i| lib.sections[0].items[i].files[0].parts()[0].to_owned())
        .collect();
    let fx = Fixture::with(&lib);
    // A file-size limit stands in for a full disk: writes past it fail (EFBIG; SIGXFSZ
    // ignored), so the snapshot (about 2 MB) cannot be stored.
    let out = std::process::Command::new("bash")
        .args([
            "-c",
            "trap '' XFSZ; ulimit -f 1536; exec \"$0\" match --json --lookup listing --section 1 \"$@\"",
            env!("CARGO_BIN_EXE_plexmatch"),
        ])
        .args(&paths)
        .env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token())
        .env("PLEXMATCH_DATA_DIR", fx.data_dir())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5, "{out:?}");
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["outcome"], "high", "{out:?}");
        assert_eq!(
            line["item"]["title"],
            lib.sections[0].items[77 + i].title,
            "{out:?}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("could not be stored"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    // The listing that could not be stored served every path: the section was listed
    // once (21 pages), not once per path.
    assert_eq!(fx.emulator.requests_to("listing"), 21, "{stderr}");
}
