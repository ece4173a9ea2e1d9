//! python-plexapi — a Plex client nobody on this project wrote — against the emulator:
//! sections, a title search, a full listing over several pages, and an item's files, in
//! the XML python-plexapi reads. The test installs plexapi (pinned) into a venv under
//! target/ when it is missing, and fails if it cannot: it is never skipped.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use plexmatch_emulator::LibraryFile;
use support::*;

const PLEXAPI: &str = "plexapi==4.18.3";

/// The venv's python, created once.
fn python() -> &'static Path {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let venv = repo_root().join("target").join("plexapi-venv");
        let python = venv.join("bin").join("python");
        let ready = Command::new(&python)
            .args(["-c", "import plexapi"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ready {
            let made = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&venv)
                .status()
                .expect("python3 runs");
            assert!(made.success(), "cannot create a venv at {}", venv.display());
            let pip = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", PLEXAPI])
                .status()
                .expect("pip runs");
            assert!(
                pip.success(),
                "cannot install {PLEXAPI} (PyPI must be reachable, or run .ci/run first)"
            );
        }
        python
    })
}

/// What python-plexapi must see, worked out from the library file the emulator serves.
fn expected(library: &LibraryFile, search: &str, item_index: usize) -> serde_json::Value {
    let movies = &library.sections[0];
    let search_keys: Vec<String> = movies
        .items
        .iter()
        .filter(|i| i.title.to_lowercase().contains(&search.to_lowercase()))
        .map(|i| {
            i.rating_key
                .expect("the test libraries set rating keys")
                .to_string()
        })
        .collect();
    assert!(
        !search_keys.is_empty(),
        "the search must find something to be a check"
    );
    let item = &movies.items[item_index];
    serde_json::json!({
        "server_name": library.server_name.clone().unwrap_or_else(|| "plexmatch emulator".into()),
        "sections": library.sections.iter().map(|s| serde_json::json!({"id": s.id, "title": s.title, "type": s.kind.as_str()})).collect::<Vec<_>>(),
        "search": {"section": movies.title, "title": search, "rating_keys": search_keys},
        "listing": {"section": movies.title, "count": movies.items.len()},
        "item": {
            "rating_key": item.rating_key.unwrap().to_string(),
            "title": item.title,
            "files": item.files.iter().flat_map(|f| f.parts()).collect::<Vec<_>>(),
            "section_id": movies.id,
        },
    })
}

fn run_check(library: &LibraryFile, search: &str, item_index: usize, page_size: usize) {
    let fx = Fixture::with(library);
    let spec = fx.data_dir().join("expected.json");
    std::fs::write(&spec, expected(library, search, item_index).to_string()).unwrap();
    let out = Command::new(python())
        .arg(repo_root().join("tests/plexapi/check_emulator.py"))
        .arg(fx.emulator.url())
        .arg(fx.emulator.token())
        .arg(&spec)
        .env("PLEXAPI_CONFIG_PATH", "/dev/null")
        .env("PLEXAPI_HEADER_IDENTIFIER", "plexmatch-tests")
        .env("PLEXAPI_PLEXAPI_CONTAINER_SIZE", page_size.to_string())
        .env("PLEXAPI_PLEXAPI_AUTORELOAD", "false")
        .output()
        .expect("the check script runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "python-plexapi rejected the emulator: {said}"
    );
    assert!(said.contains(": ok"), "{said}");
    // It really paged: more listing requests than one.
    let pages = library.sections[0].items.len().div_ceil(page_size) as u64;
    assert!(
        fx.emulator.requests_to("listing") >= pages,
        "python-plexapi listed in {pages} pages"
    );
}

#[test]
fn python_plexapi_reads_the_sample_library_in_small_pages() {
    run_check(&LibraryFile::sample(), "dune", 0, 3);
}

#[test]
fn python_plexapi_reads_a_generated_library_over_many_pages() {
    let library = plexmatch_emulator::generate(1000, 9);
    let title = library.sections[0].items[17].title.clone();
    run_check(&library, &title, 500, 100);
}
