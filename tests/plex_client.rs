//! The Plex client against real recorded answers and against the emulator failing on
//! purpose: every failure gets the right error, the right number of tries (counted on
//! the emulator), a message naming what was asked, and never the token.

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use plexmatch_emulator::Fault;
use plexmatch_engine::backend::CachePolicy;
use plexmatch_engine::plex::{Envelope, ItemKind, PlexClient, PlexConfig, PlexError, RetryPolicy};
use support::*;

fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/plex/plex-api.rs")
}

fn parse(name: &str) -> Envelope {
    let path = fixtures().join(name);
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name} does not parse: {e}"))
}

#[test]
fn every_recorded_json_answer_parses() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            parse(path.file_name().unwrap().to_str().unwrap());
            seen += 1;
        }
    }
    assert_eq!(seen, 8, "every JSON fixture was read");
}

#[test]
fn recorded_answers_give_the_fields_plexmatch_uses() {
    let movies = parse("movie_library.json").container;
    let section = movies.library_section_id;
    let items: Vec<_> = movies
        .metadata
        .into_iter()
        .filter_map(|m| m.into_item(section))
        .collect();
    let keys: Vec<&str> = items.iter().map(|i| i.rating_key.as_str()).collect();
    assert_eq!(keys, ["55", "56", "108", "57"]);
    assert_eq!(items[2].files, ["/data/Movies/Interstate 60 (2002).mkv"]);
    // Year, part size and duration as recorded; the legacy agent's guid
    // (com.plexapp.agents.imdb://tt0165832?lang=en) gives the IMDb id.
    assert_eq!(items[2].year(), Some(2002));
    assert_eq!(items[2].guids(), ["imdb://tt0165832"]);
    assert_eq!(items[2].part(0).size, Some(13_400_382));
    assert_eq!(items[2].part(0).duration_ms, Some(5062));
    assert!(
        items
            .iter()
            .all(|i| i.kind == ItemKind::Movie && i.section_id == 1)
    );

    let one = parse("metadata_108.json").container;
    let section = one.library_section_id;
    let item = one
        .metadata
        .into_iter()
        .next()
        .unwrap()
        .into_item(section)
        .unwrap();
    assert_eq!(
        (
            item.rating_key.as_str(),
            item.title.as_str(),
            item.section_id
        ),
        ("108", "Interstate 60", 1)
    );

    let episodes = parse("tv_episodes.json").container;
    assert_eq!(
        episodes.size,
        Some(9),
        "the trimmed capture says 9 and holds 3"
    );
    let section = episodes.library_section_id;
    let eps: Vec<_> = episodes
        .metadata
        .into_iter()
        .filter_map(|m| m.into_item(section))
        .collect();
    assert_eq!(eps.len(), 3);
    assert!(
        eps.iter()
            .all(|e| e.kind == ItemKind::Episode && e.files.len() == 1 && e.section_id == 2)
    );

    // Shows and collections have no files, and their `key` is not a metadata URL (W25).
    let shows = parse("tv_library.json").container;
    let show = shows
        .metadata
        .into_iter()
        .next()
        .unwrap()
        .into_item(Some(2))
        .unwrap();
    assert_eq!((show.kind, show.files.len()), (ItemKind::Show, 0));
    let collection = parse("metadata_161.json")
        .container
        .metadata
        .into_iter()
        .next()
        .unwrap()
        .into_item(None)
        .unwrap();
    assert_eq!(
        (collection.rating_key.as_str(), collection.files.len()),
        ("161", 0)
    );
}

#[test]
fn lenient_models_read_odd_but_real_types() {
    // Numbers as strings, ids as numbers, a part larger than 4 GiB, fields missing.
    let body = r#"{"MediaContainer": {"size": "2", "totalSize": 2, "librarySectionID": "4", "Metadata": [
        {"ratingKey": 7, "title": "A", "type": "movie", "Media": [{"Part": [{"file": "/a.mkv", "size": 68719476736}]}]},
        {"ratingKey": "x-8", "type": "episode", "Media": [{"Part": [{"size": "12"}]}]},
        {"title": "no key"}
    ]}}"#;
    let c: Envelope = serde_json::from_str(body).unwrap();
    assert_eq!(c.container.size, Some(2));
    assert_eq!(
        c.container.metadata[0].media[0].parts[0].size,
        Some(1 << 36)
    );
    let section = c.container.library_section_id;
    let items: Vec<_> = c
        .container
        .metadata
        .into_iter()
        .map(|m| m.into_checked_item(section))
        .collect();
    let first = items[0].as_ref().unwrap();
    assert_eq!((first.rating_key.as_str(), first.section_id), ("7", 4));
    // Broken entries are errors that say what is wrong, never items quietly dropped.
    assert!(
        items[1]
            .as_ref()
            .is_err_and(|e| e.contains("x-8") && e.contains("episode with no Media")),
        "{:?}",
        items[1]
    );
    assert_eq!(items[2].as_ref().unwrap_err(), "has no ratingKey");
}

