//! The HTTP side: routing, token check, content negotiation, paging and counting.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::Result;

use crate::document::Element;
#[cfg(feature = "faults")]
use crate::faults::{Fault, Faults};
use crate::http::{Delivery, Request, Response, Server, html};
use crate::library::{Change, Entry, EntryKind, Library, LibraryFile};
use crate::responses::{self, Page};

mod query;
use query::*;

/// How to start an emulator.
#[derive(Debug, Clone)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The token clients must send.
    pub token: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            port: 0,
            token: "plexmatch-emulator-token".into(),
        }
    }
}

/// Requests served, in total and by endpoint.
#[derive(Default)]
struct Counters {
    total: AtomicU64,
    by_endpoint: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    fn count(&self, endpoint: &'static str) {
        self.total.fetch_add(1, Ordering::SeqCst);
        *self
            .by_endpoint
            .lock()
            .expect("counter lock")
            .entry(endpoint)
            .or_default() += 1;
    }
}

struct Shared {
    library: RwLock<Library>,
    token: String,
    counters: Counters,
    /// Milliseconds every page of a section listing waits before it is answered.
    listing_delay_ms: AtomicU64,
    /// Milliseconds a file look-up waits; `u64::MAX`: as long as a listing page.
    lookup_delay_ms: AtomicU64,
    /// Whether `addedAt`/`updatedAt` filters are ignored (as a server that does not know
    /// them would), answering the whole listing.
    ignore_filters: std::sync::atomic::AtomicBool,
    /// How a `file=` filter is answered (see [`FileFilter`]), as a number.
    file_filter: std::sync::atomic::AtomicU8,
    #[cfg(feature = "faults")]
    faults: Faults,
}

/// How the server answers a listing filtered by `file=` (finding items by their file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFilter {
    /// As Plex does: `file=NAME` holds the items with a file whose path contains NAME
    /// (ASCII letters in either case, other characters exactly, as SQLite's LIKE),
    /// `file==PATH` those with a file of exactly that path; HTTP 500 without `type`.
    Honoured,
    /// A server that does not know the filter: the whole listing.
    Ignored,
    /// A server that refuses it: HTTP 500.
    Refused,
}

/// A running emulator; it stops when dropped.
pub struct Emulator {
    url: String,
    shared: Arc<Shared>,
    server: Server,
}

