// File names and title variants, as the plexmatch host's index uses them.
//
// The JavaScript twin of the Rust SDK's matchkit: the same rules, checked against the same
// test vectors (guest/vectors/helpers.json in the plexmatch repository).
//
// A file name is the last component of a path, where both `/` and `\` separate components
// (a Windows Plex server and a POSIX media manager must agree). Two names are the same when
// their keys are equal: Unicode NFC, then lower case.

import { ALNUM, COMBINING, COMPOSITIONS, DECOMPOSITIONS } from "./plexmatch_unicode.js";

const SEPARATORS = /[/\\]/;

// Quality and source markers that end a title, matched as whole words.
const QUALITY_TOKENS = ["WEBDL", "WEB-DL", "WEBRip", "HDTV", "BluRay", "BDRip", "DVDRip", "DVD",
  "720p", "1080p", "2160p", "4K", "HDR", "DV"].map((t) => t.toLowerCase());


/** The last component of `path` (after the last `/` or `\`); null when empty. */
export function fileName(path) {
  const parts = path.split(SEPARATORS);
  const name = parts[parts.length - 1];
  return name === "" || name === "." || name === ".." ? null : name;
}

/** The parent folder's name (the component before the file name), if any. */
export function parentName(path) {
  const parts = path.split(SEPARATORS);
  if (parts.length < 2 || parts[parts.length - 2] === "") return null;
  return parts[parts.length - 2];
}

/** The comparison key of a file name or path: NFC-normalised and lower-cased. */
export function nameKey(name) {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(name) ? name.toLowerCase() : nfc(name).toLowerCase();
}

/** Whether any of `files` has the file name whose key is `key` (see nameKey). */
export function hasFileNamed(files, key) {
  return files.some((f) => {
    const name = fileName(f);
    return name !== null && nameKey(name) === key;
  });
}

/**
 * The ordered, distinct titles to search Plex with for `path`: the file's stem without
 * quality markers, that without a trailing date, that without a trailing `(year)`, and the
 * parent folder without a date.
 */
