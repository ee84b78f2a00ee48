"""Containment, checked in one place: a path built from config or data stays inside its root.

Names that become folders or files (a task's name, an import's name, a run's record) must be
plain names; paths that are joined under a root (a document's id, a cache entry, an adapter or
a run folder) must resolve inside that root, symlinks followed. Roots themselves must be
folders this process can create and write.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from shipwise.errors import ConfigError, DataError

# A name that is a folder, a Hydra config-group option and a YAML file stem at once.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


def check_name(name: object, where: str) -> str:
    """``name`` when it is a plain folder name (no separator, no dot), else a ConfigError."""
    text = str(name)
    if not NAME.fullmatch(text):
        raise ConfigError(
            f"{text!r} cannot name a folder and a config: it must be a plain name",
            where=where,
            fix="use letters, digits, '_' and '-' (at most 128), starting with a letter or digit",
        )
    return text


def inside(root: Path, path: Path | str, what: str, *, data: bool = False) -> Path:
    """``root / path`` resolved, when it stays inside ``root``; else an error naming ``what``.

    ``data=True`` raises a DataError (the path came from a task's files), else a ConfigError.
    """
    base = root.resolve()
    target = (base / path).resolve()
    if target == base or base in target.parents:
        return target
    error = DataError if data else ConfigError
    raise error(
        f"{what} resolves to {target}, outside {base}",
        where=str(root / path),
        fix=f"keep {what} inside {base} (no '..', absolute paths or links that leave it)",
    )


def writable_folder(path: Path | str, key: str) -> Path:
    """``path`` as an existing folder this process can write, created if missing.

    Catches what would otherwise surface deep inside a run: a parent that is a file, a
    read-only or virtual file system (``/proc``), a permission error.
    """
    folder = Path(path).expanduser()
    blocker = next((p for p in [folder, *folder.parents] if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise ConfigError(
            f"{blocker} is a file, so no folder can be made at {folder}",
            where=key,
            fix=f"point {key} at a folder (or a path where one can be created)",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".shipwise-write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"cannot write in {folder}: {exc.strerror or exc}",
            where=key,
            fix=f"point {key} at a folder you can write (e.g. {key}=.)",
        ) from None
    return folder.resolve()
