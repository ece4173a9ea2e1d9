//! Failures the emulator can be told to produce, so that every failure path of a client
//! is tested for real on loopback: each injected fault applies to the next requests
//! (of any Plex endpoint, or of one), in the order they were injected.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use crate::document::Element;
use crate::http::html;
use crate::http::{Delivery, Response};

/// One way of failing a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this HTTP status instead (with `Retry-After: seconds`, for 429).
    Status { code: u16, retry_after: Option<u32> },
    /// Wait this long before answering.
    Delay(Duration),
    /// Send the answer `chunk` bytes at a time, `every` apart.
    Drip { chunk: usize, every: Duration },
    /// Send the head (announcing the whole body) and half the body, then close.
    CutShort,
    /// Close the connection without answering.
    Hangup,
    /// Answer 200 with a body that is not a valid document.
    Malformed,
    /// Leave out this many items of the page while `size` and `totalSize` stay as they were
    /// (a server or proxy that drops entries).
    DropItems(usize),
    /// Leave out the container's `totalSize`.
    NoTotalSize,
    /// Send `totalSize` as a word instead of a number.
    TotalSizeNotANumber,
    /// Send `totalSize` off by this many items.
    TotalSizeOff(i64),
    /// Spoil the first item of the answer.
    BadItem(BadItem),
    /// Answer an empty container (`size` and `totalSize` 0).
    Empty,
    /// Send the section list with a section whose `key` is not a number.
    BadSectionKey,
    /// Answer `302 Found` with this `Location`.
    Redirect(String),
}

/// How an item is spoiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadItem {
    /// No `ratingKey`.
    NoRatingKey,
    /// `ratingKey` is an object (`{}` in JSON).
    RatingKeyObject,
    /// No `Media` (so no file) on a movie or an episode.
    NoMedia,
    /// Every `Part`'s `file` a number (`7` in JSON) instead of a path.
    FileNumber,
    /// Every `Part`'s `file` a bare file name, not an absolute path.
    FileRelative,
}

impl Fault {
    /// Answer with HTTP `code` (no `Retry-After`).
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            code,
            retry_after: None,
        }
    }

    /// Whether the fault changes the document rather than how it is delivered.
    pub fn is_in_body(&self) -> bool {
        matches!(
            self,
            Fault::DropItems(_)
                | Fault::NoTotalSize
                | Fault::TotalSizeNotANumber
                | Fault::TotalSizeOff(_)
                | Fault::BadItem(_)
                | Fault::Empty
                | Fault::BadSectionKey
        )
    }
}

/// A fault waiting for requests: how many more it applies to, and to which endpoint
/// (`None`: any).
struct Pending {
    fault: Fault,
    left: usize,
    endpoint: Option<&'static str>,
}

/// Faults waiting for requests.
#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<Pending>>,
}

impl Faults {
    /// Applies `fault` to the next `times` requests (after those already queued).
    pub fn inject(&self, fault: Fault, times: usize) {
        self.push(fault, times, None);
    }

    /// Applies `fault` to the next `times` requests to `endpoint` (as the request counters
    /// name endpoints: `listing`, `search`, `sections`, `metadata`, ...).
    pub fn inject_on(&self, endpoint: &'static str, fault: Fault, times: usize) {
        self.push(fault, times, Some(endpoint));
    }

    fn push(&self, fault: Fault, left: usize, endpoint: Option<&'static str>) {
        if left > 0 {
            self.queue.lock().expect("faults lock").push_back(Pending {
                fault,
                left,
                endpoint,
            });
        }
    }

    /// The fault for a request to `endpoint`, if one is due.
    pub fn next(&self, endpoint: &str) -> Option<Fault> {
        let mut q = self.queue.lock().expect("faults lock");
        let at = q
            .iter()
            .position(|p| p.endpoint.is_none_or(|e| e == endpoint))?;
        let pending = &mut q[at];
        let fault = pending.fault.clone();
        pending.left -= 1;
        if pending.left == 0 {
            q.remove(at);
        }
        Some(fault)
    }

    /// Forgets every fault not yet applied.
    pub fn clear(&self) {
        self.queue.lock().expect("faults lock").clear();
    }
}

