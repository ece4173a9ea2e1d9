//! `plexmatch serve`: one warm engine for many programs.
//!
//! A program that asks one path at a time (a media manager's plugin started per file, a
//! webhook handler, several scripts on one machine) would otherwise start a process, open
//! the caches, load the plugins and bring a stale snapshot up to date itself, every time.
//! The service opens one [`Engine`] and keeps it: plugins loaded once, caches shared,
//! snapshots kept current by the engine as their TTL passes.
//!
//! The design in short:
//! - HTTP/1.1 on tokio and axum, JSON in and out, versioned under `/v1/` ([`api`]).
//!   Matching is blocking work on the engine's own threads: each request hands it to
//!   tokio's blocking pool, and a batch streams its answers back as NDJSON in input order
//!   as the engine's workers produce them.
//! - An answer is exactly the object `plexmatch match --json` prints for the path: both
//!   serialise the engine's [`plexmatch_engine::PathMatch`].
//! - Guards before any work ([`guard`]): the API token (constant-time; required to listen
//!   anywhere but loopback), a limit on requests in flight (503 with `Retry-After`), a
//!   body size limit (413), a client read timeout (408), and a limit on paths per request
//!   (413). Bad input is a 400 naming the field, and changes nothing.
//! - The Plex token is never in a response, a metric or a log line: the engine keeps it
//!   in a header of its own client, and nothing here reads it.
//! - SIGTERM or SIGINT stops accepting, lets requests in flight finish (bounded by
//!   [`ServeOptions::shutdown_grace`]), flushes the caches' counters, and returns.

mod api;
mod guard;
mod metrics;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use plexmatch_engine::Engine;
use plexmatch_engine::options::Listen;

pub use metrics::Metrics;

/// How the service listens and what it accepts.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub listen: Listen,
    /// The API token every request must send (`Authorization: Bearer …`), if any.
    pub api_token: Option<String>,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Most paths in one request.
    pub max_paths: usize,
    /// How long a client may take to send its body.
    pub client_timeout: Duration,
    /// Requests handled at once.
    pub max_in_flight: usize,
    /// How long requests in flight may take to finish after a stop signal.
    pub shutdown_grace: Duration,
}

impl ServeOptions {
    /// Checks what cannot work: listening beyond loopback without an API token.
    pub fn check(&self) -> Result<()> {
        if !self.listen.is_local() && self.api_token.is_none() {
            anyhow::bail!(
                "refusing to listen on {} without an API token: anyone who can reach it could use your Plex server through it. Give --api-token-file FILE (clients send `Authorization: Bearer TOKEN`), or listen on 127.0.0.1 or a unix: socket",
                self.listen
            );
        }
        if self.api_token.as_deref().is_some_and(str::is_empty) {
            anyhow::bail!("the API token file is empty");
        }
        Ok(())
    }
}

/// Serves `engine` as `options` say until SIGTERM or SIGINT; `ready` is told the address
/// once the service accepts requests (with the port chosen when it was 0).
pub fn run(engine: Engine, options: ServeOptions, ready: impl FnOnce(&Listen)) -> Result<()> {
    options.check()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("plexmatch-serve")
        .build()
        .context("cannot start the service's runtime")?;
    let engine = Arc::new(engine);
    let app = api::App::new(engine.clone(), options.clone());
    runtime.block_on(async move {
        let router = api::router(app);
        match &options.listen {
            Listen::Tcp(addr) => {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?;
                ready(&Listen::Tcp(listener.local_addr()?));
                serve_until_stopped(axum::serve(listener, router), options.shutdown_grace).await
            }
            Listen::Unix(path) => {
                let listener = bind_unix(path)?;
                ready(&options.listen);
                let served =
                    serve_until_stopped(axum::serve(listener, router), options.shutdown_grace)
                        .await;
                let _ = std::fs::remove_file(path);
                served
            }
        }
    })?;
    engine.flush();
    Ok(())
}

/// A unix socket at `path` that only its owner may use. A socket left by a service that
/// died is replaced; any other file there is an error.
fn bind_unix(path: &std::path::Path) -> Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            anyhow::bail!(
                "cannot listen on unix:{}: a file that is not a socket is there",
                path.display()
            );
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            anyhow::bail!(
                "cannot listen on unix:{}: another service is listening there",
                path.display()
            );
        }
        std::fs::remove_file(path)?;
    }
    // The socket is made 0600 before anyone can connect: made under a umask that allows
    // its owner alone, then set again explicitly.
    // SAFETY: umask only changes this process's file-creation mask.
    let old = unsafe { libc::umask(0o177) };
    let bound = tokio::net::UnixListener::bind(path);
    // SAFETY: as above, restoring the mask.
    unsafe { libc::umask(old) };
    let listener = bound.with_context(|| format!("cannot listen on unix:{}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves until a stop signal, then lets requests in flight finish for at most `grace`.
async fn serve_until_stopped<F>(serve: F, grace: Duration) -> Result<()>
where
    F: GracefulServe,
{
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = serve.until(async move {
        stop_signal().await;
        tracing::info!("stopping: no new requests; finishing those in flight");
        let _ = stopped_tx.send(());
    });
    tokio::select! {
        r = serving => r.context("the service failed"),
        _ = async {
            let _ = stopped_rx.await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!("requests still in flight after {grace:?}: stopping anyway");
            Ok(())
        }
    }
}

/// `axum::serve` for either kind of listener, with graceful shutdown.
trait GracefulServe {
    fn until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
}

impl<L> GracefulServe for axum::serve::Serve<L, axum::Router, axum::Router>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    fn until(
        self,
        signal: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
        std::future::IntoFuture::into_future(self.with_graceful_shutdown(signal))
    }
}

/// SIGTERM or SIGINT (Ctrl-C).
async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
