//! A Plex Media Server emulator on loopback.
//!
//! It serves a library (from a file, the bundled sample, or generated) with the
//! endpoints and answer shapes of a real server — XML by default, JSON for
//! `Accept: application/json`, paging by header or query, 401 without the token, 404
//! for unknown items — and counts the requests it served, so that plexmatch's demo,
//! tests and benchmarks, and plugin authors, need no Plex server.

mod document;
#[cfg(feature = "faults")]
mod faults;
mod generate;
mod http;
mod library;
mod responses;
mod server;

#[cfg(feature = "faults")]
pub use faults::{BadItem, Fault};
pub use generate::generate;
pub use library::{Change, FileSpec, ItemSpec, LibraryFile, SectionSpec, SectionType};
pub use server::{COUNTERS_PATH, Emulator, FileFilter, Options};
