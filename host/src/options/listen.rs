//! Where a service listens (`serve.listen`): a TCP address, or a unix socket.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A place to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `ADDR:PORT` (`127.0.0.1:32499`, `[::1]:32499`, `0.0.0.0:32499`).
    Tcp(SocketAddr),
    /// `unix:PATH`: a socket file only its owner may use.
    Unix(PathBuf),
}

impl Listen {
    /// Reads `ADDR:PORT` or `unix:PATH`, saying what is wrong otherwise.
    pub fn parse(text: &str) -> Result<Listen, String> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs the socket's path, e.g. unix:/run/plexmatch.sock".into());
            }
            return Ok(Listen::Unix(PathBuf::from(path)));
        }
        text.parse::<SocketAddr>().map(Listen::Tcp).map_err(|_| {
            format!(
                "must be ADDR:PORT (e.g. 127.0.0.1:32499) or unix:PATH, not {text:?} (a host name is not resolved: give an IP address)"
            )
        })
    }

    /// Whether only this machine can reach it: a loopback address or a unix socket.
    pub fn is_local(&self) -> bool {
        match self {
            Listen::Tcp(a) => a.ip().is_loopback(),
            Listen::Unix(_) => true,
        }
    }
}

impl std::fmt::Display for Listen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Listen::Tcp(a) => write!(f, "http://{a}"),
            Listen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_sockets_read_and_say_whether_they_are_local() {
        assert!(Listen::parse("127.0.0.1:32499").unwrap().is_local());
        assert!(Listen::parse("[::1]:1").unwrap().is_local());
        assert!(!Listen::parse("0.0.0.0:32499").unwrap().is_local());
        assert_eq!(
            Listen::parse("unix:/tmp/p.sock").unwrap(),
            Listen::Unix("/tmp/p.sock".into())
        );
        assert!(
            Listen::parse("localhost:80")
                .unwrap_err()
                .contains("IP address")
        );
        assert!(Listen::parse("unix:").is_err());
    }
}
