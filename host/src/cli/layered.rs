//! Fills each command's options from the configuration file where neither a flag nor an
//! environment variable set them (flags > environment > file > defaults).

use anyhow::Result;
use toml::Spanned;

use super::match_cmd::MatchOptions;
use super::{CacheArgs, PlexArgs};
use crate::config::{Layering, Names, Source, expand, mask, read_token_file};

fn names<'n>(key: &'n str, id: &'n str, flag: &'n str, env: Option<&'n str>) -> Names<'n> {
    Names { key, id, flag, env }
}

/// `[plex]` under `--plex-url`, `--token`, the timeouts and the page size.
pub fn plex(l: &mut Layering, a: &mut PlexArgs) -> Result<()> {
    let f = &l.file.contents.plex;
    let (url, token, token_file) = (f.url.clone(), f.token.clone(), f.token_file.clone());
    let (connect, read, page, in_flight) = (
        f.connect_timeout.clone(),
        f.read_timeout.clone(),
        f.page_size.clone(),
        f.pages_in_flight.clone(),
    );
    let (ca_file, verify_tls) = (f.ca_file.clone(), f.verify_tls.clone());
    l.option(
        names("plex.url", "plex_url", "--plex-url", Some("PLEX_URL")),
        &mut a.plex_url,
        url.as_ref(),
        String::clone,
        |v| v.clone().unwrap_or_else(|| "(not set)".into()),
    );
    l.option(
        names("plex.token", "token", "--token", Some("PLEX_TOKEN")),
        &mut a.token,
        token.as_ref(),
        String::clone,
        mask,
    );
    if a.token.is_none()
        && let Some(tf) = &token_file
    {
        let place = l.file.place(tf);
        let read = read_token_file(&expand(tf.get_ref()), &place);
        let shown = l.shown.last_mut().expect("the token was just recorded");
        shown.source = Source::File(format!("{place} (plex.token_file {})", tf.get_ref()));
        match read {
            Ok(token) => {
                a.token = Some(token);
                shown.value = mask(&a.token);
                shown.typed = serde_json::Value::String(shown.value.clone());
            }
            // Only the commands that need the token fail on it; `config show` shows it.
            Err(e) => {
                shown.value = format!("(unreadable: {e:#})");
                shown.typed = serde_json::Value::Null;
                a.token_problem = Some(format!("{e:#}"));
            }
        }
    }
    l.value(
        names(
            "plex.connect_timeout",
            "connect_timeout",
            "--connect-timeout",
            Some("PLEXMATCH_CONNECT_TIMEOUT"),
        ),
        &mut a.connect_timeout,
        connect.as_ref(),
        |v| *v,
        |v| format!("{v} s"),
    );
    l.value(
        names(
            "plex.read_timeout",
            "read_timeout",
            "--read-timeout",
            Some("PLEXMATCH_READ_TIMEOUT"),
        ),
        &mut a.read_timeout,
        read.as_ref(),
        |v| *v,
        |v| format!("{v} s"),
    );
    l.value(
        names(
            "plex.page_size",
            "page_size",
            "--page-size",
            Some("PLEXMATCH_PAGE_SIZE"),
        ),
        &mut a.page_size,
        page.as_ref(),
        |v| *v,
        |v| v.to_string(),
    );
    l.value(
        names(
            "plex.pages_in_flight",
            "pages_in_flight",
            "--pages-in-flight",
            Some("PLEXMATCH_PAGES_IN_FLIGHT"),
        ),
        &mut a.pages_in_flight,
        in_flight.as_ref(),
        |v| *v,
        |v| v.to_string(),
    );
    l.option(
        names(
            "plex.ca_file",
            "ca_file",
            "--ca-file",
            Some("PLEXMATCH_CA_FILE"),
        ),
        &mut a.ca_file,
        ca_file.as_ref(),
        |v: &String| expand(v),
        |v| {
            v.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "(none: the system's and the bundled roots)".into())
        },
    );
    // `verify_tls = false` in the file is `--insecure` on the command line.
    let verify = verify_tls.map(|v| {
        let span = v.span();
        Spanned::new(span, !*v.get_ref())
    });
    l.value(
        names("plex.verify_tls", "insecure", "--insecure", None),
        &mut a.insecure,
        verify.as_ref(),
        |v| *v,
        |v| {
            if *v {
                "false (--insecure)".into()
            } else {
                "true".into()
            }
        },
    );
    Ok(())
}

