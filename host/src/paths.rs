//! Path mapping: the caller sees `/mnt/stash/movies/…`, Plex sees `/data/movies/…`.
//!
//! A rule `FROM=TO` (split at the first `=`, so that it runs unquoted in a shell and a
//! Windows prefix such as `S:\Stash\=/data/` works) turns a caller's path starting with
//! `FROM` into the server's path starting with `TO`; the longest `FROM` that fits wins.
//! A prefix with a drive letter or a backslash is a Windows one: compared with ASCII case
//! folded and either slash, and the rest of the path takes the slashes of the other side.
//! Rules are suggested from evidence ([`suggest`]): a caller's path and a Plex file of
//! the same name whose folder tails agree say which prefixes differ.

use std::collections::BTreeMap;

use plexmatch_matchkit::name_key;

/// One rule: paths starting with `from` (the caller's) map to `to` (the server's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PathMap {
    /// The caller's prefix.
    pub from: String,
    /// The server's prefix that replaces it.
    pub to: String,
}

impl PathMap {
    /// A rule written `FROM=TO`, split at the first `=`.
    pub fn parse(text: &str) -> Result<PathMap, String> {
        let Some((from, to)) = text.split_once('=') else {
            return Err(format!("{text:?} is not FROM=TO (e.g. /mnt/stash/=/data/)"));
        };
        let to = to.strip_prefix('>').unwrap_or(to);
        let (from, to) = (from.trim(), to.trim());
        if from.is_empty() || to.is_empty() {
            return Err(format!(
                "{text:?} has an empty side: FROM=TO maps a prefix to a prefix (e.g. /mnt/stash/=/data/)"
            ));
        }
        Ok(PathMap {
            from: from.to_owned(),
            to: to.to_owned(),
        })
    }

    /// `path` mapped by this rule, if it starts with `from`.
    pub fn apply(&self, path: &str) -> Option<String> {
        let rest = strip(path, &self.from)?;
        Some(join(&self.to, rest, is_windows(&self.from)))
    }

    /// A server's `file` mapped back by this rule, if it starts with `to`.
    pub fn back(&self, file: &str) -> Option<String> {
        let rest = strip(file, &self.to)?;
        Some(join(&self.from, rest, is_windows(&self.to)))
    }
}

impl std::fmt::Display for PathMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.from, self.to)
    }
}

/// The rules of a run, tried longest `from` first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathMaps(pub Vec<PathMap>);

impl PathMaps {
    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `path` as the server sees it, and the index of the rule that mapped it; `None`
    /// when no rule applies (the path is the server's as given).
    pub fn apply(&self, path: &str) -> Option<(usize, String)> {
        let mut best: Option<(usize, String)> = None;
        for (i, m) in self.0.iter().enumerate() {
            if let Some(mapped) = m.apply(path)
                && best
                    .as_ref()
                    .is_none_or(|(b, _)| self.0[*b].from.len() < m.from.len())
            {
                best = Some((i, mapped));
            }
        }
        best
    }
}

/// A run's rules and what they did: how many paths each mapped, how many of those came out
/// as a file Plex has, and whether the answers' files map back to the caller's paths;
/// each finding said once.
#[derive(Debug, Default)]
pub struct Mapping {
    maps: PathMaps,
    uses: std::sync::Mutex<Vec<RuleUse>>,
}

/// What one rule did in a run.
#[derive(Debug, Default, Clone)]
struct RuleUse {
    mapped: u64,
    known: u64,
    warned_unknown: bool,
    warned_round_trip: bool,
}

impl Mapping {
    /// The run's rules.
    pub fn new(maps: PathMaps) -> Mapping {
        let uses = vec![RuleUse::default(); maps.0.len()];
        Mapping {
            maps,
            uses: std::sync::Mutex::new(uses),
        }
    }

    /// The rules.
    pub fn maps(&self) -> &PathMaps {
        &self.maps
    }

    /// `path` as the server sees it, with the rule that mapped it.
    pub fn apply(&self, path: &str) -> Option<(usize, String)> {
        self.maps.apply(path)
    }

