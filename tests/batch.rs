//! The batch engine against matching path by path: same answers, in input order, with
//! duplicates, misses and a plugin that traps on some paths.

mod support;

use std::sync::Arc;
use std::time::Duration;

use plexmatch_emulator::LibraryFile;
use plexmatch_engine::backend::{Backend, CachePolicy};
use plexmatch_engine::batch::{self, BatchOptions};
use plexmatch_engine::matching::{Matcher, PathMatch};
use plexmatch_engine::runtime::{Limits, Plugin};
use support::*;

/// A realistic batch over a generated library: exact names, duplicates (every 50th item
/// has a twin), misses, and now and then a name the hostile plugin traps on.
fn paths(library: &LibraryFile, traps: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (i, item) in library.sections[0].items.iter().enumerate().step_by(3) {
        let path = item.files[0].parts()[0];
        let name = path.rsplit('/').next().unwrap();
        out.push(format!("/stash/media/{name}"));
        if i % 7 == 0 {
            out.push(format!("/stash/media/missing {i}.mkv"));
        }
        if traps && i % 40 == 0 {
            out.push(["/x/panic.mkv", "/x/alloc.mkv"][(i / 40) % 2].to_owned());
        }
    }
    out
}

/// What must agree between the two ways of matching.
fn summary(m: &PathMatch) -> (String, String, Option<String>, Vec<String>, bool) {
    let mut candidates: Vec<String> = m.candidates.iter().map(|c| c.rating_key.clone()).collect();
    candidates.sort();
    (
        m.path.clone(),
        m.outcome.label().to_owned(),
        m.item.as_ref().map(|i| i.rating_key.clone()),
        candidates,
        m.error.is_some(),
    )
}

fn compare(plugin_for: impl Fn(&Arc<Backend>) -> Arc<Plugin>, traps: bool) {
    let library = plexmatch_emulator::generate(1500, 21);
    let fx = Fixture::with(&library);
    let input = paths(&library, traps);

    let one_by_one = {
        let dir = tempfile::tempdir().unwrap();
        let backend = Arc::new(
            Backend::open(
                &fx.config_with_token(fx.emulator.token()),
                dir.path(),
                CachePolicy::default(),
            )
            .unwrap(),
        );
        let sections = all_sections(&backend);
        let mut matcher = Matcher::new(plugin_for(&backend), backend.clone());
        input
            .iter()
            .map(|p| summary(&matcher.match_path(p, &sections)))
            .collect::<Vec<_>>()
    };

    let backend = fx.backend(CachePolicy::default());
    let sections = all_sections(&backend);
    let plugin = plugin_for(&backend);
    let mut batched = Vec::new();
    let options = BatchOptions {
        workers: 4,
        window: 16,
        explain: false,
        mapping: None,
    };
    batch::run(
        std::slice::from_ref(&plugin),
        &backend,
        &sections,
        input.clone().into_iter(),
        options,
        |a| batched.push((a.index, summary(&a.result))),
    );

    assert_eq!(batched.len(), input.len());
    for (n, (index, s)) in batched.iter().enumerate() {
        assert_eq!(*index, n, "answers come in input order");
        assert_eq!(
            s, &one_by_one[n],
            "path {n} answered differently in a batch"
        );
    }
    let outcomes: std::collections::BTreeSet<&str> =
        one_by_one.iter().map(|s| s.1.as_str()).collect();
    let expected: &[&str] = if traps {
        &["ERROR", "HIGH", "LOW", "NOT-FOUND"]
    } else {
        &["HIGH", "LOW", "NOT-FOUND"]
    };
    assert_eq!(
        outcomes.into_iter().collect::<Vec<_>>(),
        expected,
        "the batch covers every kind of answer"
    );
}

#[test]
fn a_batch_answers_like_path_by_path_matching() {
    compare(default_plugin, false);
}

#[test]
fn a_batch_recovers_from_a_plugin_that_traps_on_some_paths() {
    let limits = Limits {
        cpu_deadline: Duration::from_secs(2),
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    compare(|b| hostile_plugin(b, limits), true);
}

#[test]
fn a_large_batch_lists_each_section_once_instead_of_searching() {
    let library = plexmatch_emulator::generate(3000, 4);
    let fx = Fixture::with(&library);
    let backend = fx.backend(CachePolicy::default());
    let sections = all_sections(&backend);
    let plugin = default_plugin(&backend);
    let input = paths(&library, false);
    let mut n = 0;
    batch::run(
        std::slice::from_ref(&plugin),
        &backend,
        &sections,
        input.into_iter(),
        BatchOptions::default(),
        |_| n += 1,
    );
    assert!(n > 1000);
    assert_eq!(
        fx.emulator.requests_to("search"),
        0,
        "no title search once the snapshot is listed"
    );
    // A batch of known size: one count (a listing request of no items) weighs the
    // listing against a look-up a path, then the section is listed once.
    assert_eq!(fx.emulator.requests_to("file-lookup"), 0);
    assert_eq!(
        fx.emulator.requests_to("listing"),
        1 + 4,
        "one count, and one listing of 3,060 items in pages of 1,000"
    );
}
