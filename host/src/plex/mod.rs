//! Plex HTTP access: the client, its answer models and its errors.

mod client;
mod error;
mod models;

pub use client::{
    DEFAULT_PAGE_SIZE, DEFAULT_PAGES_IN_FLIGHT, ITEMS_PER_REQUEST, Listing, ListingWatch, Measured, PlexClient,
    PlexConfig, RequestKind, RequestTimes,
    RetryPolicy, ServerInfo, TlsOptions, server_url, thread_requests,
};
pub use error::PlexError;
pub use models::{Container, Envelope, Extras, Item, ItemKind, PartInfo, Section, SectionKind};
