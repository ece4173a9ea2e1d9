//! What "the same file name" means, for the host's index and for plugins alike.
//!
//! A file name is the last component of a path, where both `/` and `\` separate
//! components (a Windows Plex server and a POSIX media manager must agree, W15). Two
//! names are the same when their keys are equal: Unicode NFC, then lower case, so that
//! macOS's NFD names and case differences compare equal (W13).

use unicode_normalization::UnicodeNormalization;

/// The last component of `path` (after the last `/` or `\`); `None` when it is empty.
pub fn file_name(path: &str) -> Option<&str> {
    // Both separators are ASCII, so a byte search finds a char boundary (and is several
    // times faster than `rsplit` with a char pattern, which decodes every char).
    let name = match path.bytes().rposition(|b| b == b'/' || b == b'\\') {
        Some(at) => &path[at + 1..],
        None => path,
    };
    if name.is_empty() || name == "." || name == ".." {
        None
    } else {
        Some(name)
    }
}

/// The parent folder's name (the component before the file name), if any.
pub fn parent_name(path: &str) -> Option<&str> {
    let mut parts = path.rsplit(['/', '\\']);
    parts.next()?;
    parts.next().filter(|p| !p.is_empty())
}

/// The comparison key of a file name or path: NFC-normalised and lower-cased.
pub fn name_key(name: &str) -> String {
    if name.is_ascii() {
        return name.to_ascii_lowercase();
    }
    name.nfc().collect::<String>().to_lowercase()
}

/// Whether any of `files` has the file name whose key is `key` (see [`name_key`]).
pub fn has_file_named<S: AsRef<str>>(files: &[S], key: &str) -> bool {
    files
        .iter()
        .any(|f| file_name(f.as_ref()).is_some_and(|n| has_key(n, key)))
}

/// Whether `name_key(name) == key`, without building the key when `name` is ASCII.
pub fn has_key(name: &str, key: &str) -> bool {
    if name.is_ascii() {
        name.len() == key.len()
            && name
                .bytes()
                .zip(key.bytes())
                .all(|(n, k)| n.to_ascii_lowercase() == k)
    } else {
        name_key(name) == key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_on_both_separators() {
        assert_eq!(file_name("/data/movies/a.mkv"), Some("a.mkv"));
        assert_eq!(file_name(r"D:\Media\abc.mp4"), Some("abc.mp4"));
        assert_eq!(file_name(r"/mnt/share\mixed/x.mkv"), Some("x.mkv"));
        assert_eq!(file_name("plain.mkv"), Some("plain.mkv"));
        assert_eq!(file_name("/data/dir/"), None);
        assert_eq!(file_name(""), None);
    }

    #[test]
    fn parent_names() {
        assert_eq!(parent_name("/media/Studio/Scene.mp4"), Some("Studio"));
        assert_eq!(parent_name("/file.mp4"), None);
        assert_eq!(parent_name("file.mp4"), None);
        assert_eq!(parent_name(r"C:\x\y.mkv"), Some("x"));
    }

    #[test]
    fn keys_fold_case_and_unicode_form() {
        let nfc = "Am\u{e9}lie.mkv";
        let nfd = "Ame\u{301}lie.mkv";
        assert_ne!(nfc, nfd);
        assert_eq!(name_key(nfc), name_key(nfd));
        assert_eq!(name_key("MOVIE.MP4"), "movie.mp4");
        assert!(has_file_named(&[r"D:\Media\Amélie.MKV"], &name_key(nfd)));
        assert!(!has_file_named(&["/a/other.mkv"], "movie.mkv"));
        assert!(!has_file_named::<&str>(&[], "movie.mkv"));
    }
}
