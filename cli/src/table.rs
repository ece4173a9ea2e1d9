//! The table `plexmatch match` prints: columns sized from what is known before the first
//! answer and the terminal's width, cells fitted by display width, a path cut from its
//! start so that its file name stays, an error's message on its own line.

use plexmatch_engine::text::escape_controls;
use plexmatch_engine::{Failure, Outcome, PathMatch};

/// The table's columns in terminal cells, sized once per run from what is known before
/// the first answer — the sections' titles, the plugins' names — and the terminal's width:
/// rows stream as answers come, so they cannot be sized from rows not yet printed. PATH
/// (and a LOW candidate's file) gets what is left, cut from its start so that its file
/// name stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    key: usize,
    section: usize,
    title: usize,
    plugin: usize,
    /// The terminal's width, when lines are cut to one.
    width: Option<usize>,
}

/// The OUTCOME column: `NOT-FOUND`.
const OUTCOME: usize = 9;

/// Rating keys up to seven digits line up.
const KEY: usize = 7;

/// Most cells a title takes, and the fewest a path keeps, on a terminal.
const MAX_TITLE: usize = 40;
const MIN_PATH: usize = 16;

/// Cells before a LOW candidate's key: `    · `.
const CANDIDATE_INDENT: usize = 6;

impl Layout {
    /// Columns for answers from `sections` (titles) by `plugins` (names), cut to a
    /// terminal `width` when there is one.
    pub fn new(width: Option<usize>, sections: &[&str], plugins: &[&str]) -> Layout {
        use unicode_width::UnicodeWidthStr;
        let widest = |names: &[&str], least: usize, most: usize| {
            names
                .iter()
                .map(|n| n.width())
                .fold(least, usize::max)
                .min(most)
        };
        let section = widest(sections, "SECTION".len(), 20);
        let plugin = widest(
            &[plugins, &[plexmatch_engine::PINNED]].concat(),
            "PLUGIN".len(),
            16,
        );
        let mut layout = Layout {
            key: KEY,
            section,
            title: MAX_TITLE,
            plugin,
            width,
        };
        if let Some(w) = width {
            // What the title and the path share.
            let rest = w.saturating_sub(layout.before_path() - layout.title);
            // Titles take a third of what is left (at most 40), paths the rest.
            layout.title = (rest / 3).clamp(8, MAX_TITLE);
            if rest.saturating_sub(layout.title) < MIN_PATH {
                layout.title = rest.saturating_sub(MIN_PATH).max(8);
            }
        }
        layout
    }

    /// The terminal's width the lines are cut to, if any.
    pub fn width(&self) -> Option<usize> {
        self.width
    }

    /// Cells before the path: the five columns and their gaps.
    fn before_path(&self) -> usize {
        OUTCOME + self.key + self.section + self.title + self.plugin + 5 * 2
    }

    /// Cells a path has on a terminal line (at least a file name's worth).
    fn path_width(&self) -> Option<usize> {
        self.width
            .map(|w| w.saturating_sub(self.before_path()).max(12))
    }

    fn cells(&self, cells: [&str; 5], path: &str) -> String {
        let widths = [OUTCOME, self.key, self.section, self.title, self.plugin];
        let mut out = String::new();
        for (cell, width) in cells.iter().zip(widths) {
            out.push_str(&fit(cell, width));
            out.push_str("  ");
        }
        match self.path_width() {
            Some(w) => out.push_str(&fit_end(path, w)),
            None => out.push_str(path),
        }
        out
    }

    /// The table's header line.
    pub fn header(&self) -> String {
        self.cells(["OUTCOME", "KEY", "SECTION", "TITLE", "PLUGIN"], "PATH")
    }

