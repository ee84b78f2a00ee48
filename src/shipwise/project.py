"""A user's project folder: the ``conf/`` beside where a command runs joins the config search.

``shipwise-data import`` run in a folder writes ``conf/task/<name>.yaml`` and ``data/<name>/``
there; ``shipwise``, ``shipwise-data validate`` and ``shipwise-decide`` run from that folder
then find the task without a flag. The folder joins Hydra's search path through a search-path
plugin (``hydra_plugins.shipwise_project``), after shipwise's own configs, exactly where
``--config-dir`` puts a folder: so a project adds configs, and a name that shipwise already
uses is refused rather than silently shadowed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shipwise.errors import ConfigError

PROJECT_CONF = "conf"


def project_conf(cwd: Path | None = None) -> Path | None:
    """``<cwd>/conf`` when it holds configs and is not shipwise's own ``conf/``, else None."""
    from shipwise.config import config_dir

    folder = (cwd or Path.cwd()) / PROJECT_CONF
    if not folder.is_dir():
        return None
    try:
        if folder.resolve() == config_dir().resolve():
            return None  # a checkout's own conf/: already the main config folder
    except ConfigError:
        pass
    return folder.resolve()


def config_dirs(given: Sequence[Path] = ()) -> list[Path]:
    """Every config folder searched, in Hydra's order: ours, the project's, then ``given``."""
    from shipwise.config import config_dir

    found = [config_dir().resolve()]
    for folder in [project_conf(), *given]:
        if folder is not None and folder.resolve() not in found:
            found.append(folder.resolve())
    return found


def check_task_found(name: str, dirs: Sequence[Path]) -> None:
    """A ConfigError naming the folders looked in and the fix, when no ``task/<name>.yaml``."""
    if any((folder / "task" / f"{name}.yaml").is_file() for folder in dirs):
        return
    looked = ", ".join(str(folder / "task") for folder in dirs)
    known = sorted({p.stem for folder in dirs for p in folder.glob("task/*.yaml")})
    raise ConfigError(
        f"no task named {name!r} (looked in {looked}); the tasks found: {', '.join(known)}",
        where=f"task={name}",
        fix=f"run the command from the folder where `shipwise-data import ... --name {name}`"
        " wrote conf/ and data/, or name that conf/ folder with --config-dir DIR",
    )


def chosen_tasks(argv: Sequence[str]) -> list[str]:
    """The tasks an argument list chooses by name (``task=NAME`` or a sweep ``task=A,B``)."""
    chosen: list[str] = []
    for arg in argv:
        key, sep, value = arg.partition("=")
        if sep and key.lstrip("+") == "task" and not any(c in value for c in "()[]{}$*"):
            chosen = [v.strip() for v in value.split(",") if v.strip()]
    return chosen


def check_tasks_found(argv: Sequence[str], dirs: Sequence[Path]) -> None:
    """Every task the command line names has a ``task/<name>.yaml`` in ``dirs``."""
    for name in chosen_tasks(argv):
        check_task_found(name, dirs)


def shadowed(name: str, group: str = "task") -> Path | None:
    """shipwise's own ``<group>/<name>.yaml``, which a project's of that name could not replace."""
    from shipwise.config import config_dir

    path = config_dir() / group / f"{name}.yaml"
    return path if path.is_file() else None
