//! Settling answers from the command line: pins across runs and plugins, `--offline`,
//! `--refresh`, input from files, NUL-separated input and folders, Ctrl-C. Every test runs
//! the real binary against the emulator on loopback.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use plexmatch_emulator::Change;
use support::{Fixture, json_lines, plexmatch};

const DUNE: &str = "/stash/movies/Dune (2021).mkv";
const INCEPTION: &str = "/stash/movies/Inception (2010)/Inception (2010) - 1080p.mkv";

fn run(fx: &Fixture, args: &[&str]) -> std::process::Output {
    plexmatch(fx, args).output().expect("plexmatch runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_pin_settles_a_low_answer_for_every_plugin_and_chain_across_runs() {
    let fx = Fixture::sample();
    let before = run(&fx, &["match", "--json", DUNE]);
    assert_eq!(before.status.code(), Some(1));
    assert_eq!(json_lines(&before)[0]["outcome"], "low");

    let pinned = run(&fx, &["pin", DUNE, "301"]);
    assert_eq!(pinned.status.code(), Some(0), "{}", text(&pinned.stderr));
    assert!(
        text(&pinned.stdout).contains("item 301"),
        "{}",
        text(&pinned.stdout)
    );

    for plugins in [
        vec![],
        vec!["--plugin", "path-matcher"],
        vec!["--plugin", "path-matcher", "--plugin", "default"],
    ] {
        let mut args = vec!["match", "--json", DUNE];
        args.extend(plugins.iter());
        let out = run(&fx, &args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let a = &json_lines(&out)[0];
        assert_eq!(a["outcome"], "high", "{args:?}: {a}");
        assert_eq!(a["item"]["rating_key"], "301");
        assert_eq!(a["item"]["section"], "Movies 4K");
        assert_eq!(a["plugin"], "pinned");
    }
    let listed = run(&fx, &["cache", "pins", "--json"]);
    let pins = json_lines(&listed);
    assert_eq!(pins.len(), 1);
    assert_eq!(pins[0]["path"], DUNE);
    assert_eq!(pins[0]["rating_key"], "301");
    // cache stats counts the pins, and the compiled plugins the runs left.
    let stats: serde_json::Value =
        serde_json::from_slice(&run(&fx, &["cache", "stats", "--json"]).stdout).unwrap();
    assert_eq!(stats["pins"], 1, "{stats}");
    assert!(
        stats["compiled_plugins"]["count"].as_u64().unwrap() >= 2,
        "{stats}"
    );
    assert!(stats["compiled_plugins"]["bytes"].as_u64().unwrap() > 0);

    // Unpinned, the plugins decide again.
    let unpinned = run(&fx, &["unpin", DUNE]);
    assert_eq!(unpinned.status.code(), Some(0));
    let again = run(&fx, &["match", "--json", DUNE]);
    assert_eq!(json_lines(&again)[0]["outcome"], "low");
    assert_eq!(run(&fx, &["unpin", DUNE]).status.code(), Some(1));

    // A batch of decisions: each line checked, a bad one reported, the others pinned.
    let file = fx.data_dir().join("decisions.tsv");
    std::fs::write(
        &file,
        format!("# path<TAB>key\n{DUNE}\t106\n/stash/home/holiday.mp4\t99999\n"),
    )
    .unwrap();
    let out = run(&fx, &["pin", "--from", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "one line failed");
    assert!(
        text(&out.stderr).contains("no item 99999"),
        "{}",
        text(&out.stderr)
    );
    let a = &json_lines(&run(&fx, &["match", "--json", DUNE]))[0];
    assert_eq!(
        (a["plugin"].as_str(), a["item"]["rating_key"].as_str()),
        (Some("pinned"), Some("106"))
    );
}

#[test]
fn a_pin_outlives_cache_clears_and_is_never_overwritten_by_a_plugin() {
    let fx = Fixture::sample();
    // The default plugin decides Inception (101) and caches it.
    let first = run(&fx, &["match", "--json", INCEPTION]);
    assert_eq!(json_lines(&first)[0]["item"]["rating_key"], "101");
    // A person says otherwise (a renamed file: --force).
    let refused = run(&fx, &["pin", INCEPTION, "102"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains("--force"),
        "{}",
        text(&refused.stderr)
    );
    let pinned = run(&fx, &["pin", "--force", INCEPTION, "102"]);
    assert_eq!(pinned.status.code(), Some(0), "{}", text(&pinned.stderr));
    for _ in 0..2 {
        let out = run(&fx, &["match", "--json", INCEPTION]);
        assert_eq!(json_lines(&out)[0]["item"]["rating_key"], "102");
    }
    assert_eq!(run(&fx, &["cache", "clear"]).status.code(), Some(0));
    let after_clear = run(&fx, &["match", "--json", INCEPTION]);
    let a = &json_lines(&after_clear)[0];
    assert_eq!(a["item"]["rating_key"], "102", "{a}");
    assert_eq!(a["plugin"], "pinned");
}

#[test]
fn a_pin_whose_item_is_gone_or_moved_is_an_error_naming_the_pin() {
    let fx = Fixture::sample();
    assert_eq!(run(&fx, &["pin", DUNE, "301"]).status.code(), Some(0));
    fx.emulator
        .change(&Change::Delete { rating_key: 301 })
        .unwrap();
    // After the TTL, the pin is verified against Plex, never quietly replaced.
    let out = run(&fx, &["match", "--json", "--library-ttl", "0", DUNE]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let a = &json_lines(&out)[0];
    assert_eq!(a["outcome"], "error", "{a}");
    assert_eq!(a["error"]["kind"], "pin");
    let msg = a["error"]["message"].as_str().unwrap();
    assert!(msg.contains("item 301") && msg.contains("unpin"), "{msg}");

    let fx = Fixture::sample();
    assert_eq!(run(&fx, &["pin", DUNE, "301"]).status.code(), Some(0));
    fx.emulator
        .change(&Change::Move {
            rating_key: 301,
            section: 1,
        })
        .unwrap();
    let out = run(&fx, &["match", "--json", "--library-ttl", "0", DUNE]);
    let a = &json_lines(&out)[0];
    assert_eq!(a["outcome"], "error", "{a}");
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("section 1"),
        "{a}"
    );
}

#[test]
fn offline_answers_from_the_caches_and_never_asks_plex() {
    let fx = Fixture::sample();
    // Online once: the section list and the Movies snapshot are cached.
    let online = run(
        &fx,
        &[
            "match",
            "--lookup",
            "listing",
            "--section",
            "Movies",
            INCEPTION,
        ],
    );
    assert_eq!(online.status.code(), Some(0));
    let asked = fx.emulator.requests();
    // Long after the TTL (0 s), offline still answers from what is cached.
    let out = run(
        &fx,
        &[
            "match",
            "--json",
            "--offline",
            "--library-ttl",
            "0",
            "--section",
            "Movies",
            INCEPTION,
            "/stash/movies/Unknown Film (1999).mkv",
        ],
    );
    let answers = json_lines(&out);
    assert_eq!(answers[0]["outcome"], "high", "{}", text(&out.stderr));
    assert_eq!(answers[0]["item"]["rating_key"], "101");
    assert_eq!(answers[1]["outcome"], "not-found");
    // A section never listed: an error that says the caches cannot answer.
    let out = run(
        &fx,
        &[
            "match",
            "--json",
            "--offline",
            "--section",
            "TV Shows",
            "/stash/tv/Northern Lights/Season 01/Northern Lights - S01E02 - The Long Night.mkv",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let a = &json_lines(&out)[0];
    assert_eq!(a["outcome"], "error");
    assert!(
        a["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not in the caches"),
        "{a}"
    );
    assert_eq!(fx.emulator.requests(), asked, "offline sent a request");

    // A data dir that never met the server cannot even tell which server it is.
    let fresh = tempfile::tempdir().unwrap();
    let out = plexmatch(&fx, &["match", "--offline", INCEPTION])
        .env("PLEXMATCH_DATA_DIR", fresh.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(
        text(&out.stderr).contains("run once without --offline"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(fx.emulator.requests(), asked);
}

#[test]
fn refresh_brings_the_snapshots_up_to_date_before_matching() {
    let fx = Fixture::sample();
    let first = run(&fx, &["match", "--json", INCEPTION]);
    assert_eq!(json_lines(&first)[0]["item"]["title"], "Inception");
    fx.emulator
        .change(&Change::SetTitle {
            rating_key: 101,
            title: "Inception (Director's Cut)".into(),
        })
        .unwrap();
    // Within the TTL the snapshot is trusted...
    let trusted = run(&fx, &["match", "--json", INCEPTION]);
    assert_eq!(json_lines(&trusted)[0]["item"]["title"], "Inception");
    // ...unless asked to refresh it.
    let refreshed = run(&fx, &["match", "--json", "--refresh", INCEPTION]);
    assert_eq!(
        json_lines(&refreshed)[0]["item"]["title"],
        "Inception (Director's Cut)"
    );
}

#[test]
fn paths_come_from_a_file_nul_separated_input_or_a_folder() {
    let fx = Fixture::sample();
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("paths.txt");
    std::fs::write(&list, format!("{INCEPTION}\n{DUNE}\n")).unwrap();
    let out = run(&fx, &["match", "--json", "--from", list.to_str().unwrap()]);
    let answers = json_lines(&out);
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1]["path"], DUNE);

    // NUL-separated, as `find -print0` writes: a newline inside a record is part of it.
    let input = format!("{INCEPTION}\0/stash/a\nb.mkv\0{DUNE}\0");
    let out = support::run_with_stdin(plexmatch(&fx, &["match", "--json", "-0"]), input.as_bytes());
    let answers = json_lines(&out);
    assert_eq!(answers.len(), 3, "{}", text(&out.stderr));
    assert_eq!(answers[0]["outcome"], "high");
    assert_eq!(answers[1]["error"]["kind"], "input");
    assert_eq!(answers[2]["outcome"], "low");

    // A folder: the media files under it, in name order; other files ignored.
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("Inception (2010)")).unwrap();
    std::fs::write(
        media.join("Inception (2010)/Inception (2010) - 1080p.mkv"),
        b"",
    )
    .unwrap();
    std::fs::write(media.join("Dune (2021).MKV"), b"").unwrap();
    std::fs::write(media.join("notes.txt"), b"").unwrap();
    let out = run(&fx, &["match", "--json", media.to_str().unwrap()]);
    let answers = json_lines(&out);
    assert_eq!(answers.len(), 2, "{}", text(&out.stdout));
    assert!(
        answers[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("Dune (2021).MKV")
    );
    assert_eq!(answers[1]["item"]["rating_key"], "101");
    // Other extensions when asked.
    let out = run(
        &fx,
        &[
            "match",
            "--json",
            "--extensions",
            "txt",
            media.to_str().unwrap(),
        ],
    );
    let answers = json_lines(&out);
    assert_eq!(answers.len(), 1);
    assert!(answers[0]["path"].as_str().unwrap().ends_with("notes.txt"));
}

#[test]
fn ctrl_c_answers_the_paths_in_flight_prints_the_summary_and_exits_130() {
    let fx = Fixture::sample();
    let mut child = plexmatch(&fx, &["match", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{INCEPTION}").unwrap();
    writeln!(stdin, "{DUNE}").unwrap();
    stdin.flush().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..2 {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with('{'), "{line}");
    }
    // stdin stays open: plexmatch is waiting for the next line when Ctrl-C comes.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(130));
    let err = text(&out.stderr);
    assert!(
        err.contains("interrupted: 2 path(s): 1 HIGH, 1 LOW"),
        "{err}"
    );
}
