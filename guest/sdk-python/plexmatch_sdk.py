"""The plexmatch plugin SDK for Python: the helpers a matcher needs, in one import.

    from plexmatch_sdk import *

gives the host's interfaces (``plex``, ``library_cache``, ``match_cache``, ``settings``,
``request``: ``request.original_path()`` is the caller's path before ``--map``),
``log`` (``log.debug(message)``, ``log.info``, ``log.warn``, ``log.error``, ``log.trace``;
lines tagged with the plugin's name in plexmatch's log with ``-v``), the contract's types,
the file-name and path helpers of plexmatch_names, the answers ``high(item)``,
``low(items)``, ``not_found(section, name)``, ``decide(section, name, items)``,
``decide_for_path(section, path, items)`` and ``plex_error(err)``, and ``setting(...)`` for
``declared_settings``. componentize-py turns a function's ``raise Err(...)`` into the
``error`` side of its WIT result.
"""

from componentize_py_types import Err
from wit_world.imports import library_cache, match_cache, plex, request, settings
from wit_world.imports import log as _wit_log
from wit_world.imports.types import (
    Confidence, Item, MatchError_InvalidInput, MatchError_NotFound, MatchError_Plex,
    MatchOutcome, Section)
from wit_world.exports.matcher import PluginInfo, Setting, SettingKind
from plexmatch_names import (
    decide_by_path, file_name, has_file_named, name_key, parent_name, parse_rewrites,
    title_variants)

__all__ = [
    "Err", "plex", "library_cache", "match_cache", "settings", "request", "log", "Item", "Section",
    "PluginInfo", "Setting", "SettingKind", "setting", "MatchOutcome", "file_name",
    "parent_name", "name_key", "has_file_named", "title_variants", "high", "low",
    "not_found", "invalid_input", "plex_error", "decide", "decide_by_path", "decide_for_path",
    "parse_rewrites",
]


class _Log:
    """The host's log: ``log.debug(message)`` and the like, or ``log.log(log.Level.X, m)``."""

    Level = _wit_log.Level

    @staticmethod
    def log(level, message):
        _wit_log.log(level, str(message))

    def trace(self, message):
        _wit_log.log(_wit_log.Level.TRACE, str(message))

    def debug(self, message):
        _wit_log.log(_wit_log.Level.DEBUG, str(message))

    def info(self, message):
        _wit_log.log(_wit_log.Level.INFO, str(message))

    def warn(self, message):
        _wit_log.log(_wit_log.Level.WARN, str(message))

    def error(self, message):
        _wit_log.log(_wit_log.Level.ERROR, str(message))


log = _Log()


def high(item, matched_file=None):
    """Exactly this item holds the file. ``matched_file`` (one of ``item.files``) says which
    file of it the path is, when its name differs from the path's (a renamed file)."""
    return MatchOutcome(confidence=Confidence.HIGH, chosen=item, candidates=[item],
                        matched_file=matched_file)


def low(candidates):
    """Any of these items could hold the file."""
    return MatchOutcome(confidence=Confidence.LOW, chosen=None, candidates=list(candidates),
                        matched_file=None)


def setting(name, kind=SettingKind.TEXT, default=None, description=""):
    """A setting the plugin reads, for ``declared_settings``: ``name`` (or a family
    ``prefix*``), its kind (``SettingKind.TEXT``, ``INTEGER``, ``NUMBER``, ``BOOLEAN``,
    ``PATH_MAPPING``), its default as text, one line of description."""
    return Setting(name=name, kind=kind, default=default, description=description)


def not_found(section, name):
    """The error for: no item of ``section`` holds a file named ``name`` (raise it)."""
    return Err(MatchError_NotFound(f"no item in section {section.title!r} has a file named {name!r}"))


def invalid_input(message):
    """The error for a path that cannot be matched as given (raise it)."""
    return Err(MatchError_InvalidInput(message))


def plex_error(err):
    """A failed host Plex call (the ``Err`` a ``plex.*`` function raised) as this plugin's
    error: the answer is unknown, not "no" (raise it)."""
    return Err(MatchError_Plex(err.value))


def decide(section, name, items):
    """The answer for ``items`` (deduplicated by rating key): none raises not found, one is
    HIGH, several are LOW."""
    seen = {}
    for item in items:
        seen.setdefault(item.rating_key, item)
    unique = list(seen.values())
    if not unique:
        raise not_found(section, name)
    if len(unique) == 1:
        return high(unique[0])
    return low(unique)


def decide_for_path(section, path, items, rewrites=None):
    """The answer for ``items`` (deduplicated by rating key) with the path deciding between
    several, as the built-in plugins do: the one item holding the exact path, else the one
    holding it after the ``rewrite*`` mappings (``rewrites``: (from, to) pairs; default: the
    plugin's settings), else the one sharing the longest folder tail; otherwise LOW. None
    raises not found."""
    seen = {}
    for item in items:
        seen.setdefault(item.rating_key, item)
    unique = list(seen.values())
    name = file_name(path) or path
    if len(unique) < 2:
        return decide(section, name, unique)
    if rewrites is None:
        try:
            rewrites = parse_rewrites(settings.all())
        except ValueError as e:
            raise invalid_input(str(e))
    decided = decide_by_path(path, [i.files for i in unique], rewrites)
    if decided is None:
        return low(unique)
    return high(unique[decided[0]])
