//! plexmatch: decide which item of a Plex Media Server library holds a media file, with
//! matching strategies written as sandboxed WebAssembly plugins.
//!
//! # The design
//!
//! One [`Engine`] is what every door opens — the `plexmatch` command line now, a local
//! service and a Python package next. It is opened from one [`EngineOptions`] value (made
//! by hand, or from [`options::Settings`], where every option is defined once) and
//! matches one path or a stream of paths. Next to it, [`Server`] is one server's client
//! and caches without plugins, [`Caches`] a data dir's caches opened with no request, and
//! [`PluginKit`] loads and inspects plugins with no server. That is the API; the modules
//! under it are the crate's own (public only with the `internals` feature, for the
//! tests), and the flow through them runs one way:
//!
//! - `batch` and `chain` take paths in input order on every core, each worker with its
//!   own plugin instances; `matching` asks each plugin per section, checks every item a
//!   plugin names against Plex or a fresh snapshot, and merges the sections' answers (the
//!   path decides between sections each sure of one item); each step is a typed event
//!   (`trace`), rendered as the explanation and as the debug log line;
//! - the sandbox: `runtime` runs plugins in wasmtime under CPU, memory and request limits;
//!   `capabilities` is the host side of each WIT interface (`wit/`), each module owning the
//!   state its interface keeps per store, composed into the store's data — a plugin never
//!   sees the network, the disk or the token;
//! - the services (`backend`), each owning its state and reached by the sandbox through
//!   its own handle: the gateway (the Plex client behind the run's failure gate, memo and
//!   request budget), the snapshot library (each section's snapshot kept current —
//!   incrementally, once across threads and processes, as its TTL passes however long a
//!   run lives) and the decision store (the match cache and the user's pins);
//! - `plex` is the HTTP client (paged, checked listings; errors classified by what a
//!   caller can do) and `cache` the SQLite files, one folder per server (`servers`).
//!
//! A wrong HIGH is the worst answer: every cached decision and pin is verified against
//! the current snapshot or Plex before it is used, and what cannot be verified is an error.
//!
//! # An engine on the emulator
//!
//! ```
//! use plexmatch_engine::{Engine, EngineOptions, PlexConfig};
//! use plexmatch_emulator::{Emulator, LibraryFile, Options};
//!
//! // A Plex server on loopback serving the bundled sample library.
//! let server = Emulator::start(&LibraryFile::sample(), Options::default())?;
//! let data = tempfile::tempdir()?;
//!
//! let mut options = EngineOptions::new(PlexConfig::new(server.url(), server.token()), data.path());
//! options.sections = vec!["Movies".into()];
//! let engine = Engine::open(options)?;
//!
//! // One path: one answer, with the rule that decided.
//! let inception = engine.match_path("/stash/Inception (2010)/Inception (2010) - 1080p.mkv", true);
//! assert_eq!(inception.outcome.word(), "high");
//! assert_eq!(inception.item.as_ref().map(|i| i.rating_key.as_str()), Some("101"));
//! println!("{}", inception.explain.unwrap().decided_by);
//!
//! // A stream: answers in input order, on every core.
//! let paths = ["/stash/2019/holiday.mp4", "/stash/holiday.mp4", "relative.mkv"];
//! let mut words = Vec::new();
//! engine.match_stream(paths.iter().copied(), false, |a| {
//!     words.push(a.result.outcome.word());
//! });
//! assert_eq!(words, ["high", "low", "error"]);
//!
//! // Warm: the second time, the caches answer without a request.
//! let before = engine.requests();
//! engine.match_path("/stash/2019/holiday.mp4", false);
//! assert_eq!(engine.requests(), before);
//!
//! // A person settles the LOW one: the pin answers from now on.
//! engine.pin("/stash/holiday.mp4", "109", false)?;
//! assert_eq!(engine.match_path("/stash/holiday.mp4", false).plugin, "pinned");
//! # Ok::<(), anyhow::Error>(())
//! ```

// Without `internals`, what only the end-to-end tests reach (test helpers, counters, the
// re-exports they import) is unused by the crate itself.
#![cfg_attr(not(feature = "internals"), allow(dead_code, unused_imports))]

pub mod bench;
mod builtin;
pub mod engine;
pub mod input;
pub mod options;
pub mod paths;
pub mod text;
mod trace;
mod wit;

pub use backend::{CachePolicy, Refreshed};
pub use batch::Answer;
pub use cache::{Counts, LibraryFootprint, Pin, Pins};
pub use engine::caches::{CacheStats, Caches};
pub use engine::kit::{PluginInfo, PluginKit, Readiness, SettingInfo};
pub use engine::{Engine, EngineOptions, Server, SnapshotState};
pub use matching::{Explain, Failure, MatchedItem, Outcome, PathMatch, SectionTrace};
pub use pinning::PINNED;
pub use plex::{
    DEFAULT_PAGE_SIZE, DEFAULT_PAGES_IN_FLIGHT, ItemKind, ListingWatch, PlexConfig, PlexError,
    RetryPolicy, Section, ServerInfo, TlsOptions, server_url,
};
pub use runtime::Limits;
pub use servers::ServerIdentity;

/// Declares the modules under the API: public with the `internals` feature (the
/// end-to-end tests of the internals), else the crate's own.
macro_rules! internal_modules {
    ($($m:ident),* $(,)?) => {$(
        #[cfg(feature = "internals")]
        pub mod $m;
        #[cfg(not(feature = "internals"))]
        mod $m;
    )*};
}

internal_modules!(
    backend,
    batch,
    cache,
    capabilities,
    chain,
    matching,
    pinning,
    plex,
    runtime,
    sections,
    servers,
);

pub use builtin::{BUILTIN_PLUGINS, DEFAULT_PLUGIN, PATH_MATCHER_PLUGIN};