    /// One answer as a table row. A LOW answer's candidates follow on indented lines, each
    /// with its rating key, section, title and file (cut from its start); an error's
    /// message follows in full on its own line.
    pub fn row(&self, m: &PathMatch) -> String {
        // Titles come from Plex, names and errors from plugins: escaped before they are
        // cut, so no control character reaches the terminal and no escape sequence is split.
        let e = |s: &str| escape_controls(s).into_owned();
        let (key, section, title) = match (m.outcome, &m.item) {
            (Outcome::High, Some(i)) => (e(&i.rating_key), e(&i.section), e(&i.title)),
            (Outcome::Low, _) => (
                "-".into(),
                "-".into(),
                format!("{} candidates", m.candidates.len()),
            ),
            (Outcome::Error, _) => (
                "-".into(),
                "-".into(),
                m.error.as_ref().map(failure_kind).unwrap_or("error").into(),
            ),
            _ => ("-".into(), "-".into(), "-".into()),
        };
        let mut out = self.cells(
            [m.outcome.label(), &key, &section, &title, &e(&m.plugin)],
            &e(&m.path),
        );
        if m.outcome == Outcome::Low {
            let file_width = self.width.map(|w| {
                w.saturating_sub(CANDIDATE_INDENT + self.key + self.section + self.title + 3 * 2)
                    .max(12)
            });
            for c in m.candidates.iter().take(MAX_CANDIDATE_LINES) {
                let file = e(c.files.first().map(String::as_str).unwrap_or("-"));
                out.push_str(&format!(
                    "\n    · {}  {}  {}  {}",
                    fit(&e(&c.rating_key), self.key),
                    fit(&e(&c.section), self.section),
                    fit(&e(&c.title), self.title),
                    match file_width {
                        Some(w) => fit_end(&file, w),
                        None => file,
                    }
                ));
            }
            if m.candidates.len() > MAX_CANDIDATE_LINES {
                out.push_str(&format!(
                    "\n    · … and {} more (--json lists them all)",
                    m.candidates.len() - MAX_CANDIDATE_LINES
                ));
            }
        }
        if let Some(f) = &m.error {
            out.push_str(&format!("\n    ✗ {}", e(&f.to_string())));
        }
        out
    }
}

/// What the TITLE cell of an error row says: the kind of failure (the message follows in
/// full on its own line).
fn failure_kind(f: &Failure) -> &'static str {
    match f {
        Failure::Unauthorized(_) => "bad token",
        Failure::Plex(_) => "Plex error",
        Failure::Plugin(_) => "plugin error",
        Failure::Crash(_) => "plugin crash",
        Failure::Input(_) => "bad path",
        Failure::Pin(_) => "pin gone",
    }
}

/// LOW candidates listed under their row before the rest are counted.
const MAX_CANDIDATE_LINES: usize = 20;

/// `s` in exactly `width` terminal cells: cut with `…` when wider (by display width, so
/// CJK and combining characters line up), padded with spaces when narrower.
pub fn fit(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return format!("{s}{}", " ".repeat(width - s.width()));
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > width.saturating_sub(1) {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    used += 1;
    format!("{out}{}", " ".repeat(width.saturating_sub(used)))
}

/// The terminal's width in cells, when stdout is a terminal: `COLUMNS` when set (as a
/// shell exports it), else what the terminal says.
pub fn terminal_width() -> Option<usize> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    // SAFETY: TIOCGWINSZ fills a winsize struct for a terminal file descriptor.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) } == 0;
    (ok && ws.ws_col > 0).then_some(ws.ws_col as usize)
}

