//! Section listings: pages asked for several at a time and put back in order, each
//! checked against the first page's count; a stop flag (Ctrl-C) checked before each page;
//! a watcher told of each page received.

use std::sync::atomic::{AtomicBool, Ordering};

use super::{PlexClient, THREAD_REQUESTS, thread_requests};
use crate::plex::error::PlexError;
use crate::plex::models::Item;

/// Told of a listing's progress: the section, the pages received, and how many there are.
pub type ListingWatch = std::sync::Arc<dyn Fn(u32, usize, usize) + Send + Sync>;

/// A complete listing, and what its items say about the server's clock.
#[derive(Debug, Default)]
pub struct Listing {
    /// The items, in the server's order.
    pub items: Vec<Item>,
    /// The latest `updatedAt` among the items (the server's clock, Unix seconds); `None`
    /// when there are none or some item had none (its changes could not be asked for).
    pub newest_update: Option<u64>,
    /// Items not changed after the time a filtered listing asked for (or with no
    /// `updatedAt`): a server that ignored the filter answers every item.
    pub outside_filter: usize,
}

/// A listing being put together from pages that arrive in any order.
struct Assembly {
    listing: Listing,
    undated: bool,
    /// Pages appended so far (pages 1 to `appended`).
    appended: usize,
    /// Pages received ahead of their turn, and the first failure.
    waiting: std::collections::BTreeMap<usize, Result<Page, PlexError>>,
}

impl Assembly {
    /// Page `number` arrived: append it and every waiting page that follows, in order. A
    /// failed page stays waiting (nothing after it is appended).
    fn arrive(&mut self, number: usize, page: Result<Page, PlexError>) {
        self.waiting.insert(number, page);
        while let Some(entry) = self.waiting.first_entry() {
            if *entry.key() != self.appended + 1 || entry.get().is_err() {
                break;
            }
            let Ok(page) = entry.remove() else {
                unreachable!("checked")
            };
            self.undated |= page.undated;
            self.listing.newest_update = self.listing.newest_update.max(page.newest_update);
            self.listing.outside_filter += page.outside_filter;
            self.listing.items.extend(page.items);
            self.appended += 1;
        }
    }
}

/// One page of a listing, checked.
struct Page {
    total: u64,
    items: Vec<Item>,
    newest_update: Option<u64>,
    undated: bool,
    outside_filter: usize,
}