/// `[cache]` under `--data-dir`, the TTLs and the size limits.
pub fn cache(l: &mut Layering, a: &mut CacheArgs) {
    let f = &l.file.contents.cache;
    let (dir, ttl, neg, full, lib, mat) = (
        f.dir.clone(),
        f.library_ttl.clone(),
        f.negative_ttl.clone(),
        f.full_listing_every.clone(),
        f.library_cache_mib.clone(),
        f.match_cache_mib.clone(),
    );
    let compiled = f.compiled_plugins_mib.clone();
    let stale = f.stale_limit.clone();
    l.option(
        names(
            "cache.dir",
            "data_dir",
            "--data-dir",
            Some("PLEXMATCH_DATA_DIR"),
        ),
        &mut a.data_dir,
        dir.as_ref(),
        |v: &String| expand(v),
        |v| {
            v.as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| {
                    dirs::cache_dir()
                        .map(|d| d.join("plexmatch").display().to_string())
                        .unwrap_or_default()
                })
        },
    );
    l.value(
        names(
            "cache.library_ttl",
            "library_ttl",
            "--library-ttl",
            Some("PLEXMATCH_LIBRARY_TTL"),
        ),
        &mut a.library_ttl,
        ttl.as_ref(),
        |v| *v,
        |v| format!("{v} s"),
    );
    l.value(
        names(
            "cache.negative_ttl",
            "negative_ttl",
            "--negative-ttl",
            Some("PLEXMATCH_NEGATIVE_TTL"),
        ),
        &mut a.negative_ttl,
        neg.as_ref(),
        |v| *v,
        |v| format!("{v} s"),
    );
    l.value(
        names(
            "cache.stale_limit",
            "stale_limit",
            "--stale-limit",
            Some("PLEXMATCH_STALE_LIMIT"),
        ),
        &mut a.stale_limit,
        stale.as_ref(),
        |v| *v,
        |v| format!("{v} s"),
    );
    l.value(
        names(
            "cache.full_listing_every",
            "full_listing_every",
            "--full-listing-every",
            Some("PLEXMATCH_FULL_LISTING_EVERY"),
        ),
        &mut a.full_listing_every,
        full.as_ref(),
        |v| *v,
        |v| format!("{v} refreshes"),
    );
    l.value(
        names(
            "cache.library_cache_mib",
            "library_cache_mib",
            "--library-cache-mib",
            Some("PLEXMATCH_LIBRARY_CACHE_MIB"),
        ),
        &mut a.library_cache_mib,
        lib.as_ref(),
        |v| *v,
        |v| format!("{v} MiB"),
    );
    l.value(
        names(
            "cache.match_cache_mib",
            "match_cache_mib",
            "--match-cache-mib",
            Some("PLEXMATCH_MATCH_CACHE_MIB"),
        ),
        &mut a.match_cache_mib,
        mat.as_ref(),
        |v| *v,
        |v| format!("{v} MiB"),
    );
    l.value(
        names(
            "cache.compiled_plugins_mib",
            "compiled_plugins_mib",
            "--compiled-plugins-mib",
            Some("PLEXMATCH_COMPILED_PLUGINS_MIB"),
        ),
        &mut a.compiled_plugins_mib,
        compiled.as_ref(),
        |v| *v,
        |v| format!("{v} MiB"),
    );
}

