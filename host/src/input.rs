//! The paths a run is given, read as bytes and checked before any plugin sees them.
//!
//! Every line of input (and every argument) gets exactly one answer, in order, so that a
//! program can pair its lines with the answers. A line that cannot be a media path is that
//! path's *input error* and the run goes on: an empty line, a line that is not UTF-8,
//! holds a control character (NUL included), is longer than [`MAX_PATH_BYTES`], is a
//! relative path, or names a folder. Its answer shows the line escaped (decoded lossily),
//! never raw.

use std::io::BufRead;

use crate::text::{clip_bytes, escape_controls, is_control};

/// Longest path accepted, in bytes (Linux's `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

/// How much of an unusable line its answer shows.
const SHOWN_BYTES: usize = 200;

/// One path of the input, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A usable absolute path.
    Path(String),
    /// An unusable line: how to show it, and why it cannot be used.
    Invalid { shown: String, why: String },
}

impl From<String> for Input {
    fn from(s: String) -> Input {
        check(s.as_bytes(), s.len())
    }
}

impl From<&str> for Input {
    fn from(s: &str) -> Input {
        check(s.as_bytes(), s.len())
    }
}

/// Checks one line (`bytes`, without its line ending; `full_len` the line's length when
/// only its start was kept).
pub fn check(bytes: &[u8], full_len: usize) -> Input {
    let shown = || {
        let text = String::from_utf8_lossy(bytes);
        let clipped = clip_bytes(&text, SHOWN_BYTES).into_owned();
        escape_controls(&clipped).into_owned()
    };
    let invalid = |why: String| Input::Invalid {
        shown: shown(),
        why,
    };
    if full_len > MAX_PATH_BYTES {
        return invalid(format!(
            "the path is {full_len} bytes long; the longest accepted is {MAX_PATH_BYTES}"
        ));
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            return invalid(format!(
                "the path is not valid UTF-8 (byte 0x{:02X} at offset {})",
                bytes[e.valid_up_to()],
                e.valid_up_to()
            ));
        }
    };
    if text.trim().is_empty() {
        return invalid("empty line: no path given".into());
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| is_control(*c)) {
        return invalid(format!(
            "the path holds the control character U+{:04X} at offset {at}",
            c as u32
        ));
    }
    if !is_absolute(text) {
        return invalid(
            "the path is relative; give an absolute path (/…, C:\\… or \\\\server\\share\\…)"
                .into(),
        );
    }
    if text.ends_with(['/', '\\']) {
        return invalid("the path names a folder, not a file".into());
    }
    Input::Path(text.to_owned())
}

/// An absolute path as a media manager on Unix or Windows writes it.
fn is_absolute(p: &str) -> bool {
    let b = p.as_bytes();
    p.starts_with('/')
        || p.starts_with("\\\\")
        || (b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && matches!(b[2], b'\\' | b'/'))
}

/// The lines of `reader`, each checked, with memory bounded by [`MAX_PATH_BYTES`] however
/// long a line is. A read error ends the input with one last invalid entry saying so.
pub fn lines<R: BufRead>(reader: R) -> impl Iterator<Item = Input> {
    let mut reader = reader;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut kept: Vec<u8> = Vec::new();
        let mut len = 0usize;
        let mut any = false;
        loop {
            let buf = match reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    done = true;
                    return Some(Input::Invalid {
                        shown: String::new(),
                        why: format!("reading the input failed: {e}"),
                    });
                }
            };
            if buf.is_empty() {
                done = true;
                if !any {
                    return None;
                }
                break;
            }
            any = true;
            let (chunk, newline) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], true),
                None => (buf, false),
            };
            let room = (MAX_PATH_BYTES + 1).saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            len += chunk.len();
            let used = chunk.len() + usize::from(newline);
            reader.consume(used);
            if newline {
                break;
            }
        }
        if kept.last() == Some(&b'\r') && len == kept.len() {
            kept.pop();
            len -= 1;
        }
        Some(check(&kept, len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Vec<Input> {
        lines(std::io::BufReader::with_capacity(7, bytes)).collect()
    }

    #[test]
    fn every_line_gets_one_answer_and_bad_ones_say_why() {
        let got =
            read(b"/m/caf\xe9.mkv\n/m/good.mkv\r\n\nrel.mkv\n/m/a\0b.mkv\n/m/dir/\nC:\\m\\x.mkv");
        assert_eq!(got.len(), 7);
        assert!(
            matches!(&got[0], Input::Invalid { shown, why } if shown == "/m/caf\u{fffd}.mkv" && why.contains("UTF-8"))
        );
        assert_eq!(got[1], Input::Path("/m/good.mkv".into()));
        assert!(matches!(&got[2], Input::Invalid { why, .. } if why.contains("empty")));
        assert!(matches!(&got[3], Input::Invalid { why, .. } if why.contains("relative")));
        assert!(
            matches!(&got[4], Input::Invalid { shown, why } if shown == "/m/a\\0b.mkv" && why.contains("U+0000"))
        );
        assert!(matches!(&got[5], Input::Invalid { why, .. } if why.contains("folder")));
        assert_eq!(got[6], Input::Path("C:\\m\\x.mkv".into()));
    }

    #[test]
    fn a_huge_line_is_bounded_and_the_next_line_is_read() {
        let mut input = vec![b'/'; 1 << 20];
        input.extend_from_slice(b"\n/m/next.mkv\n");
        let got = read(&input);
        assert_eq!(got.len(), 2);
        assert!(
            matches!(&got[0], Input::Invalid { shown, why } if why.contains("1048576 bytes") && shown.len() < 300)
        );
        assert_eq!(got[1], Input::Path("/m/next.mkv".into()));
    }
}
