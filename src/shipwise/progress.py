"""Progress for long work: a spinner for waits of unknown length, a bar for counted work."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def _console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner on a terminal, one log line elsewhere (CI logs stay readable)."""
    console = _console()
    if console.is_terminal:
        with console.status(message):
            yield
    else:
        print(f"{message} ...", file=sys.stderr, flush=True)
        yield


@contextlib.contextmanager
def counting(description: str, total: int) -> Iterator[Callable[..., None]]:
    """A bar with rate and ETA; yields ``advance(n, note=None)`` (a note such as tokens/s)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = _console()
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
        disable=not console.is_terminal,
    )
    done = 0
    step = max(1, total // 10)

    def advance(n: int, note: str | None = None) -> None:
        nonlocal done
        before, done = done, done + n
        if note is None:
            progress.advance(task, n)
        else:
            progress.update(task, advance=n, note=note)
        if not console.is_terminal and (done // step > before // step or done == total):
            suffix = f" ({note})" if note else ""
            print(f"{description}: {done}/{total}{suffix}", file=sys.stderr, flush=True)

    with progress:
        task = progress.add_task(description, total=total, note="")
        yield advance
