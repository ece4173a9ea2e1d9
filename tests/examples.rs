//! Every example runs as printed: each `plexmatch` command in the README's and docs' shell
//! blocks and in `--help` is read as a shell reads it (a `>` inside a word is a redirection
//! the example did not mean) and parsed by the real command line; each configuration block
//! loads and runs `match` against the emulator.

mod support;

use std::path::Path;

use support::*;

/// The repository's Markdown files with examples.
fn documents() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
        .into_iter()
        .map(|f| {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&f).unwrap())
        })
        .collect()
}

/// The code blocks of `text` in one of `languages`.
fn blocks<'a>(text: &'a str, languages: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let Some(eol) = after.find('\n') else { break };
        let language = after[..eol].trim();
        let body = &after[eol + 1..];
        let Some(end) = body.find("```") else { break };
        if languages.contains(&language) {
            out.push(&body[..end]);
        }
        rest = &body[end + 3..];
    }
    out
}

/// A shell token: a word, or an operator (`|`, `>`, `<`, `;`, `&`) that ends a command.
#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Operator(char),
}

/// `line` as a POSIX shell splits it, up to a comment. An unquoted `<` or `>` inside a word
/// is an error: the shell would take it as a redirection in the middle of an argument.
fn shell_tokens(line: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    word.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            '#' if !in_word => break,
            c if c.is_whitespace() => {
                if in_word {
                    out.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
            }
            '|' | ';' | '&' | '<' | '>' => {
                if in_word && matches!(c, '<' | '>') && !word.chars().all(|d| d.is_ascii_digit()) {
                    return Err(format!(
                        "{line:?}: the shell reads the {c:?} after {word:?} as a redirection"
                    ));
                }
                if in_word {
                    out.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
                out.push(Token::Operator(c));
            }
            _ => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(Token::Word(word));
    }
    Ok(out)
}

/// The `plexmatch` commands of a shell line: the words from each `plexmatch` that starts
/// a command up to the operator that ends it.
fn commands(line: &str) -> Result<Vec<Vec<String>>, String> {
    let tokens = shell_tokens(line)?;
    let mut out = Vec::new();
    let mut at_start = true;
    let mut current: Option<Vec<String>> = None;
    for t in tokens {
        match t {
            Token::Operator(_) => {
                out.extend(current.take());
                at_start = true;
            }
            Token::Word(w) => {
                let assignment = w.split_once('=').is_some_and(|(name, _)| {
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                });
                if let Some(c) = current.as_mut() {
                    c.push(w);
                } else if at_start && w == "plexmatch" {
                    current = Some(vec![w]);
                }
                // `NAME=value plexmatch …`: the command starts after its assignments.
                at_start = at_start && current.is_none() && assignment;
            }
        }
    }
    out.extend(current);
    Ok(out)
}

/// Parses `words` with the real command line's definition.
fn parses(words: &[String]) -> Result<(), String> {
    plexmatch_cli::command()
        .try_get_matches_from(words)
        .map(|_| ())
        .map_err(|e| format!("{words:?}: {}", e.render()))
}

#[test]
fn every_shell_example_in_the_readme_and_docs_runs_as_printed() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (file, text) in documents() {
        for block in blocks(&text, &["sh", "bash", "shell", "console"]) {
            for line in block.lines() {
                match commands(line) {
                    Err(e) => failures.push(format!("{file}: {e}")),
                    Ok(cmds) => {
                        for c in cmds {
                            checked += 1;
                            if let Err(e) = parses(&c) {
                                failures.push(format!("{file}: {e}"));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked >= 25, "only {checked} examples found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_example_in_help_runs_as_printed() {
    fn visit(cmd: &mut clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        let help = cmd.render_long_help().to_string();
        for line in help.lines() {
            if let Some((_, example)) = line.split_once("Example: ") {
                out.push((path.clone(), example.trim().to_owned()));
            }
        }
        for sub in cmd.get_subcommands_mut() {
            let mut p = path.clone();
            p.push(sub.get_name().to_owned());
            visit(sub, p, out);
        }
    }
    let mut examples = Vec::new();
    visit(
        &mut plexmatch_cli::command(),
        vec!["plexmatch".into()],
        &mut examples,
    );
    assert!(examples.len() >= 10, "{examples:?}");
    let mut failures = Vec::new();
    for (path, example) in examples {
        let line = if example.split_whitespace().any(|w| w == "plexmatch") {
            example
        } else {
            format!("{} {example}", path.join(" "))
        };
        match commands(&line) {
            Err(e) => failures.push(e),
            Ok(cmds) => {
                assert_eq!(cmds.len(), 1, "{line}");
                if let Err(e) = parses(&cmds[0]) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_shell_reading_is_not_vacuous() {
    assert!(commands("plexmatch match --setting rewrite=/a/=>/b/ x").is_err());
    assert_eq!(
        commands("find /m -print0 | plexmatch match -0 --format csv > a.csv # note").unwrap(),
        [["plexmatch", "match", "-0", "--format", "csv"]]
    );
    assert_eq!(
        commands(r#"plexmatch pin "/media/Dune (2021).mkv" 301"#).unwrap(),
        [["plexmatch", "pin", "/media/Dune (2021).mkv", "301"]]
    );
    assert!(parses(&["plexmatch".into(), "match".into(), "--no-such-flag".into()]).is_err());
}

#[test]
fn every_configuration_block_loads_and_runs_match() {
    let fx = Fixture::sample();
    let mut ran = 0;
    for (file, text) in documents() {
        for block in blocks(&text, &["toml"]) {
            // A plugin's test cases (`plexmatch plugin test`), not a configuration.
            if block.contains("[[case]]") {
                continue;
            }
            // A library for `plexmatch emulator --library`: it loads as one.
            if block.contains("[[sections]]") {
                plexmatch_emulator::LibraryFile::from_toml(block)
                    .unwrap_or_else(|e| panic!("{file}: a library block does not load: {e:#}"));
                continue;
            }
            let home = tempfile::tempdir().unwrap();
            let config_dir = home.path().join(".config/plexmatch");
            std::fs::create_dir_all(&config_dir).unwrap();
            std::fs::write(config_dir.join("token"), fx.emulator.token()).unwrap();
            let config = home.path().join("config.toml");
            // The example's server is someone's LAN address: the emulator stands in for it
            // (the environment's PLEX_URL would win anyway; nothing may go there).
            let block: String = block
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("url =") {
                        format!("url = {:?}", fx.emulator.url())
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(&config, &block).unwrap();
            let path = "/mnt/stash/movies/Inception (2010)/Inception (2010) - 1080p.mkv";
            let mut cmd = plexmatch(&fx, &["match", "--json", path]);
            cmd.env("HOME", home.path())
                .env("PLEXMATCH_CONFIG", &config)
                .env_remove("PLEXMATCH_DATA_DIR");
            // A block that names the token reads it from where it says; the others are
            // fragments used with PLEX_TOKEN set, as the README's first steps do.
            if block.contains("token") {
                cmd.env_remove("PLEX_TOKEN");
            }
            let out = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{file}: a configuration block does not run match ({:?}): {stderr}\n{block}",
                out.status
            );
            let answers = json_lines(&out);
            assert_eq!(answers.len(), 1, "{file}: {stderr}");
            assert_eq!(answers[0]["outcome"], "high", "{file}: {}", answers[0]);
            ran += 1;
        }
    }
    assert!(ran >= 2, "only {ran} configuration blocks");
}

#[test]
fn a_setting_no_plugin_reads_names_the_file_and_line() {
    let fx = Fixture::sample();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[match]\nworkers = 1\n\n[match.settings]\nprefix = \"/mnt/\"\n",
    )
    .unwrap();
    let out = plexmatch(&fx, &["match", "/x/a.mkv"])
        .env("PLEXMATCH_CONFIG", &config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}, line 5", config.display()))
            && stderr.contains("no plugin reads the setting \"prefix\""),
        "{stderr}"
    );
}

#[test]
fn the_readme_options_table_is_what_config_show_says() {
    let fx = Fixture::sample();
    let home = tempfile::tempdir().unwrap();
    let out = plexmatch(&fx, &["config", "show", "--json"])
        .env("HOME", home.path())
        .env_remove("PLEX_URL")
        .env_remove("PLEX_TOKEN")
        .env_remove("PLEXMATCH_DATA_DIR")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let verify = shown["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == "plex.verify_tls")
        .unwrap();
    assert_eq!(
        verify["value"], true,
        "certificates are checked by default: {verify}"
    );
    let code: Vec<[String; 4]> = shown["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| !v["key"].as_str().unwrap().starts_with("match.settings."))
        .map(|v| {
            let key = v["key"].as_str().unwrap().to_owned();
            let default = if key == "cache.dir" {
                "~/.cache/plexmatch (the user's cache dir)".to_owned()
            } else {
                v["shown"].as_str().unwrap().to_owned()
            };
            [
                format!("`{key}`"),
                format!("`{}`", v["flag"].as_str().unwrap()),
                v["env"]
                    .as_str()
                    .map_or("—".to_owned(), |e| format!("`{e}`")),
                default,
            ]
        })
        .collect();
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let table: Vec<[String; 4]> = readme
        .lines()
        .skip_while(|l| !l.starts_with("| key | flag | environment variable | default |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_owned())
                .collect();
            assert_eq!(cells.len(), 4, "{l}");
            [
                cells[0].clone(),
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
            ]
        })
        .collect();
    assert!(code.len() >= 25, "{} options", code.len());
    assert_eq!(
        table, code,
        "README's options table against `config show --json` (key, flag, environment, default)"
    );
}

#[test]
fn every_shell_example_runs_against_the_emulator() {
    // Each `plexmatch` command of the README's and docs' shell blocks, run as printed (its
    // words as a shell splits them) against the emulator serving the sample library, in a
    // folder holding the files the examples name. Left out: the three that run until stopped
    // or for minutes (`emulator`, `serve`, `bench`: `plexmatch emulator` is tested through
    // the emulator crate, `serve` and docs/serve.md's curl examples by tests/serve.rs, the
    // benchmarks by BENCHMARKS.md), and `plugin test` of a plugin the
    // reader builds first (tests/scaffold.rs runs that flow).
    let fx = Fixture::sample();
    let plugin =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/plugins/frozen/template-0.1.0.wasm");
    // Each block is a scenario of its own: a new folder with the files examples name.
    let folder = || {
        let here = tempfile::tempdir().unwrap();
        for name in ["my-matcher.wasm", "my.wasm"] {
            std::fs::copy(&plugin, here.path().join(name)).unwrap();
        }
        std::fs::write(
            here.path().join("paths.txt"),
            "/media/movies/Inception (2010) - 1080p.mkv\n",
        )
        .unwrap();
        std::fs::write(
            here.path().join("decisions.tsv"),
            "/media/movies/Dune (2021).mkv\t301\n",
        )
        .unwrap();
        here
    };
    let mut ran = 0;
    let mut failures = Vec::new();
    for (file, text) in documents() {
        for block in blocks(&text, &["sh", "bash", "shell", "console"]) {
            let here = folder();
            for line in block.lines() {
                for words in commands(line).unwrap_or_default() {
                    let skip = matches!(
                        words.get(1).map(String::as_str),
                        Some("emulator" | "serve" | "bench")
                    ) || words[1..]
                        .starts_with(&["plugin".to_owned(), "test".to_owned()]);
                    if skip {
                        continue;
                    }
                    let out = plexmatch(&fx, &[])
                        .args(&words[1..])
                        .current_dir(here.path())
                        .stdin(std::process::Stdio::null())
                        .output()
                        .unwrap();
                    ran += 1;
                    // 2 is a usage or configuration error: the example does not run as printed.
                    if out.status.code() == Some(2) || out.status.code().is_none() {
                        failures.push(format!(
                            "{file}: {words:?} ({:?}): {}",
                            out.status,
                            String::from_utf8_lossy(&out.stderr)
                        ));
                    }
                }
            }
        }
    }
    assert!(ran >= 20, "only {ran} examples ran");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
