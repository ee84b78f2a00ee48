"""Cross-process safety for shared caches: file locks, and the litter a killed run leaves.

Two runs of a parallel sweep share ``paths.cache``. Work that both could start at once (the
dequantized model copy, an index sync, training one adapter) runs under an exclusive lock on a
file beside its output, so the second run waits and then finds the work done. A lock held by a
process that was killed is released by the operating system (``flock``), never left stale.

Staging files and folders carry their owner's pid in the name (``.staging-<pid>-...``); one
whose owner is gone is litter from a kill and is removed the next time that folder is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

_OWNED = re.compile(r"^\.(?:staging|tmp)-(\d+)-")


@contextlib.contextmanager
def exclusive(target: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``<target>.lock``; say so if another run holds it first."""
    from filelock import FileLock, Timeout

    target.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(target.with_name(target.name + ".lock")))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for another run to finish {what} ...", file=sys.stderr, flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this machine)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def staging_prefix() -> str:
    """The name prefix of this process's staging files and folders."""
    return f".staging-{os.getpid()}-"


def sweep_orphans(folder: Path) -> int:
    """Remove staging litter in ``folder`` whose owning process is gone; returns how many."""
    removed = 0
    if not folder.is_dir():
        return 0
    for entry in folder.iterdir():
        match = _OWNED.match(entry.name)
        if not match or alive(int(match.group(1))):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed
