//! `plex`: Plex requests made by the host on the plugin's behalf, through the library
//! cache. Identical requests within a run are answered from the host's memo; the others
//! are taken from the call's and the run's request budgets first.

use super::{to_wit_item, to_wit_plex_error, to_wit_section};
use crate::wit::bindings::plexmatch::plugin::plex::Host;
use crate::wit::bindings::plexmatch::plugin::types::{Item, PlexError, Section};
use std::sync::Arc;

use super::State;
use crate::backend::{Backend, Gateway, Snapshots};
use crate::trace::Step;

/// The error a plugin gets when a budget (or its call's wall-clock limit) refuses a request.
fn refused(why: String) -> PlexError {
    PlexError::Unavailable(format!("not sent: {why}"))
}

/// What the plex interface keeps per store: the gateway, the snapshots (a file-name
/// look-up brings a stale one up to date), and the current call's request budget.
pub struct PlexState {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) snapshots: Arc<Snapshots>,
    /// Plex requests made for the plugin during the current call, and the most it may make.
    requests: u32,
    request_budget: u32,
    /// Set when a Plex call was refused because a request budget was spent: what it said.
    pub budget_spent: Option<String>,
    /// Items the host found current during this call without a request (a file
    /// look-up's answer within its TTL, read to verify a cached match): a fetch of one
    /// of them is answered from here, as a fetch already made would be from the memo.
    pub(crate) current: Vec<crate::plex::Item>,
}

impl PlexState {
    /// The state of a new store over `backend`, allowed `request_budget` requests a call.
    pub fn new(backend: &Backend, request_budget: u32) -> PlexState {
        PlexState {
            gateway: backend.gateway.clone(),
            snapshots: backend.snapshots.clone(),
            requests: 0,
            request_budget,
            budget_spent: None,
            current: Vec::new(),
        }
    }

    /// Starts a call's budget afresh.
    pub fn begin_call(&mut self) {
        self.requests = 0;
        self.budget_spent = None;
        self.current.clear();
    }

    /// Takes one Plex request from the call's and the run's budgets for plugin `name`, or
    /// says why not.
    pub fn charge(&mut self, name: &str) -> Result<(), String> {
        if let Some(why) = &self.budget_spent {
            return Err(why.clone());
        }
        let why = if self.requests >= self.request_budget {
            Some(format!(
                "plugin {name:?} used its budget of {} Plex requests for one path ([limits] requests_per_path)",
                self.request_budget
            ))
        } else if !self.gateway.charge_run_request() {
            Some(format!(
                "plugins used this run's budget of {} Plex requests ([limits] requests_per_run)",
                self.gateway.run_request_budget()
            ))
        } else {
            None
        };
        match why {
            Some(w) => {
                self.budget_spent = Some(w.clone());
                Err(w)
            }
            None => {
                self.requests += 1;
                Ok(())
            }
        }
    }
}

impl Host for State {
    fn sections(&mut self) -> Result<Vec<Section>, PlexError> {
        self.plex_call(|s| {
            s.plex
                .snapshots
                .sections()
                .map(|v| v.iter().map(to_wit_section).collect())
                .map_err(to_wit_plex_error)
        })
    }

    fn search(&mut self, section_id: u32, title: String) -> Result<Vec<Item>, PlexError> {
        self.plex_call(|s| {
            let memo = s.plex.gateway.memo_search(section_id, &title);
            let asked = memo.is_none();
            let items = match memo {
                Some(items) => items,
                None => {
                    s.charge_request().map_err(refused)?;
                    s.plex
                        .snapshots
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
            let current = s.plex.current.iter().find(|i| i.rating_key == rating_key);
            let item = match current.cloned().map(Ok).or_else(|| s.plex.gateway.memo_item(&rating_key)) {
                Some(r) => r,
                None => {
                    s.charge_request().map_err(refused)?;
                    s.plex.gateway.fetch_item(&rating_key)
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
                .plex
                .snapshots
                .snapshot(section_id)
                .is_some_and(|(_, fresh)| fresh)
            {
                s.charge_request().map_err(refused)?;
            }
            let (found, via) = s.plex.snapshots.holders(section_id, &file_name);
            let items = found.map_err(to_wit_plex_error)?;
            s.note(|| Step::Holders {
                name: file_name.clone(),
                keys: super::plex::keys(&items),
                via,
            });
            s.serve(&items);
            Ok(items.iter().map(to_wit_item).collect())
        })
    }
}

/// The rating keys of `items`, for a step of an explanation.
pub(super) fn keys(items: &[crate::plex::Item]) -> Vec<String> {
    items.iter().map(|i| i.rating_key.clone()).collect()
}
