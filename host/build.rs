//! Builds the default matcher plugin (guest/default-matcher) for wasm32-wasip2 so that
//! the `plexmatch` binary embeds it and works with no plugin path given.
//!
//! The guest has its own workspace and target dir: a nested cargo sharing the outer
//! target dir deadlocks on its lock in release builds (see the toolchain spike).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("host/ is inside the repository").to_path_buf();
    let target_dir = root.join("target").join("guest");
    for watched in ["guest/Cargo.toml", "guest/Cargo.lock", "guest/default-matcher", "guest/matchkit", "wit"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root.join("guest"))
        .args(["build", "--release", "--target", "wasm32-wasip2", "-p", "default-matcher", "--target-dir"])
        .arg(&target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .status()
        .expect("cannot run cargo to build the default plugin");
    assert!(
        status.success(),
        "building the default plugin failed; is the wasm32-wasip2 target installed? (rustup target add wasm32-wasip2)"
    );
    let wasm = target_dir.join("wasm32-wasip2/release/default_matcher.wasm");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("default_matcher.wasm");
    std::fs::copy(&wasm, &out).unwrap_or_else(|e| panic!("cannot copy {}: {e}", wasm.display()));
}
