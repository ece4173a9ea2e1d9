//! The cross-section policy: ask the plugin about each chosen section, check what it
//! claims, merge the answers (deduplicated by rating key) and call it HIGH only when
//! exactly one item remains.

use std::collections::HashMap;
use std::sync::Arc;

use crate::backend::Backend;
use crate::capabilities::{from_wit_plex_error, to_wit_section};
use crate::plex::{Item, PlexError, Section};
use crate::wit::bindings::plexmatch::plugin::types::{Confidence, MatchError};
use crate::runtime::{Answer, Claim, Instance, Plugin, PluginFailure, Step};

mod answer;
pub use answer::{Explain, Failure, MatchedItem, Outcome, PathMatch, SectionTrace};

/// Matches paths with one plugin, reusing its instance until it fails.
pub struct Matcher {
    plugin: Arc<Plugin>,
    backend: Arc<Backend>,
    instance: Option<Instance>,
    /// Match-cache entries the plugin read for the current path, by section.
    cache_reads: HashMap<u32, crate::cache::CachedMatch>,
    /// `find` calls made, for recycling the instance.
    calls: u64,
    /// Whether answers carry an explanation, and the current path's section traces.
    explain: bool,
    traces: Vec<SectionTrace>,
    /// The plugin's identity in the match cache, built once rather than per path.
    decider: crate::cache::Decider,
    /// The caller's path for the current one, when the host's path mapping changed it.
    original: Option<String>,
}

/// Calls after which an instance is replaced by a fresh one (about 17 µs), so that a
/// plugin's leaks or fragmentation cannot build up over a long batch.
const RECYCLE_AFTER: u64 = 10_000;

impl Matcher {
    /// A matcher running `plugin` against `backend`.
    pub fn new(plugin: Arc<Plugin>, backend: Arc<Backend>) -> Matcher {
        let decider = plugin.identity().decider();
        Matcher {
            plugin,
            backend,
            instance: None,
            cache_reads: HashMap::new(),
            calls: 0,
            explain: false,
            traces: Vec::new(),
            original: None,
            decider,
        }
    }

    /// Makes every answer carry an explanation ([`Explain`]).
    pub fn set_explain(&mut self, on: bool) {
        self.explain = on;
        if let Some(i) = self.instance.as_mut() {
            i.set_tracing(on);
        }
    }

    /// Tells the plugin, for the paths that follow, the caller's path behind the mapped one
    /// (`None`: the path is the caller's own).
    pub fn set_original(&mut self, original: Option<&str>) {
        self.original = original.map(str::to_owned);
    }

