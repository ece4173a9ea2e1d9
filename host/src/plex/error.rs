//! Plex failures, classified by what a caller can do about them.

use std::fmt;

/// What the message of a connection that could not be made says.
pub const CANNOT_CONNECT: &str = "cannot connect";

/// A failed Plex request. Messages name the request (method and path), never the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlexError {
    /// HTTP 401/403: the token was refused.
    Unauthorized(String),
    /// HTTP 404: the item or section does not exist.
    NotFound(String),
    /// Connection refused or HTTP 5xx: temporary.
    Unavailable(String),
    /// No answer in time: temporary.
    Timeout(String),
    /// HTTP 429 (what was asked), with the seconds to wait if the server said.
    RateLimited(String, Option<u32>),
    /// An answer plexmatch cannot read.
    BadResponse(String),
    /// The server's TLS certificate was not accepted: retrying cannot help.
    Certificate(String),
    /// Nothing was sent: `--offline` answers from the caches alone.
    Offline(String),
}

impl PlexError {
    /// Whether retrying later may succeed (W17: 5xx and 429 are not permanent).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            PlexError::Unavailable(_) | PlexError::Timeout(_) | PlexError::RateLimited(..)
        )
    }

    /// Whether the server itself could not be reached or did not answer (as opposed to
    /// one request failing): every other request would fail the same way.
    pub fn is_unreachable(&self) -> bool {
        match self {
            PlexError::Timeout(_) | PlexError::Certificate(_) | PlexError::Offline(_) => true,
            PlexError::Unavailable(m) => m.contains(CANNOT_CONNECT),
            _ => false,
        }
    }

    /// The same error with a note appended in parentheses.
    pub fn noted(self, note: &str) -> PlexError {
        let add = |m: String| format!("{m} ({note})");
        match self {
            PlexError::Unauthorized(m) => PlexError::Unauthorized(add(m)),
            PlexError::NotFound(m) => PlexError::NotFound(add(m)),
            PlexError::Unavailable(m) => PlexError::Unavailable(add(m)),
            PlexError::Timeout(m) => PlexError::Timeout(add(m)),
            PlexError::RateLimited(m, s) => PlexError::RateLimited(add(m), s),
            PlexError::BadResponse(m) => PlexError::BadResponse(add(m)),
            PlexError::Certificate(m) => PlexError::Certificate(add(m)),
            PlexError::Offline(m) => PlexError::Offline(add(m)),
        }
    }

    /// The same error, saying how many tries it took.
    pub fn after_attempts(self, attempts: u32) -> PlexError {
        self.noted(&format!("after {attempts} attempts"))
    }
}

impl fmt::Display for PlexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlexError::Unauthorized(m) => write!(f, "Plex refused the token: {m}"),
            PlexError::NotFound(m) => write!(f, "not found on the Plex server: {m}"),
            PlexError::Unavailable(m) => write!(f, "Plex server unavailable: {m}"),
            PlexError::Timeout(m) => write!(f, "Plex server did not answer in time: {m}"),
            PlexError::RateLimited(m, Some(s)) => {
                write!(f, "Plex server asks to slow down (retry after {s} s): {m}")
            }
            PlexError::RateLimited(m, None) => write!(f, "Plex server asks to slow down: {m}"),
            PlexError::BadResponse(m) => write!(f, "unreadable answer from Plex: {m}"),
            PlexError::Certificate(m) => write!(f, "{CERTIFICATE}{m}{CERTIFICATE_HINT}"),
            PlexError::Offline(m) => write!(f, "{OFFLINE}{m}"),
        }
    }
}

impl std::error::Error for PlexError {}

/// How an offline refusal and a certificate error read, and what fixes the latter.
const OFFLINE: &str = "not in the caches: ";
const CERTIFICATE: &str = "the Plex server's TLS certificate was not accepted: ";
const CERTIFICATE_HINT: &str = ". A self-signed certificate, or a server reached by IP address: pass --ca-file FILE with its certificate (or set [plex] ca_file), or --insecure to skip the check; a Plex server's own certificate is for its https://<IP with dashes>.<id>.plex.direct:32400 name";

impl PlexError {
    /// The error an `unavailable` message stands for: an offline refusal or a certificate
    /// error handed to a plugin as their whole sentence (contract 0.1 has no such kinds)
    /// comes back as what it was; anything else is unavailable.
    pub fn from_unavailable(m: String) -> PlexError {
        if let Some(rest) = m.strip_prefix(OFFLINE) {
            return PlexError::Offline(rest.to_owned());
        }
        if let Some(rest) = m.strip_prefix(CERTIFICATE) {
            return PlexError::Certificate(
                rest.strip_suffix(CERTIFICATE_HINT)
                    .unwrap_or(rest)
                    .to_owned(),
            );
        }
        PlexError::Unavailable(m)
    }
}

#[cfg(test)]
mod tests {
    use super::PlexError;

    #[test]
    fn offline_and_certificate_errors_survive_a_trip_through_a_plugin() {
        for e in [
            PlexError::Offline("GET / was not sent".into()),
            PlexError::Certificate("GET /: invalid peer certificate".into()),
            PlexError::Unavailable("GET / answered HTTP 503".into()),
        ] {
            let sentence = match &e {
                PlexError::Unavailable(m) => m.clone(),
                other => other.to_string(),
            };
            assert_eq!(PlexError::from_unavailable(sentence), e);
        }
    }
}
