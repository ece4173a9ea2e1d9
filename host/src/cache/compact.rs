//! A section snapshot in the compact form plexmatch holds in memory: every string in one
//! buffer, fixed-size records for items and files, and a sorted file-name index, about 170
//! bytes an item (as plain `Item`s it took about 700). The same form, with a checksum, is what
//! the library cache stores beside a section in use, so that the next run reads it in one
//! piece instead of a row per file.

use std::collections::HashMap;

use super::encoding::{decode_rest, encode_rest, name_hash_of_key, name_hash_of_path, split};
use super::encoding::{kind_code, kind_from_code};
use crate::plex::{Extras, Item, ItemKind};
use plexmatch_matchkit::name_key;

/// A piece of [`ResidentSnapshot::text`]: offset and length in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Span(u32, u32);

/// One item: its strings in the text, its files as a range of [`ResidentSnapshot::files`].
#[derive(Debug, Clone, Copy, Default)]
struct ItemRec {
    key: Span,
    title: Span,
    extras: Span,
    files: (u32, u32),
    kind: u32,
}

/// One file: its prefix (index into the prefixes) and its rest as stored (title marked).
#[derive(Debug, Clone, Copy)]
struct FileRec {
    prefix: u32,
    rest: Span,
}

/// One section's snapshot in memory, indexed by file name, in a compact form that is
/// also what the library cache stores between runs ([`ResidentSnapshot::to_bytes`]): a
/// run reads one buffer instead of a row per file.
pub struct ResidentSnapshot {
    version: i64,
    section_id: u32,
    text: String,
    prefixes: Vec<Span>,
    items: Vec<ItemRec>,
    files: Vec<FileRec>,
    /// (file-name hash, item) for every file, sorted: the name index.
    index: Vec<(u32, u32)>,
    /// Where the index's entries of each range of hashes start.
    buckets: Buckets,
}

/// Where the entries of a sorted name index start for each of 2^k equal ranges of the
/// (31-bit) hashes, with about one entry a range: a look-up reads two starts and the few
/// entries between, where a binary search over the whole index took some 16 steps, most
/// of them cache misses (`items_named` was 3.4% of a warm batch's samples).
#[derive(Debug, Clone)]
struct Buckets {
    shift: u32,
    starts: Vec<u32>,
}

impl Buckets {
    fn new(index: &[(u32, u32)]) -> Buckets {
        let bits = (index.len().max(1).ilog2() + 1).min(24);
        let shift = 31 - bits;
        let count = 1usize << bits;
        let bucket = |h: u32| ((h >> shift) as usize).min(count - 1);
        let mut starts = Vec::with_capacity(count + 1);
        let mut at = 0usize;
        for b in 0..=count {
            while at < index.len() && bucket(index[at].0) < b {
                at += 1;
            }
            starts.push(at as u32);
        }
        Buckets { shift, starts }
    }

    /// The index entries that may have this hash.
    fn range(&self, hash: u32) -> std::ops::Range<usize> {
        let b = ((hash >> self.shift) as usize).min(self.starts.len() - 2);
        self.starts[b] as usize..self.starts[b + 1] as usize
    }
}

/// Builds a [`ResidentSnapshot`] from a section's snapshot rows, in any order.
pub struct Builder {
    section_id: u32,
    text: String,
    prefixes: Vec<Span>,
    prefix_ids: HashMap<i64, u32>,
    items: Vec<ItemRec>,
    by_key: HashMap<RowKey, u32>,
    /// (item, seq, file) for each file row.
    rows: Vec<(u32, u32, FileRec, u32)>,
}

/// A rating key as the snapshot rows store it: a number or text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowKey {
    Int(i64),
    Text(String),
}

