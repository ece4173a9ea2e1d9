//! A run that lives longer than the library TTL: a `plexmatch match --json` kept open as a
//! co-process, and a long batch. After the TTL every answer follows the server, at one
//! refresh per section per TTL; with Plex down the run keeps answering from the snapshot it
//! had (said once), up to the stale limit; a run that cannot match at all still answers
//! every path it reads.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use plexmatch_emulator::{Change, FileSpec, ItemSpec};
use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::batch::{self, BatchOptions};
use support::*;

const INCEPTION: &str = "/data/movies/Inception (2010)/Inception (2010) - 1080p.mkv";
const MATRIX: &str = "/data/movies/The Matrix (1999)/The Matrix (1999).mkv";
const ADVENTURE: &str =
    "/data/movies/Adventure Time Machine (2019)/Adventure Time Machine (2019) - WEBDL-2160p.mkv";
const GOOD_VIBES: &str =
    "/data/movies/Good Vibes Goodvibes (2021)/Good Vibes Goodvibes (2021) - BluRay 1080p HDR.mkv";
const HEAT: &str = "/data/movies/Heat (1995)/Heat (1995).mkv";
const EPISODE: &str = "/data/tv/Northern Lights/Season 02/Northern Lights - S02E01 - Thaw.mkv";

const PATHS: [&str; 6] = [INCEPTION, MATRIX, ADVENTURE, GOOD_VIBES, HEAT, EPISODE];

/// Longest a test waits for one answer.
const ANSWER_WAIT: Duration = Duration::from_secs(90);

