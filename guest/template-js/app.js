// The template for a new plexmatch plugin in JavaScript: it answers with the items of the
// section that hold a file of the path's name. Change `find` to your strategy.

import { plex, log, fileName, decideForPath, invalidInput, plexError } from "./plexmatch_sdk.js";

export const matcher = {
  info() {
    return { name: "template", version: "0.1.0", description: "Items holding a file of the same name" };
  },

  declaredSettings() {
    // e.g. [setting("threshold", "number", "0.8", "how sure a title match must be")]
    return [];
  },

  find(section, path) {
    const name = fileName(path);
    if (name === null) throw invalidInput(`${JSON.stringify(path)} has no file name`);
    let items;
    try {
      items = plex.itemsByFileName(section.id, name);
    } catch (e) {
      throw plexError(e);
    }
    log.debug(`${items.length} item(s) of ${JSON.stringify(section.title)} hold a file named ${JSON.stringify(name)}`);
    // Several holders: the path decides (exact, then the rewrite* mappings, then the
    // longest shared folder tail); otherwise LOW.
    return decideForPath(section, path, items);
  },
};
