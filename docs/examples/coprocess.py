"""Drive `plexmatch match --json` as a long-lived co-process: one path in, one answer out.

plexmatch answers each stdin line as soon as it is read (in input order), so a program can
ask path by path and keep one process, its caches and its plugin instances warm. It honours
the library TTL however long it stays open: once a section's snapshot is older than
--library-ttl, the next path brings it up to date, so a change on the server shows in the
answers within one TTL. If Plex is down then, it keeps answering from the snapshot it has
(one warning on stderr; never past --stale-limit). Every line written gets exactly one
answer line, also when the token is refused (each answer is then that error).

    PLEX_URL=... PLEX_TOKEN=... python3 coprocess.py "/media/Heat (1995).mkv" ...
"""

import json
import os
import subprocess
import sys


class PlexMatch:
    def __init__(self, *args):
        binary = os.environ.get("PLEXMATCH", "plexmatch")
        self.proc = subprocess.Popen(
            [binary, "match", "--json", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,  # line-buffered: each path goes out at once
        )

    def match(self, path):
        """The answer for one path: a dict with outcome high / low / not-found / error."""
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.close()
        return self.proc.wait()


if __name__ == "__main__":
    pm = PlexMatch()
    for path in sys.argv[1:]:
        answer = pm.match(path)
        if answer["outcome"] == "high":
            item = answer["item"]
            print(f"{path}: {item['rating_key']} {item['title']!r} ({item['section']})")
        elif answer["outcome"] == "low":
            keys = ", ".join(c["rating_key"] for c in answer["candidates"])
            print(f"{path}: one of {keys} (settle it: plexmatch pin PATH KEY)")
        else:
            print(f"{path}: {answer['outcome']} {answer.get('error', {}).get('message', '')}")
    pm.close()
