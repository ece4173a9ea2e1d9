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
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(shapes_the_build) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// Whether the outer build's environment variable `name` would change how the nested cargo
/// builds plugins: flags, wrappers, and profile, build and target settings
/// (`CARGO_PROFILE_RELEASE_DEBUG=…` turned the default plugin into other bytes). The built-in
/// plugins' digests key every user's match-cache entries, so their bytes must not depend on
/// how the host was built. The compiler itself (`RUSTC`, `CARGO_BUILD_RUSTC`) is kept.
pub fn shapes_the_build(name: &str) -> bool {
    matches!(
        name,
        "CARGO_ENCODED_RUSTFLAGS" | "RUSTFLAGS" | "RUSTC_WRAPPER" | "RUSTC_WORKSPACE_WRAPPER"
    ) || (["CARGO_PROFILE_", "CARGO_BUILD_", "CARGO_TARGET_"]
        .iter()
        .any(|p| name.starts_with(p))
        && name != "CARGO_BUILD_RUSTC")
}
