//! `plexmatch serve` (issue 30): the real binary on loopback against the emulator, asked over
//! real HTTP. Answers are those of `plexmatch match --json`; bad input is a clear error that
//! changes nothing; the API token is required beyond loopback and checked; SIGTERM lets
//! requests in flight finish; the Plex token never leaves; the documented routes and the
//! curl examples of docs/serve.md are what the service answers.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::Duration;

use support::*;

/// A running `plexmatch serve` on a free port of 127.0.0.1; killed when dropped.
struct Service {
    child: Child,
    base: String,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Service {
    fn start(fx: &Fixture, args: &[&str]) -> Service {
        let mut cmd = plexmatch(fx, &["serve", "--listen", "127.0.0.1:0"]);
        cmd.args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().expect("plexmatch serve starts");
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let kept = stderr.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while err.read_line(&mut line).unwrap_or(0) > 0 {
                kept.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}: {}", stderr.lock().unwrap()))
            .to_owned();
        Service {
            child,
            base,
            stderr,
        }
    }

    fn url(&self, route: &str) -> String {
        format!("{}{route}", self.base)
    }

    fn post(&self, route: &str, body: &str) -> (u16, String) {
        let r = client()
            .post(self.url(route))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn get(&self, route: &str) -> (u16, String) {
        let r = client().get(self.url(route)).send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    }

    fn stop(mut self) -> (Option<i32>, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = wait(&mut self.child, Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(100));
        (status, self.stderr.lock().unwrap().clone())
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The exit code once the process ends (bounded: a hung process fails the test).
fn wait(child: &mut Child, limit: Duration) -> Option<i32> {
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(start.elapsed() < limit, "the process did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn error_of(body: &str) -> (String, String) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (
        v["error"]["kind"].as_str().unwrap_or("").to_owned(),
        v["error"]["message"].as_str().unwrap_or("").to_owned(),
    )
}

const PATHS: &[&str] = &[
    "/stash/Inception (2010) - 1080p.mkv",
    "/stash/holiday.mp4",
    "relative/path.mkv",
    "/stash/2019/holiday.mp4",
    "/stash/Not In Plex (1999).mkv",
];

#[test]
fn answers_are_those_of_match_json_one_by_one_and_in_batches_in_order() {
    let fx = Fixture::sample();
    // Warm the caches first: both sides then answer from them (same `requests`).
    let warm = plexmatch(&fx, &["match", "--json"])
        .args(PATHS)
        .output()
        .unwrap();
    assert_eq!(json_lines(&warm).len(), PATHS.len());
    let cli = json_lines(
        &plexmatch(&fx, &["match", "--json"])
            .args(PATHS)
            .output()
            .unwrap(),
    );
    let service = Service::start(&fx, &[]);
    for (path, expected) in PATHS.iter().zip(&cli) {
        let (status, body) =
            service.post("/v1/match", &serde_json::json!({"path": path}).to_string());
        assert_eq!(status, 200, "{body}");
        let got: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(&got, expected, "{path}");
    }
    let r = client()
        .post(service.url("/v1/match"))
        .body(serde_json::json!({"paths": PATHS}).to_string())
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<serde_json::Value> = r
        .text()
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, cli, "NDJSON in input order, the same objects");
    // A section chosen per request: Shows holds none of these films.
    let (_, body) = service.post(
        "/v1/match",
        r#"{"path": "/stash/Inception (2010) - 1080p.mkv", "sections": ["TV Shows"], "explain": true}"#,
    );
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["outcome"], "not-found", "{body}");
    assert!(v["explain"].is_object(), "{body}");
    let (code, _) = service.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn bad_input_is_a_clear_error_naming_the_problem_and_changes_nothing() {
    let fx = Fixture::sample();
    let service = Service::start(&fx, &["--max-paths", "3", "--max-body-kib", "1"]);
    let cases: &[(&str, u16, &str)] = &[
        ("{\"path\": ", 400, "path: EOF while parsing"),
        ("[1, 2]", 400, "not the JSON object expected"),
        ("", 400, "the request body is empty"),
        (
            r#"{"paths": ["/a.mkv", 7]}"#,
            400,
            "paths[1]: invalid type: integer `7`",
        ),
        (
            r#"{"path": "/a.mkv", "explain": "yes"}"#,
            400,
            "explain: invalid type",
        ),
        (r#"{"pth": "/a.mkv"}"#, 400, "unknown field `pth`"),
        (
            r#"{"path": "/a.mkv", "paths": ["/b.mkv"]}"#,
            400,
            "not both",
        ),
        (r#"{"explain": true}"#, 400, "give \"path\""),
        (r#"{"path": "/a.mkv", "sections": ["Nope"]}"#, 400, "Nope"),
        (
            r#"{"paths": ["/a.mkv", "/b.mkv", "/c.mkv", "/d.mkv"]}"#,
            413,
            "more than the 3",
        ),
    ];
    for (body, status, says) in cases {
        let (got, text) = service.post("/v1/match", body);
        let (kind, message) = error_of(&text);
        assert_eq!((got, kind.as_str()), (*status, "input"), "{body}: {text}");
        assert!(message.contains(says), "{body}: {message}");
    }
    let big = format!(r#"{{"path": "/{}.mkv"}}"#, "x".repeat(2048));
    let (got, text) = service.post("/v1/match", &big);
    assert_eq!(got, 413, "{text}");
    assert!(error_of(&text).1.contains("over the limit"), "{text}");
    let (got, text) = service.get("/v1/nothing-here");
    assert_eq!((got, error_of(&text).0.as_str()), (404, "input"));
    let (got, _) = service.get("/v1/match");
    assert_eq!(got, 405, "GET on a POST route");
    // A path that cannot be a media path is that path's answer, as in the CLI.
    let (got, text) = service.post("/v1/match", r#"{"path": "not/absolute.mkv"}"#);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!((got, v["outcome"].as_str()), (200, Some("error")));
    assert_eq!(v["error"]["kind"], "input");
    // Nothing above was answered or cached: the metrics saw one answer, the input error.
    let (_, metrics) = service.get("/metrics");
    let answers: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("plexmatch_answers_total"))
        .collect();
    assert_eq!(
        answers,
        ["plexmatch_answers_total{outcome=\"error\",plugin=\"\"} 1"]
    );
    assert!(
        metrics.contains("plexmatch_http_requests_total{route=\"/v1/match\",status=\"400\"} 9")
    );
    let (got, text) = service.post(
        "/v1/match",
        r#"{"path": "/stash/Inception (2010) - 1080p.mkv"}"#,
    );
    assert!(
        got == 200 && text.contains("\"outcome\":\"high\""),
        "{text}"
    );
}

#[test]
fn the_api_token_is_required_beyond_loopback_and_checked_on_every_request() {
    let fx = Fixture::sample();
    // Anywhere but loopback without a token: refused before anything opens, saying why.
    let out = plexmatch(&fx, &["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without an API token") && stderr.contains("--api-token-file"),
        "{stderr}"
    );

    let file = fx.dir.path().join("api-token");
    std::fs::write(&file, "s3cret-token\n").unwrap();
    let service = Service::start(&fx, &["--api-token-file", file.to_str().unwrap()]);
    let ask = |auth: Option<&str>| {
        let mut r = client().get(service.url("/v1/sections"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let r = r.send().unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (status, body) = ask(None);
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (401, "unauthorized"),
        "{body}"
    );
    assert_eq!(ask(Some("Bearer s3cret-tokem")).0, 401);
    assert_eq!(ask(Some("Bearer s3cret-token-and-more")).0, 401);
    assert_eq!(ask(Some("Basic s3cret-token")).0, 401);
    let (status, body) = ask(Some("Bearer s3cret-token"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Movies\""), "{body}");
    // Metrics too.
    assert_eq!(service.get("/metrics").0, 401);
}

#[test]
fn sigterm_lets_a_batch_in_flight_finish_and_exits_0() {
    let fx = Fixture::sample();
    // Each listing page waits: the batch below is in flight when the signal comes.
    fx.emulator.set_listing_delay(Duration::from_millis(400));
    let service = Service::start(&fx, &["--lookup", "listing", "--page-size", "2"]);
    let url = service.url("/v1/match");
    let batch = std::thread::spawn(move || {
        let r = client()
            .post(url)
            .body(serde_json::json!({"paths": PATHS}).to_string())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    });
    std::thread::sleep(Duration::from_millis(300));
    let (code, stderr) = service.stop();
    let (status, body) = batch.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        body.lines().count(),
        PATHS.len(),
        "every answer arrived: {body}"
    );
    assert!(body.contains("\"outcome\":\"high\""), "{body}");
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn plex_down_makes_health_503_while_fresh_caches_still_answer_and_the_token_never_leaves() {
    let fx = Fixture::sample();
    let service = Service::start(&fx, &["-vv"]);
    let mut bodies = Vec::new();
    let (status, body) = service.get("/v1/health");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert!(v["server"]["id"].as_str().is_some_and(|id| !id.is_empty()));
    bodies.push(body);
    let (status, body) = service.post(
        "/v1/match",
        r#"{"path": "/stash/Inception (2010) - 1080p.mkv"}"#,
    );
    assert!(
        status == 200 && body.contains("\"outcome\":\"high\""),
        "{body}"
    );
    bodies.push(body);
    let (status, body) = service.post("/v1/refresh", r#"{"sections": ["Movies"]}"#);
    assert_eq!(status, 200, "{body}");
    bodies.push(body);

    fx.emulator.refuse_connections(true);
    let (status, body) = service.get("/v1/health");
    assert_eq!(status, 503, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["error"]["kind"].as_str()),
        (Some("unavailable"), Some("plex"))
    );
    bodies.push(body);
    let (status, body) = service.post(
        "/v1/match",
        r#"{"path": "/stash/Inception (2010) - 1080p.mkv"}"#,
    );
    assert!(
        status == 200 && body.contains("\"outcome\":\"high\""),
        "fresh caches answer: {body}"
    );
    bodies.push(body);
    let (status, body) = service.post("/v1/refresh", r#"{"full": true}"#);
    assert_eq!(
        (status, error_of(&body).0.as_str()),
        (503, "plex"),
        "{body}"
    );
    bodies.push(body);
    bodies.push(service.get("/metrics").1);
    bodies.push(service.get("/v1/sections").1);
    fx.emulator.refuse_connections(false);
    let (_, stderr) = service.stop();
    assert!(stderr.contains("DEBUG"), "-vv logs: {stderr}");
    let token = fx.emulator.token();
    for text in bodies.iter().chain([&stderr]) {
        assert!(!text.contains(token), "the Plex token leaked: {text}");
    }
}

#[test]
fn the_documented_routes_are_the_served_ones() {
    let fx = Fixture::sample();
    let service = Service::start(&fx, &[]);
    let (status, doc) = service.get("/v1/openapi.json");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    let file: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("docs/openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(doc, file, "the service serves docs/openapi.json");
    let mut documented = Vec::new();
    for (route, methods) in doc["paths"].as_object().unwrap() {
        for method in methods.as_object().unwrap().keys() {
            documented.push((method.to_uppercase(), route.clone()));
            let r = match method.as_str() {
                "get" => client().get(service.url(route)).send().unwrap(),
                "post" => client().post(service.url(route)).body("{}").send().unwrap(),
                other => panic!("{other} is not served"),
            };
            let status = r.status().as_u16();
            assert!(status != 404 && status != 405, "{method} {route}: {status}");
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        [
            ("GET", "/metrics"),
            ("GET", "/v1/health"),
            ("GET", "/v1/openapi.json"),
            ("GET", "/v1/sections"),
            ("POST", "/v1/match"),
            ("POST", "/v1/refresh"),
        ]
        .map(|(m, r)| (m.to_owned(), r.to_owned())),
        "each route the service has is documented"
    );
}

#[test]
fn the_curl_examples_of_docs_serve_md_run_as_printed() {
    if std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("curl is needed (.ci/run installs it)");
    }
    let fx = Fixture::sample();
    let service = Service::start(&fx, &[]);
    let doc = std::fs::read_to_string(repo_root().join("docs/serve.md")).unwrap();
    let mut ran = 0;
    let mut in_sh = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        let line = line.split(" #").next().unwrap().trim();
        if !in_sh || !line.starts_with("curl ") {
            continue;
        }
        let command = line.replace(
            "localhost:32499",
            service.base.trim_start_matches("http://"),
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("{command} -w '\\n%{{http_code}}'")])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert!(
            out.status.success() && code == "200",
            "{line}: {code} {body}"
        );
        for l in body.lines().filter(|l| !l.is_empty()) {
            serde_json::from_str::<serde_json::Value>(l)
                .unwrap_or_else(|e| panic!("{line}: {e}: {l}"));
        }
        ran += 1;
    }
    assert!(ran >= 4, "only {ran} curl examples");
}
