//! What a request's query asks for: title and time filters as Plex reads them, folded
//! comparisons, percent-decoding.

use super::*;

/// Plex's `title=` filter: "contains" (`title==x`, value `=x`: equals), folding case and
/// accents. Where the rule comes from: "contains" is what the server's own section metadata
/// lists for string fields (`Operator key="=" title="contains"` in
/// tests/fixtures/plex/home-assistant-core/library_movies_metadata.xml) and what
/// python-plexapi users report (`title=Wars` finds "Star Wars"); case and accent folding were
/// observed against real servers by the project's outside tests (issue 13: `amelie` finds
/// "Amélie"), and no recorded answer here shows them. Folding here: Unicode NFKD, combining
/// marks dropped, lower case.
pub(super) fn title_matches(title: &str, query: &str) -> bool {
    let (title, query) = (fold(title), fold(query));
    match query.strip_prefix('=') {
        Some(exact) => title == exact,
        None => title.contains(&query),
    }
}

/// Plex's `file=` filter on a part's path: "contains" (`file==x`, value `=x`: equals).
/// How a real server compares is not documented; assumed no more than SQLite's LIKE does
/// (which Plex's database is): ASCII letters in either case, every other character exactly.
pub(super) fn file_matches(path: &str, query: &str) -> bool {
    let (path, query) = (path.to_ascii_lowercase(), query.to_ascii_lowercase());
    match query.strip_prefix('=') {
        Some(exact) => path == exact,
        None => path.contains(&query),
    }
}

/// A date filter of a listing: `addedAt>>=T` ("is after": later than T), `updatedAt<<=T`
/// ("is before": earlier than T). Where the rule comes from: the operators and their
/// meaning are what a real server's section metadata lists for date fields
/// (`Operator key=">>=" title="is after"`, `key="<<=" title="is before"` under
/// `FieldType type="date"` in tests/fixtures/plex/home-assistant-core/library_movies_metadata.xml);
/// the value is Unix seconds, as python-plexapi's `LibrarySection.search` sends a datetime
/// (`int(value.timestamp())`), or a relative time such as `-30d` ("in the last 30 days",
/// python-plexapi PR #717: units s, m, h, d, w).
pub(super) struct TimeFilter {
    field: TimeField,
    after: bool,
    at: u64,
}

#[derive(Clone, Copy)]
pub(super) enum TimeField {
    Added,
    Updated,
}

impl TimeFilter {
    pub(super) fn admits(&self, e: &Entry) -> bool {
        let t = match self.field {
            TimeField::Added => e.added_at,
            TimeField::Updated => e.updated_at,
        };
        if self.after { t > self.at } else { t < self.at }
    }
}

/// The date filters of a query; an unreadable value is an error naming it.
pub(super) fn time_filters(query: &[(String, String)]) -> Result<Vec<TimeFilter>, String> {
    let mut out = Vec::new();
    for (k, v) in query {
        let (field, op) = match k.split_at(k.find(['>', '<']).unwrap_or(k.len())) {
            ("addedAt", op) => (TimeField::Added, op),
            ("updatedAt", op) => (TimeField::Updated, op),
            _ => continue,
        };
        let after = match op {
            ">>" => true,
            "<<" => false,
            _ => return Err(format!("unsupported date operator in {k:?}")),
        };
        let at = parse_time(v).ok_or_else(|| format!("{k}={v}: not a date"))?;
        out.push(TimeFilter { field, after, at });
    }
    Ok(out)
}

/// Unix seconds, or a time relative to now (`-30d`, `30d`, `12h`).
pub(super) fn parse_time(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(t) = v.parse::<u64>() {
        return Some(t);
    }
    let rel = v.strip_prefix('-').unwrap_or(v);
    let split = rel.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = rel.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    Some(unix_now().saturating_sub(n.saturating_mul(secs)))
}

/// A title's search form: NFKD, without combining marks, lower-cased.
pub(super) fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    s.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .collect::<String>()
        .to_lowercase()
}

pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(
                    std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                    16,
                ) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("Tom%20%26%20Jerry"), "Tom & Jerry");
        assert_eq!(percent_decode("a+b%2Fc"), "a b/c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%C3%A9t%C3%A9"), "été");
    }

    #[test]
    fn date_filters() {
        let q = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        let f = time_filters(&q("updatedAt>>", "100")).unwrap();
        assert!(f[0].after && f[0].at == 100);
        let f = time_filters(&q("addedAt<<", "-1d")).unwrap();
        assert!(!f[0].after && unix_now() - f[0].at >= 86_400);
        assert!(time_filters(&q("updatedAt>>", "soon")).is_err());
        assert!(time_filters(&q("updatedAt", "5")).is_err());
        assert!(time_filters(&q("title", "x")).unwrap().is_empty());
    }

    #[test]
    fn file_filter_folds_ascii_case_only() {
        assert!(file_matches("/m/The Heat (1995).mkv", "heat (1995).MKV"));
        assert!(file_matches("/m/Heat.mkv", "=/M/HEAT.MKV"));
        assert!(!file_matches("/m/The Heat.mkv", "=heat.mkv"));
        assert!(
            !file_matches("/m/Amélie.mkv", "AMÉLIE"),
            "É is not folded, as in LIKE"
        );
        assert!(file_matches(
            "/m/Amélie.mkv",
            "amÉlie".to_lowercase().as_str()
        ));
    }

    #[test]
    fn title_filter_is_case_insensitive_contains() {
        assert!(title_matches("Star Wars", "wars"));
        assert!(!title_matches("Star Wars", "trek"));
        assert!(title_matches("Star Wars", "=star wars"));
        assert!(!title_matches("Star Wars", "=star"));
        // Accents fold both ways, as on a real server.
        assert!(title_matches("Amélie", "amelie"));
        assert!(title_matches("Amelie", "Amélie"));
        assert!(title_matches("Ame\u{301}lie", "AMÉLIE"));
    }
}
