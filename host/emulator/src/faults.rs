//! Failures the emulator can be told to produce, so that every failure path of a client
//! is tested for real on loopback: each injected fault applies to the next requests
//! (of any Plex endpoint, or of one), in the order they were injected.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

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
