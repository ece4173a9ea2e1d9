//! A small HTTP/1.1 server on 127.0.0.1, written for the emulator so that it controls
//! every byte and every socket: faults need a response cut short and its connection
//! closed, a connection closed without an answer, a body sent a few bytes at a time,
//! and a listener that goes away (connections refused) and comes back on the same port.
//!
//! It serves GET and HEAD with keep-alive, one thread per connection (loopback clients
//! are few), and sets TCP_NODELAY: without it, a response written in parts waits for the
//! client's delayed ACK (40 ms per request on a kept-alive connection).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Result, anyhow};

/// A request's method, target and headers.
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// The value of a header (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A complete answer.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How to send an answer.
#[cfg_attr(not(feature = "faults"), allow(dead_code))]
pub enum Delivery {
    /// All of it.
    Whole(Response),
    /// The head and the first `bytes` of the body (the head announces all of it), then
    /// the connection is closed.
    CutShort(Response, usize),
    /// All of it, `chunk` bytes at a time, `every` apart.
    Drip(Response, usize, Duration),
    /// Nothing: the connection is closed.
    Hangup,
}

/// Decides how to answer a request.
pub type Handler = dyn Fn(&Request) -> Delivery + Send + Sync;

struct State {
    stopping: AtomicBool,
    /// Whether the listener is closed for now (connections are refused).
    paused: Mutex<bool>,
    resumed: Condvar,
}

/// A running server; it stops when dropped.
pub struct Server {
    addr: SocketAddr,
    state: Arc<State>,
    acceptor: Option<JoinHandle<()>>,
}

/// How often idle connections look up from their socket to see whether to stop.
const POLL: Duration = Duration::from_millis(100);

impl Server {
    /// Listens on 127.0.0.1:`port` (0: any free port) and answers with `handler`.
    pub fn start(port: u16, handler: Arc<Handler>) -> Result<Server> {
        let listener = listen(port)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            stopping: AtomicBool::new(false),
            paused: Mutex::new(false),
            resumed: Condvar::new(),
        });
        let acceptor = {
            let state = Arc::clone(&state);
            std::thread::Builder::new()
                .name("emulator-accept".into())
                .spawn(move || accept_loop(listener, addr, state, handler))?
        };
        Ok(Server {
            addr,
            state,
            acceptor: Some(acceptor),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Closes the listener (new connections are refused, open ones are closed at their
    /// next request), or opens it again on the same port.
    pub fn set_refusing(&self, refusing: bool) {
        *self.state.paused.lock().expect("pause lock") = refusing;
        self.state.resumed.notify_all();
        if refusing {
            // Wake the acceptor so that it drops the listener now.
            let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.state.stopping.store(true, Ordering::SeqCst);
        self.set_refusing(false);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

fn listen(port: u16) -> Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_tcp_nodelay(true)?;
    socket
        .bind(&addr.into())
        .map_err(|e| anyhow!("cannot listen on {addr}: {e}"))?;
    socket.listen(128)?;
    Ok(socket.into())
}

fn accept_loop(
    mut listener: TcpListener,
    addr: SocketAddr,
    state: Arc<State>,
    handler: Arc<Handler>,
) {
    loop {
        let accepted = listener.accept();
        if state.stopping.load(Ordering::SeqCst) {
            return;
        }
        if *state.paused.lock().expect("pause lock") {
            drop(listener);
            let mut paused = state.paused.lock().expect("pause lock");
            while *paused && !state.stopping.load(Ordering::SeqCst) {
                paused = state.resumed.wait(paused).expect("pause lock");
            }
            drop(paused);
            if state.stopping.load(Ordering::SeqCst) {
                return;
            }
            listener = match listen(addr.port()) {
                Ok(l) => l,
                Err(_) => return,
            };
            continue;
        }
        let Ok((stream, _)) = accepted else { continue };
        let (state, handler) = (Arc::clone(&state), Arc::clone(&handler));
        let _ = std::thread::Builder::new()
            .name("emulator-conn".into())
            .spawn(move || serve(stream, &state, &*handler));
    }
}

/// Serves one connection until the client closes it, asks to, or the server stops.
fn serve(stream: TcpStream, state: &State, handler: &Handler) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(POLL));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader, state) {
        if *state.paused.lock().expect("pause lock") {
            break;
        }
        let close = request
            .header("Connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let head_only = request.method.eq_ignore_ascii_case("HEAD");
        let keep = match handler(&request) {
            Delivery::Whole(r) => write_all(
                &mut writer,
                &r,
                if head_only { 0 } else { r.body.len() },
                None,
            ),
            Delivery::Drip(r, chunk, every) => {
                write_all(&mut writer, &r, r.body.len(), Some((chunk.max(1), every)))
            }
            Delivery::CutShort(r, bytes) => {
                let _ = write_all(&mut writer, &r, bytes.min(r.body.len()), None);
                false
            }
            Delivery::Hangup => false,
        };
        if close || !keep {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
}

/// Reads one request head; `None` when the connection ends (or the server stops).
fn read_request(reader: &mut BufReader<TcpStream>, state: &State) -> Option<Request> {
    let mut head: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut total = 0usize;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return None,
            Ok(n) => {
                total += n;
                if total > 64 << 10 {
                    return None;
                }
                let l = line.trim_end_matches(['\r', '\n']);
                if l.is_empty() {
                    if head.is_empty() {
                        continue; // stray CRLF between requests
                    }
                    break;
                }
                head.push(l.to_owned());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if state.stopping.load(Ordering::SeqCst)
                    || (*state.paused.lock().expect("pause lock") && head.is_empty())
                {
                    return None;
                }
            }
            Err(_) => return None,
        }
    }
    let mut parts = head[0].split_whitespace();
    let (method, target) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let headers = head[1..]
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    // GET and HEAD carry no body; a body announced anyway is read and dropped.
    let request = Request {
        method,
        target,
        headers,
    };
    if let Some(n) = request
        .header("Content-Length")
        .and_then(|v| v.parse::<u64>().ok())
    {
        let _ = std::io::copy(&mut reader.by_ref().take(n), &mut std::io::sink());
    }
    Some(request)
}

/// Writes the head and `body_bytes` of the body; whether the connection can be reused.
fn write_all(
    w: &mut TcpStream,
    r: &Response,
    body_bytes: usize,
    drip: Option<(usize, Duration)>,
) -> bool {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\n",
        r.status,
        reason(r.status),
        r.body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let body = &r.body[..body_bytes];
    let written = match drip {
        None => {
            let mut all = head.into_bytes();
            all.extend_from_slice(body);
            w.write_all(&all)
        }
        Some((chunk, every)) => w.write_all(head.as_bytes()).and_then(|_| {
            for piece in body.chunks(chunk) {
                std::thread::sleep(every);
                w.write_all(piece)?;
            }
            Ok(())
        }),
    };
    written.and_then(|_| w.flush()).is_ok()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// An HTML answer with `status`, as Plex sends its error pages.
pub(crate) fn html(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![
            ("Content-Type".into(), "text/html".into()),
            ("X-Plex-Protocol".into(), "1.0".into()),
            ("Cache-Control".into(), "no-cache".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}
