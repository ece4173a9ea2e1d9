//! What a new user meets in the first hour, through the real binary: the table on an 80-
//! and a 120-column terminal (a real pseudo-terminal, made by util-linux's `script`),
//! errors read in full, broken pipes, relative paths.

mod support;

use std::process::Command;

use support::*;
use unicode_width::UnicodeWidthStr;

/// Runs `plexmatch ARGS` with its stdout on a pseudo-terminal `columns` wide; what the
/// terminal showed, escape sequences and carriage returns removed.
fn on_terminal(fx: &Fixture, columns: usize, args: &[&str]) -> String {
    on_terminal_with(fx, columns, args, "2>/dev/null")
}

/// Like [`on_terminal`], with `redirect` after the command (`""`: stderr on the terminal too).
fn on_terminal_with(fx: &Fixture, columns: usize, args: &[&str], redirect: &str) -> String {
    let binary = env!("CARGO_BIN_EXE_plexmatch");
    let quoted: Vec<String> = std::iter::once(binary)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("{} {redirect}", quoted.join(" ")),
            "/dev/null",
        ])
        .env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token())
        .env("PLEXMATCH_DATA_DIR", fx.data_dir())
        .env("COLUMNS", columns.to_string())
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .env_remove("RUST_LOG")
        .output()
        .expect("script runs");
    strip_escapes(&String::from_utf8_lossy(&out.stdout))
}

/// Text without ANSI escape sequences and carriage returns.
fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

const PATHS: [&str; 4] = [
    "/media/movies/The Matrix (1999)/The Matrix (1999).mkv",
    "/media/somewhere/very/deep/in/the/collection/holiday.mp4",
    "/media/x/Heat (1995).mkv",
    "relative/Inception (2010) - 1080p.mkv",
];

#[test]
fn the_table_fits_80_and_120_columns_and_errors_are_read_in_full() {
    let fx = Fixture::sample();
    for columns in [80, 120] {
        let mut args = vec!["match", "--section", "Movies"];
        args.extend(PATHS);
        let screen = on_terminal(&fx, columns, &args);
        let rows: Vec<&str> = screen
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("path(s):"))
            .collect();
        for line in &rows {
            assert!(
                line.width() <= columns || line.starts_with("    ✗"),
                "{columns}: a line of {} cells: {line:?}\n{screen}",
                line.width()
            );
        }
        let header = rows[0];
        assert!(
            header.starts_with("OUTCOME") && header.contains("PLUGIN") && header.ends_with("PATH"),
            "{columns}: {header:?}"
        );
        assert!(
            screen.contains("The Matrix (1999).mkv") && screen.contains("/Heat (1995).mkv"),
            "{columns}: file names stay\n{screen}"
        );
        // LOW: each candidate's file keeps its name.
        assert!(
            rows.iter()
                .any(|l| l.trim_start().starts_with('·') && l.ends_with("2019/holiday.mp4")),
            "{screen}"
        );
        // The relative path's error, whole, on its own line: as JSON has it.
        let error = rows
            .iter()
            .find(|l| l.trim_start().starts_with('✗'))
            .unwrap_or_else(|| panic!("no error line\n{screen}"));
        let json = json_lines(
            &plexmatch(&fx, &["match", "--json", "--section", "Movies", PATHS[3]])
                .output()
                .unwrap(),
        );
        let message = json[0]["error"]["message"].as_str().unwrap();
        assert!(message.len() > 40, "{message}");
        assert_eq!(*error, format!("    ✗ {message}"));
    }
}

/// A pipe whose reading end is already closed, as after `| head` has gone.
fn closed_pipe() -> std::process::Stdio {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe fills two new descriptors; each is owned once below.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    drop(unsafe { std::fs::File::from_raw_fd(fds[0]) });
    unsafe { std::process::Stdio::from_raw_fd(fds[1]) }
}