impl Builder {
    /// An empty builder for a section.
    pub fn new(section_id: u32) -> Builder {
        Builder {
            section_id,
            text: String::new(),
            prefixes: Vec::new(),
            prefix_ids: HashMap::new(),
            items: Vec::new(),
            by_key: HashMap::new(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, s: &str) -> Span {
        let at = self.text.len() as u32;
        self.text.push_str(s);
        Span(at, s.len() as u32)
    }

    /// A stored path prefix and its id.
    pub fn prefix(&mut self, id: i64, path: &str) {
        let span = self.push(path);
        self.prefix_ids.insert(id, self.prefixes.len() as u32);
        self.prefixes.push(span);
    }

    /// One snapshot row: the item's title, kind and extras come with its first file
    /// (`seq` 0); `hash` is negative for an item without files.
    #[allow(clippy::too_many_arguments)]
    pub fn row(
        &mut self,
        key: RowKey,
        seq: u32,
        title: Option<&str>,
        kind: ItemKind,
        prefix: i64,
        rest: &str,
        hash: i64,
        extras: Option<&str>,
    ) {
        let item = match self.by_key.get(&key) {
            Some(&i) => i,
            None => {
                let i = self.items.len() as u32;
                let key_span = match &key {
                    RowKey::Int(n) => self.push(&n.to_string()),
                    RowKey::Text(t) => self.push(t),
                };
                self.items.push(ItemRec {
                    key: key_span,
                    ..ItemRec::default()
                });
                self.by_key.insert(key, i);
                i
            }
        };
        if seq == 0 {
            let title = self.push(title.unwrap_or(""));
            let extras = self.push(extras.unwrap_or(""));
            let rec = &mut self.items[item as usize];
            rec.title = title;
            rec.extras = extras;
            rec.kind = kind_code(kind) as u32;
        }
        if hash >= 0 {
            let prefix = self.prefix_ids.get(&prefix).copied().unwrap_or(u32::MAX);
            let rest = self.push(rest);
            self.rows
                .push((item, seq, FileRec { prefix, rest }, hash as u32));
        }
    }

    /// The snapshot at `version`, items in rating-key order (numbers first, as stored).
    pub fn finish(self, version: i64) -> ResidentSnapshot {
        self.finish_ordered(version, true)
    }

    /// Like [`Builder::finish`], items in the order their first rows came.
    pub fn finish_in_arrival_order(self, version: i64) -> ResidentSnapshot {
        self.finish_ordered(version, false)
    }

    fn finish_ordered(mut self, version: i64, by_key: bool) -> ResidentSnapshot {
        // Items in order, then each item's files in order.
        let mut new_index: Vec<u32> = (0..self.items.len() as u32).collect();
        if by_key {
            let mut order: Vec<(RowKey, u32)> = self.by_key.drain().collect();
            order.sort_unstable();
            for (n, (_, old)) in order.iter().enumerate() {
                new_index[*old as usize] = n as u32;
            }
        }
        let mut items = vec![ItemRec::default(); self.items.len()];
        for (old, rec) in self.items.iter().enumerate() {
            items[new_index[old] as usize] = *rec;
        }
        self.rows
            .sort_unstable_by_key(|r| (new_index[r.0 as usize], r.1));
        let mut files = Vec::with_capacity(self.rows.len());
        let mut index = Vec::with_capacity(self.rows.len());
        let mut at = 0;
        for (n, item) in items.iter_mut().enumerate() {
            let start = files.len() as u32;
            while at < self.rows.len() && new_index[self.rows[at].0 as usize] == n as u32 {
                files.push(self.rows[at].2);
                index.push((self.rows[at].3, n as u32));
                at += 1;
            }
            item.files = (start, files.len() as u32);
        }
        index.sort_unstable();
        index.dedup();
        ResidentSnapshot {
            version,
            section_id: self.section_id,
            text: self.text,
            prefixes: self.prefixes,
            items,
            files,
            buckets: Buckets::new(&index),
            index,
        }
    }
}

/// What marks a stored copy, and its format.
const MAGIC: &[u8; 8] = b"PMRES\x00\x00\x01";

impl ResidentSnapshot {
    /// Indexes `items`, the snapshot at `version` (a listing held in memory).
    pub fn new(version: i64, items: Vec<Item>) -> ResidentSnapshot {
        let section_id = items.first().map_or(0, |i| i.section_id);
        let mut b = Builder::new(section_id);
        let mut prefixes: HashMap<String, i64> = HashMap::new();
        for item in &items {
            let key = RowKey::Text(item.rating_key.clone());
            if item.files.is_empty() {
                b.row(
                    key,
                    0,
                    Some(&item.title),
                    item.kind,
                    0,
                    "",
                    -1,
                    item.extras.packed(),
                );
                continue;
            }
            for (seq, f) in item.files.iter().enumerate() {
                let (prefix, rest) = split(f);
                let id = match prefixes.get(prefix) {
                    Some(&id) => id,
                    None => {
                        let id = prefixes.len() as i64;
                        prefixes.insert(prefix.to_owned(), id);
                        b.prefix(id, prefix);
                        id
                    }
                };
                let rest = encode_rest(rest, &item.title);
                b.row(
                    key.clone(),
                    seq as u32,
                    Some(&item.title),
                    item.kind,
                    id,
                    &rest,
                    name_hash_of_path(f),
                    item.extras.packed(),
                );
            }
        }
        // A held listing keeps its own order.
        b.finish_in_arrival_order(version)
    }

    fn str(&self, s: Span) -> &str {
        &self.text[s.0 as usize..(s.0 + s.1) as usize]
    }

    /// Items it holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds no item.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The snapshot version it holds.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The section it is a snapshot of.
    pub fn section_id(&self) -> u32 {
        self.section_id
    }

    /// Item `n` as the rest of plexmatch sees items.
    fn item(&self, n: u32) -> Item {
        let rec = &self.items[n as usize];
        let title = self.str(rec.title);
        let files = self.files[rec.files.0 as usize..rec.files.1 as usize]
            .iter()
            .map(|f| {
                let prefix = self
                    .prefixes
                    .get(f.prefix as usize)
                    .map_or("", |p| self.str(*p));
                let rest = decode_rest(self.str(f.rest), title);
                let mut path = String::with_capacity(prefix.len() + rest.len());
                path.push_str(prefix);
                path.push_str(&rest);
                path
            })
            .collect();
        let extras = self.str(rec.extras);
        Item {
            rating_key: self.str(rec.key).to_owned(),
            title: title.to_owned(),
            kind: kind_from_code(i64::from(rec.kind)),
            section_id: self.section_id,
            files,
            extras: Extras::from_packed((!extras.is_empty()).then(|| extras.to_owned())),
        }
    }

    /// Every item, in order.
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        (0..self.items.len() as u32).map(|n| self.item(n))
    }

    /// Items with a file named like `file_name`, as the SQLite index would find them.
    pub fn items_named(&self, file_name: &str) -> Vec<Item> {
        let key = name_key(file_name);
        let hash = name_hash_of_key(&key) as u32;
        let bucket = &self.index[self.buckets.range(hash)];
        let from = bucket.partition_point(|e| e.0 < hash);
        bucket[from..]
            .iter()
            .take_while(|e| e.0 == hash)
            .map(|e| self.item(e.1))
            // Equal hashes are not equal names: check.
            .filter(|item| {
                item.files.iter().any(|f| {
                    plexmatch_matchkit::file_name(f)
                        .is_some_and(|n| plexmatch_matchkit::has_key(n, &key))
                })
            })
            .collect()
    }

    /// The stored form: the text, every record, then the counts, a mark and a checksum
    /// (the text first, so that reading it back keeps the buffer as the text).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            TRAILER
                + self.text.len()
                + self.prefixes.len() * 8
                + self.items.len() * 36
                + self.files.len() * 12
                + self.index.len() * 8,
        );
        out.extend_from_slice(self.text.as_bytes());
        let mut put = |n: u32| out.extend_from_slice(&n.to_le_bytes());
        for p in &self.prefixes {
            put(p.0);
            put(p.1);
        }
        for i in &self.items {
            for n in [
                i.key.0, i.key.1, i.title.0, i.title.1, i.extras.0, i.extras.1, i.files.0,
                i.files.1, i.kind,
            ] {
                put(n);
            }
        }
        for f in &self.files {
            for n in [f.prefix, f.rest.0, f.rest.1] {
                put(n);
            }
        }
        for e in &self.index {
            put(e.0);
            put(e.1);
        }
        out.extend_from_slice(&self.version.to_le_bytes());
        for n in [
            self.section_id,
            self.text.len() as u32,
            self.prefixes.len() as u32,
            self.items.len() as u32,
            self.files.len() as u32,
            self.index.len() as u32,
        ] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        out.extend_from_slice(MAGIC);
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads a stored form back; `None` if it is not one, is damaged (checksum, bounds,
    /// text) or is for another section.
    pub fn from_bytes(mut bytes: Vec<u8>, section_id: u32) -> Option<ResidentSnapshot> {
        let len = bytes.len();
        let trailer = bytes.get(len.checked_sub(TRAILER)?..)?;
        let sum = u64::from_le_bytes(trailer[TRAILER - 8..].try_into().ok()?);
        if &trailer[TRAILER - 16..TRAILER - 8] != MAGIC || checksum(&bytes[..len - 8]) != sum {
            return None;
        }
        let mut t = Reader {
            bytes: trailer,
            at: 0,
        };
        let version = i64::from_le_bytes(t.take(8)?.try_into().ok()?);
        let (stored_section, text_len, n_prefixes, n_items, n_files, n_index) =
            (t.u32()?, t.u32()?, t.u32()?, t.u32()?, t.u32()?, t.u32()?);
        let records = [(n_prefixes, 8), (n_items, 36), (n_files, 12), (n_index, 8)]
            .iter()
            .try_fold(0usize, |sum, (n, size)| {
                sum.checked_add((*n as usize).checked_mul(*size)?)
            })?;
        if stored_section != section_id
            || (text_len as usize)
                .checked_add(records)?
                .checked_add(TRAILER)?
                != len
        {
            return None;
        }
        let mut r = Reader {
            bytes: &bytes[..len - TRAILER],
            at: text_len as usize,
        };
        let span = |r: &mut Reader<'_>| -> Option<Span> {
            let s = Span(r.u32()?, r.u32()?);
            (s.0.checked_add(s.1)? <= text_len).then_some(s)
        };
        let prefixes = (0..n_prefixes)
            .map(|_| span(&mut r))
            .collect::<Option<Vec<_>>>()?;
        let items = (0..n_items)
            .map(|_| {
                let (key, title, extras) = (span(&mut r)?, span(&mut r)?, span(&mut r)?);
                let files = (r.u32()?, r.u32()?);
                let kind = r.u32()?;
                (files.0 <= files.1 && files.1 <= n_files).then_some(ItemRec {
                    key,
                    title,
                    extras,
                    files,
                    kind,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let files = (0..n_files)
            .map(|_| {
                let prefix = r.u32()?;
                let rest = span(&mut r)?;
                (prefix < n_prefixes || prefix == u32::MAX).then_some(FileRec { prefix, rest })
            })
            .collect::<Option<Vec<_>>>()?;
        let index = (0..n_index)
            .map(|_| {
                let e = (r.u32()?, r.u32()?);
                (e.1 < n_items).then_some(e)
            })
            .collect::<Option<Vec<_>>>()?;
        if !index.is_sorted() {
            return None;
        }
        // The buffer becomes the text without a copy.
        bytes.truncate(text_len as usize);
        let text = String::from_utf8(bytes).ok()?;
        let on_boundaries = |s: &Span| {
            text.is_char_boundary(s.0 as usize) && text.is_char_boundary((s.0 + s.1) as usize)
        };
        let spans_ok = prefixes.iter().all(on_boundaries)
            && items.iter().all(|i| {
                on_boundaries(&i.key) && on_boundaries(&i.title) && on_boundaries(&i.extras)
            })
            && files.iter().all(|f| on_boundaries(&f.rest));
        spans_ok.then_some(ResidentSnapshot {
            version,
            section_id,
            text,
            prefixes,
            items,
            files,
            buckets: Buckets::new(&index),
            index,
        })
    }
}

/// Bytes after the records: version, six counts, the mark and the checksum.
const TRAILER: usize = 8 + 6 * 4 + 8 + 8;

/// Reads little-endian numbers off a buffer, refusing to read past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

/// A 64-bit checksum of a stored copy, in four lanes of eight bytes (a damaged cache
/// file gives a copy rebuilt from the snapshot, not wrong items).
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut lanes = [K, K.rotate_left(17), K.rotate_left(31), K.rotate_left(47)];
    let mut blocks = bytes.chunks_exact(32);
    for b in &mut blocks {
        for (i, lane) in lanes.iter_mut().enumerate() {
            let w = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("eight bytes"));
            *lane = (*lane ^ w).wrapping_mul(K).rotate_left(29);
        }
    }
    let mut h = bytes.len() as u64;
    for lane in lanes {
        h = (h ^ lane).wrapping_mul(K).rotate_left(31);
    }
    for &b in blocks.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

#[cfg(test)]
mod tests;
