//! Where a file is: deciding between items that hold a file of the same name by the
//! path itself, for the default plugin, path-matcher and the host's merge across sections.
//!
//! The rule, in order, among the items holding a file of the path's name:
//! 1. **exact**: exactly one holds the path itself (case, Unicode form and `/` vs `\` aside):
//!    `/data/movies/2019/holiday.mp4` is item 108's file, not 109's `/data/movies/2020/…`;
//! 2. **mapped**: exactly one holds it after the user's prefix mappings (`rewrite*` settings,
//!    `FROM=>TO`; the longest matching `FROM` wins): `/mnt/stash/2019/holiday.mp4` with
//!    `rewrite=/mnt/stash/=>/data/movies/`;
//! 3. **folder tail**: exactly one shares the longest tail of folders with the path, and that
//!    tail includes at least the parent folder: `/media/2019/holiday.mp4` shares `2019/` with
//!    108's file only. A tail of the file name alone decides nothing.
//!
//! Otherwise the path does not decide (the answer stays LOW).

use crate::names::name_key;

/// Which step of the rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// The item holds the path itself.
    Exact,
    /// The item holds the path as the prefix mappings rewrite it.
    Mapped,
    /// The item's file shares the longest tail of this many components (file name included).
    FolderTail(usize),
}

impl std::fmt::Display for PathRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathRule::Exact => f.write_str("exact path"),
            PathRule::Mapped => f.write_str("mapped path"),
            PathRule::FolderTail(n) => write!(f, "folder tail of {} folder(s)", n - 1),
        }
    }
}

/// The path's components, compared as names are (case, Unicode form).
pub fn components(path: &str) -> Vec<String> {
    path.split(['/', '\\'])
        .filter(|c| !c.is_empty())
        .map(name_key)
        .collect()
}

/// How many trailing components `a` and `b` share.
pub fn shared_tail(a: &[String], b: &[String]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Whether `key` belongs to the setting family `prefix*`: the prefix itself, or the prefix
/// followed by anything that does not continue its word (`rewrite`, `rewrite2`, `rewrite-nas`,
/// `rewrite_1`; not `rewritee`).
pub fn in_family(prefix: &str, key: &str) -> bool {
    key.strip_prefix(prefix)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_alphabetic()))
}

/// The `rewrite*` settings among `settings`, as (from, to) prefixes; an error names a
/// setting that is not `FROM=>TO`.
pub fn parse_rewrites<'a>(
    settings: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<Vec<(String, String)>, String> {
    settings
        .into_iter()
        .filter(|(k, _)| in_family("rewrite", k))
        .map(|(k, v)| match v.split_once("=>") {
            Some((from, to)) if !from.trim().is_empty() => {
                Ok((from.trim().to_owned(), to.trim().to_owned()))
            }
            _ => Err(format!(
                "setting {k}={v:?} is not FROM=>TO (e.g. /mnt/stash/=>/data/media/)"
            )),
        })
        .collect()
}

/// `path` with the matching prefix rewritten (the longest `from` wins), and whether one did.
pub fn rewrite(path: &str, rewrites: &[(String, String)]) -> (String, bool) {
    let norm = path.replace('\\', "/");
    let lower = norm.to_lowercase();
    match rewrites
        .iter()
        .filter(|(from, _)| lower.starts_with(&from.replace('\\', "/").to_lowercase()))
        .max_by_key(|(from, _)| from.len())
    {
        Some((from, to)) if norm.is_char_boundary(from.len()) => {
            (format!("{to}{}", &norm[from.len()..]), true)
        }
        _ => (norm, false),
    }
}

/// Which of `holders` (each an item's files) the path decides for, and by which step;
/// `None` when the path does not single one out.
pub fn decide_by_path<S: AsRef<str>>(
    path: &str,
    holders: &[&[S]],
    rewrites: &[(String, String)],
) -> Option<(usize, PathRule)> {
    let wanted = components(path);
    let files: Vec<Vec<Vec<String>>> = holders
        .iter()
        .map(|fs| fs.iter().map(|f| components(f.as_ref())).collect())
        .collect();
    let only = |hits: Vec<usize>| (hits.len() == 1).then(|| hits[0]);
    let holding = |want: &[String]| -> Vec<usize> {
        (0..files.len())
            .filter(|&i| files[i].iter().any(|f| f.as_slice() == want))
            .collect()
    };
    if let Some(i) = only(holding(&wanted)) {
        return Some((i, PathRule::Exact));
    }
    let (mapped, did) = rewrite(path, rewrites);
    if did && let Some(i) = only(holding(&components(&mapped))) {
        return Some((i, PathRule::Mapped));
    }
    let tails: Vec<usize> = files
        .iter()
        .map(|fs| {
            fs.iter()
                .map(|f| shared_tail(f, &wanted))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let best = tails.iter().copied().max().unwrap_or(0);
    if best >= 2
        && let Some(i) = only((0..tails.len()).filter(|&i| tails[i] == best).collect())
    {
        return Some((i, PathRule::FolderTail(best)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holders() -> Vec<Vec<&'static str>> {
        vec![
            vec!["/data/movies/2019/holiday.mp4"],
            vec!["/data/movies/2020/holiday.mp4"],
            vec![r"D:\Archive\2019\Holiday.MP4"],
        ]
    }

    fn run(path: &str, rewrites: &[(String, String)]) -> Option<(usize, PathRule)> {
        let h = holders();
        let refs: Vec<&[&str]> = h.iter().map(Vec::as_slice).collect();
        decide_by_path(path, &refs, rewrites)
    }

    #[test]
    fn each_step_of_the_rule() {
        assert_eq!(
            run("/DATA/movies/2020/holiday.mp4", &[]),
            Some((1, PathRule::Exact))
        );
        let map = vec![("/mnt/stash/".to_owned(), "/data/movies/".to_owned())];
        assert_eq!(
            run("/mnt/stash/2020/holiday.mp4", &map),
            Some((1, PathRule::Mapped))
        );
        assert_eq!(
            run("/media/archive/2019/holiday.mp4", &[]),
            Some((2, PathRule::FolderTail(3)))
        );
        // 2019/holiday.mp4 is shared by 0 and 2: the path does not decide.
        assert_eq!(run("/media/x/2019/holiday.mp4", &[]), None);
        // The file name alone never decides.
        assert_eq!(run("/elsewhere/holiday.mp4", &[]), None);
    }

    #[test]
    fn rewrites_are_parsed_and_bad_ones_named() {
        let ok = parse_rewrites([("rewrite", "/a/=>/b/"), ("other", "x")]).unwrap();
        assert_eq!(ok, [("/a/".to_owned(), "/b/".to_owned())]);
        let err = parse_rewrites([("rewrite.2", "/a/")]).unwrap_err();
        assert!(err.contains("rewrite.2"), "{err}");
    }
}
