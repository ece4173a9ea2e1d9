//! The default strategy wastes no request and explains itself (issue 13): what cold and
//! warm runs cost, counted on the emulator, and `--explain` naming the rule that decided.

mod support;

use support::*;

fn explained(fx: &Fixture, paths: &[&str], extra: &[&str]) -> Vec<serde_json::Value> {
    let mut cmd = plexmatch(fx, &["match", "--json", "--explain"]);
    cmd.args(extra).args(paths);
    let out = cmd.output().unwrap();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), paths.len(), "{out:?}");
    lines
}

#[test]
fn explain_names_the_rule_that_decided() {
    let fx = Fixture::sample();
    let cases = [
        ("/x/Inception (2010) - 1080p.mkv", "high", "file-name index"),
        (
            "/DATA/movies/2020/holiday.mp4",
            "high",
            "exact path among 2 items",
        ),
        (
            "/media/x/2019/holiday.mp4",
            "high",
            "folder tail of 1 folder(s) among 2 items",
        ),
        (
            "/media/holiday.mp4",
            "low",
            "the path does not tell them apart",
        ),
        (
            "/data/movies-4k/Dune (2021)/Dune (2021).mkv",
            "high",
            "each section was sure of its own item; the exact path chose item 301",
        ),
        (
            "/x/nothing.mkv",
            "not-found",
            "no item of the sections asked",
        ),
    ];
    let paths: Vec<&str> = cases.iter().map(|c| c.0).collect();
    let lines = explained(&fx, &paths, &[]);
    for ((path, outcome, says), l) in cases.iter().zip(&lines) {
        assert_eq!(l["outcome"], *outcome, "{path}: {l}");
        let by = l["explain"]["decided_by"].as_str().unwrap();
        assert!(by.contains(says), "{path}: {by}");
        assert_eq!(l["explain"]["sections"].as_array().unwrap().len(), 3, "{l}");
    }
    // Mapped paths, with the mapping given as a setting.
    let lines = explained(
        &fx,
        &["/mnt/stash/2020/holiday.mp4"],
        &[
            "--section",
            "1",
            "--setting",
            "rewrite=/mnt/stash/=>/data/movies/",
        ],
    );
    assert!(
        lines[0]["explain"]["decided_by"]
            .as_str()
            .unwrap()
            .contains("mapped path"),
        "{}",
        lines[0]
    );
    // Warm: the match cache decided, verified, with no request.
    let lines = explained(&fx, &["/x/Inception (2010) - 1080p.mkv"], &[]);
    assert!(
        lines[0]["explain"]["decided_by"]
            .as_str()
            .unwrap()
            .contains("match cache (verified)"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[0]["explain"]["requests"], 0);
}

fn run(fx: &Fixture, paths: &[String], extra: &[&str]) -> (u64, String) {
    let before = fx.emulator.requests();
    let mut cmd = plexmatch(fx, &["match", "--json"]);
    cmd.args(extra).args(paths);
    let out = cmd.output().unwrap();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    (
        fx.emulator.requests() - before,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cold_runs_cost_a_look_up_a_path_or_a_listing_and_warm_runs_ask_nothing() {
    // A small library: a cold single path costs the server's identity, the section list
    // and one page per section; a warm one nothing.
    let fx = Fixture::sample();
    let one = vec!["/x/Inception (2010) - 1080p.mkv".to_owned()];
    // By file look-ups (the default): one a section, the path's own requests.
    let (cold, stderr) = run(&fx, &one, &[]);
    assert_eq!(cold, 1 + 1 + 3, "{stderr}");
    assert!(
        stderr.contains("0 answered with no request of their own, 1 needed Plex")
            && stderr.contains("5 Plex request(s), 2 of them before matching"),
        "{stderr}"
    );
    let (warm, stderr) = run(&fx, &one, &[]);
    assert_eq!(warm, 0, "{stderr}");
    // By listing: a page a section, before matching.
    let fx = Fixture::sample();
    let listing = ["--lookup", "listing"];
    let (cold, stderr) = run(&fx, &one, &listing);
    assert_eq!(cold, 1 + 1 + 3, "{stderr}");
    assert!(
        // Issue 27: a cold run's answer came from the listing this run made, so it is not
        // "from the caches alone".
        stderr.contains("1 answered with no request of their own, 0 needed Plex"),
        "{stderr}"
    );
    assert!(
        stderr.contains("5 Plex request(s), 5 of them before matching"),
        "{stderr}"
    );
    let (warm, stderr) = run(&fx, &one, &listing);
    assert_eq!(warm, 0, "{stderr}");

    // A larger section: listed once, in pages, whether one path or ten are cold.
    let lib = plexmatch_emulator::generate(5000, 11);
    let paths: Vec<String> = lib.sections[0]
        .items
        .iter()
        .take(10)
        .map(|i| i.files[0].parts()[0].to_owned())
        .collect();
    let fx = Fixture::with(&lib);
    let (cold, stderr) = run(&fx, &paths[..1], &listing);
    let pages = (5000 + 100) / 1000 + 1;
    assert_eq!(cold, 1 + 1 + pages as u64, "{stderr}");
    let fx = Fixture::with(&lib);
    let (cold, stderr) = run(&fx, &paths, &listing);
    assert_eq!(cold, 1 + 1 + pages as u64, "{stderr}");
    let (warm, _) = run(&fx, &paths, &listing);
    assert_eq!(warm, 0);
    // By default: ten paths cost the section's size and its listing (cheaper than ten
    // look-ups); three cost the size and a look-up each. Warm runs ask nothing either way.
    let fx = Fixture::with(&lib);
    let (cold, stderr) = run(&fx, &paths, &[]);
    assert_eq!(cold, 1 + 1 + 1 + pages as u64, "{stderr}");
    let (warm, stderr) = run(&fx, &paths, &[]);
    assert_eq!(warm, 0, "{stderr}");
    let fx = Fixture::with(&lib);
    let (cold, stderr) = run(&fx, &paths[..3], &[]);
    assert_eq!(cold, 1 + 1 + 1 + 3, "{stderr}");
    let (warm, stderr) = run(&fx, &paths[..3], &[]);
    assert_eq!(warm, 0, "{stderr}");
}
