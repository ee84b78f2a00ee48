"""A content-addressed JSON cache: keys are hashes of what a value depends on.

Writes go to a temp file in the same folder and are renamed into place, so a reader (or a run
killed mid-write) sees either no entry or a whole one. A corrupt entry reads as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipwise.locks import staging_prefix, sweep_orphans


def content_key(*parts: Any) -> str:
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def slug(text: str, limit: int, empty: str) -> str:
    """``text`` as a readable file or collection name: lower-case letters, digits and dashes."""
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:limit] or empty


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{staging_prefix()}{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Fill a staging folder, then rename it to ``target``: readers see all of it or nothing.

    Staging litter of killed runs beside ``target`` is removed first. If another process
    renamed its own copy into place first, that copy stays and this one is discarded.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_orphans(target.parent)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=staging_prefix()))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


class JsonCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            value = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        if not isinstance(value, dict):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def sweep(self) -> int:
        """Remove temp files that killed runs left mid-write; returns how many."""
        if not self.root.is_dir():
            return 0
        return sum(sweep_orphans(folder) for folder in self.root.iterdir() if folder.is_dir())

    def put(self, key: str, value: dict[str, Any]) -> None:
        atomic_write_text(self._path(key), json.dumps(value, ensure_ascii=False))