    fn uses(&self) -> std::sync::MutexGuard<'_, Vec<RuleUse>> {
        self.uses.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records what rule `rule` did for `original`, mapped to `mapped`: whether one of
    /// the answer's items has that file (`files`, every candidate's), and, for a HIGH,
    /// whether its file (`chosen`) maps back to `original` (said once a rule when not).
    pub fn record<'a>(
        &self,
        rule: usize,
        original: &str,
        mapped: &str,
        files: impl IntoIterator<Item = &'a String>,
        chosen: Option<&str>,
    ) {
        let want = name_key(mapped);
        let known = files.into_iter().any(|f| name_key(f) == want);
        let Some(map) = self.maps.0.get(rule) else {
            return;
        };
        let mut uses = self.uses();
        let Some(u) = uses.get_mut(rule) else {
            return;
        };
        u.mapped += 1;
        u.known += u64::from(known);
        let Some(file) = chosen else {
            return;
        };
        let back = map.back(file);
        if back.as_deref().map(name_key) != Some(name_key(original)) && !u.warned_round_trip {
            u.warned_round_trip = true;
            let back = back.map_or_else(
                || format!("does not start with {:?}", map.to),
                |b| format!("maps back to {b:?}"),
            );
            tracing::warn!(
                "--map {map}: {original:?} was answered with Plex's file {file:?}, which {back}, not the path given: the answer's item was found by its name and folders, not by the mapped path"
            );
        }
    }

    /// Says, once a rule, that a rule mapped paths of which none came out as a file Plex
    /// has: most likely a wrong mapping (`plexmatch paths suggest` proposes one).
    pub fn warn_unknown(&self) {
        for (map, u) in self.maps.0.iter().zip(self.uses().iter_mut()) {
            if u.mapped > 0 && u.known == 0 && !u.warned_unknown {
                u.warned_unknown = true;
                tracing::warn!(
                    "--map {map} mapped {} path(s), and none of them is a file Plex has: is the mapping right? `plexmatch paths suggest` proposes one from the paths",
                    u.mapped
                );
            }
        }
    }
}

/// Whether a prefix is a Windows one (a drive letter or a backslash).
fn is_windows(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    prefix.contains('\\') || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
}

/// The rest of `path` after `prefix`, ending at a folder boundary.
fn strip<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let windows = is_windows(prefix);
    let same = |a: u8, b: u8| {
        if windows {
            let sep = |c: u8| c == b'/' || c == b'\\';
            (sep(a) && sep(b)) || a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (p, x) = (path.as_bytes(), prefix.as_bytes());
    if p.len() < x.len() || !p.iter().zip(x).all(|(a, b)| same(*a, *b)) {
        return None;
    }
    let rest = path.get(x.len()..)?;
    let boundary =
        prefix.ends_with(['/', '\\']) || rest.is_empty() || rest.starts_with(['/', '\\']);
    boundary.then_some(rest)
}

/// `prefix` followed by `rest`, with one separator between them, and `rest`'s slashes
/// turned to `prefix`'s kind when the two sides differ (`rest_windows`: the side `rest`
/// came from is a Windows one).
fn join(prefix: &str, rest: &str, rest_windows: bool) -> String {
    let windows = is_windows(prefix);
    let rest = match (rest_windows, windows) {
        (true, false) => rest.replace('\\', "/"),
        (false, true) => rest.replace('/', "\\"),
        _ => rest.to_owned(),
    };
    let sep = if windows { '\\' } else { '/' };
    let head = prefix.trim_end_matches(['/', '\\']);
    let tail = rest.trim_start_matches(['/', '\\']);
    if tail.is_empty() {
        return prefix.to_owned();
    }
    format!("{head}{sep}{tail}")
}

/// The folders and name of a path, either slash.
fn components(path: &str) -> Vec<&str> {
    path.split(['/', '\\']).filter(|c| !c.is_empty()).collect()
}

/// The rule that maps `path` onto `file` (the same name) keeping their longest common tail
/// of folders, or `None` when the names differ or the two are already the same path.
pub fn rule_between(path: &str, file: &str) -> Option<(PathMap, usize)> {
    let (mine, theirs) = (components(path), components(file));
    let shared = mine
        .iter()
        .rev()
        .zip(theirs.iter().rev())
        .take_while(|(a, b)| name_key(a) == name_key(b))
        .count();
    if shared == 0 || (shared == mine.len() && shared == theirs.len()) {
        return None;
    }
    // The prefix before the last `keep` components, with its separator: `/` itself when
    // the tail is the whole path.
    let cut = |p: &str, keep: usize| -> String {
        let starts: Vec<usize> = p
            .char_indices()
            .filter(|(i, c)| {
                !matches!(c, '/' | '\\') && (*i == 0 || matches!(p.as_bytes()[i - 1], b'/' | b'\\'))
            })
            .map(|(i, _)| i)
            .collect();
        starts
            .len()
            .checked_sub(keep)
            .map(|at| p[..starts[at]].to_owned())
            .unwrap_or_default()
    };
    let (from, to) = (cut(path, shared), cut(file, shared));
    if from.is_empty() || to.is_empty() {
        return None;
    }
    Some((PathMap { from, to }, shared))
}

/// A suggested rule, with the paths it explains and those it conflicts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The rule.
    pub map: PathMap,
    /// How many of the paths it maps onto a file Plex has.
    pub explains: usize,
    /// Folders shared by the caller's paths and Plex's files beyond the rule (the more,
    /// the surer), the fewest over the paths it explains.
    pub shared: usize,
    /// Paths it explains that another rule maps onto a different file too.
    pub conflicts: Vec<String>,
}

