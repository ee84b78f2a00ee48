"""What every importer shares: checking a task name and split fractions, refusing to
overwrite, and writing the task folder and its YAML so an interrupted import leaves nothing
half-written where ``shipwise`` would load it.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from shipwise.errors import ConfigError
from shipwise.paths import check_name as _plain_name

SPLITS = ("train", "val", "test")


def check_name(name: str) -> None:
    """The task name is a folder, a Hydra config-group option and a YAML file stem."""
    _plain_name(name, "name")


def check_fractions(val: float, test: float) -> None:
    """Both in [0, 1) and leaving some rows for train."""
    for key, value in (("val_fraction", val), ("test_fraction", test)):
        if not 0 <= value < 1:
            raise ConfigError(f"{key}={value} is outside [0, 1)", where=key)
    if val + test >= 1:
        raise ConfigError(
            f"val_fraction + test_fraction = {val + test:g} leaves no train split",
            where="val_fraction, test_fraction",
            fix="keep their sum below 1",
        )


def refuse_overwrite(*targets: Path | None, force: bool) -> None:
    """Stop before reading anything when a target exists and ``force`` is off."""
    for target in targets:
        if target is not None and target.exists() and not force:
            raise ConfigError(
                "already exists; an import does not overwrite it",
                where=str(target),
                fix="pass --force to replace it, or choose another --name",
            )


@contextmanager
def staged_task(task_dir: Path) -> Iterator[Path]:
    """Yield an empty sibling folder to fill; on success it replaces ``task_dir`` in one rename.

    If the body fails, the old task (if any) is left exactly as it was.
    """
    staging = task_dir.with_name(f".{task_dir.name}.importing")
    remove(staging)  # left over by an import that was killed
    staging.mkdir(parents=True)
    try:
        yield staging
        if task_dir.exists() or task_dir.is_symlink():
            replaced = task_dir.with_name(f".{task_dir.name}.replaced")
            remove(replaced)
            task_dir.rename(replaced)
            try:
                staging.rename(task_dir)
            except BaseException:
                replaced.rename(task_dir)
                raise
            remove(replaced)
        else:
            staging.rename(task_dir)
    finally:
        remove(staging)


def write_lines(path: Path, records: Iterable[dict[str, Any]]) -> None:
    """One JSON object per line, UTF-8, ``\\n`` endings: byte-identical for equal records."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_yaml(path: Path, text: str) -> None:
    """Write the task YAML through a temporary file, so a reader never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="\n")
    os.replace(partial, path)


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
