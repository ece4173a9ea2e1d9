//! TLS for real servers: a self-signed certificate (made by rcgen) on a loopback TLS
//! proxy in front of the emulator. Without being told, plexmatch refuses the certificate
//! once (no retries) and says which option fixes it; `--ca-file`, `[plex] ca_file`,
//! `--insecure` and `[plex] verify_tls = false` each reach the server.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::{Fixture, plexmatch};

/// A TLS proxy on 127.0.0.1 forwarding to `target`; counts the connections it accepts.
struct TlsProxy {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    cert_pem: String,
    _runtime: tokio::runtime::Runtime,
}

impl TlsProxy {
    fn start(target: SocketAddr) -> TlsProxy {
        let key = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("certificate");
        let cert_pem = key.cert.pem();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(key.cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.signing_key.serialize_der())),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&connections);
        runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsProxy {
            addr,
            connections,
            cert_pem,
            _runtime: runtime,
        }
    }

    fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.addr.port())
    }
}

fn emulator_addr(fx: &Fixture) -> SocketAddr {
    fx.emulator
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("emulator address")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn a_self_signed_server_is_refused_once_with_the_options_that_fix_it() {
    let fx = Fixture::sample();
    let proxy = TlsProxy::start(emulator_addr(&fx));
    let out = plexmatch(&fx, &["sections"])
        .env("PLEX_URL", proxy.url("127.0.0.1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("certificate"), "{err}");
    assert!(
        err.contains("--ca-file") && err.contains("--insecure"),
        "{err}"
    );
    assert!(
        !err.contains("attempts"),
        "a certificate error was retried: {err}"
    );
    assert_eq!(
        proxy.connections.load(Ordering::SeqCst),
        1,
        "a certificate error was retried"
    );
    assert!(!err.contains(fx.emulator.token()));
}

#[test]
fn a_ca_file_from_the_flag_or_the_config_file_is_trusted() {
    let fx = Fixture::sample();
    let proxy = TlsProxy::start(emulator_addr(&fx));
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("server.pem");
    std::fs::write(&pem, &proxy.cert_pem).unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let out = plexmatch(&fx, &["sections", "--ca-file", pem.to_str().unwrap()])
            .env("PLEX_URL", proxy.url(host))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{host}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("Movies"),
            "{}",
            text(&out.stdout)
        );
    }
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[plex]\nca_file = {:?}\n", pem.to_str().unwrap()),
    )
    .unwrap();
    let out = plexmatch(&fx, &["match", "--json", "/stash/movies/Dune (2021).mkv"])
        .env("PLEX_URL", proxy.url("127.0.0.1"))
        .env("PLEXMATCH_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"outcome\":\"low\""));

    // A file that holds no certificate is a usage error naming it.
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let out = plexmatch(&fx, &["sections", "--ca-file", bad.to_str().unwrap()])
        .env("PLEX_URL", proxy.url("127.0.0.1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.pem"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn insecure_skips_the_check_with_a_warning() {
    let fx = Fixture::sample();
    let proxy = TlsProxy::start(emulator_addr(&fx));
    let out = plexmatch(&fx, &["sections", "--insecure"])
        .env("PLEX_URL", proxy.url("127.0.0.1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning: --insecure"));

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[plex]\nverify_tls = false\n").unwrap();
    let out = plexmatch(&fx, &["sections"])
        .env("PLEX_URL", proxy.url("127.0.0.1"))
        .env("PLEXMATCH_CONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("warning: --insecure"));
}