fn client(fx: &Fixture, tweak: impl FnOnce(&mut PlexConfig)) -> PlexClient {
    let mut config = fx.config_with_token(fx.emulator.token());
    tweak(&mut config);
    PlexClient::new(&config).unwrap()
}

fn no_token(fx: &Fixture, e: &PlexError) {
    let text = format!("{e} {e:?}");
    assert!(
        !text.contains(fx.emulator.token()),
        "the token leaked: {text}"
    );
}

#[test]
fn server_errors_are_retried_then_succeed() {
    let fx = Fixture::sample();
    let c = client(&fx, |_| {});
    fx.emulator.inject(Fault::status(503), 2);
    fx.emulator.inject(Fault::status(500), 1);
    assert_eq!(c.sections().unwrap().len(), 3);
    assert_eq!(
        fx.emulator.requests_to("sections"),
        4,
        "three failures, then the answer"
    );
}

#[test]
fn a_lasting_outage_gives_up_after_the_policy_with_a_clear_message() {
    let fx = Fixture::sample();
    let c = client(&fx, |_| {});
    fx.emulator.inject(Fault::status(503), 100);
    let e = c.sections().unwrap_err();
    assert!(
        matches!(e, PlexError::Unavailable(_)),
        "W17: a 503 is temporary: {e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("GET /library/sections")
            && msg.contains("HTTP 503")
            && msg.contains("after 4 attempts"),
        "{msg}"
    );
    assert_eq!(fx.emulator.requests_to("sections"), 4);
    no_token(&fx, &e);
}

#[test]
fn rate_limits_honour_retry_after_within_the_budget() {
    let fx = Fixture::sample();
    let c = client(&fx, |_| {});
    fx.emulator.inject(
        Fault::Status {
            code: 429,
            retry_after: Some(1),
        },
        1,
    );
    let started = Instant::now();
    assert_eq!(c.sections().unwrap().len(), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as the server asked"
    );
    assert_eq!(fx.emulator.requests_to("sections"), 2);

    // A wait longer than the retry budget is not waited: the caller learns it at once.
    fx.emulator.inject(
        Fault::Status {
            code: 429,
            retry_after: Some(60),
        },
        1,
    );
    let e = c.sections().unwrap_err();
    assert!(
        matches!(&e, PlexError::RateLimited(m, Some(60)) if m.contains("GET /library/sections")),
        "{e:?}"
    );
    assert_eq!(fx.emulator.requests_to("sections"), 3);
}

#[test]
fn refused_tokens_and_missing_items_are_not_retried() {
    let fx = Fixture::sample();
    let bad = client(&fx, |c| c.token = "not-the-token-1234".into());
    let e = bad.sections().unwrap_err();
    assert!(matches!(e, PlexError::Unauthorized(_)), "{e:?}");
    assert!(e.to_string().contains("refused the token"), "{e}");
    assert!(!format!("{e} {e:?}").contains("not-the-token-1234"));
    assert_eq!(
        fx.emulator.requests_to("unauthorized"),
        1,
        "a 401 stops at once"
    );

    let c = client(&fx, |_| {});
    let e = c.fetch_item("99999").unwrap_err();
    assert!(
        matches!(e, PlexError::NotFound(ref m) if m.contains("/library/metadata/99999")),
        "{e:?}"
    );
    assert_eq!(fx.emulator.requests_to("not-found"), 1);
}

#[test]
fn slow_answers_time_out_and_are_retried() {
    let fx = Fixture::sample();
    let c = client(&fx, |c| {
        c.connect_timeout = Duration::from_millis(200);
        c.read_timeout = Duration::from_millis(300);
    });
    fx.emulator
        .inject(Fault::Delay(Duration::from_millis(800)), 1);
    assert_eq!(
        c.sections().unwrap().len(),
        3,
        "the second try answers in time"
    );
    assert_eq!(fx.emulator.requests_to("sections"), 2);

    fx.emulator
        .inject(Fault::Delay(Duration::from_millis(800)), 10);
    let e = c.sections().unwrap_err();
    assert!(
        matches!(e, PlexError::Timeout(ref m) if m.contains("after 4 attempts")),
        "W4: a timeout is not 'not found': {e:?}"
    );
    fx.emulator.clear_faults();
}