/// A `plexmatch match --json` reading paths from its stdin, asked one path at a time.
struct CoProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl CoProcess {
    fn start(fx: &Fixture, env: &[(&str, &str)], args: &[&str]) -> CoProcess {
        let mut cmd = plexmatch(fx, &["match", "--json"]);
        cmd.args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("plexmatch starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut s);
            collected.lock().unwrap().push_str(&s);
        });
        CoProcess {
            stdin: child.stdin.take(),
            child,
            answers,
            stderr,
        }
    }

    /// Writes one path and waits for its answer line.
    fn ask(&mut self, path: &str) -> serde_json::Value {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{path}").unwrap();
        stdin.flush().unwrap();
        let line = self
            .answers
            .recv_timeout(ANSWER_WAIT)
            .unwrap_or_else(|e| panic!("no answer for {path:?}: {e}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Closes stdin, waits for the exit and returns the exit code and what went to stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + ANSWER_WAIT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the co-process did not end after its stdin closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The stderr reader ends with the process.
        std::thread::sleep(Duration::from_millis(100));
        (status.code(), self.stderr.lock().unwrap().clone())
    }
}

/// What must agree between two answers: outcome, item and its section.
fn gist(a: &serde_json::Value) -> String {
    format!(
        "{} {} {}",
        a["outcome"].as_str().unwrap_or("?"),
        a["item"]["rating_key"].as_str().unwrap_or("-"),
        a["item"]["section"].as_str().unwrap_or("-"),
    )
}

/// What a new process with a new data dir answers for `paths` now.
fn new_process_says(fx: &Fixture, paths: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = plexmatch(fx, &["match", "--json"]);
    cmd.args(paths).env("PLEXMATCH_DATA_DIR", dir.path());
    json_lines(&cmd.output().unwrap())
        .iter()
        .map(gist)
        .collect()
}

/// The changes the tests make on the server: Inception deleted, the files of The Matrix
/// and Adventure Time Machine swapped between their items, a new item holding Heat, Good
/// Vibes moved to Movies 4K. Returns Heat's rating key.
fn change_the_library(fx: &Fixture) -> u64 {
    let e = &fx.emulator;
    e.change(&Change::Delete { rating_key: 101 }).unwrap();
    e.change(&Change::SetFiles {
        rating_key: 102,
        files: vec![FileSpec::Single(ADVENTURE.into())],
    })
    .unwrap();
    e.change(&Change::SetFiles {
        rating_key: 103,
        files: vec![FileSpec::Single(MATRIX.into())],
    })
    .unwrap();
    e.change(&Change::Move {
        rating_key: 105,
        section: 3,
    })
    .unwrap();
    e.change(&Change::Add {
        section: 1,
        item: ItemSpec {
            rating_key: None,
            title: "Heat".into(),
            year: Some(1995),
            show: None,
            season: None,
            episode: None,
            files: vec![FileSpec::Single(HEAT.into())],
            guids: Vec::new(),
        },
    })
    .unwrap()
}

#[test]
fn a_co_process_follows_the_server_once_the_ttl_passes() {
    let fx = Fixture::sample();
    let ttl = 2;
    let mut co = CoProcess::start(&fx, &[], &["--library-ttl", &ttl.to_string()]);
    let before: Vec<String> = PATHS.iter().map(|p| gist(&co.ask(p))).collect();
    assert_eq!(
        before,
        [
            "high 101 Movies",
            "high 102 Movies",
            "high 103 Movies",
            "high 105 Movies",
            "not-found - -",
            "high 203 TV Shows",
        ]
    );
    let heat = change_the_library(&fx);
    // Within the TTL the snapshot answers, with no request.
    let asked = fx.emulator.requests();
    assert_eq!(gist(&co.ask(MATRIX)), "high 102 Movies");
    assert_eq!(
        fx.emulator.requests(),
        asked,
        "within the TTL nothing is asked"
    );

    std::thread::sleep(Duration::from_millis(ttl * 1000 + 300));
    let listed = fx.emulator.requests_to("listing");
    let looked = fx.emulator.requests_to("file-lookup");
    let started = Instant::now();
    // Each path three times: the sections are brought up to date once, not per path.
    let mut after = Vec::new();
    for round in 0..3 {
        for p in PATHS {
            let a = gist(&co.ask(p));
            if round == 0 {
                after.push(a);
            } else {
                assert_eq!(&a, &after[PATHS.iter().position(|q| *q == p).unwrap()]);
            }
        }
    }
    let periods = 1 + started.elapsed().as_secs() / ttl;
    let listings = fx.emulator.requests_to("listing") - listed;
    let lookups = fx.emulator.requests_to("file-lookup") - looked;
    let expected = [
        "not-found - -".to_owned(),
        "high 103 Movies".to_owned(),
        "high 102 Movies".to_owned(),
        "high 105 Movies 4K".to_owned(),
        format!("high {heat} Movies"),
        "high 203 TV Shows".to_owned(),
    ];
    assert_eq!(
        after, expected,
        "after the TTL the answers follow the server"
    );
    assert_eq!(
        after,
        new_process_says(&fx, &PATHS),
        "as a new process says"
    );
    // Three sections, each per TTL that passed at most an incremental refresh (changes,
    // count) and a full listing when items went away, or a file look-up a path (the
    // sections have no snapshot: they were never listed): never a request a path and
    // round.
    let asked = listings + lookups;
    assert!(
        asked >= 3 && asked <= (9 + 3 * PATHS.len() as u64) * periods,
        "{listings} listing requests and {lookups} look-ups for 18 paths over {periods} TTL period(s)"
    );
    let (code, stderr) = co.finish();
    assert_eq!(code, Some(1), "not every path is HIGH: {stderr}");
}

#[test]
fn a_long_batch_brings_its_sections_up_to_date_as_the_ttl_passes() {
    let fx = Fixture::sample();
    let backend = fx.backend(CachePolicy {
        library_ttl: Duration::from_secs(1),
        ..CachePolicy::default()
    });
    let sections = all_sections(&backend);
    let plugin = default_plugin(&backend);
    // The batch's input: every path, then (as a slow input would) the library changes and
    // the TTL passes, then every path again.
    let changed = Mutex::new(None);
    let input = PATHS
        .iter()
        .map(|p| (*p, false))
        .chain(PATHS.iter().enumerate().map(|(i, p)| (*p, i == 0)))
        .map(|(p, first_after)| {
            if first_after {
                *changed.lock().unwrap() = Some(change_the_library(&fx));
                std::thread::sleep(Duration::from_millis(1300));
            }
            p.to_owned()
        });
    let mut answers = Vec::new();
    batch::run(
        std::slice::from_ref(&plugin),
        &backend,
        &sections,
        input,
        BatchOptions {
            workers: 1,
            window: 1,
            explain: false,
            mapping: None,
        },
        |a| {
            answers.push(format!(
                "{} {}",
                a.result.outcome.word(),
                a.result.item.map(|i| i.rating_key).unwrap_or("-".into())
            ))
        },
    );
    let heat = changed.lock().unwrap().expect("the library changed");
    assert_eq!(
        answers[PATHS.len()..],
        [
            "not-found -".to_owned(),
            "high 103".to_owned(),
            "high 102".to_owned(),
            "high 105".to_owned(),
            format!("high {heat}"),
            "high 203".to_owned(),
        ],
        "the answers late in the batch follow the server: {answers:?}"
    );
}

#[test]
fn with_plex_down_after_the_ttl_a_co_process_answers_from_its_snapshot_and_says_so_once() {
    // From snapshots (listed), and from this run's file look-ups (the default).
    for lookup in ["listing", "auto"] {
        let fx = Fixture::sample();
        let mut co = CoProcess::start(&fx, &[], &["--library-ttl", "1", "--lookup", lookup]);
        let before: Vec<String> = PATHS.iter().map(|p| gist(&co.ask(p))).collect();
        fx.emulator.refuse_connections(true);
        std::thread::sleep(Duration::from_millis(1300));
        for _ in 0..3 {
            let now: Vec<String> = PATHS.iter().map(|p| gist(&co.ask(p))).collect();
            assert_eq!(
                now, before,
                "{lookup}: answers stay those of the snapshot, consistently"
            );
        }
        let (code, stderr) = co.finish();
        assert_eq!(code, Some(1), "{stderr}");
        if lookup == "auto" {
            // A co-process looks up its first paths, then lists the small sections: it
            // answers from its look-ups or its snapshots, and says each once.
            let said: Vec<&str> = stderr
                .lines()
                .filter(|l| {
                    l.contains("answering from look-ups of up to")
                        || l.contains("answering from its snapshot of")
                })
                .collect();
            assert!(!said.is_empty(), "{stderr}");
            assert!(said.len() <= 4, "each said once: {stderr}");
            assert!(said.iter().all(|l| l.contains("--offline")), "{stderr}");
            continue;
        }
        for section in ["Movies", "TV Shows", "Movies 4K"] {
            let said = stderr
                .lines()
                .filter(|l| l.contains(&format!("cannot bring section {section:?} up to date")))
                .collect::<Vec<_>>();
            assert_eq!(said.len(), 1, "one warning for {section}: {stderr}");
            assert!(
                said[0].contains("answering from its snapshot of") && said[0].contains("--offline"),
                "{}",
                said[0]
            );
        }
    }
}

#[test]
fn past_the_stale_limit_a_snapshot_no_longer_answers_while_plex_is_down() {
    let fx = Fixture::sample();
    let limit = 6;
    let mut co = CoProcess::start(
        &fx,
        &[],
        &["--library-ttl", "1", "--stale-limit", &limit.to_string()],
    );
    assert_eq!(gist(&co.ask(MATRIX)), "high 102 Movies");
    let listed = Instant::now();
    fx.emulator.refuse_connections(true);
    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(
        gist(&co.ask(MATRIX)),
        "high 102 Movies",
        "under the stale limit"
    );
    let past = Duration::from_secs(limit + 1);
    std::thread::sleep(past.saturating_sub(listed.elapsed()));
    let a = co.ask(MATRIX);
    assert_eq!(a["outcome"], "error", "past the stale limit: {a}");
    assert_eq!(a["error"]["kind"], "plex", "{a}");
    let (code, _) = co.finish();
    assert_eq!(code, Some(3));
}

#[test]
fn a_refused_token_answers_every_path_on_stdin_in_every_format() {
    let fx = Fixture::sample();
    let input = format!("{}\nrelative/path.mkv\n{}\n", PATHS[..3].join("\n"), HEAT);
    for format in ["json", "csv", "table"] {
        let mut cmd = plexmatch(&fx, &["match", "--format", format]);
        cmd.env("PLEX_TOKEN", "not-the-token");
        let out = run_with_stdin(cmd, input.as_bytes());
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{format}: {stderr}");
        let rows: Vec<&str> = stdout.lines().filter(|l| !l.is_empty()).collect();
        match format {
            "json" => {
                let answers: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect();
                assert_eq!(answers.len(), 5, "{stdout}");
                for (a, p) in answers.iter().zip(input.lines()) {
                    assert_eq!(a["path"], p);
                    assert_eq!(a["outcome"], "error");
                    let kind = if p.starts_with('/') {
                        "unauthorized"
                    } else {
                        "input"
                    };
                    assert_eq!(a["error"]["kind"], kind, "{a}");
                }
            }
            "csv" => {
                assert_eq!(rows.len(), 6, "a header and 5 rows: {stdout}");
                assert!(rows[1..].iter().all(|r| r.contains(",error,")), "{stdout}");
                assert_eq!(
                    rows.iter()
                        .filter(|r| r.contains("Plex refused the token"))
                        .count(),
                    4,
                    "{stdout}"
                );
            }
            _ => {
                for p in input.lines() {
                    let name = p.rsplit('/').next().unwrap();
                    assert!(stdout.contains(name), "{p} has its row: {stdout}");
                }
                assert!(stdout.matches("ERROR").count() >= 5, "{stdout}");
            }
        }
        assert!(!stdout.contains(fx.emulator.token()) && !stderr.contains(fx.emulator.token()));
    }
}
