"""Reading the rows of a table file, with errors that name the file and line (or record).

The formats are the ones datasets arrive in: CSV and TSV (with a header row, or without one
and columns named by position from 1), JSON Lines, a JSON array of objects (what pandas and
many dataset exports write; a ``.json`` file holding JSON Lines is read as such), and Parquet
(what the Hugging Face hub serves). Any but Parquet may be gzip-compressed (``rows.csv.gz``).
Rows of a JSON array or a Parquet file are numbered by record, from 1; the rest by line.

A delimited file is read strictly: a quote left open is an error rather than a cell that
swallows the rows after it, a repeated column name is an error rather than a column that
silently loses its cells, and a row whose quoted cell holds what reads as whole rows of the
same file (one row's answer inside another's text) is refused as merged.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from shipwise.errors import ConfigError, DataError
from shipwise.tasks.jsonl import decode_json, parse_json_line, refuse_wide, text_lines

QUOTE_FIX = 'close the quote the row opens (a quote inside a quoted cell is written "")'
DELIMITERS = {".csv": ",", ".tsv": "\t"}
SUFFIXES = ".csv, .tsv, .jsonl, .json or .parquet"


@dataclass(frozen=True)
class TableFormat:
    """How a file is read: ``kind`` is delimited, jsonl, json or parquet."""

    kind: str
    delimiter: str | None = None
    compressed: bool = False

    @property
    def unit(self) -> str:
        """What a row's number counts: lines, or records (JSON arrays and Parquet)."""
        return "record" if self.kind in ("json", "parquet") else "line"


