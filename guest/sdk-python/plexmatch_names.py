"""File names and title variants, as the plexmatch host's index uses them.

The Python twin of the Rust SDK's matchkit: the same rules, checked against the same
test vectors (guest/vectors/helpers.json in the plexmatch repository).

A file name is the last component of a path, where both ``/`` and ``\\`` separate
components (a Windows Plex server and a POSIX media manager must agree). Two names are the
same when their keys are equal: Unicode NFC, then lower case.
"""

import re
import unicodedata

__all__ = ["file_name", "parent_name", "name_key", "has_file_named", "title_variants"]

_SEPARATORS = re.compile(r"[/\\]")

# Quality and source markers that end a title, matched as whole words.
_QUALITY_TOKENS = ("WEBDL", "WEB-DL", "WEBRip", "HDTV", "BluRay", "BDRip", "DVDRip", "DVD",
                   "720p", "1080p", "2160p", "4K", "HDR", "DV")


def file_name(path):
    """The last component of ``path`` (after the last ``/`` or ``\\``); None when empty."""
    name = _SEPARATORS.split(path)[-1]
    return None if name in ("", ".", "..") else name


def parent_name(path):
    """The parent folder's name (the component before the file name), if any."""
    parts = _SEPARATORS.split(path)
    if len(parts) < 2 or parts[-2] == "":
        return None
    return parts[-2]


def name_key(name):
    """The comparison key of a file name or path: NFC-normalised and lower-cased."""
    if name.isascii():
        return name.lower()
    return unicodedata.normalize("NFC", name).lower()


def has_file_named(files, key):
    """Whether any of ``files`` has the file name whose key is ``key`` (see name_key)."""
    for f in files:
        name = file_name(f)
        if name is not None and name_key(name) == key:
            return True
    return False


def title_variants(path):
    """The ordered, distinct titles to search Plex with for ``path``: the file's stem
    without quality markers, that without a trailing date, that without a trailing
    ``(year)``, and the parent folder without a date."""
    name = file_name(path)
    title_search = _strip_quality(_stem(name)) if name is not None else ""
    title_base = _strip_date(title_search)
    without_year = _strip_year(title_base)
    parent = parent_name(path)
    out = []
    for v in (title_search, title_base, without_year,
              _strip_date(parent) if parent is not None else None):
        if v and v not in out:
            out.append(v)
    return out


def _stem(name):
    i = name.rfind(".")
    if i <= 0 or i + 1 == len(name):
        return name
    return name[:i]


def _alnum(c):
    # Rust's char::is_alphanumeric: Unicode letters and numbers.
    return unicodedata.category(c)[0] in "LN"


def _strip_quality(title):
    for i in range(len(title)):
        if i > 0 and _alnum(title[i - 1]):
            continue
        for tok in _QUALITY_TOKENS:
            end = i + len(tok)
            word = title[i:end]
            if word.isascii() and word.lower() == tok.lower() \
                    and (end == len(title) or not _alnum(title[end])):
                return _strip_separator_before(title, i)
    return title


def _strip_separator_before(title, at):
    head = title[:at].rstrip()
    if head.endswith(("-", "_")):
        head = head[:-1]
    return head.rstrip()


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z", re.ASCII)
_YEAR = re.compile(r"\([0-9]{4}\)\Z", re.ASCII)


def _strip_date(title):
    trimmed = title.rstrip()
    if _DATE.search(trimmed):
        return _strip_separator_before(trimmed, len(trimmed) - 10)
    return title


def _strip_year(title):
    t = title.rstrip()
    if len(t) >= 7 and _YEAR.search(t):
        return t[:-6].rstrip()
    return title


# Where a file is: deciding between items that hold a file of the same name by the path
# itself (the Rust SDK's matchkit::paths, checked against the same vectors). In order:
# exact path, then the path after the ``rewrite*`` mappings, then the longest shared tail
# of folders (at least the parent folder). Otherwise the path does not decide.

def components(path):
    """The path's components, compared as names are (case, Unicode form)."""
    return [name_key(c) for c in _SEPARATORS.split(path) if c]


def shared_tail(a, b):
    """How many trailing components ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(reversed(a), reversed(b)):
        if x != y:
            break
        n += 1
    return n


def in_family(prefix, key):
    """Whether ``key`` belongs to the setting family ``prefix*`` (``rewrite``, ``rewrite2``,
    ``rewrite-nas``; not ``rewritee``)."""
    if not key.startswith(prefix):
        return False
    rest = key[len(prefix):]
    return not (rest[:1].isascii() and rest[:1].isalpha())


def parse_rewrites(pairs):
    """The ``rewrite*`` settings among ``pairs`` as (from, to) prefixes, each written
    ``FROM=>TO`` (or ``FROM=TO``); raises ValueError naming one that is neither."""
    out = []
    for key, value in pairs:
        if not in_family("rewrite", key):
            continue
        frm, sep, to = value.partition("=>")
        if not sep:
            frm, sep, to = value.partition("=")
        if not sep or not frm.strip():
            raise ValueError(f"setting {key}={value!r} is not FROM=TO (e.g. /mnt/stash/=/data/media/)")
        out.append((frm.strip(), to.strip()))
    return out


def rewrite(path, rewrites):
    """``path`` with the matching prefix rewritten (the longest ``from`` wins), and whether
    one did."""
    norm = path.replace("\\", "/")
    lower = norm.lower()
    best = None
    for frm, to in rewrites:
        if lower.startswith(frm.replace("\\", "/").lower()) and (best is None or len(frm) >= len(best[0])):
            best = (frm, to)
    if best is None:
        return norm, False
    return best[1] + norm[len(best[0]):], True


def decide_by_path(path, holders, rewrites=()):
    """Which of ``holders`` (each an item's files) the path decides for, and by which rule
    (``"exact path"``, ``"mapped path"``, ``"folder tail of N folder(s)"``); None when the
    path does not single one out."""
    wanted = components(path)
    files = [[components(f) for f in fs] for fs in holders]

    def holding(want):
        return [i for i, fs in enumerate(files) if any(f == want for f in fs)]

    hits = holding(wanted)
    if len(hits) == 1:
        return hits[0], "exact path"
    mapped, did = rewrite(path, rewrites)
    if did:
        hits = holding(components(mapped))
        if len(hits) == 1:
            return hits[0], "mapped path"
    tails = [max((shared_tail(f, wanted) for f in fs), default=0) for fs in files]
    best = max(tails, default=0)
    if best >= 2:
        hits = [i for i, t in enumerate(tails) if t == best]
        if len(hits) == 1:
            return hits[0], f"folder tail of {best - 1} folder(s)"
    return None