/// The rules that turn the caller's paths into the server's, from `evidence`: each path
/// with the Plex files of the same name. Each path votes for the rule keeping its longest
/// folder tail; rules are ordered by how many paths they explain.
pub fn suggest(evidence: &[(String, Vec<String>)]) -> Vec<Suggestion> {
    let mut by_rule: BTreeMap<PathMap, (usize, usize, Vec<String>)> = BTreeMap::new();
    for (path, files) in evidence {
        let mut rules: Vec<(PathMap, usize)> =
            files.iter().filter_map(|f| rule_between(path, f)).collect();
        let Some(best) = rules.iter().map(|(_, s)| *s).max() else {
            continue;
        };
        rules.retain(|(_, s)| *s == best);
        rules.sort();
        rules.dedup();
        let conflicted = rules.len() > 1;
        for (map, shared) in rules {
            let e = by_rule.entry(map).or_insert((0, usize::MAX, Vec::new()));
            e.0 += 1;
            e.1 = e.1.min(shared);
            if conflicted {
                e.2.push(path.clone());
            }
        }
    }
    let mut out: Vec<Suggestion> = by_rule
        .into_iter()
        .map(|(map, (explains, shared, conflicts))| Suggestion {
            map,
            explains,
            shared,
            conflicts,
        })
        .collect();
    out.sort_by(|a, b| b.explains.cmp(&a.explains).then(b.shared.cmp(&a.shared)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_map_there_and_back() {
        let m = PathMap::parse("/mnt/stash/=/data/").unwrap();
        assert_eq!(
            m.apply("/mnt/stash/movies/a.mkv").unwrap(),
            "/data/movies/a.mkv"
        );
        assert_eq!(
            m.back("/data/movies/a.mkv").unwrap(),
            "/mnt/stash/movies/a.mkv"
        );
        assert_eq!(m.apply("/mnt/stashed/a.mkv"), None);
        let no_slash = PathMap::parse("/mnt/stash=/data").unwrap();
        assert_eq!(no_slash.apply("/mnt/stash/a.mkv").unwrap(), "/data/a.mkv");
        assert_eq!(no_slash.apply("/mnt/stashed/a.mkv"), None);
        let win = PathMap::parse(r"S:\Stash\=/data/").unwrap();
        assert_eq!(
            win.apply(r"s:\stash\Movies\a b.mkv").unwrap(),
            "/data/Movies/a b.mkv"
        );
        assert_eq!(
            win.back("/data/Movies/a.mkv").unwrap(),
            r"S:\Stash\Movies\a.mkv"
        );
        assert_eq!(
            PathMap::parse("/a=>/b").unwrap(),
            PathMap::parse("/a=/b").unwrap()
        );
        assert!(PathMap::parse("/a").is_err());
        assert!(PathMap::parse("=/b").is_err());
        let maps = PathMaps(vec![
            PathMap::parse("/mnt/=/x/").unwrap(),
            PathMap::parse("/mnt/stash/=/data/").unwrap(),
        ]);
        assert_eq!(
            maps.apply("/mnt/stash/a.mkv").unwrap(),
            (1, "/data/a.mkv".into())
        );
        assert_eq!(
            maps.apply("/mnt/other/a.mkv").unwrap(),
            (0, "/x/other/a.mkv".into())
        );
    }

    #[test]
    fn suggestions_come_from_shared_folder_tails() {
        let e = |p: &str, f: &[&str]| (p.to_owned(), f.iter().map(|s| s.to_string()).collect());
        let got = suggest(&[
            e("/mnt/stash/movies/A/a.mkv", &["/data/movies/A/a.mkv"]),
            e("/mnt/stash/movies/B/b.mkv", &["/data/movies/B/b.mkv"]),
            e("/mnt/stash/tv/S/e.mkv", &["/tv/S/e.mkv"]),
            e("/mnt/stash/movies/none.mkv", &[]),
        ]);
        assert_eq!(got[0].map.to_string(), "/mnt/stash/=/data/");
        assert_eq!(got[0].explains, 2);
        assert_eq!(got[1].map.to_string(), "/mnt/stash/=/");
        assert_eq!(got.len(), 2);
    }
}