/// `s` in at most `width` cells, cut at the start (`…` first) so that the end, a path's
/// file name, stays.
pub fn fit_end(s: &str, width: usize) -> String {
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};
    if s.width() <= width {
        return s.to_owned();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in s.chars().rev() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        kept.push(c);
        used += w;
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn cells_fit_by_display_width() {
        assert_eq!(fit("abc", 5), "abc  ");
        // Two cells per CJK character: 4 characters fill 8 cells.
        assert_eq!(fit("千と千尋", 8).width(), 8);
        assert_eq!(fit("千と千尋の神隠し", 8), "千と千… ");
        // A combining accent takes no cell.
        assert_eq!(fit("Ame\u{301}lie", 6).width(), 6);
        let long = "The Lord of the Rings: The Fellowship of the Ring (Extended Edition)";
        assert_eq!(fit(long, 40).width(), 40);
        assert!(fit(long, 40).ends_with('…'));
    }

    fn answer(outcome: Outcome, path: &str) -> PathMatch {
        PathMatch {
            path: path.into(),
            outcome,
            item: None,
            candidates: Vec::new(),
            plugin: "default".into(),
            error: None,
            requests: 0,
            explain: None,
        }
    }

    fn item(key: &str, title: &str, file: &str) -> plexmatch_engine::MatchedItem {
        plexmatch_engine::MatchedItem {
            rating_key: key.into(),
            title: title.into(),
            kind: plexmatch_engine::ItemKind::Movie,
            section_id: 1,
            section: "Movies 4K".into(),
            files: vec![file.into()],
            matched_file: None,
        }
    }

    const SECTIONS: [&str; 3] = ["Movies", "TV Shows", "Movies 4K"];

    #[test]
    fn a_long_path_keeps_its_file_name_within_the_terminal() {
        let m = answer(
            Outcome::NotFound,
            &format!("/media/{}/千と千尋の神隠し (2001).mkv", "deep/".repeat(40)),
        );
        for width in [80, 120, 160] {
            let row = Layout::new(Some(width), &SECTIONS, &["default"]).row(&m);
            assert!(row.width() <= width, "{} cells: {row}", row.width());
            // At 80 columns the path keeps 26 cells: the end of its file name.
            let kept = if width == 80 {
                "の神隠し (2001).mkv"
            } else {
                "/千と千尋の神隠し (2001).mkv"
            };
            assert!(row.ends_with(kept), "{width}: {row}");
            assert!(row.contains('…'));
        }
        let whole = Layout::new(None, &SECTIONS, &["default"]).row(&m);
        assert!(
            whole.ends_with(&m.path),
            "no terminal, nothing cut: {whole}"
        );
    }

    #[test]
    fn every_line_fits_80_and_120_columns_and_the_path_keeps_room() {
        let mut high = answer(
            Outcome::High,
            "/media/movies/The Lord of the Rings (2001)/The Lord of the Rings (2001) - Extended.mkv",
        );
        high.item = Some(item(
            "4815162",
            "The Lord of the Rings: The Fellowship of the Ring (Extended Edition)",
            "/data/x.mkv",
        ));
        let mut low = answer(Outcome::Low, "/media/2019/holiday.mp4");
        low.candidates = vec![
            item(
                "108",
                "Home Video",
                "/data/movies/a/very/deep/folder/2019/holiday.mp4",
            ),
            item(
                "109",
                "Home Video (2020)",
                "/data/movies/another/deep/folder/2020/holiday.mp4",
            ),
        ];
        for width in [80, 120] {
            let layout = Layout::new(Some(width), &SECTIONS, &["default"]);
            for line in [layout.header(), layout.row(&high), layout.row(&low)]
                .iter()
                .flat_map(|r| r.lines().map(str::to_owned).collect::<Vec<_>>())
            {
                assert!(
                    line.width() <= width,
                    "{width}: {} cells: {line}",
                    line.width()
                );
            }
            let header = layout.header();
            assert!(
                header.contains("PLUGIN") && header.ends_with("PATH"),
                "{header}"
            );
            assert!(
                layout.path_width().unwrap() >= MIN_PATH,
                "{width}: the path keeps {} cells",
                layout.path_width().unwrap()
            );
            let row = layout.row(&low);
            assert!(
                row.lines().nth(1).unwrap().ends_with("2019/holiday.mp4"),
                "{row}"
            );
            assert!(
                row.lines().nth(2).unwrap().ends_with("2020/holiday.mp4"),
                "{row}"
            );
        }
    }

    #[test]
    fn an_error_is_read_in_full_on_its_own_line() {
        let mut m = answer(Outcome::Error, "/media/a.mkv");
        let message = "Plex server unavailable: GET /library/sections/1/all failed after 4 attempts: connection refused; check PLEX_URL";
        m.error = Some(Failure::Plex(message.into()));
        for width in [Some(80), Some(120), None] {
            let row = Layout::new(width, &SECTIONS, &["default"]).row(&m);
            assert!(row.lines().next().unwrap().contains("Plex error"), "{row}");
            assert_eq!(row.lines().nth(1).unwrap(), format!("    ✗ {message}"));
        }
    }
}