impl Emulator {
    /// Starts serving `library` on 127.0.0.1.
    pub fn start(library: &LibraryFile, options: Options) -> Result<Emulator> {
        let library = Library::build(library)?;
        let shared = Arc::new(Shared {
            library: RwLock::new(library),
            token: options.token,
            counters: Counters::default(),
            listing_delay_ms: AtomicU64::new(0),
            lookup_delay_ms: AtomicU64::new(u64::MAX),
            ignore_filters: std::sync::atomic::AtomicBool::new(false),
            file_filter: std::sync::atomic::AtomicU8::new(0),
            #[cfg(feature = "faults")]
            faults: Faults::default(),
        });
        let handler = {
            let shared = Arc::clone(&shared);
            Arc::new(move |req: &Request| handle(&shared, req))
        };
        let server = Server::start(options.port, handler)?;
        Ok(Emulator {
            url: format!("http://127.0.0.1:{}", server.port()),
            shared,
            server,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:32400`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's `machineIdentifier`.
    pub fn machine_id(&self) -> String {
        self.shared
            .library
            .read()
            .expect("library lock")
            .machine_id
            .clone()
    }

    /// The token clients must send.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Requests served so far (every request, including refused ones).
    pub fn requests(&self) -> u64 {
        self.shared.counters.total.load(Ordering::SeqCst)
    }

    /// Requests served so far to one endpoint: `root`, `identity`, `library`, `sections`,
    /// `listing` (`/all` without `title`), `search` (`/all?title=`), `file-lookup`
    /// (`/all?file=`), `metadata`,
    /// `children`, `unauthorized`, `not-found`.
    pub fn requests_to(&self, endpoint: &str) -> u64 {
        self.shared
            .counters
            .by_endpoint
            .lock()
            .expect("counter lock")
            .get(endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Replaces the served library (as when the server rescans), keeping the counters.
    /// Items whose rating key, title, files and section are unchanged keep their times;
    /// changed and new ones are stamped now.
    pub fn set_library(&self, library: &LibraryFile) -> Result<()> {
        let mut built = Library::build(library)?;
        let mut served = self.shared.library.write().expect("library lock");
        // A rescan changes the library, not which server it is.
        if library.machine_id.is_none() {
            built.machine_id = served.machine_id.clone();
        }
        built.carry_times(&served, unix_now());
        *served = built;
        Ok(())
    }

    /// Changes the served library as a rescan that found `change` would (its `updatedAt`
    /// set to now); returns the rating key of the item added or changed.
    pub fn change(&self, change: &Change) -> Result<u64> {
        self.shared
            .library
            .write()
            .expect("library lock")
            .apply(change, unix_now())
    }

    /// The rating keys of a section's movies or episodes, in listing order.
    pub fn leaf_keys(&self, section: u32) -> Vec<u64> {
        let lib = self.shared.library.read().expect("library lock");
        let Some(s) = lib.section(section) else {
            return Vec::new();
        };
        let kind = match s.kind {
            crate::SectionType::Movie => EntryKind::Movie,
            crate::SectionType::Show => EntryKind::Episode,
        };
        lib.entries_of(s, kind)
            .iter()
            .map(|e| e.rating_key)
            .collect()
    }

    /// Makes the server ignore `addedAt`/`updatedAt` filters (answering every item), as
    /// an older or different server might.
    pub fn set_ignore_filters(&self, ignore: bool) {
        self.shared.ignore_filters.store(ignore, Ordering::SeqCst);
    }

    /// How `file=` filters are answered from now on.
    pub fn set_file_filter(&self, how: FileFilter) {
        let n = match how {
            FileFilter::Honoured => 0,
            FileFilter::Ignored => 1,
            FileFilter::Refused => 2,
        };
        self.shared.file_filter.store(n, Ordering::SeqCst);
    }

    /// Makes every page of a section listing wait `delay` before it is answered (as a
    /// large or busy server does), so tests can act while a refresh is under way.
    pub fn set_listing_delay(&self, delay: std::time::Duration) {
        self.shared
            .listing_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Makes every file look-up wait `delay` before it is answered, apart from listing
    /// pages (a real server answers a look-up in a fraction of a page's time). Until it is
    /// set, a look-up waits as a page does.
    pub fn set_lookup_delay(&self, delay: std::time::Duration) {
        self.shared
            .lookup_delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    #[cfg(feature = "faults")]
    /// Makes the next `times` requests fail with `fault` (after faults already queued).
    pub fn inject(&self, fault: Fault, times: usize) {
        self.shared.faults.inject(fault, times);
    }

    #[cfg(feature = "faults")]
    /// Makes the next `times` requests to `endpoint` (as [`Emulator::requests_to`] names
    /// them) fail with `fault`; other requests are served normally.
    pub fn inject_on(&self, endpoint: &'static str, fault: Fault, times: usize) {
        self.shared.faults.inject_on(endpoint, fault, times);
    }

    #[cfg(feature = "faults")]
    /// Forgets the faults not yet applied.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Closes the listening socket (connections are refused, open ones closed), or opens
    /// it again on the same port: a server that is down, then back.
    pub fn refuse_connections(&self, refusing: bool) {
        self.server.set_refusing(refusing);
    }

    /// Serves until the process ends.
    pub fn serve_forever(self) {
        loop {
            std::thread::park();
        }
    }
}

/// A parsed request: path, query and the headers that matter.
struct Incoming {
    path: String,
    query: Vec<(String, String)>,
    json: bool,
    token: Option<String>,
    start: Option<usize>,
    size: Option<usize>,
}

impl Incoming {
    fn parse(req: &Request) -> Incoming {
        let url = req.target.as_str();
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let query: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        let header = |name: &str| req.header(name).map(str::to_owned);
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let either = |name: &str| header(name).or_else(|| param(name));
        let json = header("Accept").is_some_and(|a| a.contains("application/json"));
        let token = either("X-Plex-Token");
        let start = either("X-Plex-Container-Start").and_then(|v| v.trim().parse().ok());
        let size = either("X-Plex-Container-Size").and_then(|v| v.trim().parse().ok());
        Incoming {
            path: path.trim_end_matches('/').to_owned(),
            query,
            json,
            token,
            start,
            size,
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the router decided to send.
enum Reply {
    Doc(Element, Option<Page>),
    Unauthorized,
    NotFound,
    BadRequest(String),
    ServerError(String),
}

/// The emulator's own endpoint (not Plex's, not counted): requests served so far, as
/// JSON, for benchmarks that run the emulator in another process.
pub const COUNTERS_PATH: &str = "/_emulator/requests";

fn handle(shared: &Shared, request: &Request) -> Delivery {
    let incoming = Incoming::parse(request);
    if incoming.path == COUNTERS_PATH && incoming.token.as_deref() == Some(shared.token.as_str()) {
        let by_endpoint = shared
            .counters
            .by_endpoint
            .lock()
            .expect("counter lock")
            .clone();
        let body = serde_json::json!({"total": shared.counters.total.load(Ordering::SeqCst), "by_endpoint": by_endpoint});
        return Delivery::Whole(Response {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        });
    }
    let (endpoint, reply) = route(shared, &incoming);
    shared.counters.count(endpoint);
    let page = shared.listing_delay_ms.load(Ordering::SeqCst);
    // A file look-up is a filtered listing for the server: it waits as a page does,
    // unless told otherwise.
    let delay = match (endpoint, shared.lookup_delay_ms.load(Ordering::SeqCst)) {
        ("listing", _) | ("file-lookup", u64::MAX) => page,
        ("file-lookup", own) => own,
        _ => 0,
    };
    if delay > 0 {
        std::thread::sleep(std::time::Duration::from_millis(delay));
    }
    #[cfg(feature = "faults")]
    let fault = shared.faults.next(endpoint);
    let response = match reply {
        Reply::Unauthorized => html(401, responses::UNAUTHORIZED_HTML),
        Reply::NotFound => html(404, responses::NOT_FOUND_HTML),
        Reply::BadRequest(why) => html(
            400,
            &format!(
                "<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1><p>{why}</p></body></html>"
            ),
        ),
        Reply::ServerError(why) => html(
            500,
            &format!(
                "<html><head><title>Internal Server Error</title></head><body><h1>500 Internal Server Error</h1><p>{why}</p></body></html>"
            ),
        ),
        Reply::Doc(doc, page) => {
            #[cfg(feature = "faults")]
            let doc = {
                let mut doc = doc;
                if let Some(f) = fault.as_ref().filter(|f| f.is_in_body()) {
                    crate::faults::spoil(&mut doc, f);
                }
                doc
            };
            let (body, ctype) = if incoming.json {
                (doc.to_json(), "application/json")
            } else {
                (doc.to_xml(), "text/xml;charset=utf-8")
            };
            let mut headers = vec![
                ("Content-Type".to_owned(), ctype.to_owned()),
                ("X-Plex-Protocol".to_owned(), "1.0".to_owned()),
            ];
            if let Some(p) = page.filter(|p| p.paged) {
                headers.push(("X-Plex-Container-Start".into(), p.offset.to_string()));
                headers.push(("X-Plex-Container-Total-Size".into(), p.total.to_string()));
            }
            Response {
                status: 200,
                headers,
                body: body.into_bytes(),
            }
        }
    };
    #[cfg(feature = "faults")]
    return crate::faults::deliver(fault, response);
    #[cfg(not(feature = "faults"))]
    Delivery::Whole(response)
}

fn route(shared: &Shared, req: &Incoming) -> (&'static str, Reply) {
    if req.path == "/identity" {
        let lib = shared.library.read().expect("library lock");
        return ("identity", Reply::Doc(responses::identity(&lib), None));
    }
    if req.token.as_deref() != Some(shared.token.as_str()) {
        return ("unauthorized", Reply::Unauthorized);
    }
    let lib = shared.library.read().expect("library lock");
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    // Listings carry each item's external ids (`Guid[]`) only when asked, as Plex's do.
    let guids = req.param("includeGuids") == Some("1");
    match segments.as_slice() {
        [] => ("root", Reply::Doc(responses::root(&lib), None)),
        ["library"] => ("library", Reply::Doc(responses::library_root(), None)),
        ["library", "sections"] => ("sections", Reply::Doc(responses::sections(&lib), None)),
        ["library", "sections", id, "all"] => {
            let Some(section) = id.parse().ok().and_then(|id| lib.section(id)) else {
                return ("not-found", Reply::NotFound);
            };
            let file = req.param("file");
            // A real server answers a `file` filter without `type` with HTTP 500.
            if file.is_some() && req.param("type").is_none() {
                return ("file-lookup", Reply::ServerError("no type".into()));
            }
            let default_kind = match section.kind {
                crate::SectionType::Movie => EntryKind::Movie,
                crate::SectionType::Show => EntryKind::Show,
            };
            let kind = match req.param("type").map(str::parse::<u32>) {
                None => default_kind,
                Some(Ok(n)) => match EntryKind::ALL.into_iter().find(|k| k.type_number() == n) {
                    Some(k) => k,
                    // A type this emulator never holds (albums, photos...): an empty answer.
                    None => {
                        return (
                            "listing",
                            Reply::Doc(
                                responses::entries(&lib, Some(section), &[], None, false),
                                None,
                            ),
                        );
                    }
                },
                Some(Err(_)) => {
                    return (
                        "listing",
                        Reply::Doc(
                            responses::entries(&lib, Some(section), &[], None, false),
                            None,
                        ),
                    );
                }
            };
            let mut items = lib.entries_of(section, kind);
            if !shared.ignore_filters.load(Ordering::SeqCst) {
                match time_filters(&req.query) {
                    Ok(filters) => items.retain(|e| filters.iter().all(|f| f.admits(e))),
                    Err(why) => return ("bad-request", Reply::BadRequest(why)),
                }
            }
            let endpoint = match (req.param("title"), file) {
                (Some(t), _) => {
                    items.retain(|e| title_matches(&e.title, t));
                    "search"
                }
                (None, Some(f)) => match shared.file_filter.load(Ordering::SeqCst) {
                    0 => {
                        items.retain(|e| e.media.iter().flatten().any(|p| file_matches(p, f)));
                        "file-lookup"
                    }
                    1 => "file-lookup",
                    _ => return ("file-lookup", Reply::ServerError("file".into())),
                },
                (None, None) => "listing",
            };
            let (window, page) = paginate(&items, req);
            (
                endpoint,
                Reply::Doc(
                    responses::entries(&lib, Some(section), window, Some(&page), guids),
                    Some(page),
                ),
            )
        }
        ["library", "metadata", ids] => {
            let found: Vec<&Entry> = ids
                .split(',')
                .filter_map(|k| k.parse::<u64>().ok())
                .filter_map(|k| lib.entries.get(&k))
                .collect();
            if found.is_empty() {
                return ("not-found", Reply::NotFound);
            }
            let section = Some(&lib.sections[found[0].section]);
            (
                "metadata",
                Reply::Doc(responses::entries(&lib, section, &found, None, true), None),
            )
        }
        ["library", "metadata", id, "children"] => {
            let Some(parent) = id.parse::<u64>().ok().and_then(|k| lib.entries.get(&k)) else {
                return ("not-found", Reply::NotFound);
            };
            let children: Vec<&Entry> = parent.children.iter().map(|k| &lib.entries[k]).collect();
            let (window, page) = paginate(&children, req);
            let section = Some(&lib.sections[parent.section]);
            (
                "children",
                Reply::Doc(
                    responses::entries(&lib, section, window, Some(&page), guids),
                    Some(page),
                ),
            )
        }
        _ => ("not-found", Reply::NotFound),
    }
}

/// The server's clock, in Unix seconds.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn paginate<'a, 'b>(items: &'b [&'a Entry], req: &Incoming) -> (&'b [&'a Entry], Page) {
    let total = items.len();
    match req.size {
        None => (
            items,
            Page {
                offset: 0,
                total,
                paged: false,
            },
        ),
        Some(size) => {
            let start = req.start.unwrap_or(0).min(total);
            let end = start.saturating_add(size).min(total);
            (
                &items[start..end],
                Page {
                    offset: start,
                    total,
                    paged: true,
                },
            )
        }
    }
}
