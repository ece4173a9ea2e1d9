//! The HTTP client for a Plex Media Server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

use super::error::PlexError;

mod address;
mod items;
mod listing;
mod timing;

use super::models::{Container, Envelope, Item, Section};
pub use address::server_url;
use address::{MAX_REDIRECTS, OffServerRedirect, Origin};
pub use listing::{Listing, ListingWatch};
pub use timing::{Measured, RequestKind, RequestTimes};

/// How to reach a server.
#[derive(Clone)]
pub struct PlexConfig {
    /// Base URL, e.g. `http://127.0.0.1:32400` (a trailing `/` is ignored).
    pub url: String,
    /// The `X-Plex-Token`; sent only as a header, never printed.
    pub token: String,
    /// Identifies this installation to the server (`X-Plex-Client-Identifier`).
    pub client_id: String,
    /// How long reaching the server may take.
    pub connect_timeout: Duration,
    /// How long one attempt may take as a whole: connecting, sending, waiting for and
    /// reading the answer.
    pub read_timeout: Duration,
    /// Items per page of a listing.
    pub page_size: usize,
    /// Pages of a listing requested at the same time (1: one after another).
    pub pages_in_flight: usize,
    /// When and how often a failed request is tried again.
    pub retry: RetryPolicy,
    /// Which certificates an https server may present.
    pub tls: TlsOptions,
    /// Send nothing: every request fails at once with [`PlexError::Offline`] (`--offline`).
    pub offline: bool,
}

impl PlexConfig {
    /// The server at `url` with `token`, and every default: 5 s to connect, 30 s an
    /// attempt, pages of 1,000 items, 4 in flight, retries with backoff, the system's
    /// certificates.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> PlexConfig {
        PlexConfig {
            url: url.into(),
            token: token.into(),
            client_id: "plexmatch".into(),
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            page_size: DEFAULT_PAGE_SIZE,
            pages_in_flight: DEFAULT_PAGES_IN_FLIGHT,
            retry: RetryPolicy::default(),
            tls: TlsOptions::default(),
            offline: false,
        }
    }
}

/// Which certificates an https server may present: the system's trust store and the
/// bundled web roots always, a CA file of the user's, or none checked at all.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM file of certificates to trust as well (`--ca-file`): a self-signed server's own
    /// certificate, or the CA that signed it.
    pub ca_file: Option<std::path::PathBuf>,
    /// Accept any certificate and host name (`--insecure`).
    pub insecure: bool,
}

/// Retries of a request that failed for a reason that may pass (a refused or dropped
/// connection, a timeout, HTTP 429 or 5xx), with exponential backoff and full jitter:
/// the n-th wait is a random duration up to `min(max_delay, base × 2^(n-1))`, or what the
/// server asked for in `Retry-After`. 401, 403 and 404 are never retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1: no retry).
    pub attempts: u32,
    /// The first backoff's upper bound.
    pub base: Duration,
    /// The largest backoff.
    pub max_delay: Duration,
    /// No retry starts after this much time since the first try.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), full jitter.
    fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << (retry - 1).min(16))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// Items per page of a section listing. Measured with `plexmatch bench cache` on a
/// 50,000-item section (BENCHMARKS.md): 100 per page (python-plexapi's) took 1.8 s and
/// 510 requests, 1000 took 1.0 s and 51 requests, and larger pages were no faster while
/// each answer grows (a slow server's read timeout applies to one page).
pub const DEFAULT_PAGE_SIZE: usize = 1000;

/// Pages of a listing in flight at once. Measured with `plexmatch bench refresh` on a
/// 50,000-item section with 50 ms of server time per page (BENCHMARKS.md): 4 pages in
/// flight list it several times faster than one after another, while a real server is
/// asked for no more than a handful of pages at a time.
pub const DEFAULT_PAGES_IN_FLIGHT: usize = 4;

impl std::fmt::Debug for PlexConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlexConfig")
            .field("url", &self.url)
            .field("token", &"********")
            .field("client_id", &self.client_id)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("page_size", &self.page_size)
            .field("pages_in_flight", &self.pages_in_flight)
            .field("tls", &self.tls)
            .field("offline", &self.offline)
            .finish()
    }
}

/// Who the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    pub name: String,
    pub version: String,
    pub machine_id: String,
}

