//! `plexmatch plugin new NAME --lang rust|python|js`: a standalone plugin project that
//! builds with one command and passes `plexmatch plugin test` as written. The binary
//! carries the SDK, its helpers and the WIT contract for each language, so the project
//! needs nothing from this repository: only the language's own tools (cargo; Python 3 with
//! pip; Node with npm), which its build script fetches pinned.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use super::exit;

/// Languages `plugin new` scaffolds.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust with the plexmatch SDK (cargo and the wasm32-wasip2 target).
    Rust,
    /// Python, built by componentize-py (pinned; installed into the project's venv).
    Python,
    /// JavaScript, built by componentize-js (pinned; installed by npm).
    Js,
}

/// The componentize-py release the Python scaffold pins (tested by CI).
pub const COMPONENTIZE_PY: &str = "0.25.1";
/// The componentize-js release the JavaScript scaffold pins (tested by CI).
pub const COMPONENTIZE_JS: &str = "0.23.0";

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

const SDK_LIB: &str = include_str!("../../guest/sdk/src/lib.rs");
const SDK_OUTCOME: &str = include_str!("../../guest/sdk/src/outcome.rs");
const KIT_LIB: &str = include_str!("../../guest/matchkit/src/lib.rs");
const KIT_NAMES: &str = include_str!("../../guest/matchkit/src/names.rs");
const KIT_PATHS: &str = include_str!("../../guest/matchkit/src/paths.rs");
const KIT_VARIANTS: &str = include_str!("../../guest/matchkit/src/variants.rs");
const WIT: &str = include_str!("../../wit/plexmatch.wit");
const TEMPLATE: &str = include_str!("../../guest/template/src/lib.rs");
const PY_APP: &str = include_str!("../../guest/template-python/app.py");
const PY_SDK: &str = include_str!("../../guest/sdk-python/plexmatch_sdk.py");
const PY_NAMES: &str = include_str!("../../guest/sdk-python/plexmatch_names.py");
const JS_APP: &str = include_str!("../../guest/template-js/app.js");
const JS_SDK: &str = include_str!("../../guest/sdk-js/plexmatch_sdk.js");
const JS_NAMES: &str = include_str!("../../guest/sdk-js/plexmatch_names.js");
const JS_UNICODE: &str = include_str!("../../guest/sdk-js/plexmatch_unicode.js");

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
    let language = match args.lang {
        Lang::Rust => {
            rust(&root, name)?;
            "Rust"
        }
        Lang::Python => {
            python(&root, name)?;
            "Python"
        }
        Lang::Js => {
            js(&root, name)?;
            "JavaScript"
        }
    };
    write(&root, "cases.toml", CASES)?;
    write(&root, "wit/plexmatch.wit", WIT)?;
    println!("created {} ({language} plugin)", root.display());
    println!("next:");
    println!("  cd {}", root.display());
    println!("  sh build.sh                   # → {name}.wasm");
    println!("  plexmatch plugin test {name}.wasm   # the cases of cases.toml");
    Ok(exit::ALL_HIGH)
}

/// The plugin's info() as the template writes it, renamed.
fn renamed(template: &str, name: &str) -> String {
    template
        .replace("name=\"template\"", &format!("name={name:?}"))
        .replace("name: \"template\"", &format!("name: {name:?}"))
}

