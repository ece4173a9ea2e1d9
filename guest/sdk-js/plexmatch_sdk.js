// The plexmatch plugin SDK for JavaScript: the helpers a matcher needs, in one import.
//
//   import { plex, fileName, decide, invalidInput, plexError } from "./plexmatch_sdk.js";
//
// gives the host's interfaces (`plex`, `libraryCache`, `matchCache`, `settings`), `log`
// (`log.debug(message)`, `log.info`, `log.warn`, `log.error`, `log.trace`, or
// `log(level, message)`; lines tagged with the plugin's name in plexmatch's log with -v), the
// file-name and path helpers of plexmatch_names.js, and the answers: `high(item)`,
// `low(items)`, `notFound(section, name)`, `decide(section, name, items)`,
// `decideForPath(section, path, items)`, `invalidInput(message)` and `plexError(err)`, and
// `setting(...)` for `declaredSettings`. A thrown match error becomes the `error` side of
// `find`'s WIT result; a WIT record is a plain object with camelCase fields.

import * as plex from "plexmatch:plugin/plex@0.2.1";
import * as libraryCache from "plexmatch:plugin/library-cache@0.2.1";
import * as matchCache from "plexmatch:plugin/match-cache@0.2.1";
import * as settings from "plexmatch:plugin/settings@0.2.1";
import * as logging from "plexmatch:plugin/log@0.2.1";
import * as request from "plexmatch:plugin/request@0.2.1";

export { plex, libraryCache, matchCache, settings, request };
export { fileName, parentName, nameKey, hasFileNamed, titleVariants, decideByPath, parseRewrites } from "./plexmatch_names.js";
import { fileName, decideByPath, parseRewrites } from "./plexmatch_names.js";

/** Writes a line to the host's log: level is "trace", "debug", "info", "warn" or "error";
 * or `log.debug(message)` and the like. */
export function log(level, message) {
  logging.log(level, String(message));
}
for (const level of ["trace", "debug", "info", "warn", "error"]) {
  log[level] = (message) => log(level, message);
}

/** Exactly this item holds the file. `matchedFile` (one of `item.files`) says which file of
 * it the path is, when its name differs from the path's (a renamed file). */
export function high(item, matchedFile) {
  return { confidence: "high", chosen: item, candidates: [item], matchedFile };
}

/** Any of these items could hold the file. */
export function low(candidates) {
  return { confidence: "low", chosen: undefined, candidates: [...candidates], matchedFile: undefined };
}

/** A setting the plugin reads, for `declaredSettings`: `name` (or a family `prefix*`), its
 * kind ("text", "integer", "number", "boolean" or "path-mapping"), its default as text (or
 * undefined), one line of description. */
export function setting(name, kind = "text", defaultValue = undefined, description = "") {
  return { name, kind, default: defaultValue, description };
}

/** The error for: no item of `section` holds a file named `name` (throw it). */
export function notFound(section, name) {
  return matchError("not-found", `no item in section ${JSON.stringify(section.title)} has a file named ${JSON.stringify(name)}`);
}

/** The error for a path that cannot be matched as given (throw it). */
export function invalidInput(message) {
  return matchError("invalid-input", message);
}

/** A failed host Plex call (what a `plex.*` function threw) as this plugin's error: the
 * answer is unknown, not "no" (throw it). */
export function plexError(err) {
  return matchError("plex", err && err.payload !== undefined ? err.payload : { tag: "unavailable", val: String(err) });
}

/** The answer for `items` (deduplicated by rating key): none throws not found, one is
 * HIGH, several are LOW. */
export function decide(section, name, items) {
  const unique = [...new Map(items.map((i) => [i.ratingKey, i])).values()];
  if (unique.length === 0) throw notFound(section, name);
  return unique.length === 1 ? high(unique[0]) : low(unique);
}

function matchError(tag, val) {
  const err = new Error(`${tag}: ${typeof val === "string" ? val : JSON.stringify(val)}`);
  err.payload = { tag, val };
  return err;
}

/** The answer for `items` (deduplicated by rating key) with the path deciding between
 * several, as the built-in plugins do: the one item holding the exact path, else the one
 * holding it after the `rewrite*` mappings (`rewrites`: [from, to] pairs; default: the
 * plugin's settings), else the one sharing the longest folder tail; otherwise LOW. None
 * throws not found. */
export function decideForPath(section, path, items, rewrites = undefined) {
  const unique = [...new Map(items.map((i) => [i.ratingKey, i])).values()];
  const name = fileName(path) ?? path;
  if (unique.length < 2) return decide(section, name, unique);
  let mappings = rewrites;
  if (mappings === undefined) {
    try {
      mappings = parseRewrites(settings.all());
    } catch (e) {
      throw invalidInput(e.message);
    }
  }
  const decided = decideByPath(path, unique.map((i) => i.files), mappings);
  return decided === null ? low(unique) : high(unique[decided[0]]);
}
