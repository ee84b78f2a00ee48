"""Reading the rows of a CSV, TSV or JSONL file, with errors that name the file and line.

A delimited file is read strictly: a quote left open is an error rather than a cell that
swallows the rows after it, a repeated column name is an error rather than a column that
silently loses its cells, and a row whose quoted cell holds what reads as whole rows of the
same file (one row's answer inside another's text) is refused as merged.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipwise.errors import DataError
from shipwise.tasks.jsonl import parse_json_line, text_lines

QUOTE_FIX = 'close the quote the row opens (a quote inside a quoted cell is written "")'


@dataclass(frozen=True)
class SourceRow:
    """One row as read: its first line, its cells by column, and its lines if it spans several."""

    line: int
    cells: dict[str, Any]
    span: tuple[str, ...] = ()


def read_rows(
    path: Path, delimiter: str | None, columns: Sequence[str], hasher: Any
) -> list[SourceRow]:
    """Every row of ``path`` (JSONL when ``delimiter`` is None); ``hasher`` sees every byte."""
    lines = _lines(path, hasher)
    if delimiter is None:
        return list(_jsonl_rows(lines, path))
    return list(_csv_rows(lines, path, delimiter, columns))


def check_merged(
    rows: Sequence[SourceRow], outputs: Sequence[str], delimiter: str, path: Path
) -> None:
    """Refuse a row spanning lines when one of its lines alone is a whole row of the file.

    A line is a whole row when it splits into one cell per column and its output cells are
    answers other rows give: what an unclosed quote leaves behind when the next quote in the
    file happens to close it.
    """
    spanning = [row for row in rows if len(row.span) > 1]
    if not spanning:
        return
    answers = {c: {str(row.cells[c]).strip() for row in rows} for c in outputs}
    for row in spanning:
        header = list(row.cells)
        for offset, text in enumerate(row.span[:-1]):
            try:
                line = text.replace('"', "").rstrip("\r\n")
                cells = next(csv.reader([line], delimiter=delimiter), [])
            except csv.Error:  # a stray carriage return or NUL: not a row of this file
                continue
            if len(cells) != len(header):
                continue
            values = {c: cells[header.index(c)].strip() for c in outputs}
            if all(values[c] and values[c] in answers[c] for c in outputs):
                raise DataError(
                    f"line {row.line + offset} is a whole row (answer"
                    f" {', '.join(values.values())!r}), yet it was read as part of a quoted"
                    f" cell spanning lines {row.line}-{row.line + len(row.span) - 1}:"
                    " a quote was left open and two rows merged",
                    where=f"{path}:{row.line + offset}",
                    fix=QUOTE_FIX,
                )


def _lines(path: Path, hasher: Any) -> Iterator[str]:
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"the file {what}", where=str(path), fix="check the path")
    try:
        with path.open("rb") as handle:
            for _, line in text_lines(handle, path, hasher.update):
                yield line
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror}", where=str(path)) from None


def _jsonl_rows(lines: Iterator[str], path: Path) -> Iterator[SourceRow]:
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = parse_json_line(line, f"{path}:{lineno}")
        if not isinstance(record, dict):
            raise DataError(
                f"expected a JSON object, got {type(record).__name__}",
                where=f"{path}:{lineno}",
                fix='write one object per line, e.g. {"text": ..., "label": ...}',
            )
        yield SourceRow(lineno, record)


def _csv_rows(
    lines: Iterator[str], path: Path, delimiter: str, columns: Sequence[str]
) -> Iterator[SourceRow]:
    read: list[str] = []  # the physical lines of the row being read

    def tapped() -> Iterator[str]:
        for line in lines:
            read.append(line)
            yield line

    reader = csv.reader(tapped(), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    line = 0
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num  # a quoted cell may span lines
            span, read[:] = tuple(read), []
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                _check_header(header, columns, where=f"{path}:{start}")
                continue
            if len(cells) != len(header):
                raise DataError(
                    f"{len(cells)} cells, the header has {len(header)}",
                    where=f"{path}:{start}",
                    fix=f"quote cells that contain {delimiter!r}: one cell per column in every row",
                )
            cells_by_column = dict(zip(header, cells, strict=True))
            yield SourceRow(start, cells_by_column, span if len(span) > 1 else ())
    except csv.Error as exc:
        raise DataError(
            f"unreadable CSV in the row that starts on line {line + 1}: {exc}",
            where=f"{path}:{line + 1}",
            fix=QUOTE_FIX,
        ) from None
    if header is None:
        raise DataError("the file is empty", where=str(path), fix="start it with a header row")


def _check_header(header: Sequence[str], wanted: Sequence[str], where: str) -> None:
    """Every column named once: a repeated name would silently keep only its last cells."""
    seen: dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"the header names column {name!r} twice (columns {seen[name]} and {index})",
                where=where,
                fix="rename one of them: every column needs its own name",
            )
        seen[name] = index
    check_columns(wanted, header, where)


def check_columns(wanted: Sequence[str], available: Sequence[str], where: str) -> None:
    missing = [c for c in wanted if c not in available]
    if missing:
        raise DataError(
            f"no column {missing[0]!r}; the columns are {', '.join(map(repr, available))}",
            where=where,
            fix="name one of these with --input-col/--output-col",
        )
