//! The layout stays readable: no source file of the engine, the emulator or the command
//! line is longer than 600 lines (test files and generated code aside), so that a module
//! doing two jobs is split; and the command line reaches the engine only through its API
//! (issue 26).

use std::path::{Path, PathBuf};

const MOST_LINES: usize = 600;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_source_file_under_host_is_longer_than_600_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["host/src", "host/emulator/src", "cli/src", "serve/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "{} files found", files.len());
    let long: Vec<String> = files
        .iter()
        // A module's unit tests in their own file are tests.
        .filter(|f| f.file_name().is_some_and(|n| n != "tests.rs"))
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            // Lines before an inline test module count; the tests do not.
            let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap();
            let n = code.lines().count();
            (n > MOST_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by job: {}", long.join(", "));
}

#[test]
fn every_w_number_the_source_names_is_defined_in_docs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let table = std::fs::read_to_string(root.join("docs/reference-bugs.md")).unwrap();
    let defined = |w: &str| table.contains(&format!("\n| {w} |"));
    let mut files = Vec::new();
    for dir in ["host/src", "host/emulator/src", "cli/src", "guest", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 60, "{} files", files.len());
    let mut missing = Vec::new();
    let mut seen = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (i, _) in text.match_indices('W') {
            let rest = &text[i + 1..];
            let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
            let before = text[..i].chars().next_back();
            let after = rest[digits.len()..].chars().next();
            let word = before.is_none_or(|c| !c.is_alphanumeric())
                && after.is_none_or(|c| !c.is_alphanumeric());
            if !digits.is_empty() && digits.len() <= 2 && word {
                let w = format!("W{digits}");
                seen += 1;
                if !defined(&w) {
                    missing.push(format!("{w} in {}", f.display()));
                }
            }
        }
    }
    assert!(seen > 20, "only {seen} W-numbers found");
    assert!(
        missing.is_empty(),
        "not in docs/reference-bugs.md: {}",
        missing.join(", ")
    );
}

/// The engine's modules that are not its API: public only with its `internals` feature,
/// for the tests. (`cargo build -p plexmatch` builds the command line without that
/// feature, so the compiler refuses them too; this says which file when the tests run.)
const INTERNAL: &[&str] = &[
    "backend",
    "batch",
    "cache",
    "capabilities",
    "chain",
    "matching",
    "pinning",
    "plex",
    "runtime",
    "sections",
    "servers",
];

#[test]
fn the_command_line_uses_only_the_engine_api() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join("cli/src"), &mut files);
    assert!(files.len() > 10, "{} files", files.len());
    let mut reaching = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for m in INTERNAL {
            if text.contains(&format!("plexmatch_engine::{m}::")) {
                reaching.push(format!("{} uses plexmatch_engine::{m}", f.display()));
            }
        }
    }
    assert!(reaching.is_empty(), "{}", reaching.join("\n"));
    // And the engine says so: those modules are declared for the tests alone.
    let lib = std::fs::read_to_string(root.join("host/src/lib.rs")).unwrap();
    let declared = lib.split("internal_modules!(").nth(1).unwrap();
    for m in INTERNAL {
        assert!(
            declared.contains(&format!("    {m},")),
            "{m} is not internal"
        );
    }
}
