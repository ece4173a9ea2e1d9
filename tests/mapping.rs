//! Path mapping in the host (issue 28): `--map FROM=TO` and `[[paths.map]]` turn the
//! caller's paths into the server's before any plugin sees them; answers show the
//! caller's path; a wrong mapping and an answer that does not map back are said; and
//! `plexmatch paths suggest` proposes the rules from a library with two roots.

mod support;

use support::*;

/// Outcome and rating key of each JSON answer, with the path it shows.
fn answers(out: &std::process::Output) -> Vec<(String, String, String)> {
    json_lines(out)
        .iter()
        .map(|a| {
            (
                a["path"].as_str().unwrap_or("").to_owned(),
                a["outcome"].as_str().unwrap_or("").to_owned(),
                a["item"]["rating_key"].as_str().unwrap_or("-").to_owned(),
            )
        })
        .collect()
}

const INCEPTION: &str = "/mnt/stash/movies/Inception (2010)/Inception (2010) - 1080p.mkv";
const PILOT: &str =
    "/mnt/stash/shows/Northern Lights/Season 01/Northern Lights - S01E01 - Pilot.mkv";
const HOLIDAY: &str = "/mnt/stash/movies/2020/holiday.mp4";

#[test]
fn two_roots_map_to_the_servers_paths_and_answers_show_the_callers() {
    let fx = Fixture::sample();
    // Without a mapping, the two holiday.mp4 items cannot be told apart by folder...
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "--section",
            "Movies",
            "/elsewhere/holiday.mp4",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(answers(&out)[0].1, "low", "{out:?}");
    // ...with one, the mapped path is Plex's own file: the exact-path rule decides.
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "--map",
            "/mnt/stash/movies/=/data/movies/",
            "--map",
            "/mnt/stash/shows/=/data/tv/",
            INCEPTION,
            PILOT,
            HOLIDAY,
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        answers(&out),
        [
            (INCEPTION.to_owned(), "high".to_owned(), "101".to_owned()),
            (PILOT.to_owned(), "high".to_owned(), "201".to_owned()),
            (HOLIDAY.to_owned(), "high".to_owned(), "109".to_owned()),
        ],
        "{stderr}"
    );
    assert!(
        !stderr.contains("WARN"),
        "a right mapping is not warned about: {stderr}"
    );
    // The same rules from the configuration file, as tables and as strings.
    let config = fx.data_dir().join("config.toml");
    std::fs::write(
        &config,
        "[[paths.map]]\nfrom = \"/mnt/stash/movies/\"\nto = \"/data/movies/\"\n",
    )
    .unwrap();
    let out = plexmatch(
        &fx,
        &[
            "--config",
            config.to_str().unwrap(),
            "match",
            "--json",
            HOLIDAY,
        ],
    )
    .output()
    .unwrap();
    assert_eq!(answers(&out)[0].2, "109", "{out:?}");
    let shown = plexmatch(
        &fx,
        &["--config", config.to_str().unwrap(), "config", "show"],
    )
    .output()
    .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("/mnt/stash/movies/=/data/movies/"),
        "{shown:?}"
    );
    std::fs::write(&config, "[paths]\nmap = [\"/mnt/stash/movies/\"]\n").unwrap();
    let bad = plexmatch(
        &fx,
        &["--config", config.to_str().unwrap(), "match", HOLIDAY],
    )
    .output()
    .unwrap();
    let said = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{said}");
    assert!(
        said.contains("line 2") && said.contains("is not FROM=TO"),
        "{said}"
    );
}

#[test]
fn a_wrong_mapping_and_an_answer_that_does_not_map_back_are_said() {
    let fx = Fixture::sample();
    // The file name still finds Inception, but no mapped path is a file Plex has, and
    // Plex's file does not map back to the path given.
    let out = plexmatch(
        &fx,
        &["match", "--json", "--map", "/mnt/stash/=/wrong/", INCEPTION],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(answers(&out)[0].2, "101", "{stderr}");
    assert_eq!(
        stderr.matches("none of them is a file Plex has").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("paths suggest"), "{stderr}");
    assert!(
        stderr.contains("does not start with \"/wrong/\""),
        "{stderr}"
    );
    // A mapping that reaches Plex's folder but not its file: maps back elsewhere.
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "--map",
            "/flat/=/data/movies/",
            "/flat/Inception (2010) - 1080p.mkv",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("maps back to \"/flat/Inception (2010)/Inception (2010) - 1080p.mkv\""),
        "{stderr}"
    );
    // --explain says the path was mapped, and by which rule.
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "--explain",
            "--map",
            "/mnt/stash/movies/=/data/movies/",
            HOLIDAY,
        ],
    )
    .output()
    .unwrap();
    let a = &json_lines(&out)[0];
    assert!(
        a["explain"]["decided_by"].as_str().unwrap().contains(
            "mapped by --map /mnt/stash/movies/=/data/movies/ to \"/data/movies/2020/holiday.mp4\""
        ),
        "{a}"
    );
}

