//! How items are written to and read from the snapshot's rows: what changed since the
//! stored snapshot, inserting items, reading one back, the resident copy, versions and keys.

use super::*;

/// Of a listing about to replace the section's snapshot, the items that differ from
/// it (new, or changed in any field), after deleting the rows of those and of the items
/// the listing no longer holds; `None` when there is no snapshot to compare with (or the
/// listing repeats a rating key): then everything is written.
pub(super) fn changed_items<'a>(
    tx: &Connection,
    section_id: u32,
    items: &'a [Item],
) -> rusqlite::Result<Option<Vec<Item>>> {
    let mut held: HashMap<RowKey, Option<i64>> = HashMap::new();
    {
        let mut st = tx.prepare_cached(
            "SELECT rating_key, item_hash FROM entries WHERE section_id = ?1 AND seq = 0",
        )?;
        let mut rows = st.query([section_id])?;
        while let Some(r) = rows.next()? {
            held.insert(row_key(r.get_ref(0)?), r.get(1)?);
        }
    }
    if held.is_empty() {
        return Ok(None);
    }
    let mut seen: std::collections::HashSet<&str> =
        std::collections::HashSet::with_capacity(items.len());
    if !items.iter().all(|it| seen.insert(it.rating_key.as_str())) {
        return Ok(None);
    }
    let mut changed: Vec<&'a Item> = Vec::new();
    let mut stale: Vec<RowKey> = Vec::new();
    for it in items {
        let key = row_key((&key_value(&it.rating_key)).into());
        match held.remove(&key) {
            Some(Some(h)) if h == item_hash(it) => {}
            Some(_) => {
                stale.push(key);
                changed.push(it);
            }
            None => changed.push(it),
        }
    }
    stale.extend(held.into_keys());
    let mut delete = tx.prepare_cached(
        // Without the hint SQLite walks the section's primary key.
        "DELETE FROM entries INDEXED BY entries_by_item WHERE section_id = ?1 AND rating_key = ?2",
    )?;
    for key in stale {
        let value = match key {
            RowKey::Int(i) => Value::Integer(i),
            RowKey::Text(t) => Value::Text(t),
        };
        delete.execute(params![section_id, value])?;
    }
    Ok(Some(changed.into_iter().cloned().collect()))
}

/// A stored rating key as the in-memory snapshot keys it.
pub(super) fn row_key(v: rusqlite::types::ValueRef<'_>) -> RowKey {
    match v {
        rusqlite::types::ValueRef::Integer(i) => RowKey::Int(i),
        other => RowKey::Text(key_text(&other.into())),
    }
}

/// A hash of everything stored of an item (FNV-1a, 64 bits, fields separated): equal
/// hashes mean the stored rows need no rewrite.
pub(super) fn item_hash(it: &Item) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes.iter().chain(&[0xff]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    eat(it.rating_key.as_bytes());
    eat(it.title.as_bytes());
    eat(&[kind_code(it.kind) as u8]);
    for f in &it.files {
        eat(f.as_bytes());
    }
    eat(&[0xfe]);
    eat(it.extras.packed().unwrap_or("").as_bytes());
    h as i64
}

/// Writes `items` into a section's entries: files by name hash, path prefixes shared.
pub(super) fn insert_items(
    tx: &Connection,
    section_id: u32,
    items: &[Item],
) -> rusqlite::Result<()> {
    let mut prefix_ids: HashMap<&str, i64> = HashMap::new();
    // (name hash, item, file): small rows, the path's rest encoded only when written, so
    // that storing a 100,000-item listing holds little besides the listing.
    let mut rows: Vec<(i64, u32, u32)> = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        for (seq, f) in it.files.iter().enumerate() {
            let (prefix, _) = split(f);
            if !prefix_ids.contains_key(prefix) {
                tx.prepare_cached("INSERT OR IGNORE INTO prefixes (path) VALUES (?1)")?
                    .execute([prefix])?;
                let id: i64 = tx
                    .prepare_cached("SELECT id FROM prefixes WHERE path = ?1")?
                    .query_row([prefix], |r| r.get(0))?;
                prefix_ids.insert(prefix, id);
            }
            rows.push((name_hash_of_path(f), i as u32, seq as u32));
        }
    }
    // Inserting in primary-key order fills B-tree pages completely.
    let item = |i: u32| &items[i as usize];
    rows.sort_by(|a, b| (a.0, &item(a.1).rating_key, a.2).cmp(&(b.0, &item(b.1).rating_key, b.2)));
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO entries (section_id, name_hash, rating_key, seq, kind, title, prefix, rest, extras, item_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (hash, i, seq) in rows {
        let it = item(i);
        let (prefix, rest) = split(&it.files[seq as usize]);
        let first = seq == 0;
        ins.execute(params![
            section_id,
            hash,
            key_value(&it.rating_key),
            seq as i64,
            kind_code(it.kind),
            first.then_some(it.title.as_str()),
            prefix_ids[prefix],
            encode_rest(rest, &it.title),
            if first { it.extras.packed() } else { None },
            first.then(|| item_hash(it)),
        ])?;
    }
    // An item without files has nothing to match, but it exists: keep it findable by key.
    for it in items.iter().filter(|i| i.files.is_empty()) {
        ins.execute(params![
            section_id,
            -1,
            key_value(&it.rating_key),
            0,
            kind_code(it.kind),
            it.title,
            0,
            "",
            it.extras.packed(),
            item_hash(it),
        ])?;
    }
    Ok(())
}

