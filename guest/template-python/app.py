"""The template for a new plexmatch plugin in Python: it answers with the items of the
section that hold a file of the path's name. Change `find` to your strategy."""

from plexmatch_sdk import *

import wit_world


class Matcher(wit_world.exports.Matcher):
    def info(self):
        return PluginInfo(name="template", version="0.1.0",
                          description="Items holding a file of the same name")

    def declared_settings(self):
        # e.g. [setting("threshold", SettingKind.NUMBER, "0.8", "how sure a title match must be")]
        return []

    def find(self, section, path):
        name = file_name(path)
        if name is None:
            raise invalid_input(f"{path!r} has no file name")
        try:
            items = plex.items_by_file_name(section.id, name)
        except Err as e:
            raise plex_error(e)
        log.debug(f"{len(items)} item(s) of {section.title!r} hold a file named {name!r}")
        # Several holders: the path decides (exact, then the rewrite* mappings, then the
        # longest shared folder tail); otherwise LOW.
        return decide_for_path(section, path, items)
