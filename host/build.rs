//! Builds the built-in matcher plugins (guest/default-matcher, guest/path-matcher) for
//! wasm32-wasip2 so that the `plexmatch` binary embeds them and works with no plugin file.
//!
//! The guest has its own workspace and target dir: a nested cargo sharing the outer
//! target dir deadlocks on its lock in release builds (see the toolchain spike).

use std::path::PathBuf;
use std::process::Command;

include!("guest_cargo.rs");
include!("plugin_digest.rs");

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .expect("host/ is inside the repository")
        .to_path_buf();
    let target_dir = root.join("target").join("guest");
    for watched in [
        "guest/Cargo.toml",
        "guest/Cargo.lock",
        "guest/default-matcher",
        "guest/sdk",
        "guest/path-matcher",
        "guest/matchkit",
        "host/guest_cargo.rs",
        "host/plugin_digest.rs",
        "wit",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    ensure_wasm_target();
    let status = guest_cargo(
        &cargo,
        &root,
        &target_dir,
        &["default-matcher", "path-matcher"],
    )
    .status()
    .expect("cannot run cargo to build the default plugin");
    assert!(
        status.success(),
        "building the default plugin failed; is the wasm32-wasip2 target installed? (rustup target add wasm32-wasip2)"
    );
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for name in ["default_matcher.wasm", "path_matcher.wasm"] {
        let wasm = target_dir.join("wasm32-wasip2/release").join(name);
        std::fs::copy(&wasm, out_dir.join(name))
            .unwrap_or_else(|e| panic!("cannot copy {}: {e}", wasm.display()));
        // Hashing the 1-2 MB of a built-in plugin at every start was a twentieth of a
        // one-path run's CPU.
        let bytes =
            std::fs::read(&wasm).unwrap_or_else(|e| panic!("cannot read {}: {e}", wasm.display()));
        std::fs::write(out_dir.join(format!("{name}.digest")), digest(&bytes))
            .unwrap_or_else(|e| panic!("cannot write {name}'s digest: {e}"));
    }
}

/// Installs the wasm32-wasip2 standard library when rustup is there and it is missing.
///
/// `rust-toolchain.toml` lists the target, but rustup installs listed targets only when it
/// installs the toolchain itself; on a machine whose stable toolchain came first, the
/// nested cargo (called by path, not through rustup's proxy) would fail with
/// "can't find crate for `core`".
fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(sysroot) = sysroot.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    else {
        return;
    };
    if PathBuf::from(&sysroot)
        .join("lib/rustlib/wasm32-wasip2")
        .is_dir()
    {
        return;
    }
    println!(
        "cargo:warning=installing the wasm32-wasip2 target with rustup (needed to build the default plugin)"
    );
    let toolchain = PathBuf::from(&sysroot)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", "wasm32-wasip2"]);
    if let Some(t) = toolchain {
        cmd.args(["--toolchain", &t]);
    }
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => println!("cargo:warning=rustup target add wasm32-wasip2 failed ({s})"),
        Err(e) => println!(
            "cargo:warning=cannot run rustup ({e}); install the wasm32-wasip2 target by hand"
        ),
    }
}
