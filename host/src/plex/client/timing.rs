//! How long the server takes per kind of request, measured on the answers this client
//! received: what weighs a file look-up against a listing page when choosing between
//! them (a real server may answer a look-up in 50 ms and a page of 1,000 items in 3 s).

use std::time::Duration;

/// The kinds of request whose time weighs a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `…/all?type=…&file=…`: the items holding a file name.
    FileLookup,
    /// One full page of a section listing, per item it holds.
    ListingItem,
}

impl RequestKind {
    /// Every kind, in the order they are recorded.
    pub const ALL: [RequestKind; 2] = [RequestKind::FileLookup, RequestKind::ListingItem];

    /// The word for this kind in the server's `request-times` file.
    pub fn word(self) -> &'static str {
        match self {
            RequestKind::FileLookup => "file-lookup",
            RequestKind::ListingItem => "listing-item",
        }
    }

    /// The kind a word of the `request-times` file names.
    pub fn from_word(word: &str) -> Option<RequestKind> {
        RequestKind::ALL.into_iter().find(|k| k.word() == word)
    }
}

/// A running mean of one kind's time, in microseconds, weighted to the recent answers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Measured {
    /// The mean, in microseconds.
    pub micros: f64,
    /// How many answers it is made of (this run's, or as remembered).
    pub samples: u64,
}

impl Measured {
    /// The mean after one more answer that took `micros`; the last ~20 answers weigh most,
    /// so a server that slows down is noticed within a batch.
    pub fn with(self, micros: f64) -> Measured {
        let samples = self.samples + 1;
        let weight = 1.0 / (samples.min(20) as f64);
        Measured {
            micros: self.micros + (micros - self.micros) * weight,
            samples,
        }
    }
}

/// This client's measured times per kind.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestTimes {
    /// File look-ups, per request.
    pub lookup: Measured,
    /// Listing pages, per item of a full page.
    pub listing_item: Measured,
}

impl RequestTimes {
    /// The measured time of `kind`.
    pub fn get(&self, kind: RequestKind) -> Measured {
        match kind {
            RequestKind::FileLookup => self.lookup,
            RequestKind::ListingItem => self.listing_item,
        }
    }

    /// Records an answer of `kind` that took `took` (per item, for listing pages).
    pub fn record(&mut self, kind: RequestKind, took: Duration) {
        let micros = took.as_secs_f64() * 1e6;
        match kind {
            RequestKind::FileLookup => self.lookup = self.lookup.with(micros),
            RequestKind::ListingItem => self.listing_item = self.listing_item.with(micros),
        }
    }
}

/// The kind of a GET, from its path and page: `None` for the kinds no choice weighs.
pub(super) fn kind_of(path: &str, page: Option<(usize, usize)>) -> Option<RequestKind> {
    let listing = path.starts_with("/library/sections/") && path.contains("/all?");
    match page {
        Some((_, size)) if size > 0 && listing => Some(if path.contains("&file=") {
            RequestKind::FileLookup
        } else {
            RequestKind::ListingItem
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart_by_path_and_page() {
        let lookup = "/library/sections/1/all?includeGuids=1&type=1&file=Heat";
        let page = "/library/sections/1/all?includeGuids=1&type=1";
        assert_eq!(kind_of(lookup, Some((0, 1000))), Some(RequestKind::FileLookup));
        assert_eq!(kind_of(page, Some((0, 1000))), Some(RequestKind::ListingItem));
        assert_eq!(kind_of(page, Some((0, 0))), None, "a count");
        assert_eq!(kind_of("/library/sections", None), None);
        assert_eq!(kind_of("/library/metadata/1", Some((0, 10))), None);
    }

    #[test]
    fn the_mean_follows_recent_answers() {
        let mut m = Measured::default();
        for _ in 0..50 {
            m = m.with(100.0);
        }
        assert!((m.micros - 100.0).abs() < 1e-9);
        for _ in 0..50 {
            m = m.with(1000.0);
        }
        assert!(m.micros > 900.0, "{m:?}");
        for kind in RequestKind::ALL {
            assert_eq!(RequestKind::from_word(kind.word()), Some(kind));
        }
    }
}
