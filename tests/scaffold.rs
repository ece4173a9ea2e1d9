//! `plexmatch plugin new`: a project made in an empty folder builds with its one documented
//! command and passes `plexmatch plugin test` as written, with nothing from this repository.

mod support;

use std::process::Command;

use support::repo_root;

fn plexmatch(args: &[&str], dir: &std::path::Path, data: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plexmatch"))
        .args(args)
        .current_dir(dir)
        .env("PLEXMATCH_DATA_DIR", data)
        .env_remove("RUST_LOG")
        .output()
        .expect("plexmatch runs")
}

#[test]
fn a_new_rust_plugin_builds_and_passes_its_cases() {
    let empty = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let made = plexmatch(
        &["plugin", "new", "my-matcher", "--lang", "rust"],
        empty.path(),
        data.path(),
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let project = empty.path().join("my-matcher");
    for file in [
        "Cargo.toml",
        "rust-toolchain.toml",
        "build.sh",
        "src/lib.rs",
        "sdk/src/lib.rs",
        "wit/plexmatch.wit",
        "cases.toml",
        "README.md",
    ] {
        assert!(project.join(file).is_file(), "{file} missing");
    }
    // A second project of the same name is refused, not overwritten.
    let again = plexmatch(&["plugin", "new", "my-matcher"], empty.path(), data.path());
    assert_eq!(again.status.code(), Some(2));

    // The documented build, as a fresh shell would run it: none of this test's cargo
    // settings, its own target dir (kept between runs under target/ to save time).
    let mut build = Command::new("sh");
    build.arg("build.sh").current_dir(&project);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_MANIFEST_DIR",
    ] {
        build.env_remove(var);
    }
    build.env(
        "CARGO_TARGET_DIR",
        repo_root().join("target").join("scaffold"),
    );
    let built = build.output().expect("sh runs");
    assert!(
        built.status.success(),
        "{}{}",
        String::from_utf8_lossy(&built.stdout),
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(project.join("my-matcher.wasm").is_file());

    let tested = plexmatch(
        &["plugin", "test", "my-matcher.wasm", "--cases", "cases.toml"],
        &project,
        data.path(),
    );
    let out = String::from_utf8_lossy(&tested.stdout);
    assert_eq!(
        tested.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&tested.stderr)
    );
    assert!(out.contains("3 case(s): 3 passed, 0 failed"), "{out}");
    let inspected = plexmatch(
        &["plugin", "inspect", "my-matcher.wasm", "--json"],
        &project,
        data.path(),
    );
    let info: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(info["name"], "my-matcher");
    assert_eq!(info["compatible"], true);

    let bad = plexmatch(&["plugin", "new", "My Matcher"], empty.path(), data.path());
    assert_eq!(bad.status.code(), Some(2));
}
