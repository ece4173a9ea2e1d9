//! The server's address: a URL checked for the mistakes people make (no scheme, spaces,
//! Plex Web's address), and the origin a redirect may not leave (the token travels with
//! every request).

/// Redirects followed within the configured server before giving up.
pub(super) const MAX_REDIRECTS: usize = 5;

/// Scheme, host and port: what a redirect may not change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Origin(String, Option<String>, Option<u16>);

impl Origin {
    pub(super) fn of(url: &reqwest::Url) -> Origin {
        Origin(
            url.scheme().to_owned(),
            url.host_str().map(str::to_ascii_lowercase),
            url.port_or_known_default(),
        )
    }
}

/// A redirect to another server, refused so that the token stays home.
#[derive(Debug)]
pub(super) struct OffServerRedirect(pub(super) String);

impl std::fmt::Display for OffServerRedirect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server redirected to {}, another server; not followed, so that the token is sent nowhere else",
            self.0
        )
    }
}

impl std::error::Error for OffServerRedirect {}

/// The Plex server's base URL as `url` gives it, or what is wrong with it and the likely
/// fix: a URL without a scheme (`127.0.0.1:32400`), one with spaces around it, Plex
/// Web's address (`…/web/index.html`) instead of the server's.
pub fn server_url(url: &str) -> anyhow::Result<String> {
    // No URL holds spaces at its ends: a copied value often does.
    let url = url.trim();
    if url.is_empty() {
        anyhow::bail!("the Plex URL is empty; give the server's, e.g. http://192.168.1.10:32400");
    }
    if !url.contains("://") {
        anyhow::bail!(
            "the Plex URL {url:?} has no scheme: write http://{url} (or https://{url} for a server with TLS)"
        );
    }
    let parsed =
        reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("invalid Plex URL {url:?}: {e}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        anyhow::bail!("invalid Plex URL {url:?}: the scheme must be http or https");
    }
    let origin = match parsed.port() {
        Some(p) => format!(
            "{}://{}:{p}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default()
        ),
        None => format!(
            "{}://{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default()
        ),
    };
    let path = parsed.path();
    if path == "/web" || path.starts_with("/web/") {
        anyhow::bail!(
            "{url:?} is the address of Plex Web (the app in a browser), not of the server: use {origin}"
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        anyhow::bail!(
            "the Plex URL {url:?} has a query or a fragment; give the server's address alone, e.g. {origin}"
        );
    }
    Ok(url.trim_end_matches('/').to_owned())
}
