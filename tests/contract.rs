//! Contract 0.2 (wit/plexmatch.wit) beside 0.1: plugins built for 0.1.0 still load and answer
//! as before; items carry year, external ids and part sizes; a HIGH may name the item's file
//! the path is (a renamed file), checked by the host and recorded by the match cache;
//! declared settings are listed, checked and defaulted.

mod support;

use plexmatch_engine::matching::Outcome;
use plexmatch_engine::runtime::{Limits, Plugin};
use support::*;

fn frozen(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("tests/plugins/frozen").join(name)).expect("frozen plugin")
}

#[test]
fn plugins_built_for_0_1_0_answer_as_the_current_default_does() {
    let fx = Fixture::sample();
    let backend = fx.backend(plexmatch_engine::backend::CachePolicy::default());
    let old = std::sync::Arc::new(
        Plugin::load(
            "default-0.1.0.wasm",
            &frozen("default-0.1.0.wasm"),
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )
        .expect("a 0.1.0 plugin loads"),
    );
    assert_eq!(old.declared().version.unwrap().to_string(), "0.1.0");
    assert!(old.declared_settings().is_empty());
    let new = default_plugin(&backend);
    let sections = all_sections(&backend);
    let library = plexmatch_emulator::LibraryFile::sample();
    let mut paths: Vec<String> = library
        .sections
        .iter()
        .flat_map(|s| s.items.iter())
        .flat_map(|i| i.files.iter().flat_map(|f| f.parts()))
        .map(|p| format!("/stash/{}", p.rsplit('/').next().unwrap()))
        .collect();
    paths.push("/stash/movies/Unknown Film (1999).mkv".into());
    // Twice: the second time from the match cache, which each keeps for itself.
    for _ in 0..2 {
        for p in &paths {
            let a = match_one(&old, &backend, p, &sections);
            let b = match_one(&new, &backend, p, &sections);
            assert_eq!(
                (a.outcome, &a.item, &a.candidates),
                (b.outcome, &b.item, &b.candidates),
                "{p}"
            );
        }
    }

    let template = Plugin::load(
        "template-0.1.0.wasm",
        &frozen("template-0.1.0.wasm"),
        Vec::new(),
        Limits::default(),
        backend.clone(),
    )
    .unwrap();
    let m = match_one(
        &std::sync::Arc::new(template),
        &backend,
        "/x/Inception (2010) - 1080p.mkv",
        &sections,
    );
    assert_eq!(m.outcome, Outcome::High);
}

#[test]
fn plugins_built_for_0_2_0_run_on_a_0_2_1_host_and_answer_as_the_current_default_does() {
    let fx = Fixture::sample();
    let backend = fx.backend(plexmatch_engine::backend::CachePolicy::default());
    let old = std::sync::Arc::new(
        Plugin::load(
            "default-0.2.0.wasm",
            &frozen("default-0.2.0.wasm"),
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )
        .expect("a 0.2.0 plugin loads: its imports link to the 0.2.1 host"),
    );
    assert_eq!(old.declared().version.unwrap().to_string(), "0.2.0");
    assert_eq!(old.declared_settings().len(), 1, "rewrite*");
    let new = default_plugin(&backend);
    assert_eq!(new.declared().version.unwrap().to_string(), "0.2.1");
    let sections = all_sections(&backend);
    for p in [
        "/stash/Inception (2010) - 1080p.mkv",
        "/stash/holiday.mp4",
        "/stash/2019/holiday.mp4",
        "/stash/movies/Unknown Film (1999).mkv",
    ] {
        let a = match_one(&old, &backend, p, &sections);
        let b = match_one(&new, &backend, p, &sections);
        assert_eq!(
            (a.outcome, &a.item, &a.candidates),
            (b.outcome, &b.item, &b.candidates),
            "{p}"
        );
    }
}

