//! A plugin's answer to `find`, read as far as the host uses it.
//!
//! The host never trusts the items a plugin answers: it checks each claim against its own
//! record of the item (served during the call, in the snapshot, or fetched) and answers
//! with that record. So of each claimed item it reads the rating key, and the title for
//! the size limit; the item's files, ids and parts are checked to be in the plugin's
//! memory (the canonical ABI's bounds) but not copied out. Lifting whole items was a
//! tenth of a warm batch's CPU: two items an answer (`chosen` and `candidates`), each a
//! dozen strings allocated, copied and dropped.

use wasmtime::component::{ComponentType, Lift, WasmList, WasmStr};

use super::bindings::plexmatch::plugin::types::{Confidence, ItemKind};

/// A plugin's answer for one path in one section, as the host reads it.
#[derive(Debug)]
pub struct Answer {
    pub confidence: Confidence,
    pub chosen: Option<Claim>,
    pub candidates: Vec<Claim>,
    /// For HIGH: which of the chosen item's files the path is, when the plugin names it.
    pub matched_file: Option<String>,
}

/// An item a plugin answered: which one, and how many bytes the host read of it.
#[derive(Debug, Clone)]
pub struct Claim {
    pub rating_key: String,
    /// Bytes of the item's strings the host copied out of the plugin's memory.
    pub size: usize,
}

impl Claim {
    /// A claim of the item with `rating_key` whose strings the host read are `strings`.
    pub fn new<'a>(rating_key: String, strings: impl IntoIterator<Item = &'a str>) -> Claim {
        let size = rating_key.len() + strings.into_iter().map(str::len).sum::<usize>();
        Claim { rating_key, size }
    }
}

/// `types.match-outcome` of contract 0.2, lifted with [`LiftedItem`]s.
#[derive(ComponentType, Lift)]
#[component(record)]
pub struct LiftedOutcome {
    confidence: Confidence,
    chosen: Option<LiftedItem>,
    candidates: Vec<LiftedItem>,
    #[component(name = "matched-file")]
    matched_file: Option<String>,
}

/// `types.item` of contract 0.2: the rating key and title copied, the rest left in the
/// plugin's memory (bounds-checked when lifted, never read).
#[derive(ComponentType, Lift)]
#[component(record)]
#[allow(
    dead_code,
    reason = "the unread fields give the record its layout and type"
)]
pub struct LiftedItem {
    #[component(name = "rating-key")]
    rating_key: String,
    title: String,
    kind: ItemKind,
    #[component(name = "section-id")]
    section_id: u32,
    files: WasmList<WasmStr>,
    year: Option<u32>,
    guids: WasmList<WasmStr>,
    parts: WasmList<LiftedPart>,
}

/// `types.part` of contract 0.2, left in the plugin's memory.
#[derive(ComponentType, Lift)]
#[component(record)]
#[allow(
    dead_code,
    reason = "the unread fields give the record its layout and type"
)]
pub struct LiftedPart {
    file: WasmStr,
    size: Option<u64>,
    #[component(name = "duration-ms")]
    duration_ms: Option<u64>,
}

impl From<LiftedItem> for Claim {
    fn from(i: LiftedItem) -> Claim {
        Claim::new(i.rating_key, [i.title.as_str()])
    }
}

impl From<LiftedOutcome> for Answer {
    fn from(o: LiftedOutcome) -> Answer {
        Answer {
            confidence: o.confidence,
            chosen: o.chosen.map(Claim::from),
            candidates: o.candidates.into_iter().map(Claim::from).collect(),
            matched_file: o.matched_file,
        }
    }
}
