//! The plugins built into the binary, built from `guest/` by the build script, with
//! their digests computed when they were built.

/// The default matcher plugin, built from `guest/default-matcher` and embedded.
pub const DEFAULT_PLUGIN: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/default_matcher.wasm"));

/// The `path-matcher` plugin, built from `guest/path-matcher` and embedded.
pub const PATH_MATCHER_PLUGIN: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/path_matcher.wasm"));

/// The digests of the built-in plugins (see `runtime::compile_cache::digest`), computed
/// when they were built.
const BUILTIN_DIGESTS: &[(&[u8], &str)] = &[
    (
        DEFAULT_PLUGIN,
        include_str!(concat!(env!("OUT_DIR"), "/default_matcher.wasm.digest")),
    ),
    (
        PATH_MATCHER_PLUGIN,
        include_str!(concat!(env!("OUT_DIR"), "/path_matcher.wasm.digest")),
    ),
];

/// The digest of `bytes` if they are a built-in plugin's: usually the embedded slice
/// itself, else compared (a comparison costs a tenth of hashing them).
pub fn builtin_digest(bytes: &[u8]) -> Option<&'static str> {
    BUILTIN_DIGESTS
        .iter()
        .find(|(b, _)| std::ptr::eq(*b, bytes) || *b == bytes)
        .map(|(_, d)| *d)
}

/// Whether `digest` is a built-in plugin's (both decide between the holders of a name by
/// the path before they answer LOW).
pub fn is_builtin_digest(digest: &str) -> bool {
    BUILTIN_DIGESTS.iter().any(|(_, d)| d.trim() == digest)
}

/// The built-in plugins, by the name `--plugin` accepts.
pub const BUILTIN_PLUGINS: &[(&str, &[u8])] = &[
    ("default", DEFAULT_PLUGIN),
    ("path-matcher", PATH_MATCHER_PLUGIN),
];
