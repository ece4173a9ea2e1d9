//! Text from outside (paths, plugins, Plex) made safe to show: control characters are
//! written as escapes, so nothing shown can start a new line of output or of the log,
//! move the cursor or change colours.

use std::borrow::Cow;

/// Whether `c` is a control character (C0, DEL, C1) or a line or paragraph separator.
pub fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` with every control character escaped (`\n`, `\r`, `\t`, `\0`, else `\u{1b}`);
/// borrowed when there is none.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if is_control(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// At most `max` bytes of `s` (cut at a character boundary, `…` added when cut).
pub fn clip_bytes(s: &str, max: usize) -> Cow<'_, str> {
    if s.len() <= max {
        return Cow::Borrowed(s);
    }
    let cut = (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0);
    Cow::Owned(format!("{}…", &s[..cut]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_escaped_and_plain_text_is_kept() {
        assert_eq!(escape_controls("/m/a.mkv"), "/m/a.mkv");
        assert_eq!(
            escape_controls("a\x1b[31mb\r\nc\0d\u{7}\u{85}\u{2028}"),
            "a\\u{1b}[31mb\\r\\nc\\0d\\u{7}\\u{85}\\u{2028}"
        );
        assert_eq!(clip_bytes("héllo", 2), "h…");
        assert_eq!(clip_bytes("hello", 5), "hello");
    }
}
