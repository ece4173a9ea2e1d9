//! Items by rating key: one (`/library/metadata/K`) or a group in one request
//! (`/library/metadata/K1,K2,…`), each checked as a listing's items are.

use super::{ITEMS_PER_REQUEST, PlexClient, encode};
use crate::plex::error::PlexError;
use crate::plex::models::Item;

impl PlexClient {
    /// One item by rating key; the URL is built from the key, never from `key` (W25).
    pub fn fetch_item(&self, rating_key: &str) -> Result<Item, PlexError> {
        let path = format!("/library/metadata/{}", encode(rating_key));
        let c = self.get(&path, None)?;
        let section = c.library_section_id;
        let first = c
            .metadata
            .into_iter()
            .next()
            .ok_or_else(|| PlexError::NotFound(format!("GET {path} returned no item")))?;
        first
            .into_checked_item(section)
            .map_err(|why| PlexError::BadResponse(format!("GET {path}: the item {why}")))
    }

    /// Several items by rating key in one request (`/library/metadata/k1,k2,…`, at most
    /// [`ITEMS_PER_REQUEST`] keys); a key Plex does not have is absent from the answer.
    /// Each item is checked as [`PlexClient::fetch_item`] checks one.
    pub fn fetch_items(&self, rating_keys: &[String]) -> Result<Vec<Item>, PlexError> {
        let keys: Vec<String> = rating_keys
            .iter()
            .take(ITEMS_PER_REQUEST)
            .map(|k| encode(k).to_string())
            .collect();
        let path = format!("/library/metadata/{}", keys.join(","));
        let c = match self.get(&path, None) {
            Ok(c) => c,
            // None of them exists.
            Err(PlexError::NotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let section = c.library_section_id;
        c.metadata
            .into_iter()
            .map(|m| {
                m.into_checked_item(section)
                    .map_err(|why| PlexError::BadResponse(format!("GET {path}: an item {why}")))
            })
            .collect()
    }
}