/// The Python project: app.py, the SDK modules, the WIT, a build script with a venv.
fn python(root: &Path, name: &str) -> Result<()> {
    write(root, "app.py", &renamed(PY_APP, name))?;
    write(root, "plexmatch_sdk.py", PY_SDK)?;
    write(root, "plexmatch_names.py", PY_NAMES)?;
    write(
        root,
        "requirements.txt",
        &format!("componentize-py=={COMPONENTIZE_PY}\n"),
    )?;
    write(
        root,
        "build.sh",
        &build_script(&BuildTool {
            name,
            source: "app.py",
            tool: "componentize-py",
            version: COMPONENTIZE_PY,
            pinned_in: "requirements.txt",
            how: "installed into .venv",
            var: "COMPONENTIZE_PY",
            installed: ".venv/bin/componentize-py",
            install: "python3 -m venv .venv\n        .venv/bin/python -m pip install --quiet -r requirements.txt",
            run: &format!("-d wit -w plugin componentize app -o {name}.wasm"),
        }),
    )?;
    write(
        root,
        ".gitignore",
        "/.venv\n/wit_world\n*.wasm\n__pycache__/\n",
    )?;
    write(
        root,
        "README.md",
        &format!(
            "# {name}\n\nA plexmatch matcher plugin in Python, built into a WebAssembly component by\ncomponentize-py. `app.py` is the strategy: it answers with the items of the section that\nhold a file of the path's name. Change `find`; `plexmatch_sdk.py` (the answers and the\nhost's interfaces), `plexmatch_names.py` (file names and title variants, as the host's\nindex uses them) and `wit/` (the contract, plexmatch:plugin@0.2.0) came with `plexmatch\nplugin new`.\n\n```sh\nsh build.sh                                         # → {name}.wasm (first build: a venv with componentize-py)\nplexmatch plugin test {name}.wasm                   # cases.toml, against the bundled sample library\nplexmatch match --plugin {name}.wasm /media/file.mkv  # against your server\n```\n\nThe first `plugin test` or `match` compiles the 18 MB component (about 7 s; docs/plugins.md has\nthe measured figures); later starts load it\nfrom plexmatch's compiled-plugin cache. For your editor, `.venv/bin/componentize-py -d wit -w\nplugin bindings .` writes the `wit_world` bindings beside `app.py`. Inside the plugin, a\nhost function's error is raised as `Err` (catch it and `raise plex_error(e)`), and `find`\nreports its own error by raising one (`raise not_found(section, name)`).\n\n{CASES_NOTE}"
        ),
    )?;
    Ok(())
}

/// The JavaScript project: app.js, the SDK modules, the WIT, package.json and a build script.
fn js(root: &Path, name: &str) -> Result<()> {
    write(root, "app.js", &renamed(JS_APP, name))?;
    write(root, "plexmatch_sdk.js", JS_SDK)?;
    write(root, "plexmatch_names.js", JS_NAMES)?;
    write(root, "plexmatch_unicode.js", JS_UNICODE)?;
    write(
        root,
        "package.json",
        &format!(
            r#"{{
  "name": "{name}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "scripts": {{
    "build": "componentize-js app.js --wit wit --world-name plugin -o {name}.wasm"
  }},
  "devDependencies": {{
    "@bytecodealliance/componentize-js": "{COMPONENTIZE_JS}"
  }}
}}
"#
        ),
    )?;
    write(
        root,
        "build.sh",
        &build_script(&BuildTool {
            name,
            source: "app.js",
            tool: "componentize-js",
            version: COMPONENTIZE_JS,
            pinned_in: "package.json",
            how: "installed by npm",
            var: "COMPONENTIZE_JS",
            installed: "node_modules/.bin/componentize-js",
            install: "npm install --no-audit --no-fund --loglevel=error",
            run: &format!("app.js --wit wit --world-name plugin -o {name}.wasm"),
        }),
    )?;
    write(root, ".gitignore", "/node_modules\n*.wasm\n")?;
    write(
        root,
        "README.md",
        &format!(
            "# {name}\n\nA plexmatch matcher plugin in JavaScript, built into a WebAssembly component by\ncomponentize-js. `app.js` is the strategy: it answers with the items of the section that\nhold a file of the path's name. Change `find`; `plexmatch_sdk.js` (the answers and the\nhost's interfaces), `plexmatch_names.js` with `plexmatch_unicode.js` (file names and title\nvariants, as the host's index uses them) and `wit/` (the contract, plexmatch:plugin@0.2.0)\ncame with `plexmatch plugin new`.\n\n```sh\nsh build.sh                                         # → {name}.wasm (first build: npm install)\nplexmatch plugin test {name}.wasm                   # cases.toml, against the bundled sample library\nplexmatch match --plugin {name}.wasm /media/file.mkv  # against your server\n```\n\nThe first `plugin test` or `match` compiles the 12 MB component (about 9 s; docs/plugins.md has\nthe measured figures); later starts load it\nfrom plexmatch's compiled-plugin cache. WIT records are plain objects with camelCase fields\n(`item.ratingKey`), enums are strings (`\"high\"`), a host function's error is thrown (catch it\nand `throw plexError(e)`), and `find` reports its own error by throwing one (`throw\nnotFound(section, name)`). The plugin runtime (StarlingMonkey) has no `String.normalize` and\nno `\\p{{...}}` in regular expressions: use the SDK's `nameKey` and `nfc`.\n\n{CASES_NOTE}"
        ),
    )?;
    Ok(())
}

