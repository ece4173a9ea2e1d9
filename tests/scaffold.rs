//! `plexmatch plugin new`: a project made in an empty folder, for each language, builds
//! with its one documented command (which fetches the language's pinned tool from its
//! registry) and passes `plexmatch plugin test` as written, with nothing from this
//! repository; and the SDK helpers of the three languages agree on one vectors file.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::repo_root;

fn plexmatch(args: &[&str], dir: &Path, data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plexmatch"))
        .args(args)
        .current_dir(dir)
        .env("PLEXMATCH_DATA_DIR", data)
        .env_remove("RUST_LOG")
        .output()
        .expect("plexmatch runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `plugin new NAME --lang LANG`, `sh build.sh` as a fresh shell runs it, then `plugin
/// test NAME.wasm` (cases.toml by default) twice and `plugin inspect`.
fn scaffold_builds_and_passes(lang: &str, name: &str, files: &[&str]) {
    let empty = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let made = plexmatch(
        &["plugin", "new", name, "--lang", lang],
        empty.path(),
        data.path(),
    );
    assert!(made.status.success(), "{}", text(&made));
    let project = empty.path().join(name);
    for file in files
        .iter()
        .chain(&["build.sh", "wit/plexmatch.wit", "cases.toml", "README.md"])
    {
        assert!(project.join(file).is_file(), "{file} missing");
    }
    // A second project of the same name is refused, not overwritten.
    let again = plexmatch(
        &["plugin", "new", name, "--lang", lang],
        empty.path(),
        data.path(),
    );
    assert_eq!(again.status.code(), Some(2));

    // The documented build, as a fresh shell would run it: none of this test's cargo
    // settings; Rust gets its own target dir, kept under target/ to save time.
    let mut build = Command::new("sh");
    build.arg("build.sh").current_dir(&project);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_MANIFEST_DIR",
        "COMPONENTIZE_PY",
        "COMPONENTIZE_JS",
    ] {
        build.env_remove(var);
    }
    if lang == "rust" {
        build.env(
            "CARGO_TARGET_DIR",
            repo_root().join("target").join("scaffold"),
        );
    }
    let built = build.output().expect("sh runs");
    assert!(built.status.success(), "{}", text(&built));
    let wasm = format!("{name}.wasm");
    assert!(project.join(&wasm).is_file());

    for _ in 0..2 {
        let tested = plexmatch(&["plugin", "test", &wasm], &project, data.path());
        let out = String::from_utf8_lossy(&tested.stdout);
        assert_eq!(tested.status.code(), Some(0), "{}", text(&tested));
        assert!(out.contains("4 case(s): 4 passed, 0 failed"), "{out}");
    }
    let inspected = plexmatch(
        &["plugin", "inspect", &wasm, "--json"],
        &project,
        data.path(),
    );
    let info: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(info["name"], name);
    assert_eq!(info["compatible"], true);
}

#[test]
fn a_new_rust_plugin_builds_and_passes_its_cases() {
    scaffold_builds_and_passes(
        "rust",
        "my-matcher",
        &[
            "Cargo.toml",
            "rust-toolchain.toml",
            "src/lib.rs",
            "sdk/src/lib.rs",
        ],
    );
    let empty = tempfile::tempdir().unwrap();
    let bad = plexmatch(&["plugin", "new", "My Matcher"], empty.path(), empty.path());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_new_python_plugin_builds_and_passes_its_cases() {
    scaffold_builds_and_passes(
        "python",
        "py-matcher",
        &[
            "app.py",
            "plexmatch_sdk.py",
            "plexmatch_names.py",
            "requirements.txt",
        ],
    );
}

#[test]
fn a_new_javascript_plugin_builds_and_passes_its_cases() {
    scaffold_builds_and_passes(
        "js",
        "js-matcher",
        &[
            "app.js",
            "plexmatch_sdk.js",
            "plexmatch_names.js",
            "plexmatch_unicode.js",
            "package.json",
        ],
    );
}

/// The Python and JavaScript helpers against guest/vectors/helpers.json (the Rust ones:
/// guest/matchkit/tests/vectors.rs).
#[test]
fn python_and_javascript_helpers_agree_with_the_shared_vectors() {
    let guest = repo_root().join("guest");
    let vectors = guest.join("vectors").join("helpers.json");
    for (program, dir, script) in [
        ("python3", "sdk-python", "test_vectors.py"),
        ("node", "sdk-js", "test_vectors.mjs"),
    ] {
        let out = Command::new(program)
            .arg(script)
            .arg(&vectors)
            .current_dir(guest.join(dir))
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(out.status.success(), "{program}: {}", text(&out));
        assert!(text(&out).contains(": 0 failed"), "{}", text(&out));
    }
}