#[test]
fn paths_suggest_proposes_the_rules_of_a_library_with_two_roots() {
    let fx = Fixture::sample();
    let input = [
        INCEPTION,
        "/mnt/stash/movies/Dune (2021)/Dune (2021).mkv",
        PILOT,
        "/mnt/stash/shows/Northern Lights/Season 02/Northern Lights - S02E01 - Thaw.mkv",
        "/mnt/stash/movies/Not In Plex.mkv",
    ]
    .join("\n");
    let out = run_with_stdin(
        plexmatch(&fx, &["paths", "suggest", "--json"]),
        input.as_bytes(),
    );
    let rules = json_lines(&out);
    let got: Vec<(String, u64)> = rules
        .iter()
        .map(|r| {
            (
                r["map"].as_str().unwrap().to_owned(),
                r["explains"].as_u64().unwrap(),
            )
        })
        .collect();
    // Each path votes for the rule keeping the longest folder tail: movies/ is a folder
    // on both sides, so it stays out of the rule. Dune is held in two sections, but only
    // Movies agrees on the folder (Movies 4K has movies-4k/): no conflict.
    assert_eq!(got[0], ("/mnt/stash/=/data/".to_owned(), 2), "{got:?}");
    assert!(
        got.contains(&("/mnt/stash/shows/=/data/tv/".to_owned(), 2)),
        "{got:?}"
    );
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        rules
            .iter()
            .all(|r| r["conflicts"].as_array().unwrap().is_empty()),
        "{rules:?}"
    );
    // The proposed rules make every path that Plex has HIGH.
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "--section",
            "Movies",
            "--section",
            "TV Shows",
            "--map",
            "/mnt/stash/=/data/",
            "--map",
            "/mnt/stash/shows/=/data/tv/",
            INCEPTION,
            PILOT,
        ],
    )
    .output()
    .unwrap();
    assert!(answers(&out).iter().all(|a| a.1 == "high"), "{out:?}");
}

#[test]
fn explain_on_a_low_says_what_plex_has_and_what_would_map_it() {
    let fx = Fixture::sample();
    let out = plexmatch(
        &fx,
        &[
            "match",
            "--json",
            "--explain",
            "--section",
            "Movies",
            "/mnt/x/holiday.mp4",
        ],
    )
    .output()
    .unwrap();
    let a = &json_lines(&out)[0];
    assert_eq!(a["outcome"], "low", "{a}");
    let said = a["explain"]["decided_by"].as_str().unwrap();
    assert!(
        said.contains("the name matches 2 item(s) of Movies, but no folder agrees")
            && said.contains("\"/data/movies/2020/holiday.mp4\"")
            && said.contains("paths suggest"),
        "{said}"
    );
}

#[test]
fn plugins_get_the_mapped_path_and_the_callers() {
    let fx = Fixture::sample();
    let wasm = hostile_wasm().to_str().unwrap().to_owned();
    let said = |args: &[&str]| {
        let mut all = vec!["match", "--json", "--section", "Movies", "--plugin", &wasm];
        all.extend_from_slice(args);
        let out = plexmatch(&fx, &all).output().unwrap();
        let lines = json_lines(&out);
        lines[0]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    // Mapped: `find` gets the server's path, `request.original-path` the caller's.
    let mapped = said(&[
        "--map",
        "/mnt/stash/=/data/",
        "/mnt/stash/movies/whoami.mkv",
    ]);
    assert!(
        mapped.contains("path=/data/movies/whoami.mkv original=/mnt/stash/movies/whoami.mkv"),
        "{mapped}"
    );
    // No rule applies: both are the caller's path.
    let unmapped = said(&["--map", "/mnt/stash/=/data/", "/elsewhere/whoami.mkv"]);
    assert!(
        unmapped.contains("path=/elsewhere/whoami.mkv original=/elsewhere/whoami.mkv"),
        "{unmapped}"
    );
}