#[test]
fn a_dripping_server_is_cut_off() {
    let fx = Fixture::sample();
    let c = client(&fx, |c| {
        c.read_timeout = Duration::from_millis(200);
        c.retry = RetryPolicy {
            attempts: 2,
            ..fast_retries()
        };
    });
    // One byte every 100 ms: the answer as a whole takes longer than the read timeout.
    fx.emulator.inject(
        Fault::Drip {
            chunk: 1,
            every: Duration::from_millis(100),
        },
        2,
    );
    let started = Instant::now();
    let e = c.sections().unwrap_err();
    assert!(matches!(e, PlexError::Timeout(_)), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(fx.emulator.requests_to("sections"), 2);
}

#[test]
fn answers_cut_short_or_never_sent_are_retried() {
    let fx = Fixture::sample();
    let c = client(&fx, |_| {});
    fx.emulator.inject(Fault::CutShort, 1);
    fx.emulator.inject(Fault::Hangup, 1);
    assert_eq!(c.sections().unwrap().len(), 3);
    assert_eq!(fx.emulator.requests_to("sections"), 3);

    fx.emulator.inject(Fault::CutShort, 10);
    let e = c.sections().unwrap_err();
    assert!(
        matches!(e, PlexError::Unavailable(ref m) if m.contains("cut short")),
        "{e:?}"
    );
    fx.emulator.clear_faults();
}

#[test]
fn a_malformed_answer_is_a_bad_response_and_not_retried() {
    let fx = Fixture::sample();
    let c = client(&fx, |_| {});
    fx.emulator.inject(Fault::Malformed, 1);
    let e = c.sections().unwrap_err();
    assert!(
        matches!(e, PlexError::BadResponse(ref m) if m.contains("GET /library/sections")),
        "{e:?}"
    );
    assert_eq!(fx.emulator.requests_to("sections"), 1);
}

#[test]
fn refused_connections_are_unavailable_and_the_server_coming_back_works() {
    let fx = Fixture::sample();
    let c = client(&fx, |c| c.connect_timeout = Duration::from_millis(500));
    fx.emulator.refuse_connections(true);
    let e = c.sections().unwrap_err();
    assert!(
        matches!(e, PlexError::Unavailable(ref m) if m.contains("cannot connect") && m.contains("after 4 attempts")),
        "{e:?}"
    );
    no_token(&fx, &e);
    fx.emulator.refuse_connections(false);
    assert_eq!(c.sections().unwrap().len(), 3);
}

#[test]
fn a_failed_or_partial_listing_never_replaces_the_snapshot() {
    let fx = Fixture::with(&plexmatch_emulator::generate(2500, 2));
    let backend = fx.backend(CachePolicy::default());
    backend.snapshots.sections().unwrap();
    backend.snapshots.force_refresh(1, true).unwrap();
    let before = backend.snapshots.snapshot(1).unwrap().0;
    fx.emulator
        .set_library(&plexmatch_emulator::generate(2600, 2))
        .unwrap();

    // Every page after the first request fails for good: the listing as a whole fails.
    // (With a snapshot of the section at hand its three pages are asked for together, so
    // which page the first request was is not known.)
    fx.emulator.inject(Fault::Delay(Duration::ZERO), 1);
    fx.emulator.inject(Fault::status(503), 100);
    let e = backend.snapshots.force_refresh(1, true).unwrap_err();
    assert!(
        matches!(e, PlexError::Unavailable(ref m) if m.contains("answered HTTP 503")),
        "{e:?}"
    );
    fx.emulator.clear_faults();
    assert_eq!(
        backend.snapshots.snapshot(1).unwrap().0,
        before,
        "the old snapshot stands"
    );
    assert_eq!(
        backend
            .snapshots
            .force_refresh(1, true)
            .unwrap()
            .map(|r| r.items),
        Some(2600 + 52)
    );
}

#[test]
fn the_emulator_answers_xml_unless_json_is_asked_for() {
    let fx = Fixture::sample();
    let http = reqwest::blocking::Client::new();
    let get = |path: &str, json: bool| {
        let mut req = http
            .get(format!("{}{path}", fx.emulator.url()))
            .header("X-Plex-Token", fx.emulator.token());
        if path.contains("type=1") {
            req = req
                .header("X-Plex-Container-Start", "1")
                .header("X-Plex-Container-Size", "2");
        }
        if json {
            req = req.header("Accept", "application/json");
        }
        req.send().unwrap()
    };
    let xml = get("/library/sections/1/all?type=1", false);
    assert_eq!(xml.headers()["X-Plex-Container-Start"], "1");
    assert_eq!(xml.headers()["X-Plex-Container-Total-Size"], "10");
    assert!(
        xml.headers()["Content-Type"]
            .to_str()
            .unwrap()
            .starts_with("text/xml")
    );
    let body = xml.text().unwrap();
    assert!(
        body.contains(r#"offset="1""#)
            && body.contains(r#"size="2""#)
            && body.contains(r#"totalSize="10""#),
        "{body}"
    );
    assert_eq!(
        body.matches("<Video ").count(),
        2,
        "movies are Video elements: {body}"
    );
    let media = body.find("<Media ").unwrap();
    let part = body.find("<Part ").unwrap();
    assert!(
        media < part && body[media..part].find("</Media>").is_none(),
        "Part is nested in Media: {body}"
    );

    let shows = get("/library/sections/2/all", false).text().unwrap();
    assert!(
        shows.contains("<Directory ") && shows.contains(r#"type="show""#),
        "shows are Directory elements: {shows}"
    );

    let json: serde_json::Value = get("/library/sections/1/all?type=1", true).json().unwrap();
    assert_eq!(json["MediaContainer"]["totalSize"], 10);
    assert!(
        json["MediaContainer"]["Metadata"][0]["ratingKey"].is_string(),
        "ratingKey is a string in JSON"
    );
    assert!(json["MediaContainer"]["Metadata"][0]["Media"][0]["Part"][0]["size"].is_u64());
}
