//! What a new user meets in the first hour, through the real binary: the table on an 80-
//! and a 120-column terminal (a real pseudo-terminal, made by util-linux's `script`),
//! errors read in full, broken pipes, relative paths.

mod support;

use std::process::Command;

use support::*;
use unicode_width::UnicodeWidthStr;

/// Runs `plexmatch ARGS` with its stdout on a pseudo-terminal `columns` wide; what the
/// terminal showed, escape sequences and carriage returns removed.
fn on_terminal(fx: &Fixture, columns: usize, args: &[&str]) -> String {
    let binary = env!("CARGO_BIN_EXE_plexmatch");
    let quoted: Vec<String> = std::iter::once(binary)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("{} 2>/dev/null", quoted.join(" ")),
            "/dev/null",
        ])
        .env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token())
        .env("PLEXMATCH_DATA_DIR", fx.data_dir())
        .env("COLUMNS", columns.to_string())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("script runs");
    strip_escapes(&String::from_utf8_lossy(&out.stdout))
}

/// Text without ANSI escape sequences and carriage returns.
fn strip_escapes(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for d in chars.by_ref() {
                        if d.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            '\r' => {}
            _ => out.push(c),
        }
    }
    out
}

const PATHS: [&str; 4] = [
    "/media/movies/The Matrix (1999)/The Matrix (1999).mkv",
    "/media/somewhere/very/deep/in/the/collection/holiday.mp4",
    "/media/x/Heat (1995).mkv",
    "relative/Inception (2010) - 1080p.mkv",
];

#[test]
fn the_table_fits_80_and_120_columns_and_errors_are_read_in_full() {
    let fx = Fixture::sample();
    for columns in [80, 120] {
        let mut args = vec!["match", "--section", "Movies"];
        args.extend(PATHS);
        let screen = on_terminal(&fx, columns, &args);
        let rows: Vec<&str> = screen
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.contains("path(s):"))
            .collect();
        for line in &rows {
            assert!(
                line.width() <= columns || line.starts_with("    ✗"),
                "{columns}: a line of {} cells: {line:?}\n{screen}",
                line.width()
            );
        }
        let header = rows[0];
        assert!(
            header.starts_with("OUTCOME") && header.contains("PLUGIN") && header.ends_with("PATH"),
            "{columns}: {header:?}"
        );
        assert!(
            screen.contains("The Matrix (1999).mkv") && screen.contains("/Heat (1995).mkv"),
            "{columns}: file names stay\n{screen}"
        );
        // LOW: each candidate's file keeps its name.
        assert!(
            rows.iter()
                .any(|l| l.trim_start().starts_with('·') && l.ends_with("2019/holiday.mp4")),
            "{screen}"
        );
        // The relative path's error, whole, on its own line: as JSON has it.
        let error = rows
            .iter()
            .find(|l| l.trim_start().starts_with('✗'))
            .unwrap_or_else(|| panic!("no error line\n{screen}"));
        let json = json_lines(
            &plexmatch(&fx, &["match", "--json", "--section", "Movies", PATHS[3]])
                .output()
                .unwrap(),
        );
        let message = json[0]["error"]["message"].as_str().unwrap();
        assert!(message.len() > 40, "{message}");
        assert_eq!(*error, format!("    ✗ {message}"));
    }
}
