//! Plugin chains: several strategies tried in order for each path. The first HIGH answer
//! decides; LOW candidates of earlier plugins are carried forward and become the answer
//! if no later plugin is sure; a plugin's failure only counts if no plugin answered.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::backend::Backend;
use crate::matching::{MatchedItem, Matcher, Outcome, PathMatch};
use crate::paths::Mapping;
use crate::plex::Section;
use crate::runtime::Plugin;

/// One matcher per plugin of the chain.
pub struct Chain {
    matchers: Vec<Matcher>,
    backend: Arc<Backend>,
    explain: bool,
    /// When this chain last checked that its sections' snapshots are within their TTL.
    checked: Option<Instant>,
    /// How the caller's paths become the server's.
    mapping: Option<Arc<Mapping>>,
}

/// How often a chain checks its sections' TTLs: per path, that check (a shared lock per
/// section) would cost more than a warm match; a snapshot that turns stale in between is
/// seen by the plugin, which asks Plex itself.
const CHECK_EVERY: Duration = Duration::from_millis(50);

impl Chain {
    /// A chain running `plugins` in order against `backend`.
    pub fn new(plugins: &[Arc<Plugin>], backend: &Arc<Backend>) -> Chain {
        Chain {
            matchers: plugins
                .iter()
                .map(|p| Matcher::new(Arc::clone(p), Arc::clone(backend)))
                .collect(),
            backend: Arc::clone(backend),
            explain: false,
            checked: None,
            mapping: None,
        }
    }

    /// The same chain, mapping paths by `mapping` before its plugins see them.
    pub fn with_mapping(mut self, mapping: Option<Arc<Mapping>>) -> Chain {
        self.mapping = mapping.filter(|m| !m.maps().is_empty());
        self
    }

    /// Makes every answer carry an explanation.
    pub fn set_explain(&mut self, on: bool) {
        self.explain = on;
        for m in &mut self.matchers {
            m.set_explain(on);
        }
    }

    /// The answer for one path: its pin if it has one in these sections, else the
    /// plugins'; `plugin` names who decided (`a → b` when LOW candidates came from several, or none found anything).
    pub fn match_path(&mut self, path: &str, sections: &[Section]) -> PathMatch {
        // A pin is the user's word for the path as they give it; everything else sees
        // the path as the server does, and the answer shows the caller's.
        if let Some(pinned) = crate::pinning::answer(&self.backend, path, sections, self.explain) {
            return pinned;
        }
        let mapped = self.mapping.as_ref().and_then(|m| m.apply(path));
        let original = mapped.as_ref().map(|_| path);
        for m in &mut self.matchers {
            m.set_original(original);
        }
        let Some((rule, server_path)) = mapped else {
            let mut answer = self.match_server_path(path, sections);
            mapping_hint(path, &mut answer);
            return answer;
        };
        let mut answer = self.match_server_path(&server_path, sections);
        answer.path = path.to_owned();
        let mapping = self.mapping.as_ref().expect("mapped");
        let chosen = answer.item.as_ref().map(|it| {
            it.matched_file
                .clone()
                .or_else(|| crate::backend::best_file(&it.files, &server_path))
                .unwrap_or_default()
        });
        let files = answer
            .item
            .iter()
            .chain(answer.candidates.iter())
            .flat_map(|c| c.files.iter());
        mapping.record(rule, path, &server_path, files, chosen.as_deref());
        if let Some(e) = answer.explain.as_mut() {
            e.decided_by = format!(
                "the path was mapped by --map {} to {server_path:?}; {}",
                mapping.maps().0[rule],
                e.decided_by
            );
        }
        mapping_hint(&server_path, &mut answer);
        answer
    }

