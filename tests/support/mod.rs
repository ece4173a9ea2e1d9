//! Shared by the end-to-end tests: the emulator with a library, a backend on a fresh
//! data dir, and the plugins (the embedded default one and the hostile test plugin,
//! built from tests/plugins/hostile on first use).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use plexmatch_emulator::{Emulator, LibraryFile, Options};
use plexmatch_engine::backend::{Backend, CachePolicy};
use plexmatch_engine::matching::{Matcher, PathMatch};
use plexmatch_engine::plex::{PlexConfig, Section};
use plexmatch_engine::runtime::{Limits, Plugin};

/// A running emulator and a data dir that disappears with the fixture.
pub struct Fixture {
    pub emulator: Emulator,
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Serves the bundled sample library.
    pub fn sample() -> Fixture {
        Fixture::with(&LibraryFile::sample())
    }

    /// Serves `library`.
    pub fn with(library: &LibraryFile) -> Fixture {
        let emulator = Emulator::start(library, Options::default()).expect("emulator starts");
        Fixture {
            emulator,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Connection settings for the emulator, with `token`.
    pub fn config_with_token(&self, token: &str) -> PlexConfig {
        PlexConfig {
            url: self.emulator.url().to_owned(),
            token: token.to_owned(),
            client_id: "plexmatch-tests".into(),
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(10),
            page_size: 1000,
            pages_in_flight: plexmatch_engine::plex::DEFAULT_PAGES_IN_FLIGHT,
            retry: fast_retries(),
            tls: plexmatch_engine::plex::TlsOptions::default(),
            offline: false,
        }
    }

    /// A backend on the fixture's data dir (a new one acts like a new process).
    pub fn backend(&self, policy: CachePolicy) -> Arc<Backend> {
        let config = self.config_with_token(self.emulator.token());
        Arc::new(Backend::open(&config, self.dir.path(), policy).expect("backend opens"))
    }

    /// A backend listing one page at a time, so that the n-th listing request is page n.
    pub fn sequential_backend(&self, policy: CachePolicy) -> Arc<Backend> {
        let config = PlexConfig {
            pages_in_flight: 1,
            ..self.config_with_token(self.emulator.token())
        };
        Arc::new(Backend::open(&config, self.dir.path(), policy).expect("backend opens"))
    }

    /// The data dir.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The folder of the emulator's caches in the data dir (caches are kept per server).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir
            .path()
            .join("servers")
            .join(self.emulator.machine_id())
    }
}

/// Retries as in production, but with millisecond waits so that fault tests stay fast.
pub fn fast_retries() -> plexmatch_engine::plex::RetryPolicy {
    plexmatch_engine::plex::RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        budget: Duration::from_secs(10),
    }
}

/// The decider tests write match-cache entries as.
pub fn tester() -> plexmatch_engine::cache::Decider {
    plexmatch_engine::cache::Decider::new("test", "0")
}

/// Who a loaded plugin is, as the match cache records its decisions.
pub fn decider(plugin: &Plugin) -> plexmatch_engine::cache::Decider {
    plugin.identity().decider()
}

/// The embedded default plugin, loaded against `backend`.
pub fn default_plugin(backend: &Arc<Backend>) -> Arc<Plugin> {
    Arc::new(
        Plugin::load(
            "default",
            plexmatch_engine::DEFAULT_PLUGIN,
            Vec::new(),
            Limits::default(),
            backend.clone(),
        )
        .expect("default plugin loads"),
    )
}

/// The hostile test plugin, loaded against `backend` with `limits`.
pub fn hostile_plugin(backend: &Arc<Backend>, limits: Limits) -> Arc<Plugin> {
    let wasm = std::fs::read(hostile_wasm()).expect("hostile plugin was built");
    Arc::new(
        Plugin::load("hostile", &wasm, Vec::new(), limits, backend.clone())
            .expect("hostile plugin loads"),
    )
}

include!("../../host/guest_cargo.rs");

/// The test plugin that imports wasi:http (tests/plugins/httpish), built on first use.
pub fn httpish_wasm() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build_test_plugin("httpish"))
}

/// The hostile test plugin (tests/plugins/hostile), built on first use.
pub fn hostile_wasm() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| build_test_plugin("hostile"))
}

/// Builds the test plugin `name` (tests/plugins/NAME, in the guest workspace).
fn build_test_plugin(name: &str) -> PathBuf {
    let root = repo_root();
    let target = root.join("target").join("guest");
    let status = guest_cargo(env!("CARGO"), &root, &target, &[name])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building tests/plugins/{name} failed");
    target.join(format!("wasm32-wasip2/release/{name}.wasm"))
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ is in the repository")
        .to_path_buf()
}

/// Every movie and show section of the backend's server.
pub fn all_sections(backend: &Backend) -> Vec<Section> {
    plexmatch_engine::sections::resolve(&[], &backend.snapshots.sections().expect("sections list"))
        .expect("sections resolve")
}

/// The sections with these ids.
pub fn sections(backend: &Backend, ids: &[u32]) -> Vec<Section> {
    let all = backend.snapshots.sections().expect("sections list");
    ids.iter()
        .map(|id| {
            all.iter()
                .find(|s| s.id == *id)
                .expect("section exists")
                .clone()
        })
        .collect()
}

/// Matches one path with a fresh matcher.
pub fn match_one(
    plugin: &Arc<Plugin>,
    backend: &Arc<Backend>,
    path: &str,
    sections: &[Section],
) -> PathMatch {
    Matcher::new(plugin.clone(), backend.clone()).match_path(path, sections)
}

/// The real `plexmatch` binary, pointed at the fixture's emulator and data dir.
pub fn plexmatch(fx: &Fixture, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plexmatch"));
    cmd.args(args)
        .env("PLEX_URL", fx.emulator.url())
        .env("PLEX_TOKEN", fx.emulator.token())
        .env("PLEXMATCH_DATA_DIR", fx.data_dir())
        .env_remove("RUST_LOG");
    cmd
}

/// Runs `cmd` with `input` on its stdin (written from another thread, so that a large
/// input cannot dead-lock against a full stdout pipe).
pub fn run_with_stdin(mut cmd: Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// The JSON objects of `match --json` output, one per line.
pub fn json_lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The default policy with sections listed rather than files looked up (`--lookup
/// listing`): for tests of snapshots, refreshes and listings themselves.
pub fn listing() -> CachePolicy {
    CachePolicy {
        lookup: plexmatch_engine::backend::LookupMode::Listing,
        ..CachePolicy::default()
    }
}
