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
            PlexError::Timeout(_) => true,
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
        }
    }
}

impl std::error::Error for PlexError {}