/// The delivery of `response` under `fault` (a fault in the body was applied already).
pub(crate) fn deliver(fault: Option<Fault>, response: Response) -> Delivery {
    match fault {
        None => Delivery::Whole(response),
        Some(f) if f.is_in_body() => Delivery::Whole(response),
        Some(Fault::Status { code, retry_after }) => {
            let mut r = html(
                code,
                &format!(
                    "<html><head><title>{code}</title></head><body><h1>{code}</h1></body></html>"
                ),
            );
            if let Some(s) = retry_after {
                r.headers.push(("Retry-After".into(), s.to_string()));
            }
            Delivery::Whole(r)
        }
        Some(Fault::Redirect(location)) => {
            let mut r = html(302, "<html><body>Found</body></html>");
            r.headers.push(("Location".into(), location));
            Delivery::Whole(r)
        }
        Some(Fault::Delay(d)) => {
            std::thread::sleep(d);
            Delivery::Whole(response)
        }
        Some(Fault::Drip { chunk, every }) => Delivery::Drip(response, chunk, every),
        Some(Fault::CutShort) => {
            let half = response.body.len() / 2;
            Delivery::CutShort(response, half)
        }
        Some(Fault::Hangup) => Delivery::Hangup,
        Some(Fault::Malformed) => {
            let mut r = response;
            let cut = r.body.len() / 3;
            r.body.truncate(cut);
            r.body.extend_from_slice(b"\x00<<not a MediaContainer");
            Delivery::Whole(r)
        }
        Some(_) => unreachable!("body faults are applied above"),
    }
}

/// Applies a fault that changes the document itself.
pub(crate) fn spoil(doc: &mut Element, fault: &Fault) {
    use crate::document::Value;
    use crate::faults::BadItem;
    let set = |doc: &mut Element, name: &'static str, value: Option<Value>| {
        doc.attrs.retain(|(n, _)| *n != name);
        if let Some(v) = value {
            doc.attrs.push((name, v));
        }
    };
    let total = doc.attrs.iter().find_map(|(n, v)| match (n, v) {
        (&"totalSize", Value::UInt(t)) => Some(*t as i64),
        _ => None,
    });
    match fault {
        Fault::DropItems(n) => {
            let keep = doc.children.len().saturating_sub(*n);
            doc.children.truncate(keep);
        }
        Fault::NoTotalSize => set(doc, "totalSize", None),
        Fault::TotalSizeNotANumber => set(doc, "totalSize", Some(Value::Str("many".into()))),
        Fault::TotalSizeOff(by) => {
            let t = total.unwrap_or(doc.children.len() as i64);
            set(doc, "totalSize", Some(Value::Int(t + by)));
        }
        Fault::Empty => {
            doc.children.clear();
            set(doc, "size", Some(Value::UInt(0)));
            if total.is_some() {
                set(doc, "totalSize", Some(Value::UInt(0)));
            }
        }
        Fault::BadItem(how) => {
            if let Some(item) = doc.children.first_mut() {
                match how {
                    BadItem::NoRatingKey => item.attrs.retain(|(n, _)| *n != "ratingKey"),
                    BadItem::RatingKeyObject => {
                        item.attrs.retain(|(n, _)| *n != "ratingKey");
                        item.attrs.push(("ratingKey", Value::RawJson("{}".into())));
                    }
                    BadItem::NoMedia => item.children.retain(|c| c.tag != "Media"),
                    BadItem::FileNumber | BadItem::FileRelative => {
                        for part in item.children.iter_mut().flat_map(|m| m.children.iter_mut()) {
                            let file = part.attrs.iter_mut().find(|(n, _)| *n == "file");
                            if let Some((_, value)) = file {
                                *value = match (how, &value) {
                                    (BadItem::FileNumber, _) => Value::RawJson("7".into()),
                                    (_, Value::Str(path)) => Value::Str(
                                        path.rsplit('/').next().unwrap_or_default().to_owned(),
                                    ),
                                    _ => continue,
                                };
                            }
                        }
                    }
                }
            }
        }
        Fault::BadSectionKey => {
            if let Some(d) = doc.children.first_mut() {
                d.attrs.retain(|(n, _)| *n != "key");
                d.attrs
                    .push(("key", Value::Str("/library/sections/one".into())));
            }
        }
        _ => {}
    }
}
