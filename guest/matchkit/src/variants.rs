//! Title variants to search Plex with, derived from a media path.
//!
//! The reference strategy (Stash2Plex §1.D) with its W6 bug fixed: quality tokens count
//! only as whole words, so "Adventure" keeps its "dv" and "4Kids" its "4K".

use crate::names::{file_name, parent_name};

/// Quality and source markers that end a title. "DVD" is a marker too (the reference
/// stripped it through its "DV" prefix match).
const QUALITY_TOKENS: &[&str] = &[
    "WEBDL", "WEB-DL", "WEBRip", "HDTV", "BluRay", "BDRip", "DVDRip", "DVD", "720p", "1080p",
    "2160p", "4K", "HDR", "DV",
];

/// The ordered, de-duplicated title variants for `path`: the stem without quality
/// markers, that without a trailing date, that without a trailing `(year)`, and the
/// parent folder without a date.
pub fn title_variants(path: &str) -> Vec<String> {
    let stem = file_name(path).map(stem).unwrap_or("");
    let title_search = strip_quality(stem);
    let title_base = strip_date(title_search);
    let without_year = strip_year(title_base);
    let from_parent = parent_name(path).map(strip_date);
    let mut out: Vec<String> = Vec::new();
    for v in [
        Some(title_search),
        Some(title_base),
        Some(without_year),
        from_parent,
    ]
    .into_iter()
    .flatten()
    {
        if !v.is_empty() && !out.iter().any(|o| o == v) {
            out.push(v.to_owned());
        }
    }
    out
}

/// The name without its last extension (`a.tar.mp4` → `a.tar`; `.hidden.mp4` → `.hidden`).
pub fn stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(0) | None => name,
        Some(i) if i + 1 == name.len() => name,
        Some(i) => &name[..i],
    }
}

/// Removes everything from the leftmost whole-word quality marker on, together with the
/// separator before it (spaces, then one `-` or `_`, then spaces).
pub fn strip_quality(title: &str) -> &str {
    let Some(at) = leftmost_quality_token(title) else {
        return title;
    };
    strip_separator_before(title, at)
}

fn leftmost_quality_token(title: &str) -> Option<usize> {
    let bytes = title.as_bytes();
    (0..bytes.len())
        .filter(|&i| title.is_char_boundary(i))
        .find(|&i| {
            let before_ok = title[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric());
            before_ok
                && QUALITY_TOKENS.iter().any(|tok| {
                    let end = i + tok.len();
                    end <= bytes.len()
                        && bytes[i..end].eq_ignore_ascii_case(tok.as_bytes())
                        && title.is_char_boundary(end)
                        && title[end..]
                            .chars()
                            .next()
                            .is_none_or(|c| !c.is_alphanumeric())
                })
        })
}

/// Removes a trailing `YYYY-MM-DD` date and the separator before it.
pub fn strip_date(title: &str) -> &str {
    let trimmed = title.trim_end();
    let b = trimmed.as_bytes();
    if b.len() < 10 {
        return title;
    }
    let d = &b[b.len() - 10..];
    let digits = |r: std::ops::Range<usize>| d[r].iter().all(u8::is_ascii_digit);
    if digits(0..4) && d[4] == b'-' && digits(5..7) && d[7] == b'-' && digits(8..10) {
        strip_separator_before(trimmed, trimmed.len() - 10)
    } else {
        title
    }
}

/// Removes a trailing `(YYYY)` year, as in `Inception (2010)`: Plex titles rarely hold it.
pub fn strip_year(title: &str) -> &str {
    let t = title.trim_end();
    let b = t.as_bytes();
    if b.len() >= 7
        && b[b.len() - 6] == b'('
        && b[b.len() - 1] == b')'
        && b[b.len() - 5..b.len() - 1].iter().all(u8::is_ascii_digit)
    {
        t[..t.len() - 6].trim_end()
    } else {
        title
    }
}

/// `title[..at]` without the `\s*[-_]?\s*` run that ends at `at`.
fn strip_separator_before(title: &str, at: usize) -> &str {
    let head = title[..at].trim_end();
    let head = head.strip_suffix(['-', '_']).unwrap_or(head);
    head.trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(path: &str) -> Vec<String> {
        title_variants(path)
    }

    /// Rows 1–9 and 13–17 of the reference's table (behaviour to keep).
    #[test]
    fn reference_rows_kept() {
        assert_eq!(
            v("/media/Studio/Scene Title - 2024-01-15.mp4"),
            ["Scene Title - 2024-01-15", "Scene Title", "Studio"]
        );
        assert_eq!(v("/media/Scene - 1080p.mp4"), ["Scene", "media"]);
        assert_eq!(v("/media/Scene - WEBDL-2160p.mp4"), ["Scene", "media"]);
        assert_eq!(
            v("/media/Scene_2024-01-15.mp4"),
            ["Scene_2024-01-15", "Scene", "media"]
        );
        assert_eq!(v("/media/Scene - BluRay 1080p HDR.mp4"), ["Scene", "media"]);
        assert_eq!(
            v("/media/My Awesome Scene.mp4"),
            ["My Awesome Scene", "media"]
        );
        assert_eq!(
            v("/data/Studio/Shared Tension - 2026-03-11/shared.tension.mp4"),
            ["shared.tension", "Shared Tension"]
        );
        assert_eq!(
            v("/data/Studio/Shared Tension - 2026-03-11/Shared Tension - 2026-03-11 - 1080p.mp4"),
            ["Shared Tension - 2026-03-11", "Shared Tension"]
        );
        assert_eq!(
            v("/media/Scene - 2024-01-15 - 1080p.mp4"),
            ["Scene - 2024-01-15", "Scene", "media"]
        );
        assert_eq!(v("/media/1080p Scene.mp4"), ["media"]);
        assert_eq!(
            v("/media/Scene.Name.2024.01.15.1080p.mp4"),
            ["Scene.Name.2024.01.15.", "media"]
        );
        assert_eq!(v("/file.mp4"), ["file"]);
        assert!(v("").is_empty());
        assert_eq!(
            v("/media/Studio - Scene - dvd.mp4"),
            ["Studio - Scene", "media"]
        );
    }

    /// Rows 10–12: the reference cut titles inside words (W6); fixed here.
    #[test]
    fn quality_tokens_are_whole_words() {
        assert_eq!(v("/media/Adventure Time.mp4"), ["Adventure Time", "media"]);
        assert_eq!(
            v("/media/Good Vibes Goodvibes.mp4"),
            ["Good Vibes Goodvibes", "media"]
        );
        assert_eq!(v("/media/Top 4Kids.mp4"), ["Top 4Kids", "media"]);
        assert_eq!(
            v("/m/Adventure Time Machine (2019) - WEBDL-2160p.mkv"),
            [
                "Adventure Time Machine (2019)",
                "Adventure Time Machine",
                "m"
            ]
        );
    }

    #[test]
    fn stems_follow_python_rules() {
        assert_eq!(stem("a.tar.mp4"), "a.tar");
        assert_eq!(stem(".hidden.mp4"), ".hidden");
        assert_eq!(stem("file."), "file.");
        assert_eq!(stem(".bashrc"), ".bashrc");
    }

    #[test]
    fn windows_paths_and_unicode() {
        assert_eq!(
            v(r"D:\Media\Amélie (2001) - 1080p.mkv"),
            ["Amélie (2001)", "Amélie", "Media"]
        );
        assert_eq!(strip_year("(2001)"), "(2001)");
        assert_eq!(strip_quality("Été – 4K"), "Été –");
    }
}