export function titleVariants(path) {
  const name = fileName(path);
  const titleSearch = name === null ? "" : stripQuality(stem(name));
  const titleBase = stripDate(titleSearch);
  const withoutYear = stripYear(titleBase);
  const parent = parentName(path);
  const out = [];
  for (const v of [titleSearch, titleBase, withoutYear, parent === null ? null : stripDate(parent)]) {
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

function stem(name) {
  const i = name.lastIndexOf(".");
  return i <= 0 || i + 1 === name.length ? name : name.slice(0, i);
}

// A letter or a number (Unicode general category L or N), from the generated table:
// the plugin runtime has no \p{...} in regular expressions.
function isAlnum(c) {
  if (c === undefined) return false;
  const cp = c.codePointAt(0);
  const r = tables().alnum;
  let lo = 0;
  let hi = r.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[2 * mid]) hi = mid - 1;
    else if (cp > r[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

let parsed = null;
function tables() {
  if (parsed) return parsed;
  const rows = (text) => text.split(";").map((row) => row.split(",").map((h) => parseInt(h, 16)));
  parsed = {
    alnum: ALNUM.split(",").map((h) => parseInt(h, 16)),
    decompose: new Map(rows(DECOMPOSITIONS).map(([cp, ...parts]) => [cp, parts])),
    combining: new Map(rows(COMBINING).map(([cp, c]) => [cp, c])),
    compose: new Map(rows(COMPOSITIONS).map(([a, b, c]) => [a * 0x110000 + b, c])),
  };
  return parsed;
}

// Hangul syllables compose and decompose by arithmetic (Unicode 15, section 3.12).
const S_BASE = 0xac00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11a7;
const L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT;

/** Unicode NFC (the plugin runtime has no String.prototype.normalize): canonical
 * decomposition, canonical ordering, canonical composition. */
export function nfc(text) {
  const t = tables();
  const cls = (cp) => t.combining.get(cp) || 0;
  const decomposed = [];
  const push = (cp) => {
    const s = cp - S_BASE;
    if (s >= 0 && s < S_COUNT) {
      decomposed.push(L_BASE + Math.floor(s / N_COUNT), V_BASE + Math.floor((s % N_COUNT) / T_COUNT));
      if (s % T_COUNT) decomposed.push(T_BASE + (s % T_COUNT));
      return;
    }
    const parts = t.decompose.get(cp);
    if (parts) parts.forEach(push);
    else decomposed.push(cp);
  };
  for (const c of text) push(c.codePointAt(0));
  // Canonical ordering: a stable sort of each run of non-starters by combining class.
  for (let i = 1; i < decomposed.length; i++) {
    for (let j = i; j > 0 && cls(decomposed[j]) !== 0 && cls(decomposed[j - 1]) > cls(decomposed[j]); j--) {
      [decomposed[j - 1], decomposed[j]] = [decomposed[j], decomposed[j - 1]];
    }
  }
  const pair = (a, b) => {
    const l = a - L_BASE, v = b - V_BASE, s = a - S_BASE, tt = b - T_BASE;
    if (l >= 0 && l < L_COUNT && v >= 0 && v < V_COUNT) return S_BASE + (l * V_COUNT + v) * T_COUNT;
    if (s >= 0 && s < S_COUNT && s % T_COUNT === 0 && tt > 0 && tt < T_COUNT) return a + tt;
    return t.compose.get(a * 0x110000 + b);
  };
  if (decomposed.length === 0) return "";
  const out = [decomposed[0]];
  let starterAt = 0;
  let lastClass = cls(decomposed[0]) === 0 ? 0 : 256;
  for (let i = 1; i < decomposed.length; i++) {
    const cp = decomposed[i];
    const c = cls(cp);
    const composite = lastClass === 256 ? undefined : pair(out[starterAt], cp);
    if (composite !== undefined && (lastClass < c || lastClass === 0)) {
      out[starterAt] = composite;
    } else {
      if (c === 0) starterAt = out.length;
      lastClass = c;
      out.push(cp);
    }
  }
  return String.fromCodePoint(...out);
}

function stripQuality(title) {
  const chars = Array.from(title);
  for (let i = 0; i < chars.length; i++) {
    if (i > 0 && isAlnum(chars[i - 1])) continue;
    for (const tok of QUALITY_TOKENS) {
      const word = chars.slice(i, i + tok.length).join("");
      // Only ASCII letters fold, as Rust's eq_ignore_ascii_case does.
      if (/^[\x00-\x7f]*$/.test(word) && word.toLowerCase() === tok && !isAlnum(chars[i + tok.length])) {
        return stripSeparatorBefore(chars.slice(0, i).join(""));
      }
    }
  }
  return title;
}

function stripSeparatorBefore(head) {
  head = head.trimEnd();
  if (head.endsWith("-") || head.endsWith("_")) head = head.slice(0, -1);
  return head.trimEnd();
}

function stripDate(title) {
  const trimmed = title.trimEnd();
  if (/[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(trimmed)) {
    return stripSeparatorBefore(trimmed.slice(0, trimmed.length - 10));
  }
  return title;
}

function stripYear(title) {
  const t = title.trimEnd();
  if (t.length >= 7 && /\([0-9]{4}\)$/.test(t)) return t.slice(0, -6).trimEnd();
  return title;
}

// Where a file is: deciding between items that hold a file of the same name by the path
// itself (the Rust SDK's matchkit::paths, checked against the same vectors). In order:
// exact path, then the path after the `rewrite*` mappings, then the longest shared tail of
// folders (at least the parent folder). Otherwise the path does not decide.

/** The path's components, compared as names are (case, Unicode form). */
export function components(path) {
  return path.split(SEPARATORS).filter((c) => c !== "").map(nameKey);
}

/** How many trailing components `a` and `b` share. */
export function sharedTail(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[a.length - 1 - n] === b[b.length - 1 - n]) n++;
  return n;
}

/** Whether `key` belongs to the setting family `prefix*` (`rewrite`, `rewrite2`,
 * `rewrite-nas`; not `rewritee`). */
export function inFamily(prefix, key) {
  return key.startsWith(prefix) && !/^[A-Za-z]/.test(key.slice(prefix.length));
}

/** The `rewrite*` settings among `pairs` ([key, value]) as [from, to] prefixes, each
 * written `FROM=>TO` (or `FROM=TO`); throws an Error naming one that is neither. */
export function parseRewrites(pairs) {
  const out = [];
  for (const [key, value] of pairs) {
    if (!inFamily("rewrite", key)) continue;
    let at = value.indexOf("=>");
    let width = 2;
    if (at < 0) {
      at = value.indexOf("=");
      width = 1;
    }
    const from = at < 0 ? "" : value.slice(0, at).trim();
    if (!from) throw new Error(`setting ${key}=${JSON.stringify(value)} is not FROM=TO (e.g. /mnt/stash/=/data/media/)`);
    out.push([from, value.slice(at + width).trim()]);
  }
  return out;
}

/** `path` with the matching prefix rewritten (the longest `from` wins), and whether one did. */
export function rewrite(path, rewrites) {
  const norm = path.replaceAll("\\", "/");
  const lower = norm.toLowerCase();
  let best = null;
  for (const [from, to] of rewrites) {
    if (lower.startsWith(from.replaceAll("\\", "/").toLowerCase()) && (best === null || from.length >= best[0].length)) {
      best = [from, to];
    }
  }
  return best === null ? [norm, false] : [best[1] + norm.slice(best[0].length), true];
}

/** Which of `holders` (each an item's files) the path decides for, and by which rule
 * ("exact path", "mapped path", "folder tail of N folder(s)"): [index, rule]; null when the
 * path does not single one out. */
export function decideByPath(path, holders, rewrites = []) {
  const wanted = components(path);
  const files = holders.map((fs) => fs.map(components));
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const holding = (want) => files.flatMap((fs, i) => (fs.some((f) => same(f, want)) ? [i] : []));
  let hits = holding(wanted);
  if (hits.length === 1) return [hits[0], "exact path"];
  const [mapped, did] = rewrite(path, rewrites);
  if (did) {
    hits = holding(components(mapped));
    if (hits.length === 1) return [hits[0], "mapped path"];
  }
  const tails = files.map((fs) => Math.max(0, ...fs.map((f) => sharedTail(f, wanted))));
  const best = Math.max(0, ...tails);
  if (best >= 2) {
    hits = tails.flatMap((t, i) => (t === best ? [i] : []));
    if (hits.length === 1) return [hits[0], `folder tail of ${best - 1} folder(s)`];
  }
  return null;
}