#[test]
fn a_closed_stdout_ends_the_command_quietly_and_stops_the_work() {
    use std::os::unix::process::ExitStatusExt;
    let fx = Fixture::sample();
    let list = fx.data_dir().join("paths.txt");
    let paths: String = (0..3000)
        .map(|i| format!("/media/x/Inception (2010) - 1080p {i}.mkv\n"))
        .collect();
    std::fs::write(&list, paths).unwrap();
    let list = list.to_str().unwrap();
    for args in [
        vec!["completions", "bash"],
        vec!["sections"],
        vec!["match", "--json", "--from", list],
    ] {
        let out = plexmatch(&fx, &args)
            .stdout(closed_pipe())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?} {stderr}",
            out.status
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("path(s):"),
            "{args:?}: the batch went on after its reader left: {stderr}"
        );
    }
}

#[test]
fn relative_paths_and_folders_that_exist_here_are_resolved() {
    let fx = Fixture::sample();
    let here = tempfile::tempdir().unwrap();
    let movies = here.path().join("movies");
    std::fs::create_dir_all(movies.join("Inception (2010)")).unwrap();
    std::fs::create_dir_all(here.path().join("empty")).unwrap();
    let file = movies.join("Inception (2010)/Inception (2010) - 1080p.mkv");
    std::fs::write(&file, b"").unwrap();
    let run = |dir: &std::path::Path, args: &[&str]| {
        let mut cmd = plexmatch(&fx, &["match", "--json"]);
        cmd.args(args).current_dir(dir);
        json_lines(&cmd.output().unwrap())
    };
    let whole = file.to_str().unwrap();
    for (dir, arg) in [
        (here.path().to_owned(), "."),
        (movies.join("Inception (2010)"), "../../movies"),
        (
            movies.join("Inception (2010)"),
            "Inception (2010) - 1080p.mkv",
        ),
    ] {
        let answers = run(&dir, &[arg]);
        assert_eq!(answers.len(), 1, "{arg}: {answers:?}");
        assert_eq!(answers[0]["path"], whole, "{arg}");
        assert_eq!(answers[0]["outcome"], "high", "{arg}: {}", answers[0]);
        assert_eq!(answers[0]["item"]["rating_key"], "101");
    }
    let empty = run(here.path(), &["empty"]);
    assert_eq!(empty.len(), 1, "{empty:?}");
    assert_eq!(empty[0]["outcome"], "error");
    assert!(
        empty[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no media files under this folder"),
        "{}",
        empty[0]
    );
    // A relative path that does not exist here is still refused as relative.
    let missing = run(here.path(), &["nowhere/Inception (2010) - 1080p.mkv"]);
    assert!(
        missing[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("relative")
    );
}

#[test]
fn ctrl_c_stops_a_listing_under_way_and_nothing_of_it_is_stored() {
    let fx = Fixture::with(&plexmatch_emulator::generate(20_000, 7));
    fx.emulator
        .set_listing_delay(std::time::Duration::from_millis(300));
    let child = plexmatch(
        &fx,
        &["match", "--json", "--pages-in-flight", "1", "/x/a.mkv"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while fx.emulator.requests_to("listing") < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the listing never began"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SAFETY: signalling a child process this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let listed = fx.emulator.requests_to("listing");
    assert!(
        listed < 8,
        "{listed} listing requests: the listing of 21 pages went on after Ctrl-C"
    );
    let backend = fx.backend(plexmatch_engine::backend::CachePolicy::default());
    assert_eq!(
        backend.snapshots.library.snapshot_info(1).unwrap(),
        None,
        "nothing of a stopped listing is stored"
    );
}

#[test]
fn the_progress_bar_says_which_section_is_being_listed() {
    let fx = Fixture::with(&plexmatch_emulator::generate(4_000, 7));
    fx.emulator
        .set_listing_delay(std::time::Duration::from_millis(400));
    let screen = on_terminal_with(
        &fx,
        120,
        &["match", "--pages-in-flight", "1", "/x/a.mkv", "/x/b.mkv"],
        "",
    );
    assert!(
        screen.contains("listing Movies: page 2 of 5"),
        "the bar names the section and the page\n{screen}"
    );
}

#[test]
fn a_mapping_written_from_equals_to_runs_unquoted_and_maps() {
    let fx = Fixture::sample();
    // Both holiday.mp4 items share the name; only the mapped path tells 108 from 109.
    for mapping in [
        "rewrite=/stash/x/=/data/movies/2020/",
        "rewrite=/stash/x/=>/data/movies/2020/",
        "",
    ] {
        for plugin in ["path-matcher", "default"] {
            let mut args = vec!["match", "--json", "--section", "Movies", "--plugin", plugin];
            if !mapping.is_empty() {
                args.extend(["--setting", mapping]);
            }
            args.push("/stash/x/holiday.mp4");
            let out = plexmatch(&fx, &args).output().unwrap();
            let answers = json_lines(&out);
            assert_eq!(
                (
                    answers[0]["outcome"].as_str(),
                    answers[0]["item"]["rating_key"].as_str()
                ),
                if mapping.is_empty() {
                    (Some("low"), None)
                } else {
                    (Some("high"), Some("109"))
                },
                "{plugin} {mapping}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn common_url_mistakes_say_what_is_wrong_and_the_fix_at_once() {
    let fx = Fixture::sample();
    let url = fx.emulator.url().to_owned();
    let bare = url.trim_start_matches("http://").to_owned();
    let sections = |u: &str| {
        let out = plexmatch(&fx, &["sections"])
            .env("PLEX_URL", u)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, stderr) = sections(&bare);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("has no scheme") && stderr.contains(&format!("write {url}")),
        "{stderr}"
    );
    let (code, stdout, stderr) = sections(&format!("{url} "));
    assert_eq!(code, Some(0), "a trailing space is dropped: {stderr}");
    assert!(stdout.contains("Movies 4K"), "{stdout}");
    let (code, _, stderr) = sections(&format!("{url}/web/index.html"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("Plex Web") && stderr.contains(&format!("use {url}")),
        "{stderr}"
    );
    let (code, _, stderr) = sections(&format!("https://{bare}"));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("did not answer in TLS") && stderr.contains(&format!("use {url}")),
        "{stderr}"
    );
    assert!(!stderr.contains("attempts"), "not retried: {stderr}");
    // doctor puts the problem with the URL, not with the caches.
    let out = plexmatch(&fx, &["doctor"])
        .env("PLEX_URL", &bare)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("has no scheme") && !report.contains("cannot open the caches"),
        "{report}"
    );
}

#[test]
fn a_wrong_token_is_said_on_a_warm_data_dir_with_the_hint() {
    let fx = Fixture::sample();
    let warm = plexmatch(&fx, &["match", "--json", "/x/Inception (2010) - 1080p.mkv"])
        .output()
        .unwrap();
    assert_eq!(warm.status.code(), Some(0));
    let out = plexmatch(&fx, &["sections"])
        .env("PLEX_TOKEN", "wrong")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("Plex refused the token") && stderr.contains("View XML"),
        "{stderr}"
    );
    let out = plexmatch(&fx, &["match", "--json", "/x/Inception (2010) - 1080p.mkv"])
        .env("PLEX_TOKEN", "wrong")
        .output()
        .unwrap();
    let answers = json_lines(&out);
    assert_eq!(answers[0]["error"]["kind"], "unauthorized", "{answers:?}");
    assert_eq!(out.status.code(), Some(3));
    // The right token again, accepted within the TTL: answered from the caches alone.
    let before = fx.emulator.requests();
    let out = plexmatch(&fx, &["sections"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        fx.emulator.requests() - before,
        0,
        "the accepted token is remembered"
    );
    let header = String::from_utf8_lossy(&out.stdout);
    assert!(header.lines().next().unwrap().contains("TITLE"), "{header}");
}

#[test]
fn the_counters_agree_with_each_other_and_with_the_server() {
    let fx = Fixture::sample();
    // An error is an error, not an answer "from the caches".
    let out = plexmatch(
        &fx,
        &["match", "relative/a.mkv", "/x/Inception (2010) - 1080p.mkv"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("2 path(s): 1 HIGH, 0 LOW, 0 NOT-FOUND, 1 ERROR · 1 answered with no request of their own, 0 needed Plex"),
        "{stderr}"
    );
    // Warm: nothing asked at all, so "from the caches alone".
    let out = plexmatch(&fx, &["match", "/x/Inception (2010) - 1080p.mkv"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 answered from the caches alone, 0 needed Plex · 0 Plex request(s)"),
        "{stderr}"
    );
    // Nothing changed on the server: nothing changed in the snapshot (the first refresh
    // lists the section if file look-ups left it unlisted).
    let refresh = || {
        plexmatch(&fx, &["cache", "refresh", "--section", "Movies"])
            .output()
            .unwrap()
    };
    assert_eq!(refresh().status.code(), Some(0));
    let out = refresh();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains(": 0 item(s) changed"), "{said}");

    // The demo counts what the emulator served, and its cold pass costs what the README says.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plexmatch"))
        .arg("demo")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let numbers = |prefix: &str, after: &str| -> Vec<u64> {
        stdout
            .lines()
            .filter(|l| l.starts_with(prefix) && l.contains(after))
            .map(|l| {
                let at = l.find(after).unwrap_or_else(|| panic!("{l}"));
                l[..at]
                    .rsplit(|c: char| !c.is_ascii_digit())
                    .find(|w| !w.is_empty())
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect()
    };
    let summarised = numbers("-- ", " Plex request(s)");
    let served = numbers("-- the emulator served", " request(s) in this pass");
    assert_eq!(summarised.len(), 2, "{stdout}");
    assert_eq!(summarised, served, "{stdout}");
    assert_eq!(
        served[0], 8,
        "the README's cold run of the sample library (identity, sections, 3 sizes, 3 listings): {stdout}"
    );
    assert!(!stdout.contains("every answer comes from Plex"), "{stdout}");
}

#[test]
fn plugin_test_says_a_crash_once() {
    let fx = Fixture::sample();
    let dir = tempfile::tempdir().unwrap();
    let cases = dir.path().join("cases.toml");
    std::fs::write(
        &cases,
        "[[case]]\npath = \"/x/panic.mkv\"\nexpect = \"high\"\nrating_key = \"101\"\nsections = [\"Movies\"]\n",
    )
    .unwrap();
    let out = plexmatch(
        &fx,
        &[
            "plugin",
            "test",
            hostile_wasm().to_str().unwrap(),
            "--cases",
            cases.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert_eq!(
        all.matches("hostile plugin panics on purpose").count(),
        1,
        "the crash is said once: {all}"
    );
}

#[test]
fn explain_does_not_claim_the_path_was_tried_when_a_plugin_answered_low() {
    let fx = Fixture::sample();
    let template = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/plugins/frozen/template-0.1.0.wasm");
    let explained = |plugin: &str| {
        let out = plexmatch(
            &fx,
            &[
                "match",
                "--json",
                "--explain",
                "--section",
                "Movies",
                "--plugin",
                plugin,
                "/media/2019/holiday.mp4",
            ],
        )
        .output()
        .unwrap();
        let a = &json_lines(&out)[0];
        (
            a["outcome"].as_str().unwrap().to_owned(),
            a["explain"]["decided_by"].as_str().unwrap().to_owned(),
        )
    };
    // The old template decides by name alone: LOW, though the path's 2019/ names 108.
    let (outcome, by) = explained(template.to_str().unwrap());
    assert_eq!(outcome, "low");
    assert!(!by.contains("the path does not tell them apart"), "{by}");
    assert!(
        by.contains("answered LOW") && by.contains("did not decide"),
        "{by}"
    );
    // The built-in plugin applies the path rule: HIGH 108.
    let (outcome, by) = explained("default");
    assert_eq!(outcome, "high", "{by}");
}