/// `[match]` and `[limits]` under the sections, plugin, settings, workers and limits.
pub fn matching(l: &mut Layering, a: &mut MatchOptions) {
    let (m, lim) = (&l.file.contents.matching, &l.file.contents.limits);
    let (sections, plugins, workers) = (m.sections.clone(), m.plugins.clone(), m.workers.clone());
    let (cpu, mem) = (lim.cpu_deadline_ms.clone(), lim.memory_mib.clone());
    let (wall, total) = (lim.wall_limit_ms.clone(), lim.memory_total_mib.clone());
    let (per_path, per_run) = (lim.requests_per_path.clone(), lim.requests_per_run.clone());
    let file_settings: Vec<(String, toml::Spanned<String>)> = m
        .settings
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    l.value(
        names("match.sections", "sections", "--section", None),
        &mut a.sections,
        sections.as_ref(),
        Vec::clone,
        |v| {
            if v.is_empty() {
                "(every movie and show section)".into()
            } else {
                v.join(", ")
            }
        },
    );
    l.value(
        names("match.plugins", "plugins", "--plugin", None),
        &mut a.plugins,
        plugins.as_ref(),
        |v: &Vec<String>| {
            v.iter()
                .map(|p| {
                    if p.starts_with("~/") {
                        expand(p).display().to_string()
                    } else {
                        p.clone()
                    }
                })
                .collect()
        },
        |v| {
            if v.is_empty() {
                "default (built in)".into()
            } else {
                v.join(" → ")
            }
        },
    );
    // Settings merge key by key: a --setting replaces the file's value for its key.
    for (key, value) in file_settings {
        if !a.settings.iter().any(|(k, _)| *k == key) {
            let place = l.file.place(&value);
            a.setting_places.push((key.clone(), place.clone()));
            l.note(
                &format!("match.settings.{key}"),
                value.get_ref().clone(),
                Source::File(place),
            );
            a.settings.push((key, value.into_inner()));
        }
    }
    for (k, v) in a.settings.clone() {
        if !l
            .shown
            .iter()
            .any(|s| s.key == format!("match.settings.{k}"))
        {
            l.note(
                &format!("match.settings.{k}"),
                v,
                Source::Flag("--setting".into()),
            );
        }
    }
    l.option(
        names(
            "match.workers",
            "workers",
            "--workers",
            Some("PLEXMATCH_WORKERS"),
        ),
        &mut a.workers,
        workers.as_ref(),
        |v| *v,
        |v| {
            v.map(|n| n.to_string())
                .unwrap_or_else(|| "(one per core)".into())
        },
    );
    l.value(
        names(
            "limits.cpu_deadline_ms",
            "cpu_deadline_ms",
            "--cpu-deadline-ms",
            Some("PLEXMATCH_CPU_DEADLINE_MS"),
        ),
        &mut a.cpu_deadline_ms,
        cpu.as_ref(),
        |v| *v,
        |v| format!("{v} ms"),
    );
    l.value(
        names(
            "limits.memory_mib",
            "memory_mib",
            "--memory-mib",
            Some("PLEXMATCH_MEMORY_MIB"),
        ),
        &mut a.memory_mib,
        mem.as_ref(),
        |v| *v,
        |v| format!("{v} MiB"),
    );
    l.value(
        names(
            "limits.wall_limit_ms",
            "wall_limit_ms",
            "--wall-limit-ms",
            Some("PLEXMATCH_WALL_LIMIT_MS"),
        ),
        &mut a.wall_limit_ms,
        wall.as_ref(),
        |v| *v,
        |v| format!("{v} ms"),
    );
    l.option(
        names(
            "limits.memory_total_mib",
            "memory_total_mib",
            "--memory-total-mib",
            Some("PLEXMATCH_MEMORY_TOTAL_MIB"),
        ),
        &mut a.memory_total_mib,
        total.as_ref(),
        |v| *v,
        |v| {
            v.map(|n| format!("{n} MiB"))
                .unwrap_or_else(|| "(half the machine's memory)".into())
        },
    );
    l.value(
        names(
            "limits.requests_per_path",
            "requests_per_path",
            "--requests-per-path",
            Some("PLEXMATCH_REQUESTS_PER_PATH"),
        ),
        &mut a.requests_per_path,
        per_path.as_ref(),
        |v| *v,
        |v| v.to_string(),
    );
    l.value(
        names(
            "limits.requests_per_run",
            "requests_per_run",
            "--requests-per-run",
            Some("PLEXMATCH_REQUESTS_PER_RUN"),
        ),
        &mut a.requests_per_run,
        per_run.as_ref(),
        |v| *v,
        |v| {
            if *v == 0 {
                "0 (no limit)".into()
            } else {
                v.to_string()
            }
        },
    );
}
