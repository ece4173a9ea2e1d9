//! `plexmatch serve`: the engine as a long-running local HTTP service (plexmatch-serve).

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use super::options::ServeFlags;
use super::{CacheArgs, MatchOptions, PlexArgs, setup};
use plexmatch_engine::options::Listen;
use plexmatch_engine::{Engine, EngineOptions};
use plexmatch_serve::ServeOptions;

/// How long requests in flight may take to finish after SIGTERM or Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Options of `plexmatch serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub serve: ServeFlags,
    #[command(flatten)]
    pub plex: PlexArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
    #[command(flatten)]
    pub options: MatchOptions,
}

/// Runs `plexmatch serve` until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> Result<i32> {
    let s = &args.serve;
    let api_token = match &s.api_token_file {
        Some(file) => Some(api_token(file)?),
        None => None,
    };
    let options = ServeOptions {
        listen: Listen::parse(&s.listen).map_err(|e| anyhow::anyhow!("--listen {e}"))?,
        api_token,
        max_body: usize::try_from(s.max_body_kib.saturating_mul(1024)).unwrap_or(usize::MAX),
        max_paths: s.max_paths,
        client_timeout: Duration::from_secs_f64(s.client_timeout),
        max_in_flight: s.max_in_flight,
        shutdown_grace: SHUTDOWN_GRACE,
    };
    // Refused before the engine opens: a misconfigured service says so at once.
    options.check()?;
    setup::warn_if_insecure(&args.plex);
    let engine = Engine::open(EngineOptions::from_settings(&args.options, false)?)?;
    let (server, sections) = (
        engine.server().identity().describe(),
        engine.sections().len(),
    );
    plexmatch_serve::run(engine, options, |at| {
        // The first line of stdout says where: a caller that asked for port 0 reads it.
        println!(
            "plexmatch serve: listening on {at} (server {server}, {sections} section(s)); stop with Ctrl-C or SIGTERM"
        );
        let _ = std::io::stdout().flush();
    })?;
    eprintln!("plexmatch serve: stopped");
    Ok(super::exit::ALL_HIGH)
}

/// The API token in `file` (its first line, trimmed).
fn api_token(file: &std::path::Path) -> Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the API token file {}", file.display()))?;
    let token = text.lines().next().unwrap_or("").trim().to_owned();
    if token.is_empty() {
        anyhow::bail!("the API token file {} is empty", file.display());
    }
    Ok(token)
}
