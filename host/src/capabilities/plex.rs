//! `plex`: Plex requests made by the host on the plugin's behalf, through the library
//! cache. Identical requests within a run are answered from the host's memo; the others
//! are taken from the call's and the run's request budgets first.

use super::{to_wit_item, to_wit_plex_error, to_wit_section};
use crate::runtime::bindings::plexmatch::plugin::plex::Host;
use crate::runtime::bindings::plexmatch::plugin::types::{Item, PlexError, Section};
use crate::runtime::{State, Step};

/// The error a plugin gets when a budget (or its call's wall-clock limit) refuses a request.
fn refused(why: String) -> PlexError {
    PlexError::Unavailable(format!("not sent: {why}"))
}

impl Host for State {
    fn sections(&mut self) -> Result<Vec<Section>, PlexError> {
        self.plex_call(|s| {
            s.backend
                .sections()
                .map(|v| v.iter().map(to_wit_section).collect())
                .map_err(to_wit_plex_error)
        })
    }

    fn search(&mut self, section_id: u32, title: String) -> Result<Vec<Item>, PlexError> {
        self.plex_call(|s| {
            let memo = s.backend.memo_search(section_id, &title);
            let asked = memo.is_none();
            let items = match memo {
                Some(items) => items,
                None => {
                    s.charge_request().map_err(refused)?;
                    s.backend
                        .search(section_id, &title)
                        .inspect_err(|e| {
                            s.note(|| Step::TitleSearchFailed {
                                title: title.clone(),
                                error: e.to_string(),
                            })
                        })
                        .map_err(to_wit_plex_error)?
                }
            };
            s.note(|| Step::TitleSearch {
                title: title.clone(),
                keys: keys(&items),
                cached: false,
                repeated: !asked,
            });
            s.serve(&items);
            Ok(items.iter().map(to_wit_item).collect())
        })
    }

    fn fetch_item(&mut self, rating_key: String) -> Result<Item, PlexError> {
        self.plex_call(|s| {
            let item = match s.backend.memo_item(&rating_key) {
                Some(r) => r,
                None => {
                    s.charge_request().map_err(refused)?;
                    s.backend.fetch_item(&rating_key)
                }
            }
            .inspect_err(|e| {
                s.note(|| Step::FetchFailed {
                    rating_key: rating_key.clone(),
                    error: e.to_string(),
                })
            })
            .map_err(to_wit_plex_error)?;
            s.note(|| Step::Fetched {
                rating_key: rating_key.clone(),
                title: item.title.clone(),
            });
            s.serve([&item]);
            Ok(to_wit_item(&item))
        })
    }

    fn items_by_file_name(
        &mut self,
        section_id: u32,
        file_name: String,
    ) -> Result<Vec<Item>, PlexError> {
        self.plex_call(|s| {
            // A stale snapshot is listed again (once for everyone): one request's worth.
            if !s
                .backend
                .snapshot(section_id)
                .is_some_and(|(_, fresh)| fresh)
            {
                s.charge_request().map_err(refused)?;
            }
            let items = s
                .backend
                .items_by_file_name(section_id, &file_name)
                .map_err(to_wit_plex_error)?;
            s.serve(&items);
            Ok(items.iter().map(to_wit_item).collect())
        })
    }
}

/// The rating keys of `items`, for a step of an explanation.
pub(super) fn keys(items: &[crate::plex::Item]) -> Vec<String> {
    items.iter().map(|i| i.rating_key.clone()).collect()
}
