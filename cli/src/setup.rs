//! Turning command-line options into the parts a command runs with: logging, the Plex
//! connection and the server's caches; and turning errors into exit codes.

use anyhow::Result;

use super::{CacheArgs, PlexArgs, exit};
use plexmatch_engine::{PlexError, Server};

/// Logs go to stderr: warnings by default (only errors with `quiet`), more with -v/-vv,
/// or as RUST_LOG says. Plain lines by default; times and module paths from -v on.
pub fn init_logging(verbose: u8, quiet: bool) {
    // -v and -vv are about plexmatch (and its plugins), not about every library's internals.
    // A plugin's own lines, whatever their level, only with -v: its answer (or error) is
    // already in the output, and a plugin must not be able to fill the terminal.
    let default = match (verbose, quiet) {
        (0, true) => "error,plugin=off",
        (0, false) => "warn,plugin=off",
        (1, _) => "warn,plexmatch=info,plugin=info",
        _ => "warn,plexmatch=debug,plugin=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_target(verbose > 0);
    let _ = if verbose > 0 {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
}

/// The exit code for an error that ended a command.
/// Where a person finds a current token, said with every refused one.
pub const TOKEN_HINT: &str = "Get a current X-Plex-Token (Plex Web: any item → Get Info → View XML, the token is in the URL) and set PLEX_TOKEN (or [plex] token_file)";

/// The error line for `e`, with what to do about a refused token.
pub fn error_line(e: &anyhow::Error) -> String {
    let refused = e.chain().any(|c| {
        matches!(
            c.downcast_ref::<PlexError>(),
            Some(PlexError::Unauthorized(_))
        )
    });
    if refused {
        format!("error: {e:#}\n  {TOKEN_HINT}")
    } else {
        format!("error: {e:#}")
    }
}

pub fn exit_code_for(e: &anyhow::Error) -> i32 {
    if e.chain().any(|c| c.downcast_ref::<PlexError>().is_some()) {
        exit::PLEX
    } else {
        exit::USAGE
    }
}

/// Opens the server the options name: its Plex client and caches (`--insecure` warned
/// about once the connection settings are known to be usable).
pub fn server(plex: &PlexArgs, cache: &CacheArgs) -> Result<Server> {
    let (config, dir) = plex.connection(false)?;
    warn_if_insecure(plex);
    Server::open(&config, &dir, cache.policy())
}

/// `--insecure` is said once, on stderr.
pub fn warn_if_insecure(plex: &PlexArgs) {
    if !plex.verify_tls {
        eprintln!(
            "warning: --insecure: the Plex server's certificate is not checked; anyone on the way can read the token (prefer --ca-file)"
        );
    }
}

pub use plexmatch_engine::options::parse_setting;