thread_local! {
    /// Requests sent by this thread: what one path's matching cost, read before and after.
    static THREAD_REQUESTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Requests sent so far by the calling thread (by every client).
pub fn thread_requests() -> u64 {
    THREAD_REQUESTS.with(|c| c.get())
}

/// 64 bits of SHA-256 over the token: enough to tell two tokens apart, too few to be
/// worth keeping secret.
fn fingerprint(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("plexmatch token check\0{token}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The most rating keys asked in one `/library/metadata/k1,k2,…` request.
pub const ITEMS_PER_REQUEST: usize = 100;

/// A blocking Plex client that counts the requests it sends.
pub struct PlexClient {
    base: String,
    http: Client,
    page_size: usize,
    pages_in_flight: usize,
    retry: RetryPolicy,
    requests: AtomicU64,
    offline: bool,
    /// Who hears of each page of a section listing received (section, pages in, pages).
    listing_watch: std::sync::Mutex<Option<ListingWatch>>,
    /// A flag that, once set, stops every listing before its next page (Ctrl-C).
    stop: std::sync::OnceLock<&'static AtomicBool>,
    /// Which token this client sends, as a short one-way digest: a data dir remembers
    /// that this token was accepted without keeping the token.
    token_fingerprint: String,
    /// How long the server took per kind of request, on the answers of this client.
    times: std::sync::Mutex<RequestTimes>,
}

impl PlexClient {
    /// A client for `config`; fails only on an unusable URL or token.
    pub fn new(config: &PlexConfig) -> anyhow::Result<PlexClient> {
        let base = server_url(&config.url)?;
        let parsed = reqwest::Url::parse(&base)
            .map_err(|e| anyhow::anyhow!("invalid Plex URL {base:?}: {e}"))?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let mut token = HeaderValue::from_str(&config.token).map_err(|_| {
            anyhow::anyhow!("the Plex token contains characters that cannot be sent in a header")
        })?;
        token.set_sensitive(true);
        headers.insert(HeaderName::from_static("x-plex-token"), token);
        let identity = [
            ("x-plex-product", "plexmatch".to_owned()),
            ("x-plex-version", env!("CARGO_PKG_VERSION").to_owned()),
            ("x-plex-client-identifier", config.client_id.clone()),
            ("x-plex-platform", std::env::consts::OS.to_owned()),
            ("x-plex-device", std::env::consts::OS.to_owned()),
            ("x-plex-device-name", "plexmatch".to_owned()),
            ("x-plex-provides", "controller".to_owned()),
            ("x-plex-language", "en".to_owned()),
        ];
        for (name, value) in identity {
            let value = HeaderValue::from_str(&value)
                .map_err(|_| anyhow::anyhow!("invalid value for header {name}"))?;
            headers.insert(HeaderName::from_static(name), value);
        }
        // Bounds (W28): `connect_timeout` for reaching the server, `read_timeout` for one
        // attempt as a whole (connecting included), so that neither a hung server nor one
        // dripping a byte now and then holds an attempt longer than the read timeout.
        let origin = Origin::of(&parsed);
        let inner = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(config.connect_timeout)
            // The token travels in a header that reqwest would carry along a redirect to
            // any host: follow none that leaves the configured server, and send no Referer.
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                if Origin::of(attempt.url()) == origin {
                    return attempt.follow();
                }
                let target = attempt.url().to_string();
                attempt.error(OffServerRedirect(target))
            }))
            .referer(false)
            .user_agent(concat!("plexmatch/", env!("CARGO_PKG_VERSION")));
        // A plain-http server never needs a certificate (a redirect may not change the
        // scheme, see Origin): skip reading the system's trust store, ~150 files here.
        let inner = with_tls(inner, &config.tls)?;
        let inner = if parsed.scheme() == "http" {
            inner.tls_built_in_root_certs(false)
        } else {
            inner
        };
        let http = reqwest::blocking::ClientBuilder::from(inner)
            .timeout(config.read_timeout)
            .build()?;
        Ok(PlexClient {
            base,
            http,
            page_size: config.page_size.max(1),
            pages_in_flight: config.pages_in_flight.max(1),
            retry: config.retry,
            requests: AtomicU64::new(0),
            offline: config.offline,
            listing_watch: std::sync::Mutex::new(None),
            stop: std::sync::OnceLock::new(),
            token_fingerprint: fingerprint(&config.token),
            times: std::sync::Mutex::new(RequestTimes::default()),
        })
    }

    /// A short one-way digest of the token this client sends (never the token).
    pub fn token_fingerprint(&self) -> &str {
        &self.token_fingerprint
    }

    /// `e`, or for an https URL whose server did not answer in TLS at all (a plain-http
    /// server), what that means and the fix, as an error that is not retried.
    fn not_tls(&self, e: PlexError) -> PlexError {
        let PlexError::Unavailable(m) = &e else {
            return e;
        };
        let looks_plain = ["handshake", "corrupt message", "InvalidContentType"]
            .iter()
            .any(|s| m.contains(s));
        match self.base.strip_prefix("https://") {
            Some(rest) if looks_plain => PlexError::BadResponse(format!(
                "{m}: the server at {} did not answer in TLS; it likely serves plain http: use http://{rest}",
                self.base
            )),
            _ => e,
        }
    }

    /// Whether this client sends nothing (`--offline`).
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The server's name, version and id (`GET /`); the first request that needs the token.
    pub fn server_info(&self) -> Result<ServerInfo, PlexError> {
        let c = self.get("/", None)?;
        Ok(ServerInfo {
            name: c.friendly_name.unwrap_or_default(),
            version: c.version.unwrap_or_default(),
            machine_id: c.machine_identifier.unwrap_or_default(),
        })
    }

    /// The server's id and version (`GET /identity`, which Plex answers without a token).
    pub fn identity(&self) -> Result<ServerInfo, PlexError> {
        let c = self.get("/identity", None)?;
        let machine_id = c
            .machine_identifier
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                PlexError::BadResponse(
                    "GET /identity: the answer names no machineIdentifier".into(),
                )
            })?;
        Ok(ServerInfo {
            name: c.friendly_name.unwrap_or_default(),
            version: c.version.unwrap_or_default(),
            machine_id,
        })
    }

    /// The items of type `item_type` in a section with a file whose path contains `query`
    /// (`file=`, which Plex compares as SQLite's LIKE: ASCII case folded), checked as a
    /// listing is: complete, consistent, every item readable.
    pub fn items_by_file(
        &self,
        section_id: u32,
        item_type: u32,
        query: &str,
    ) -> Result<Vec<Item>, PlexError> {
        let path = format!(
            "/library/sections/{section_id}/all?includeGuids=1&type={item_type}&file={}",
            encode(query)
        );
        Ok(self.list(&path, section_id, None)?.items)
    }

    /// Items per page of a listing.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// How many items of `item_type` a section holds (a count-only request: page size 0).
    pub fn count_items(&self, section_id: u32, item_type: u32) -> Result<u64, PlexError> {
        let c = self.get(
            &format!("/library/sections/{section_id}/all?type={item_type}"),
            Some((0, 0)),
        )?;
        Ok(c.total_size.or(c.size).unwrap_or(0))
    }

    /// Every library section (`/library/sections`). An entry whose key is not a section
    /// id makes the whole list a bad answer: a list with a section missing is never used.
    pub fn sections(&self) -> Result<Vec<Section>, PlexError> {
        let c = self.get("/library/sections", None)?;
        c.directory
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                d.into_section().map_err(|why| {
                    PlexError::BadResponse(format!(
                        "GET /library/sections: section entry {} {why}",
                        i + 1
                    ))
                })
            })
            .collect()
    }

    /// Items of a section whose title contains `title` (`/library/sections/{id}/all?title=`).
    pub fn search(&self, section_id: u32, title: &str) -> Result<Vec<Item>, PlexError> {
        let path = format!(
            "/library/sections/{section_id}/all?includeGuids=1&title={}",
            encode(title)
        );
        Ok(self.list(&path, section_id, None)?.items)
    }

    /// One GET, retried as the policy says, with the status mapped to a [`PlexError`].
    fn get(&self, path: &str, page: Option<(usize, usize)>) -> Result<Container, PlexError> {
        let what = match page {
            Some((_, 0)) => format!("GET {path} (count only)"),
            Some((start, size)) => format!("GET {path} (items {start}–{})", start + size - 1),
            None => format!("GET {path}"),
        };
        let started = Instant::now();
        let mut attempt = 1;
        loop {
            let error = match self.get_once(&what, path, page) {
                Ok(c) => {
                    if attempt == 1 {
                        self.time(path, page, &c, started.elapsed());
                    }
                    return Ok(c);
                }
                Err(e) => e,
            };
            let retryable = error.is_temporary() && attempt < self.retry.attempts;
            let wait = match &error {
                PlexError::RateLimited(_, Some(secs)) => {
                    Duration::from_secs(u64::from(*secs)).max(self.retry.backoff(attempt))
                }
                _ => self.retry.backoff(attempt),
            };
            if !retryable || started.elapsed() + wait > self.retry.budget {
                return Err(if attempt > 1 {
                    error.after_attempts(attempt)
                } else {
                    error
                });
            }
            tracing::info!(
                "{error}; trying again in {wait:.1?} (attempt {} of {})",
                attempt + 1,
                self.retry.attempts
            );
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    /// Records how long an answer of a kind that weighs a choice took (a listing page per
    /// item, only when full: the last page's items say little of a page's time).
    fn time(&self, path: &str, page: Option<(usize, usize)>, c: &Container, took: Duration) {
        let Some(kind) = timing::kind_of(path, page) else {
            return;
        };
        let took = match (kind, page) {
            (RequestKind::ListingItem, Some((_, size))) if c.metadata.len() == size => {
                took / size as u32
            }
            (RequestKind::ListingItem, _) => return,
            _ => took,
        };
        let mut times = self.times.lock().unwrap_or_else(|p| p.into_inner());
        times.record(kind, took);
    }

    /// How long the server took per kind of request, as measured so far by this client.
    pub fn request_times(&self) -> RequestTimes {
        *self.times.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get_once(
        &self,
        what: &str,
        path: &str,
        page: Option<(usize, usize)>,
    ) -> Result<Container, PlexError> {
        if self.offline {
            return Err(PlexError::Offline(format!(
                "{what} was not sent: --offline answers from the caches alone"
            )));
        }
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some((start, size)) = page {
            req = req
                .header("X-Plex-Container-Start", start)
                .header("X-Plex-Container-Size", size);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        THREAD_REQUESTS.with(|c| c.set(c.get() + 1));
        let resp = req
            .send()
            .map_err(|e| self.not_tls(transport_error(what, &e)))?;
        let resp = check_status(what, resp)?;
        let body = resp.bytes().map_err(|e| transport_error(what, &e))?;
        if body.is_empty() {
            return Ok(Container::default());
        }
        let env: Envelope = serde_json::from_slice(&body)
            .map_err(|e| PlexError::BadResponse(format!("{what}: {e}")))?;
        Ok(env.container)
    }
}

fn check_status(what: &str, resp: Response) -> Result<Response, PlexError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            PlexError::Unauthorized(format!("{what} answered HTTP {}", status.as_u16()))
        }
        StatusCode::NOT_FOUND => PlexError::NotFound(format!("{what} answered HTTP 404")),
        StatusCode::TOO_MANY_REQUESTS => PlexError::RateLimited(
            format!("{what} answered HTTP 429"),
            resp.headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
        ),
        s if s.is_server_error() => {
            PlexError::Unavailable(format!("{what} answered HTTP {}", s.as_u16()))
        }
        s => PlexError::BadResponse(format!("{what} answered HTTP {}", s.as_u16())),
    })
}

