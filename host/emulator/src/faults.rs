//! Failures the emulator can be told to produce, so that every failure path of a client
//! is tested for real on loopback: each injected fault applies to the next requests
//! (any Plex endpoint), in the order they were injected.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// One way of failing a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

impl Fault {
    /// Answer with HTTP `code` (no `Retry-After`).
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            code,
            retry_after: None,
        }
    }
}

/// Faults waiting for requests.
#[derive(Default)]
pub struct Faults {
    queue: Mutex<VecDeque<(Fault, usize)>>,
}

impl Faults {
    /// Applies `fault` to the next `times` requests (after those already queued).
    pub fn inject(&self, fault: Fault, times: usize) {
        if times > 0 {
            self.queue
                .lock()
                .expect("faults lock")
                .push_back((fault, times));
        }
    }

    /// The fault for the request being served, if one is due.
    pub fn next(&self) -> Option<Fault> {
        let mut q = self.queue.lock().expect("faults lock");
        let (fault, left) = q.front_mut()?;
        let fault = *fault;
        *left -= 1;
        if *left == 0 {
            q.pop_front();
        }
        Some(fault)
    }

    /// Forgets every fault not yet applied.
    pub fn clear(&self) {
        self.queue.lock().expect("faults lock").clear();
    }
}
