"""Checks plexmatch_names against the SDK test vectors: python3 test_vectors.py VECTORS.json"""

import json
import sys

import plexmatch_names as names

vectors = json.load(open(sys.argv[1], encoding="utf-8"))
failed = 0
for helper, rows in vectors.items():
    if helper == "about":
        continue
    for given, expected in rows:
        if helper == "has_file_named":
            got = names.has_file_named(given["files"], given["key"])
        elif helper == "decide_by_path":
            decided = names.decide_by_path(
                given["path"], given["holders"], [tuple(r) for r in given["rewrites"]])
            got = list(decided) if decided else None
        else:
            got = getattr(names, helper)(given)
        if got != expected:
            failed += 1
            print(f"{helper}({given!r}) = {got!r}, expected {expected!r}")
print(f"python: {failed} failed")
sys.exit(1 if failed else 0)