    /// Matches one path against the given sections.
    pub fn match_path(&mut self, path: &str, sections: &[Section]) -> PathMatch {
        let mut found: Vec<MatchedItem> = Vec::new();
        let mut failure: Option<Failure> = None;
        // Whether every section that found something was sure of its one item.
        let mut all_sure = true;
        self.cache_reads.clear();
        self.traces.clear();
        let requests_before = crate::plex::thread_requests();
        for section in sections {
            match self.ask(section, path) {
                Ok((items, matched_file)) => {
                    all_sure &= items.len() == 1;
                    for it in items {
                        if !found.iter().any(|f| f.rating_key == it.rating_key) {
                            found.push(MatchedItem {
                                matched_file: matched_file.clone(),
                                ..MatchedItem::of(it, section)
                            });
                        }
                    }
                }
                Err(Asked::NotFound) => {}
                Err(Asked::Failed(f, stop)) => {
                    // The answer carries the error; the log repeats it only when asked to.
                    tracing::debug!("{path}: section {:?}: {f}", section.title);
                    failure.get_or_insert(f);
                    if stop {
                        break;
                    }
                }
            }
        }
        let plugin = self.plugin.name().to_owned();
        // Sections each sure of a different item: the path decides between them by the same
        // rule a plugin uses within a section (exact path, mapped path, folder tail).
        let by_path = (failure.is_none() && all_sure && found.len() > 1)
            .then(|| {
                let rewrites = self.rewrites();
                let files: Vec<&[String]> = found.iter().map(|f| f.files.as_slice()).collect();
                plexmatch_matchkit::decide_by_path(path, &files, &rewrites)
            })
            .flatten();
        if let Some((i, rule)) = by_path {
            tracing::debug!(
                "{path}: item {} of section {:?} decided across sections by {rule}",
                found[i].rating_key,
                found[i].section
            );
        }
        let (outcome, item) = match (&failure, found.len()) {
            (Some(_), _) => (Outcome::Error, None),
            (None, 0) => (Outcome::NotFound, None),
            (None, 1) => (Outcome::High, found.pop()),
            (None, _) if by_path.is_some() => {
                let (i, _) = by_path.expect("checked");
                (Outcome::High, Some(found.swap_remove(i)))
            }
            (None, _) => (Outcome::Low, None),
        };
        // The cache already holding this answer needs no write transaction: verified within
        // the TTL, nothing at all; verified longer ago, its new verification time is written
        // with the batched last uses. A batch of cached matches then costs no write per path.
        let by = &self.decider;
        if let Some(it) = item.as_ref() {
            let file = match &it.matched_file {
                Some(f) => f.clone(),
                None => crate::backend::best_file(&it.files, path).unwrap_or_default(),
            };
            let held = self
                .cache_reads
                .get(&it.section_id)
                .filter(|c| c.rating_key == it.rating_key && c.file == file);
            let written = match held {
                Some(c)
                    if crate::cache::now().saturating_sub(c.verified_at)
                        < self.backend.policy.library_ttl.as_secs() as i64 =>
                {
                    Ok(())
                }
                Some(_) => self.backend.decisions.matches.reconfirm(it.section_id, path, by),
                None => self
                    .backend
                    .decisions
                    .matches
                    .put(it.section_id, path, by, &it.rating_key, &file),
            };
            if let Err(e) = written {
                tracing::warn!("cannot record the match of {path:?} in the match cache: {e:#}");
            }
        }
        // A HIGH lists its one item, even when the path chose it among several.
        let candidates = match &item {
            Some(it) => vec![it.clone()],
            None => found,
        };
        let requests = crate::plex::thread_requests() - requests_before;
        let explain = self.explain.then(|| Explain {
            decided_by: self.decided_by(
                path,
                outcome,
                item.as_ref(),
                &candidates,
                (by_path, all_sure),
                failure.as_ref(),
            ),
            sections: std::mem::take(&mut self.traces),
            requests,
        });
        PathMatch {
            path: path.to_owned(),
            outcome,
            item,
            candidates,
            plugin,
            error: failure,
            requests,
            explain,
        }
    }

    /// The plugin's `rewrite*` prefix mappings (bad ones are the plugin's to report).
    fn rewrites(&self) -> Vec<(String, String)> {
        plexmatch_matchkit::paths::parse_rewrites(
            self.plugin
                .identity()
                .settings
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .unwrap_or_default()
    }

    /// The rule that decided, in a sentence, from what the plugin did and what the host knows.
    fn decided_by(
        &self,
        path: &str,
        outcome: Outcome,
        item: Option<&MatchedItem>,
        candidates: &[MatchedItem],
        // What the path rule across sections decided, and whether it was tried (every
        // section that found something was sure of its one item).
        (by_path, all_sure): (Option<(usize, plexmatch_matchkit::PathRule)>, bool),
        failure: Option<&Failure>,
    ) -> String {
        let plugin = self.plugin.name();
        match (outcome, item) {
            (Outcome::High, Some(it)) => {
                if let Some((_, rule)) = by_path {
                    return format!(
                        "each section was sure of its own item; the {rule} chose item {} of {:?}",
                        it.rating_key, it.section
                    );
                }
                // The plugin's steps in that section that found the item, in the order
                // of the rule: a verified cached decision, a title search, the index.
                let found: Vec<&Step> = self
                    .traces
                    .iter()
                    .filter(|t| t.section == it.section)
                    .flat_map(|t| t.events.iter())
                    .filter(|s| s.found(&it.rating_key))
                    .collect();
                let search = found.iter().find_map(|s| match s {
                    Step::TitleSearch {
                        title,
                        cached,
                        repeated,
                        ..
                    } => Some(Step::search_label(title, *cached, *repeated)),
                    _ => None,
                });
                let source = if found.iter().any(|s| matches!(s, Step::CacheHit { .. })) {
                    "the match cache (verified)".to_owned()
                } else if let Some(label) = search {
                    label
                } else if found.iter().any(|s| matches!(s, Step::FileIndex { .. })) {
                    "the section's file-name index".to_owned()
                } else if let Some(via) = found.iter().find_map(|s| match s {
                    Step::Holders { via, .. } => Some(*via),
                    _ => None,
                }) {
                    match via {
                        crate::backend::Via::Lookup { .. } => {
                            "a file look-up (the items holding the file)".to_owned()
                        }
                        crate::backend::Via::Snapshot { .. } => {
                            "the section's file-name index".to_owned()
                        }
                    }
                } else {
                    "its own means".to_owned()
                };
                // Several holders of the name: which step of the path rule singled it out.
                let holders = plexmatch_matchkit::file_name(path)
                    .and_then(|n| {
                        let snapshots = &self.backend.snapshots;
                        snapshots
                            .snapshot_items_by_file_name(it.section_id, n)
                            .or_else(|| snapshots.cached_holders(it.section_id, n))
                    })
                    .unwrap_or_default();
                let rule = (holders.len() > 1)
                    .then(|| {
                        let files: Vec<&[String]> =
                            holders.iter().map(|h| h.files.as_slice()).collect();
                        let rewrites = self.rewrites();
                        plexmatch_matchkit::decide_by_path(path, &files, &rewrites)
                            .filter(|(i, _)| holders[*i].rating_key == it.rating_key)
                            .map(|(_, rule)| {
                                format!(
                                    ", then the {rule} among {} items holding the name",
                                    holders.len()
                                )
                            })
                    })
                    .flatten()
                    .unwrap_or_default();
                format!("{plugin}: {source}{rule}")
            }
            // The host tried the path across sections, or the plugin (a built-in one) did
            // within its section: it did not single one out.
            (Outcome::Low, _)
                if all_sure || crate::builtin::is_builtin_digest(&self.plugin.identity().digest) =>
            {
                format!(
                    "{plugin}: {} items hold a file of that name and the path does not tell them apart",
                    candidates.len()
                )
            }
            // A section's plugin was not sure: its LOW stands (the host decides by the path
            // across sections only between sections each sure of one item).
            (Outcome::Low, _) => format!(
                "{plugin} answered LOW: {} candidate(s) hold a file of that name; the plugin did not decide between them",
                candidates.len()
            ),
            (Outcome::NotFound, _) => {
                format!("{plugin}: no item of the sections asked holds a file of that name")
            }
            _ => format!(
                "{plugin}: no answer: {}",
                failure.map(|f| f.to_string()).unwrap_or_default()
            ),
        }
    }

    /// One section: the plugin's answer, with the host's own record of each item.
    /// Asks the plugin about one section: the items it answered, checked, and the file the
    /// path is when it named one (HIGH only).
    fn ask(&mut self, section: &Section, path: &str) -> Result<(Vec<Item>, Option<String>), Asked> {
        // A long-lived instance keeps whatever its plugin leaked: start afresh now and then.
        self.calls += 1;
        if self.calls.is_multiple_of(RECYCLE_AFTER) {
            self.instance = None;
        }
        let instance = match self.instance.as_mut() {
            Some(i) => i,
            None => {
                let mut fresh = self
                    .plugin
                    .instantiate()
                    .map_err(|f| Asked::Failed(plugin_failure(f), true))?;
                fresh.set_tracing(self.explain);
                self.instance.insert(fresh)
            }
        };
        let answer = instance.find(&to_wit_section(section), path, self.original.as_deref());
        if self.explain {
            let steps = self
                .instance
                .as_ref()
                .map(|i| i.trace().to_vec())
                .unwrap_or_default();
            let said = match &answer {
                Ok(Ok(o)) => match o.confidence {
                    Confidence::High => format!(
                        "HIGH {}",
                        o.chosen
                            .as_ref()
                            .map(|c| c.rating_key.as_str())
                            .unwrap_or("?")
                    ),
                    Confidence::Low => format!("LOW ({} candidates)", o.candidates.len()),
                },
                Ok(Err(MatchError::NotFound(_))) => "not-found".into(),
                Ok(Err(e)) => format!("error: {}", crate::text::escape_controls(&format!("{e:?}"))),
                Err(f) => format!("failed: {f}"),
            };
            self.traces.push(SectionTrace {
                section: section.title.clone(),
                plugin: self.plugin.name().to_owned(),
                steps: steps.iter().map(ToString::to_string).collect(),
                answer: said,
                events: steps,
            });
        }
        if let Some(c) = self
            .instance
            .as_ref()
            .and_then(|i| i.cached_match(section.id))
        {
            self.cache_reads.insert(section.id, c.clone());
        }
        let answer = match answer {
            Ok(a) => a,
            Err(f) => {
                // wasmtime refuses calls into a trapped instance: start afresh next time.
                self.instance = None;
                return Err(Asked::Failed(plugin_failure(f), true));
            }
        };
        let name = self.plugin.name().to_owned();
        let refuse =
            |why: String| Asked::Failed(Failure::Plugin(format!("plugin {name:?} {why}")), false);
        // A spent request budget decides the path, whatever the plugin made of the refusal.
        if let Some(why) = self.instance.as_ref().and_then(|i| i.budget_spent()) {
            return Err(refuse(format!("was cut off: {why}")));
        }
        let outcome = match answer {
            Ok(o) => o,
            Err(MatchError::NotFound(_)) => return Err(Asked::NotFound),
            // The host checked the path already: a plugin refusing it is the plugin's call.
            Err(MatchError::InvalidInput(m)) => {
                let m =
                    crate::text::escape_controls(&crate::text::clip_bytes(&m, 2000)).into_owned();
                return Err(Asked::Failed(
                    Failure::Plugin(format!("plugin {name:?} refused the path: {m}")),
                    true,
                ));
            }
            Err(MatchError::Plex(e)) => {
                return Err(Asked::Failed(plex_failure(from_wit_plex_error(&e)), false));
            }
        };
        let (claimed, matched_file) = well_formed(outcome).map_err(&refuse)?;
        if claimed.len() > MAX_CANDIDATES {
            return Err(refuse(format!(
                "answered {} candidates; the limit is {MAX_CANDIDATES}",
                claimed.len()
            )));
        }
        if let Some(c) = claimed.iter().find(|c| c.size > MAX_ITEM_BYTES) {
            return Err(refuse(format!(
                "answered an item of {} bytes (rating key {:.20}…); the limit is {MAX_ITEM_BYTES}",
                c.size,
                crate::text::escape_controls(&c.rating_key)
            )));
        }
        // Every item a plugin names is checked against what Plex (or the fresh snapshot)
        // says: HIGH answers go into the match cache, and nothing invented reaches output.
        let instance = self.instance.as_mut().expect("instance is live");
        let mut items = Vec::with_capacity(claimed.len());
        let mut matched = None;
        for c in &claimed {
            let served = instance.take_served(&c.rating_key);
            let (item, file) = self
                .backend
                .snapshots
                .confirm(
                    section.id,
                    path,
                    &c.rating_key,
                    matched_file.as_deref(),
                    served,
                    || instance.charge_request(),
                )
                .map_err(|why| {
                    refuse(format!(
                        "answered item {}, but {why}",
                        crate::text::escape_controls(&crate::text::clip_bytes(&c.rating_key, 64))
                    ))
                })?;
            if matched_file.is_some() {
                matched = Some(file);
            }
            items.push(item);
        }
        Ok((items, matched))
    }
}

/// The items an answer claims, if it is well formed: HIGH names its item in `chosen` and
/// lists no other candidate; LOW lists at least two candidates and names no matched file.
fn well_formed(outcome: Answer) -> Result<(Vec<Claim>, Option<String>), String> {
    match outcome.confidence {
        Confidence::High => {
            let Some(chosen) = outcome.chosen else {
                return Err("answered HIGH without a chosen item".into());
            };
            if outcome
                .candidates
                .iter()
                .any(|c| c.rating_key != chosen.rating_key)
            {
                return Err(format!(
                    "answered HIGH for item {} but listed other candidates ({})",
                    crate::text::escape_controls(&crate::text::clip_bytes(&chosen.rating_key, 64)),
                    outcome.candidates.len()
                ));
            }
            Ok((vec![chosen], outcome.matched_file))
        }
        Confidence::Low => {
            if outcome.candidates.len() < 2 {
                return Err(format!(
                    "answered LOW with {} candidate(s); LOW means two or more",
                    outcome.candidates.len()
                ));
            }
            if outcome.matched_file.is_some() {
                return Err("answered LOW with a matched file; only a HIGH names one".into());
            }
            Ok((outcome.candidates, None))
        }
    }
}

/// Most candidates one answer may hold: far more than any real duplicate set.
const MAX_CANDIDATES: usize = 1000;
/// Largest item one answer may hold, in the bytes of it the host reads.
const MAX_ITEM_BYTES: usize = 1 << 20;

enum Asked {
    NotFound,
    /// A failure, and whether the other sections should be skipped for this path.
    Failed(Failure, bool),
}

fn plugin_failure(f: PluginFailure) -> Failure {
    Failure::Crash(f.to_string())
}

fn plex_failure(e: PlexError) -> Failure {
    match e {
        PlexError::Unauthorized(_) => Failure::Unauthorized(e.to_string()),
        e => Failure::Plex(e.to_string()),
    }
}