pub(super) fn write_touches(conn: &Connection, touches: Vec<(Unit, i64)>) -> rusqlite::Result<()> {
    for (unit, at) in touches {
        match unit {
            Unit::Snapshot(id) => conn
                .prepare_cached("UPDATE snapshots SET last_used = max(last_used, ?2) WHERE section_id = ?1")?
                .execute(params![id, at])?,
            Unit::Search(id, t) => conn
                .prepare_cached("UPDATE searches SET last_used = max(last_used, ?3) WHERE section_id = ?1 AND title_key = ?2")?
                .execute(params![id, t, at])?,
        };
    }
    Ok(())
}

pub(super) fn load_item(
    conn: &Connection,
    section_id: u32,
    rating_key: Value,
) -> Result<Option<Item>> {
    let mut st = conn.prepare_cached(
        "SELECT e.seq, e.title, e.kind, coalesce(p.path, ''), e.rest, e.name_hash, e.extras
         FROM entries e INDEXED BY entries_by_item
         LEFT JOIN prefixes p ON p.id = e.prefix WHERE e.section_id = ?1 AND e.rating_key = ?2 ORDER BY e.seq",
    )?;
    type Row = (
        i64,
        Option<String>,
        i64,
        String,
        String,
        i64,
        Option<String>,
    );
    let rows: Vec<Row> = st
        .query_map(params![section_id, rating_key], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let Some(first) = rows.iter().find(|r| r.0 == 0) else {
        return Ok(None);
    };
    let title = first.1.clone().unwrap_or_default();
    let kind = kind_from_code(first.2);
    let extras = Extras::from_packed(first.6.clone());
    let files = rows
        .iter()
        .filter(|r| r.5 >= 0)
        .map(|r| format!("{}{}", r.3, decode_rest(&r.4, &title)))
        .collect();
    let rating_key = key_text(&rating_key);
    Ok(Some(Item {
        rating_key,
        title,
        kind,
        section_id,
        files,
        extras,
    }))
}

/// A section's snapshot rows as a [`ResidentSnapshot`] at `version`. The rows are read in
/// the table's own order (one pass over the section; through the item index, each row
/// would cost a seek: 0.77 s instead of a tenth of that for 51,000 items) and grouped by
/// item in memory.
pub(super) fn read_resident(
    conn: &Connection,
    section_id: u32,
    version: i64,
) -> rusqlite::Result<ResidentSnapshot> {
    let mut b = Builder::new(section_id);
    {
        let mut st = conn.prepare_cached("SELECT id, path FROM prefixes")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            b.prefix(r.get(0)?, r.get_ref(1)?.as_str()?);
        }
    }
    let mut st = conn.prepare_cached(
        "SELECT rating_key, seq, title, kind, prefix, rest, name_hash, extras FROM entries WHERE section_id = ?1",
    )?;
    let mut rows = st.query([section_id])?;
    while let Some(r) = rows.next()? {
        b.row(
            row_key(r.get_ref(0)?),
            r.get(1)?,
            r.get_ref(2)?.as_str_or_null()?,
            kind_from_code(r.get(3)?),
            r.get(4)?,
            r.get_ref(5)?.as_str()?,
            r.get(6)?,
            r.get_ref(7)?.as_str_or_null()?,
        );
    }
    Ok(b.finish(version))
}

/// A stored rating key as text.
pub(super) fn key_text(key: &Value) -> String {
    match key {
        Value::Integer(i) => i.to_string(),
        Value::Text(t) => t.clone(),
        other => format!("{other:?}"),
    }
}

/// The next version of a section's snapshot: now in milliseconds, and always more than
/// the version before (two writes in one millisecond, or a clock stepped back).
pub(super) fn next_version(tx: &Connection, section_id: u32) -> rusqlite::Result<i64> {
    let before: Option<i64> = tx
        .query_row(
            "SELECT version FROM snapshots WHERE section_id = ?1",
            [section_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(db::now_millis().max(before.unwrap_or(0) + 1))
}

/// A rating key as stored: canonical decimal keys as integers (smaller), others as text.
pub(super) fn key_value(rating_key: &str) -> Value {
    match rating_key.parse::<i64>() {
        Ok(i) if i >= 0 && i.to_string() == rating_key => Value::Integer(i),
        _ => Value::Text(rating_key.to_owned()),
    }
}

/// Whether `it` is new to the section's rows or differs from what they hold (by the stored
/// item hash): an incremental answer holds every item stamped within the safety margin,
/// changed or not.
pub(super) fn differs_from_stored(
    tx: &Connection,
    section_id: u32,
    key: &Value,
    it: &Item,
) -> rusqlite::Result<bool> {
    let stored: Option<Option<i64>> = tx
        .prepare_cached(
            "SELECT item_hash FROM entries INDEXED BY entries_by_item WHERE section_id = ?1 AND rating_key = ?2 AND seq = 0",
        )?
        .query_row(params![section_id, key], |r| r.get(0))
        .optional()?;
    Ok(stored.flatten() != Some(item_hash(it)))
}