/// How a Python or JavaScript project builds: its pinned tool, installed on the first build
/// unless the variable `var` names another installation.
struct BuildTool<'a> {
    name: &'a str,
    source: &'a str,
    tool: &'a str,
    version: &'a str,
    pinned_in: &'a str,
    how: &'a str,
    var: &'a str,
    installed: &'a str,
    install: &'a str,
    run: &'a str,
}

/// The project's `build.sh`.
fn build_script(b: &BuildTool<'_>) -> String {
    let BuildTool {
        name,
        source,
        tool,
        version,
        pinned_in,
        how,
        var,
        installed,
        install,
        run,
    } = b;
    format!(
        r#"#!/bin/sh
# Builds {name}.wasm from {source} with {tool} {version} ({pinned_in}), {how} on the
# first build. {var} names another installation of its command.
set -e
cd "$(dirname "$0")"
if [ -z "${var}" ]; then
    if [ ! -x {installed} ]; then
        {install}
    fi
    {var}={installed}
fi
"${var}" {run}
echo "built {name}.wasm"
"#
    )
}

/// What every scaffold's README says of cases.toml.
const CASES_NOTE: &str = "`cases.toml` holds what the plugin should answer for paths of the sample library\n(`plexmatch emulator --sample` serves it); add your own cases, or test against your own\nlibrary file with `--library`. The plugin author's guide is docs/plugins.md in the\nplexmatch repository.\n";

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
        &SDK_LIB.replace(
            "path: \"../../wit/plexmatch.wit\"",
            "path: \"../wit/plexmatch.wit\"",
        ),
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
    write(root, ".gitignore", "/target\n*.wasm\n")?;
    write(
        root,
        "README.md",
        &format!(
            "# {name}\n\nA plexmatch matcher plugin (a wasm32-wasip2 component). `src/lib.rs` is the strategy:\nit answers with the items of the section that hold a file of the path's name. Change\n`find`; `sdk/` (the plexmatch SDK), `matchkit/` (its file-name and title helpers) and\n`wit/` (the contract, plexmatch:plugin@0.2.0) came with `plexmatch plugin new`.\n\n```sh\nrustup target add wasm32-wasip2                     # once\nsh build.sh                                         # → {name}.wasm\nplexmatch plugin test {name}.wasm                   # cases.toml, against the bundled sample library\nplexmatch match --plugin {name}.wasm /media/file.mkv  # against your server\n```\n\n{CASES_NOTE}"
        ),
    )?;
    Ok(())
}

/// Cases a new plugin passes as written, against the bundled sample library.
const CASES: &str = r#"# What the plugin should answer, checked by:
#   plexmatch plugin test PLUGIN.wasm        (reads cases.toml by default)
# against the sample library plexmatch carries (plexmatch emulator --sample serves it).

# One item holds the file name: HIGH.
[[case]]
path = "/stash/movies/Inception (2010)/Inception (2010) - 1080p.mkv"
expect = "high"
rating_key = "101"

# Two items of Movies hold holiday.mp4, and nothing in the path tells them apart: LOW.
[[case]]
path = "/elsewhere/holiday.mp4"
expect = "low"
candidates = ["108", "109"]
sections = ["Movies"]

# The same two, and the path's folder 2020/ is only 109's: HIGH (the path decides).
[[case]]
path = "/stash/movies/2020/holiday.mp4"
expect = "high"
rating_key = "109"
sections = ["Movies"]

# No item holds it.
[[case]]
path = "/stash/movies/Unknown Film (1999).mkv"
expect = "not-found"
"#;
