// Shared by host/build.rs (the built-in plugins' digests, computed when they are built) and
// runtime::compile_cache (both `include!` it), so that the digest has one spelling.

/// A component's digest: the first 16 bytes of its SHA-256, in hex. It names the plugin's
/// build in the match cache and its compiled artifact.
pub fn digest(wasm: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(wasm)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}
