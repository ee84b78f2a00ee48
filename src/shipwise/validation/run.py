"""Validate a set of split files: stream each through the reader, then through the analyzers."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from shipwise.validation.model import SPLIT_ORDER, Analyzer, Context, Finding, Record, Report

BATCH = 1024  # records handed to the analyzers at once (the tokenizer encodes them in one call)
SHOW_PROGRESS_LINES = 2 * BATCH  # smaller tasks validate in a moment: no bar


def ordered_splits(files: Mapping[str, Path]) -> list[str]:
    """Splits in reading order: known ones by :data:`SPLIT_ORDER`, unknown ones before test."""
    known = [s for s in SPLIT_ORDER if s in files and s != "test"]
    other = sorted(s for s in files if s not in SPLIT_ORDER)
    return known + other + (["test"] if "test" in files else [])


def validate_files(
    target: str,
    files: Mapping[str, Path],
    context: Context,
    analyzers: Sequence[Analyzer] | None = None,
    batch: int = BATCH,
) -> Report:
    """Every finding and statistic for ``files`` (split name -> path)."""
    from shipwise.validation.content import default_analyzers
    from shipwise.validation.records import scan

    active = list(analyzers) if analyzers is not None else default_analyzers(context)
    report = Report(target=target, files={s: str(p) for s, p in files.items()})
    lines = sum(_count_lines(path) for path in files.values())
    with _progress(f"validating {target}", lines) as advance:
        for split in ordered_splits(files):
            pending: list[Record] = []
            usable, problems = 0, []
            for item in scan(files[split], split):
                if isinstance(item, Finding):
                    problems.append(item)
                    continue
                usable += 1
                pending.append(item)
                if len(pending) >= batch:
                    _feed(active, pending)
                    advance(len(pending))
                    pending = []
            if pending:
                _feed(active, pending)
                advance(len(pending))
            report.findings.extend(problems)
            if not usable and problems and problems[0].check not in ("missing_file", "empty_file"):
                report.findings.append(_unusable(split, str(files[split])))
    with _finishing(f"validating {target}", lines):
        for analyzer in active:
            findings, stats = analyzer.finish()
            report.findings.extend(findings)
            if stats:
                report.stats[analyzer.name] = stats
    return report


@contextlib.contextmanager
def _progress(description: str, lines: int) -> Iterator[Callable[[int], None]]:
    """A bar over the records read, for files long enough to take a while; else nothing."""
    if lines < SHOW_PROGRESS_LINES:
        yield lambda n: None
        return
    from shipwise.progress import counting

    with counting(f"{description}: records", total=lines) as advance:
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            advance(n)

        yield step
        if done < lines:  # blank lines and lines in error are read too
            advance(lines - done)


@contextlib.contextmanager
def _finishing(description: str, lines: int) -> Iterator[None]:
    """A spinner while the checks across splits (duplicates, leaks, answer sets) finish."""
    if lines < SHOW_PROGRESS_LINES:
        yield
        return
    from shipwise.progress import status

    with status(f"{description}: checking across splits (duplicates, leaks, answers)"):
        yield


def _count_lines(path: Path) -> int:
    """Lines in ``path`` (0 when it cannot be read: the reader reports that itself)."""
    try:
        with path.open("rb") as handle:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    except OSError:
        return 0


def _unusable(split: str, file: str) -> Finding:
    return Finding(
        "error",
        "size",
        f"no usable examples in {split}: every line has an error",
        "fix the errors reported for this file",
        file,
        split=split,
    )


def _feed(analyzers: Sequence[Analyzer], records: list[Record]) -> None:
    for analyzer in analyzers:
        analyzer.observe(records)
