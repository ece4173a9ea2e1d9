//! The progress bar of a batch: on stderr, only when someone is watching a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar, or nothing.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A bar for `total` paths (a spinner with a rate when the count is unknown), shown
    /// only if `visible`.
    pub fn new(visible: bool, total: Option<u64>) -> Progress {
        if !visible {
            return Progress { bar: None };
        }
        // Whole paths per second: "3,704/s", not indicatif's "3,703.6659/s".
        let rate = |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", grouped(s.per_sec().round() as u64));
        };
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{bar:30} {human_pos}/{human_len} path(s) · {rate} · ETA {eta} {msg}",
                    )
                    .expect("valid template")
                    .with_key("rate", rate),
                ),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
                ProgressStyle::with_template("{spinner} {human_pos} path(s) · {rate} {msg}")
                    .expect("valid template")
                    .with_key("rate", rate),
            ),
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// Runs `f` (which prints) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(b) => b.suspend(f),
            None => f(),
        }
    }

    /// A handle that says what a listing is doing, for the Plex client: `titles` names
    /// the sections by id.
    pub fn listing_watch(
        &self,
        titles: Vec<(u32, String)>,
    ) -> Option<plexmatch_engine::ListingWatch> {
        let bar = self.bar.clone()?;
        Some(std::sync::Arc::new(move |section, received, pages| {
            if received >= pages {
                bar.set_message("");
                return;
            }
            let title = titles
                .iter()
                .find(|(id, _)| *id == section)
                .map_or_else(|| format!("section {section}"), |(_, t)| t.clone());
            bar.set_message(format!(
                "· listing {title}: page {} of {pages}",
                received + 1
            ));
        }))
    }

    /// One more path done.
    pub fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// `n` with thousands separated by commas.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_are_whole_numbers_with_separators() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(3704), "3,704");
        assert_eq!(super::grouped(1234567), "1,234,567");
    }
}
