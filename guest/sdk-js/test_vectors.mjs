// Checks plexmatch_names.js against the SDK test vectors: node test_vectors.mjs VECTORS.json
import { readFileSync } from "node:fs";
import * as names from "./plexmatch_names.js";

const vectors = JSON.parse(readFileSync(process.argv[2], "utf8"));
const helpers = {
  file_name: names.fileName,
  parent_name: names.parentName,
  name_key: names.nameKey,
  has_file_named: (g) => names.hasFileNamed(g.files, g.key),
  title_variants: names.titleVariants,
  decide_by_path: (g) => names.decideByPath(g.path, g.holders, g.rewrites),
};
let failed = 0;
for (const [helper, rows] of Object.entries(vectors)) {
  if (helper === "about") continue;
  for (const [given, expected] of rows) {
    const got = helpers[helper](given);
    if (JSON.stringify(got) !== JSON.stringify(expected)) {
      failed++;
      console.log(`${helper}(${JSON.stringify(given)}) = ${JSON.stringify(got)}, expected ${JSON.stringify(expected)}`);
    }
  }
}
console.log(`javascript: ${failed} failed`);
process.exit(failed ? 1 : 0);
