"""Hydra search-path plugin: a shipwise command finds the ``conf/`` of the folder it runs in.

Acts only when the main config folder is shipwise's, so other Hydra apps are untouched.
"""

from __future__ import annotations

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath, SearchPathQuery
from hydra.plugins.search_path_plugin import SearchPathPlugin


class ShipwiseProjectSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from shipwise.config import config_dir
        from shipwise.errors import ShipwiseError
        from shipwise.project import project_conf

        try:
            ours = config_dir().resolve()
        except ShipwiseError:
            return
        folders = [_folder(element.path) for element in search_path.get_path()]
        if ours not in folders:
            return
        folder = project_conf()
        if folder is not None and folder not in folders:
            # After shipwise's configs, before the schema: where --config-dir goes.
            search_path.append(
                "shipwise-project", f"file://{folder}", anchor=SearchPathQuery(provider="main")
            )


def _folder(path: str | None) -> Path | None:
    if not path or ("://" in path and not path.startswith("file://")):
        return None
    return Path(path.removeprefix("file://")).resolve()
