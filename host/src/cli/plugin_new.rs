//! `plexmatch plugin new NAME --lang rust`: a standalone plugin project that builds with
//! one command and passes `plexmatch plugin test` as written. The binary carries the SDK,
//! its helpers and the WIT contract, so the project needs nothing from this repository.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use super::exit;

/// Languages `plugin new` scaffolds.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust with the plexmatch SDK (cargo and the wasm32-wasip2 target).
    Rust,
}

/// Options of `plexmatch plugin new`.
#[derive(Args, Debug)]
pub struct NewArgs {
    /// The plugin's name (letters, digits, `-` and `_`, starting with a letter): the
    /// project's folder and its `.wasm`.
    pub name: String,
    /// The language.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// Where to create the project folder (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

const SDK_LIB: &str = include_str!("../../../guest/sdk/src/lib.rs");
const SDK_OUTCOME: &str = include_str!("../../../guest/sdk/src/outcome.rs");
const KIT_LIB: &str = include_str!("../../../guest/matchkit/src/lib.rs");
const KIT_NAMES: &str = include_str!("../../../guest/matchkit/src/names.rs");
const KIT_PATHS: &str = include_str!("../../../guest/matchkit/src/paths.rs");
const KIT_VARIANTS: &str = include_str!("../../../guest/matchkit/src/variants.rs");
const WIT: &str = include_str!("../../../wit/plexmatch.wit");
const TEMPLATE: &str = include_str!("../../../guest/template/src/lib.rs");

/// Runs `plexmatch plugin new`.
pub fn run(args: NewArgs) -> Result<i32> {
    let name = args.name.trim();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.len() <= 64;
    if !valid {
        bail!(
            "{name:?} cannot name a plugin: use lower-case letters, digits, - and _, starting with a letter"
        );
    }
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."))
        .join(name);
    if root.exists() {
        bail!(
            "{} exists already; choose another name or --dir",
            root.display()
        );
    }
    match args.lang {
        Lang::Rust => rust(&root, name)?,
    }
    println!("created {} ({:?} plugin)", root.display(), args.lang);
    println!("next:");
    println!("  cd {}", root.display());
    println!("  sh build.sh                                  # → {name}.wasm");
    println!("  plexmatch plugin test {name}.wasm --cases cases.toml");
    Ok(exit::ALL_HIGH)
}

fn write(root: &Path, file: &str, text: &str) -> Result<()> {
    let path = root.join(file);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The Rust project: the plugin, the SDK and its helpers as path dependencies, the WIT.
fn rust(root: &Path, name: &str) -> Result<()> {
    let krate = name.replace('-', "_");
    write(
        root,
        "Cargo.toml",
        &format!(
            r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
plexmatch-sdk = {{ path = "sdk" }}

# A workspace of its own, so the project builds the same inside any other folder.
[workspace]

# Small plugins start faster: plexmatch compiles them on first use.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
strip = true
"#
        ),
    )?;
    write(
        root,
        "rust-toolchain.toml",
        "[toolchain]\nchannel = \"stable\"\ntargets = [\"wasm32-wasip2\"]\n",
    )?;
    write(
        root,
        ".cargo/config.toml",
        "# Plugins are wasm32-wasip2 components.\n[build]\ntarget = \"wasm32-wasip2\"\n",
    )?;
    write(
        root,
        "build.sh",
        &format!(
            "#!/bin/sh\n# Builds {name}.wasm (needs: rustup target add wasm32-wasip2).\nset -e\ncd \"$(dirname \"$0\")\"\ncargo build --release\ncp \"${{CARGO_TARGET_DIR:-target}}/wasm32-wasip2/release/{krate}.wasm\" {name}.wasm\necho \"built {name}.wasm\"\n"
        ),
    )?;
    write(
        root,
        "src/lib.rs",
        &TEMPLATE
            .replace(
                "//! The template for a new plexmatch plugin",
                &format!("//! {name}, a plexmatch plugin"),
            )
            .replace(
                "name: \"template\".into()",
                &format!("name: {name:?}.into()"),
            ),
    )?;
    write(
        root,
        "sdk/Cargo.toml",
        "[package]\nname = \"plexmatch-sdk\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nwit-bindgen = \"0.63\"\nplexmatch-matchkit = { path = \"../matchkit\" }\n",
    )?;
    write(
        root,
        "sdk/src/lib.rs",
        &SDK_LIB.replace("path: \"../../wit\"", "path: \"../wit\""),
    )?;
    write(root, "sdk/src/outcome.rs", SDK_OUTCOME)?;
    write(
        root,
        "matchkit/Cargo.toml",
        "[package]\nname = \"plexmatch-matchkit\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nunicode-normalization = \"0.1\"\n",
    )?;
    write(root, "matchkit/src/lib.rs", KIT_LIB)?;
    write(root, "matchkit/src/names.rs", KIT_NAMES)?;
    write(root, "matchkit/src/paths.rs", KIT_PATHS)?;
    write(root, "matchkit/src/variants.rs", KIT_VARIANTS)?;
    write(root, "wit/plexmatch.wit", WIT)?;
    write(root, "cases.toml", CASES)?;
    write(root, ".gitignore", "/target\n*.wasm\n")?;
    write(
        root,
        "README.md",
        &format!(
            "# {name}\n\nA plexmatch matcher plugin (a wasm32-wasip2 component). `src/lib.rs` is the strategy:\nit answers with the items of the section that hold a file of the path's name. Change\n`find`; `sdk/` (the plexmatch SDK), `matchkit/` (its file-name and title helpers) and\n`wit/` (the contract, plexmatch:plugin@0.1.0) came with `plexmatch plugin new`.\n\n```sh\nrustup target add wasm32-wasip2                     # once\nsh build.sh                                         # → {name}.wasm\nplexmatch plugin test {name}.wasm --cases cases.toml  # against the bundled sample library\nplexmatch match --plugin {name}.wasm /media/file.mkv  # against your server\n```\n\n`cases.toml` holds what the plugin should answer for paths of the sample library\n(`plexmatch emulator --sample` serves it); add your own cases, or test against your own\nlibrary file with `--library`. The plugin author's guide is docs/plugins.md in the\nplexmatch repository.\n"
        ),
    )?;
    Ok(())
}

/// Cases a new plugin passes as written, against the bundled sample library.
const CASES: &str = r#"# What the plugin should answer, checked by:
#   plexmatch plugin test PLUGIN.wasm --cases cases.toml
# against the sample library plexmatch carries (plexmatch emulator --sample serves it).

# One item holds the file name: HIGH.
[[case]]
path = "/stash/movies/Inception (2010)/Inception (2010) - 1080p.mkv"
expect = "high"
rating_key = "101"

# Two items of Movies hold holiday.mp4: the strategy cannot tell them apart.
[[case]]
path = "/elsewhere/holiday.mp4"
expect = "low"
candidates = ["108", "109"]
sections = ["Movies"]

# No item holds it.
[[case]]
path = "/stash/movies/Unknown Film (1999).mkv"
expect = "not-found"
"#;
