// Shared by host/build.rs and the tests' support module (both `include!` it): the nested
// cargo that builds plugins in the guest workspace. It needs its own target dir (sharing
// the outer one deadlocks on its lock in release builds) and must not inherit the outer
// build's flags or wrapper, which would override the wasm target's settings.

/// A `cargo build --release --target wasm32-wasip2` of `packages` in `<root>/guest`,
/// into `target_dir`.
fn guest_cargo(
    cargo: &str,
    root: &std::path::Path,
    target_dir: &std::path::Path,
    packages: &[&str],
) -> std::process::Command {
    let mut cmd = std::process::Command::new(cargo);
    cmd.current_dir(root.join("guest"))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(target_dir);
    for p in packages {
        cmd.args(["-p", p]);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd
}