fn transport_error(what: &str, e: &reqwest::Error) -> PlexError {
    // The innermost cause says most ("Connection refused (os error 111)"); reqwest's own
    // message holds the URL, which carries no token (it travels as a header).
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if e.is_redirect() {
        PlexError::BadResponse(format!("{what}: {detail}"))
    } else if is_certificate_error(e) {
        PlexError::Certificate(format!("{what}: {detail}"))
    } else if e.is_timeout() {
        PlexError::Timeout(format!("{what}: {detail}"))
    } else if e.is_connect() {
        PlexError::Unavailable(format!(
            "{what}: {}: {detail}",
            super::error::CANNOT_CONNECT
        ))
    } else if e.is_body() || e.is_decode() {
        // The connection ended inside the answer: the server went away mid-way.
        PlexError::Unavailable(format!("{what}: the answer was cut short: {detail}"))
    } else {
        PlexError::Unavailable(format!("{what}: {detail}"))
    }
}

/// Adds the user's CA file to the trusted roots, or turns certificate checks off.
fn with_tls(
    builder: reqwest::ClientBuilder,
    tls: &TlsOptions,
) -> anyhow::Result<reqwest::ClientBuilder> {
    let mut builder = builder;
    if let Some(file) = &tls.ca_file {
        let pem = std::fs::read(file)
            .map_err(|e| anyhow::anyhow!("cannot read the CA file {}: {e}", file.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            anyhow::anyhow!(
                "the CA file {} is not PEM certificates: {e}",
                file.display()
            )
        })?;
        if certs.is_empty() {
            anyhow::bail!(
                "the CA file {} holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)",
                file.display()
            );
        }
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    if tls.insecure {
        builder = builder.danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// Whether a failed request failed on the server's certificate (not worth retrying: the
/// next attempt meets the same certificate).
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if text.contains("certificate") || text.contains("Certificate") {
            return true;
        }
        source = s.source();
    }
    false
}

/// Percent-encodes a query value or path segment with nothing kept but unreserved bytes.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