    fn match_server_path(&mut self, path: &str, sections: &[Section]) -> PathMatch {
        if self.checked.is_none_or(|at| at.elapsed() >= CHECK_EVERY) {
            self.backend.snapshots.keep_current(sections);
            self.checked = Some(Instant::now());
        }
        if self.matchers.len() == 1 {
            return self.matchers[0].match_path(path, sections);
        }
        let mut carried: Vec<MatchedItem> = Vec::new();
        let mut low_from: Vec<String> = Vec::new();
        let mut failed: Option<PathMatch> = None;
        let mut tried: Vec<String> = Vec::new();
        let mut requests = 0;
        let mut explains: Vec<crate::matching::Explain> = Vec::new();
        for m in &mut self.matchers {
            let mut answer = m.match_path(path, sections);
            requests += answer.requests;
            answer.requests = requests;
            if let Some(e) = answer.explain.as_mut() {
                e.requests = requests;
                explains.push(e.clone());
            }
            tried.push(answer.plugin.clone());
            match answer.outcome {
                Outcome::High => {
                    if let Some(e) = answer.explain.as_mut() {
                        e.sections = explains.iter().flat_map(|x| x.sections.clone()).collect();
                    }
                    return answer;
                }
                Outcome::Low => {
                    for c in answer.candidates {
                        if !carried.iter().any(|k| k.rating_key == c.rating_key) {
                            carried.push(c);
                        }
                    }
                    low_from.push(answer.plugin);
                }
                Outcome::NotFound => {}
                Outcome::Error => {
                    failed.get_or_insert(answer);
                }
            }
        }
        if !carried.is_empty() {
            return PathMatch {
                path: path.to_owned(),
                outcome: Outcome::Low,
                item: None,
                candidates: carried,
                plugin: low_from.join(" → "),
                error: None,
                requests,
                explain: explained(
                    explains,
                    "no plugin was sure; the candidates of those that answered LOW are carried",
                ),
            };
        }
        if let Some(f) = failed {
            return f;
        }
        PathMatch {
            path: path.to_owned(),
            outcome: Outcome::NotFound,
            item: None,
            candidates: Vec::new(),
            plugin: tried.join(" → "),
            error: None,
            requests,
            explain: explained(
                explains,
                "no plugin of the chain found an item holding a file of that name",
            ),
        }
    }
}

/// The explanation of a chain's answer that no single plugin decided.
fn explained(
    explains: Vec<crate::matching::Explain>,
    why: &str,
) -> Option<crate::matching::Explain> {
    if explains.is_empty() {
        return None;
    }
    Some(crate::matching::Explain {
        decided_by: why.to_owned(),
        requests: explains.last().map(|e| e.requests).unwrap_or(0),
        sections: explains.into_iter().flat_map(|e| e.sections).collect(),
    })
}

/// On an explained LOW: what was seen, and the `--map` rule that would make the path one of
/// the candidates' files exactly (the one sharing the longest folder tail, when one does).
fn mapping_hint(path: &str, answer: &mut PathMatch) {
    let Some(e) = answer.explain.as_mut() else {
        return;
    };
    if answer.outcome != Outcome::Low {
        return;
    }
    let Some(name) = plexmatch_matchkit::file_name(path) else {
        return;
    };
    let key = plexmatch_matchkit::name_key(name);
    let files: Vec<&String> = answer
        .candidates
        .iter()
        .flat_map(|c| c.files.iter())
        .filter(|f| plexmatch_matchkit::file_name(f).is_some_and(|n| plexmatch_matchkit::name_key(n) == key))
        .collect();
    let mut rules: Vec<(crate::paths::PathMap, usize)> = files
        .iter()
        .filter_map(|f| crate::paths::rule_between(path, f))
        .collect();
    rules.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut sections: Vec<&str> = answer.candidates.iter().map(|c| c.section.as_str()).collect();
    sections.dedup();
    let shown: Vec<String> = files.iter().take(3).map(|f| format!("{f:?}")).collect();
    let mut hint = format!(
        "; the name matches {} item(s) of {}, but no folder agrees with the path; Plex has {}",
        answer.candidates.len(),
        sections.join(", "),
        shown.join(", ")
    );
    let unique_best = match rules.as_slice() {
        [best, next, ..] if best.1 > next.1 => Some(&best.0),
        [only] => Some(&only.0),
        _ => None,
    };
    match unique_best {
        Some(rule) => hint.push_str(&format!("; `--map {rule}` would make it exact")),
        None => hint.push_str(
            "; if your paths are not the server's, `plexmatch paths suggest` proposes a --map rule from more of them",
        ),
    }
    e.decided_by.push_str(&hint);
}