def table_format(path: Path, delimiter: str | None = None) -> TableFormat:
    """The format a file's name says (``.gz`` after it: compressed); ``delimiter`` wins."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    suffix = (suffixes[:-1] if compressed else suffixes)[-1:] or [""]
    kind = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}.get(
        suffix[0]
    )
    if delimiter is not None:
        return TableFormat("delimited", delimiter, compressed)
    if suffix[0] in DELIMITERS:
        return TableFormat("delimited", DELIMITERS[suffix[0]], compressed)
    if kind is None:
        raise ConfigError(
            f"cannot tell the format of {path.name!r} from its extension",
            where=str(path),
            fix=f"name it {SUFFIXES} (.gz after any but .parquet), or give --delimiter for a"
            " delimited file",
        )
    if kind == "parquet" and compressed:
        raise ConfigError(
            "a Parquet file compresses its own columns and is not read gzipped",
            where=str(path),
            fix=f"gunzip {path.name}",
        )
    return TableFormat(kind, None, compressed)


@dataclass(frozen=True)
class SourceRow:
    """One row as read: its first line, its cells by column, and its lines if it spans several."""

    line: int
    cells: dict[str, Any]
    span: tuple[str, ...] = ()


def read_rows(
    path: Path,
    form: TableFormat,
    columns: Sequence[str],
    hasher: Any,
    header: bool = True,
    names: Sequence[str] = (),
) -> list[SourceRow]:
    """Every row of ``path``; ``hasher`` sees every byte of the file as stored.

    ``header=False``: a delimited file's first row is data, its columns named ``names`` or,
    without them, "1", "2", ... by position.
    """
    _check_file(path)
    if form.kind == "parquet":
        _hash_file(path, hasher)
        return _parquet_rows(path)
    if form.compressed:
        _hash_file(path, hasher)
        hasher = hashlib.sha256()  # the lines read are the file's content, not its bytes
    if form.kind == "json":
        return list(_json_rows(_read_text(path, form, hasher), path))
    lines = _lines(path, form, hasher)
    if form.kind == "jsonl":
        return list(_jsonl_rows(lines, path))
    assert form.delimiter is not None
    return list(_csv_rows(lines, path, form.delimiter, columns, header, names))


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


def _check_file(path: Path) -> None:
    if not path.is_file():
        what = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise DataError(f"the file {what}", where=str(path), fix="check the path")


def _hash_file(path: Path, hasher: Any) -> None:
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                hasher.update(chunk)
    except OSError as exc:
        raise DataError(f"cannot read the file: {exc.strerror}", where=str(path)) from None


def _open(path: Path, form: TableFormat) -> IO[bytes]:
    handle: Any = gzip.open(path, "rb") if form.compressed else path.open("rb")  # noqa: SIM115
    return handle  # GzipFile reads bytes like any binary handle


def _unreadable(path: Path, exc: Exception) -> DataError:
    """An OSError, or a gzip stream that is not one or ends early."""
    if isinstance(exc, gzip.BadGzipFile | zlib.error | EOFError):
        return DataError(
            f"not a whole gzip file ({exc or 'it ends early'})",
            where=str(path),
            fix="check the download, or drop the .gz from the name if it is not compressed",
        )
    return DataError(f"cannot read the file: {getattr(exc, 'strerror', exc)}", where=str(path))


def _lines(path: Path, form: TableFormat, hasher: Any) -> Iterator[str]:
    try:
        with _open(path, form) as handle:
            for _, line in text_lines(handle, path, hasher.update):
                yield line
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(path, exc) from None


def _read_text(path: Path, form: TableFormat, hasher: Any) -> str:
    """The whole file as text: a JSON array may be one line of any length."""
    try:
        with _open(path, form) as handle:
            data = handle.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise _unreadable(path, exc) from None
    hasher.update(data)
    refuse_wide(data[:256], path)
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            "bytes that are not UTF-8", where=f"{path}:{line}", fix="re-save the file as UTF-8"
        ) from None


_SPACE = re.compile(r"\s*")


def _json_rows(text: str, path: Path) -> Iterator[SourceRow]:
    """A JSON array of objects, numbered by record; JSON Lines written as ``.json`` too."""
    start = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if start == len(text):
        raise DataError("the file is empty", where=str(path), fix="write a JSON array of rows")
    if text[start] != "[":
        yield from _json_object_rows(text, path)
        return
    at = _SPACE.match(text, start + 1).end()  # type: ignore[union-attr]
    number = 0
    unclosed = DataError(
        "the array is not closed: the file ends before its ']'",
        where=str(path),
        fix="check the file is whole (a download cut short ends mid-array)",
    )
    while True:
        if at >= len(text):
            raise unclosed
        if number == 0 and text[at] == "]":
            break
        number += 1
        where = f"{path}: record {number} (line {text.count(chr(10), 0, at) + 1})"
        fix = "check the file is whole (a download cut short ends mid-record)"
        record, end = decode_json(text, where, fix, start=at)
        if not isinstance(record, dict):
            raise DataError(
                f"expected a JSON object, got {type(record).__name__}",
                where=where,
                fix='write the array\'s rows as objects, e.g. [{"text": ..., "label": ...}]',
            )
        yield SourceRow(number, record)
        at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if at >= len(text):
            raise unclosed
        if text[at] == "]":
            break
        if text[at] != ",":
            raise DataError(
                "expected ',' or ']' after the record",
                where=where,
                fix="check the file is whole, and that a comma parts every two records",
            )
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    rest = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    if rest < len(text):
        raise DataError(
            f"text after the array's closing ']' (line {text.count(chr(10), 0, rest) + 1})",
            where=str(path),
            fix="keep one JSON array in the file",
        )


def _json_object_rows(text: str, path: Path) -> Iterator[SourceRow]:
    """A ``.json`` file not holding an array: JSON Lines, or one object (a row, or a wrapper
    whose rows sit under a key, which is refused with the key named)."""
    try:
        whole = json.loads(text)
    except ValueError:
        yield from _jsonl_rows(iter(io.StringIO(text)), path)  # several values: JSON Lines
        return
    if not isinstance(whole, dict):
        raise DataError(
            f"expected a JSON array of objects, got {type(whole).__name__}",
            where=str(path),
            fix='write the rows as [{"text": ..., "label": ...}, ...] or one object per line',
        )
    lists = [
        key
        for key, value in whole.items()
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value)
    ]
    if lists:
        key = lists[0]
        raise DataError(
            f"the file is one JSON object whose rows are under {key!r}"
            f" ({len(whole[key]):,} objects), not a list of rows",
            where=str(path),
            fix=f'write that list to a file of its own, e.g. python -c "import json;'
            f" json.dump(json.load(open('{path.name}'))['{key}'], open('rows.json', 'w'))\"",
        )
    yield SourceRow(1, whole)


def _parquet_rows(path: Path) -> list[SourceRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(
            f"cannot read it as Parquet: {exc}",
            where=str(path),
            fix="check the download, or name the file by its format (.csv, .jsonl, ...)",
        ) from None
    rows = [SourceRow(number, row) for number, row in enumerate(table.to_pylist(), start=1)]
    if not rows:
        raise DataError("the file has no rows", where=str(path), fix="check the export")
    return rows


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
    lines: Iterator[str],
    path: Path,
    delimiter: str,
    columns: Sequence[str],
    has_header: bool,
    names: Sequence[str] = (),
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
            if header is None and not has_header:
                header = list(names) or [str(n) for n in range(1, len(cells) + 1)]
                if names and len(names) != len(cells):
                    raise DataError(
                        f"--column-names gives {len(names)} names, and the first row has"
                        f" {len(cells)} cells",
                        where=f"{path}:{start}",
                        fix="name every column, in order",
                    )
                check_columns(columns, header, f"{path}:{start}", numbered=not names)
            elif header is None:
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
        fix = "start it with a header row" if has_header else "add rows"
        raise DataError("the file is empty", where=str(path), fix=fix)


def _check_header(header: Sequence[str], wanted: Sequence[str], where: str) -> None:
    """Every column named once: a repeated name would silently keep only its last cells."""
    seen: dict[str, int] = {}
    for index, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"the header names column {name!r} twice (columns {seen[name]} and {index})",
                where=where,
                fix="rename one of them: every column needs its own name"
                + _headerless_hint(header),
            )
        seen[name] = index
    check_columns(wanted, header, where)


def _looks_like_data(header: Sequence[str]) -> bool:
    """A first row that reads as a row of data: a number, or a sentence, among its names."""
    return any(re.fullmatch(r"[-+]?\d+(\.\d+)?", name) or len(name.split()) > 6 for name in header)


def _headerless_hint(header: Sequence[str]) -> str:
    if not _looks_like_data(header):
        return ""
    return (
        "; the first line reads like a row of data, not column names: if the file has no"
        " header, add --no-header and name columns by position (--input-col 2 --output-col 1)"
    )


def check_columns(
    wanted: Sequence[str], available: Sequence[str], where: str, numbered: bool = False
) -> None:
    missing = [c for c in wanted if c not in available]
    if not missing:
        return
    if numbered:
        raise DataError(
            f"no column {missing[0]!r}: with --no-header, columns are named by position,"
            f" and the first row has {len(available)} (1 to {len(available)})",
            where=where,
            fix="name columns by number, e.g. --input-col 2 --output-col 1, or name them all"
            " with --column-names",
        )
    shown = ", ".join(repr(a[:40] + ("..." if len(a) > 40 else "")) for a in available[:24])
    shown += f", ... ({len(available) - 24} more)" if len(available) > 24 else ""
    raise DataError(
        f"no column {missing[0]!r}; the columns are {shown}",
        where=where,
        fix="name one of these (a dotted path reaches into an object)"
        + _headerless_hint(available),
    )