impl PlexClient {
    /// Tells `watch` of every page of a section listing received from now on.
    pub fn watch_listings(&self, watch: ListingWatch) {
        *self.listing_watch.lock().unwrap_or_else(|p| p.into_inner()) = Some(watch);
    }
    /// Stops every listing before its next page once `flag` is set (the listing fails,
    /// and nothing of it is stored).
    pub fn stop_listings_on(&self, flag: &'static AtomicBool) {
        let _ = self.stop.set(flag);
    }
    /// The error of a listing stopped after `received` of `pages` pages, if it was.
    fn stopped(&self, path: &str, received: usize, pages: usize) -> Result<(), PlexError> {
        if self.stop.get().is_some_and(|f| f.load(Ordering::SeqCst)) {
            return Err(PlexError::Unavailable(format!(
                "GET {path}: listing stopped (interrupted) after {received} of {pages} page(s); nothing of it was stored"
            )));
        }
        Ok(())
    }
    fn report_page(&self, section_id: u32, received: usize, pages: usize) {
        let watch = self
            .listing_watch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(w) = watch {
            w(section_id, received, pages);
        }
    }
    /// Every item of type `item_type` in a section, several pages at a time. `expected`,
    /// the count the section had before, lets the first pages be asked for together
    /// (instead of the first alone, to learn the count); each is still checked against
    /// the count the first page gives.
    pub fn list_section(
        &self,
        section_id: u32,
        item_type: u32,
        expected: Option<u64>,
    ) -> Result<Listing, PlexError> {
        // includeGuids: the external ids (imdb://, tmdb://, tvdb://) plugins may match on.
        let path = format!("/library/sections/{section_id}/all?includeGuids=1&type={item_type}");
        self.list_from(&path, section_id, None, expected)
    }
    /// The items of type `item_type` in a section changed (or added) after `since`, by
    /// the server's clock: `updatedAt>>=since` ("is after"), which a server also sets when
    /// it adds an item.
    pub fn list_section_changed(
        &self,
        section_id: u32,
        item_type: u32,
        since: u64,
    ) -> Result<Listing, PlexError> {
        let path = format!(
            "/library/sections/{section_id}/all?includeGuids=1&type={item_type}&updatedAt>>={since}"
        );
        self.list_from(&path, section_id, Some(since), None)
    }
    /// Pages through a listing and accepts it only when it is complete and consistent:
    /// every page states the same `totalSize`, starts at the offset asked for and holds
    /// every item it should; every item parses; and the distinct rating keys number
    /// `totalSize` at the end. Anything else is a bad answer naming the page (and item),
    /// never a shorter list. After the first page (which tells how many there are), up to
    /// `pages_in_flight` pages are asked for at once and put back in order; the first
    /// failure stops the pages not yet asked for, and the failure of the earliest page is
    /// the one reported.
    pub(super) fn list(
        &self,
        path: &str,
        section_id: u32,
        since: Option<u64>,
    ) -> Result<Listing, PlexError> {
        self.list_from(path, section_id, since, None)
    }
    /// A listing, its first pages asked for together when `expected` says there are
    /// several (see [`PlexClient::list_section`]).
    fn list_from(
        &self,
        path: &str,
        section_id: u32,
        since: Option<u64>,
        expected: Option<u64>,
    ) -> Result<Listing, PlexError> {
        let size = self.page_size;
        self.stopped(
            path,
            0,
            expected.map_or(1, |n| (n as usize).div_ceil(size).max(1)),
        )?;
        let together = expected
            .map_or(1, |n| (n as usize).div_ceil(size))
            .clamp(1, self.pages_in_flight.max(1));
        let mut firsts = if together == 1 {
            vec![self.page(path, section_id, 1, None, since)]
        } else {
            let (pages, sent): (Vec<_>, Vec<u64>) = std::thread::scope(|scope| {
                let handles: Vec<_> = (1..=together)
                    .map(|n| {
                        scope.spawn(move || {
                            let before = thread_requests();
                            let page = self.page(path, section_id, n, None, since);
                            (page, thread_requests() - before)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        h.join().unwrap_or_else(|_| {
                            (
                                Err(PlexError::BadResponse(format!(
                                    "GET {path}: a page thread failed"
                                ))),
                                0,
                            )
                        })
                    })
                    .unzip()
            });
            THREAD_REQUESTS.with(|c| c.set(c.get() + sent.iter().sum::<u64>()));
            pages
        };
        let first = firsts.remove(0)?;
        let total = first.total;
        let pages = (total as usize).div_ceil(size).max(1);
        // Pages are appended as soon as the ones before them are in, so that a large
        // section is held once (not as pages and again as the listing).
        let assembly = std::sync::Mutex::new(Assembly {
            listing: Listing {
                items: Vec::with_capacity(total.min(1 << 20) as usize),
                newest_update: None,
                outside_filter: 0,
            },
            undated: false,
            appended: 0,
            waiting: std::collections::BTreeMap::new(),
        });
        let early_failure = {
            let mut a = assembly.lock().unwrap_or_else(|p| p.into_inner());
            a.arrive(1, Ok(first));
            // Pages asked for with the first are held to the count it gave, as any other
            // page is; those past the end (the section shrank) hold nothing and are dropped.
            for (n, page) in (2..).zip(firsts).filter(|(n, _)| *n <= pages) {
                let page = page.and_then(|p| match p.total {
                    t if t == total => Ok(p),
                    t => Err(PlexError::BadResponse(format!(
                        "GET {path} (page {n}): totalSize changed from {total} to {t} between pages"
                    ))),
                });
                a.arrive(n, page);
            }
            self.report_page(section_id, a.appended, pages);
            a.waiting.values().any(Result::is_err)
        };
        if pages > together {
            let next = std::sync::atomic::AtomicUsize::new(together + 1);
            let failed = std::sync::atomic::AtomicBool::new(early_failure);
            let worker = || {
                let before = thread_requests();
                while !failed.load(Ordering::SeqCst) {
                    let number = next.fetch_add(1, Ordering::SeqCst);
                    if number > pages {
                        break;
                    }
                    let page = self
                        .stopped(path, number - 1, pages)
                        .and_then(|_| self.page(path, section_id, number, Some(total), since));
                    if page.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    let received = {
                        let mut a = assembly.lock().unwrap_or_else(|p| p.into_inner());
                        a.arrive(number, page);
                        a.appended
                    };
                    self.report_page(section_id, received, pages);
                }
                thread_requests() - before
            };
            let workers = self.pages_in_flight.min(pages - together);
            if workers <= 1 {
                worker();
            } else {
                // Requests sent by the page threads count as the caller's (what one path cost).
                let sent: u64 = std::thread::scope(|scope| {
                    let handles: Vec<_> = (0..workers).map(|_| scope.spawn(worker)).collect();
                    handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
                });
                THREAD_REQUESTS.with(|c| c.set(c.get() + sent));
            }
        }
        let mut a = assembly.into_inner().unwrap_or_else(|p| p.into_inner());
        if a.appended != pages {
            // The earliest page that failed says why; else one was never received.
            if let Some(Err(e)) = a.waiting.into_values().find(Result::is_err) {
                return Err(e);
            }
            return Err(PlexError::BadResponse(format!(
                "GET {path}: page {} of {pages} was not received",
                a.appended + 1
            )));
        }
        if a.undated {
            a.listing.newest_update = None;
        }
        let mut keys: Vec<&str> = a
            .listing
            .items
            .iter()
            .map(|i| i.rating_key.as_str())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() as u64 != total {
            return Err(PlexError::BadResponse(format!(
                "GET {path}: the listing holds {} distinct items, but totalSize is {total}",
                keys.len()
            )));
        }
        Ok(a.listing)
    }
    /// Page `number` (from 1) of a listing, checked against the `totalSize` of the first.
    fn page(
        &self,
        path: &str,
        section_id: u32,
        number: usize,
        expected_total: Option<u64>,
        since: Option<u64>,
    ) -> Result<Page, PlexError> {
        let size = self.page_size;
        let start = (number - 1) * size;
        let what = format!(
            "GET {path} (page {number}, items {start}–{})",
            start + size - 1
        );
        let bad = |why: String| PlexError::BadResponse(format!("{what}: {why}"));
        let c = self.get(path, Some((start, size)))?;
        let total = c.total_size.ok_or_else(|| {
            bad(
                "the answer has no usable totalSize, so the listing cannot be known complete"
                    .into(),
            )
        })?;
        if let Some(t) = expected_total
            && t != total
        {
            return Err(bad(format!(
                "totalSize changed from {t} to {total} between pages"
            )));
        }
        if let Some(offset) = c.offset
            && offset != start as u64
        {
            return Err(bad(format!(
                "the page starts at item {offset}, not {start}"
            )));
        }
        let count = c.metadata.len();
        let due = (total as usize).saturating_sub(start).min(size);
        if count != due {
            return Err(bad(format!(
                "the page holds {count} items where {due} were due (totalSize {total})"
            )));
        }
        let section = c.library_section_id.or(Some(section_id as u64));
        let mut page = Page {
            total,
            items: Vec::with_capacity(count),
            newest_update: None,
            undated: false,
            outside_filter: 0,
        };
        for (i, m) in c.metadata.into_iter().enumerate() {
            let updated = m.updated_at;
            let item = m
                .into_checked_item(section)
                .map_err(|why| bad(format!("item {} of the listing {why}", start + i + 1)))?;
            match updated {
                Some(t) => page.newest_update = page.newest_update.max(Some(t)),
                None => page.undated = true,
            }
            if let Some(since) = since
                && updated.is_none_or(|t| t <= since)
            {
                page.outside_filter += 1;
            }
            page.items.push(item);
        }
        Ok(page)
    }
}
