//! The paths a run is given, read as bytes and checked before any plugin sees them.
//!
//! Every line of input (and every argument) gets exactly one answer, in order, so that a
//! program can pair its lines with the answers. A line that cannot be a media path is that
//! path's *input error* and the run goes on: an empty line, a line that is not UTF-8,
//! holds a control character (NUL included), is longer than [`MAX_PATH_BYTES`], is a
//! relative path, or names a folder. Its answer shows the line escaped (decoded lossily),
//! never raw.

use std::io::{BufRead, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

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
    records(reader, b'\n')
}

/// Set (from a signal handler) to end the input: readers then report its end.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// Whether the input was asked to end.
pub fn stopping() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Standard input that ends when [`STOP`] is set, even while it waits for a line: it
/// polls (200 ms at a time) instead of blocking in a read no signal may interrupt.
pub struct StoppableStdin;

impl Read for StoppableStdin {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if stopping() {
                return Ok(0);
            }
            let mut fd = libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut fd, 1, 200) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                continue;
            }
            // Straight from the descriptor poll watched: std's stdin would add a buffer of
            // its own, whose bytes poll cannot see.
            // SAFETY: `buf` is valid for `buf.len()` bytes.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            return Ok(n as usize);
        }
    }
}

/// Records of a file ended by `end`, counted without keeping them (for a progress total).
pub fn count_records(file: &Path, end: u8) -> std::io::Result<u64> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(file)?);
    let (mut n, mut last) = (0u64, end);
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        n += buf.iter().filter(|&&b| b == end).count() as u64;
        last = *buf.last().expect("not empty");
        let used = buf.len();
        reader.consume(used);
    }
    // A last record without its end byte counts too.
    Ok(n + u64::from(last != end))
}

/// Media file extensions a folder argument is searched for by default.
pub fn default_extensions() -> Vec<String> {
    [
        "mkv", "mp4", "m4v", "avi", "mov", "wmv", "mpg", "mpeg", "ts", "m2ts", "webm", "flv",
        "ogm", "divx", "iso",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The paths of a run's arguments: a relative one that exists here (`.`, `../dups`, a
/// file name in the current folder) is made absolute first; a folder stands for the media
/// files under it (by `extensions`, case aside, in name order, symbolic links to folders
/// not followed); anything else is checked as a path. An unreadable folder, or one with no
/// media file, is one input error.
pub fn expand_folders(args: &[String], extensions: &[String]) -> Vec<Input> {
    let wanted: Vec<String> = extensions
        .iter()
        .map(|e| e.trim().trim_start_matches('.').to_lowercase())
        .filter(|e| !e.is_empty())
        .collect();
    let mut out = Vec::new();
    for a in args {
        let resolved = (!is_absolute(a) && Path::new(a).exists())
            .then(|| absolute(Path::new(a)))
            .flatten();
        let a = resolved.as_deref().unwrap_or(a);
        let dir = Path::new(a);
        if is_absolute(a) && dir.is_dir() {
            let before = out.len();
            walk(dir, &wanted, &mut out);
            if out.len() == before {
                out.push(Input::Invalid {
                    shown: escape_controls(a).into_owned(),
                    why: format!(
                        "no media files under this folder (files ending in .{}; --extensions chooses others)",
                        wanted.join(", .")
                    ),
                });
            }
        } else {
            out.push(Input::from(a));
        }
    }
    out
}

/// `path` made absolute against the current folder, `.` and `..` resolved by their names
/// (not by following links, so that the path keeps the folders it was given by); `None`
/// when it is not UTF-8 or the current folder is unknown.
fn absolute(path: &Path) -> Option<String> {
    use std::path::Component;
    let joined = std::env::current_dir().ok()?.join(path);
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                parts.pop();
            }
            Component::Normal(n) => parts.push(n),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let mut out = std::path::PathBuf::from("/");
    out.extend(parts);
    out.into_os_string().into_string().ok()
}

fn walk(dir: &Path, extensions: &[String], out: &mut Vec<Input>) {
    let mut entries: Vec<std::fs::DirEntry> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
        Err(e) => {
            out.push(Input::Invalid {
                shown: escape_controls(&dir.to_string_lossy()).into_owned(),
                why: format!("cannot read the folder: {e}"),
            });
            return;
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            walk(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| extensions.contains(&x.to_lowercase()))
        {
            use std::os::unix::ffi::OsStrExt;
            let bytes = path.as_os_str().as_bytes();
            out.push(check(bytes, bytes.len()));
        }
    }
}

/// Like [`lines`], with records ended by `end` (`b'\0'` for `find -print0`); a CR before
/// the end is dropped only from lines.
pub fn records<R: BufRead>(reader: R, end: u8) -> impl Iterator<Item = Input> {
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
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted && !stopping() => continue,
                Err(_) if stopping() => return None,
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
            let (chunk, newline) = match buf.iter().position(|&b| b == end) {
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
        if end == b'\n' && kept.last() == Some(&b'\r') && len == kept.len() {
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
    fn nul_separated_records_keep_newlines_for_the_check() {
        let got: Vec<Input> = records(
            std::io::BufReader::new(&b"/m/a b.mkv\0/m/x\ny.mkv\0/m/c.mkv"[..]),
            0,
        )
        .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], Input::Path("/m/a b.mkv".into()));
        assert!(matches!(&got[1], Input::Invalid { why, .. } if why.contains("U+000A")));
        assert_eq!(got[2], Input::Path("/m/c.mkv".into()));
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
