//! `log`: a plugin's log lines, into the host's log, tagged with the plugin's name.

use super::{MAX_LOG_LINES, State};
use crate::wit::bindings::plexmatch::plugin::log::{Host, Level};

/// Longest message kept; with the per-call line cap, a plugin cannot flood the log.
const MAX_MESSAGE: usize = 4096;

/// What the log interface keeps per store: the current call's log lines.
#[derive(Debug, Default)]
pub struct LogState {
    /// Lines written during the current call, and those dropped past the cap.
    lines: u32,
    pub dropped: u64,
}

impl LogState {
    /// Counts one log line of the current call; `false` once past [`MAX_LOG_LINES`].
    pub fn line_allowed(&mut self) -> bool {
        if self.lines >= MAX_LOG_LINES {
            self.dropped += 1;
            return false;
        }
        self.lines += 1;
        true
    }
}

impl Host for State {
    fn log(&mut self, level: Level, message: String) {
        self.host_call(|s| {
            if !s.log.line_allowed() {
                return;
            }
            let mut message = message;
            if message.len() > MAX_MESSAGE {
                let cut = (0..=MAX_MESSAGE)
                    .rev()
                    .find(|&i| message.is_char_boundary(i))
                    .unwrap_or(0);
                message.truncate(cut);
                message.push('…');
            }
            // Nothing a plugin says may start a new log line or reach the terminal raw.
            let message = crate::text::escape_controls(&message);
            // `--explain` and `plugin test` show a path's log lines with its steps.
            let word = match level {
                Level::Trace => "trace",
                Level::Debug => "debug",
                Level::Info => "info",
                Level::Warn => "warn",
                Level::Error => "error",
            };
            s.note(|| crate::trace::Step::Log {
                level: word,
                message: message.clone().into_owned(),
            });
            let plugin = s.identity.name.as_str();
            match level {
                Level::Trace => tracing::trace!(target: "plugin", plugin, "{message}"),
                Level::Debug => tracing::debug!(target: "plugin", plugin, "{message}"),
                Level::Info => tracing::info!(target: "plugin", plugin, "{message}"),
                Level::Warn => tracing::warn!(target: "plugin", plugin, "{message}"),
                Level::Error => tracing::error!(target: "plugin", plugin, "{message}"),
            }
        })
    }
}