#[test]
fn a_high_may_name_a_renamed_file_of_its_item_which_the_host_checks_and_records() {
    let fx = Fixture::sample();
    let backend = fx.backend(plexmatch_engine::backend::CachePolicy::default());
    let plugin = hostile_plugin(&backend, Limits::default());
    let sections = sections(&backend, &[1]);
    let m = match_one(&plugin, &backend, "/x/renamed.mkv", &sections);
    assert_eq!(m.outcome, Outcome::High, "{:?}", m.error);
    let item = m.item.unwrap();
    assert_eq!(item.rating_key, "101");
    let file = "/data/movies/Inception (2010)/Inception (2010) - 1080p.mkv";
    assert_eq!(item.matched_file.as_deref(), Some(file));
    let cached = backend
        .decisions
        .matches
        .get(1, "/x/renamed.mkv", &decider(&plugin))
        .unwrap()
        .expect("the match is cached");
    assert_eq!(
        (cached.rating_key.as_str(), cached.file.as_str()),
        ("101", file)
    );

    // A file the item does not hold is refused, whatever the plugin says.
    let wrong = match_one(&plugin, &backend, "/x/renamedwrong.mkv", &sections);
    assert_eq!(wrong.outcome, Outcome::Error);
    let why = wrong.error.unwrap().to_string();
    assert!(
        why.contains("has no file \"/data/movies/Not Its File.mkv\""),
        "{why}"
    );
    assert!(
        backend
            .decisions
            .matches
            .get(1, "/x/renamedwrong.mkv", &decider(&plugin))
            .unwrap()
            .is_none()
    );
}

#[test]
fn plugins_see_year_external_ids_and_part_sizes() {
    // The hostile plugin describes item 101 as it received it through the WIT boundary.
    let said = hostile_says("/x/describe.mkv");
    assert!(
        said.contains(
            "year=Some(2010) guids=imdb://tt1375666,tmdb://27205 part=/data/movies/Inception (2010)/Inception (2010) - 1080p.mkv|Some("
        ) && said.ends_with("|Some(5400000)"),
        "{said}"
    );
}

#[test]
fn declared_settings_are_listed_checked_and_defaulted() {
    let fx = Fixture::sample();
    let inspect = plexmatch(&fx, &["plugin", "inspect", "path-matcher", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(v["contract"], "0.2.1");
    assert_eq!(v["settings"][0]["name"], "rewrite*");
    assert_eq!(v["settings"][0]["kind"], "path-mapping");

    // `match` with path-matcher and one setting.
    let with_setting = |setting: &str| {
        plexmatch(
            &fx,
            &[
                "match",
                "--plugin",
                "path-matcher",
                "--setting",
                setting,
                "/x/a.mkv",
            ],
        )
        .output()
        .unwrap()
    };
    // A setting no plugin of the chain reads: a usage error naming the ones there are.
    let typo = with_setting("rewritee=/a=>/b");
    let err = String::from_utf8_lossy(&typo.stderr);
    assert_eq!(typo.status.code(), Some(2), "{err}");
    assert!(
        err.contains("\"rewritee\"") && err.contains("rewrite* (path-mapping)"),
        "{err}"
    );
    let scoped = with_setting("path-matcher:nosuch=1");
    assert_eq!(scoped.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&scoped.stderr).contains("has no setting \"nosuch\""));
    // A value not of its kind.
    let bad = with_setting("rewrite=/only/a/prefix");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not FROM=>TO"));

    // The declared default reaches the plugin.
    assert!(hostile_says("/x/greeting.mkv").contains("greeting=hello"));
}

#[test]
fn a_snapshot_listed_during_a_call_is_seen_by_the_rest_of_that_call() {
    // The host reads a section's bookkeeping once per call; a Plex call that lists the
    // section must make the next look-up read it again.
    let said = hostile_says("/x/freshness.mkv");
    assert!(
        said.contains("before=None found=Ok(0) after=Some(true)"),
        "{said}"
    );
}

/// What the hostile plugin reports (as its error) for `path`, on the sample library with
/// a fresh data dir.
fn hostile_says(path: &str) -> String {
    let fx = Fixture::sample();
    // Sections are listed, not looked up: the plugin checks what a listing does to the
    // snapshot bookkeeping it reads.
    let backend = fx.backend(listing());
    let plugin = hostile_plugin(&backend, Limits::default());
    let m = match_one(&plugin, &backend, path, &sections(&backend, &[1]));
    m.error
        .expect("the hostile plugin reports as an error")
        .to_string()
}
