"""python-plexapi, a client nobody on plexmatch wrote, against the plexmatch emulator.

Usage: check_emulator.py URL TOKEN EXPECTED_JSON

EXPECTED_JSON describes the library the emulator serves (written by the Rust test that
started it): sections, a title to search with the rating keys it must find, a section
to list in full with its item count, and an item with its file paths. Any exception or
wrong value exits non-zero with a message naming what differed.
"""

import json
import sys

from plexapi.server import PlexServer


def check(what, got, expected):
    if got != expected:
        sys.exit(f"{what}: expected {expected!r}, got {got!r}")


def main():
    url, token, expected_path = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)

    plex = PlexServer(url, token)
    check("server name", plex.friendlyName, expected["server_name"])

    sections = plex.library.sections()
    check("sections", sorted((str(s.key), s.title, s.type) for s in sections),
          sorted((str(s["id"]), s["title"], s["type"]) for s in expected["sections"]))

    search = expected["search"]
    section = plex.library.section(search["section"])
    found = section.search(title=search["title"])
    check(f"search {search['title']!r}", sorted(str(i.ratingKey) for i in found), sorted(search["rating_keys"]))

    listing = expected["listing"]
    section = plex.library.section(listing["section"])
    items = section.all()
    keys = [str(i.ratingKey) for i in items]
    check(f"all() of {listing['section']!r}: item count", len(items), listing["count"])
    check(f"all() of {listing['section']!r}: distinct items", len(set(keys)), listing["count"])

    item = expected["item"]
    fetched = plex.fetchItem(int(item["rating_key"]))
    check("fetched title", fetched.title, item["title"])
    check("fetched files", sorted(fetched.locations), sorted(item["files"]))
    check("fetched section", fetched.librarySectionID, item["section_id"])

    print(f"python-plexapi: {len(sections)} sections, {len(found)} search hits, "
          f"{len(items)} items listed, item {item['rating_key']} fetched: ok")


if __name__ == "__main__":
    main()
