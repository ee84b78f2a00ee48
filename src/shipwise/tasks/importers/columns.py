"""What an imported row's columns become besides input and output: its split, its document,
the metadata it keeps. Also how a column is found in a record (``a.b`` reaches a nested field
of a JSONL record) and how an output cell that holds a JSON object is read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from shipwise.errors import ConfigError, DataError

# The split a --split-col value names, unless --split-map says otherwise; "skip" drops the row.
SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}
SPLIT_TARGETS = ("train", "val", "test", "skip")
_MISSING = object()


def lookup(record: Mapping[str, Any], column: str) -> Any:
    """The value of ``column`` in ``record``: a key, or a dotted path into nested objects
    (a number picks from a list: ``annotations.0.result``).

    Returns a sentinel (see :func:`found`) when neither is there.
    """
    if column in record:
        return record[column]
    value: Any = record
    for part in column.split("."):
        if isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        elif isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def key_paths(record: Mapping[str, Any], depth: int = 3) -> list[str]:
    """The names a column may be given in ``record``: each key, and inside an object (or a
    list of objects, through its first item) the dotted paths to its keys, ``depth`` deep."""
    paths: list[str] = []
    for key, value in record.items():
        inner = value[0] if isinstance(value, list) and value else value
        if depth > 1 and isinstance(inner, Mapping) and inner:
            if isinstance(value, list):
                paths.append(key)  # the list itself: a column of spans or answers
            step = f"{key}.0" if isinstance(value, list) else key
            paths += [f"{step}.{p}" for p in key_paths(inner, depth - 1)]
        else:
            paths.append(key)
    return paths


def found(value: Any) -> bool:
    return value is not _MISSING


def empty(value: Any) -> bool:
    """A cell that says nothing: null, or a blank string."""
    return value is None or (isinstance(value, str) and not value.strip())


def as_object(value: Any, where: str) -> dict[str, Any] | None:
    """A cell holding a JSON object (a JSONL object, or CSV text that parses to one), else None."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise DataError(
                f"the cell starts like a JSON object but does not parse: {exc}",
                where=where,
                fix="write valid JSON (keys and strings in double quotes), or plain text",
            ) from None
        if isinstance(parsed, dict):
            return parsed
    return None


def pairs(text: str, last: bool = False) -> Iterator[tuple[str, str, str]]:
    """Each ``KEY=VALUE`` of a comma-joined list, as (the part as written, key, value),
    stripped; the key is empty when the part has no ``=``. ``last``: split at the last ``=``
    (a key may hold one), else at the first (a value may)."""
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.rpartition("=") if last else part.partition("=")
        yield part, key.strip() if sep else "", value.strip() if sep else ""


def pair_map(
    text: str, flag: str, fix: str, ok: Callable[[str, str], bool], last: bool = False
) -> dict[str, str]:
    """A ``KEY=VALUE,...`` option as a mapping (see :func:`pairs`); a pair ``ok`` refuses
    is an error naming the part, the option and ``fix``."""
    mapping: dict[str, str] = {}
    for part, key, value in pairs(text, last=last):
        if not ok(key, value):
            raise ConfigError(f"cannot read {part!r}", where=flag, fix=fix)
        mapping[key] = value
    return mapping


def parse_split_map(text: str) -> dict[str, str]:
    """``dev=val,heldout=test,unused=skip`` -> a mapping from column value to split."""
    return pair_map(
        text,
        "--split-map",
        "write VALUE=SPLIT pairs joined by commas, SPLIT one of train, val, test, skip;"
        " e.g. dev=val,heldout=test",
        lambda value, split: bool(value) and split in SPLIT_TARGETS,
        last=True,
    )


def split_of(value: Any, mapping: Mapping[str, str], column: str, where: str) -> str:
    """The split a row's --split-col value names ("skip": the row is left out)."""
    text = "" if value is None else str(value).strip()
    if text in mapping:
        return mapping[text]
    if text.lower() in SPLIT_ALIASES:
        return SPLIT_ALIASES[text.lower()]
    raise DataError(
        f"column {column!r} holds {text!r}, which names no split",
        where=where,
        fix=f"map it with --split-map '{text or 'VALUE'}=train' (or val, test, skip);"
        f" values read without a map: {', '.join(sorted(SPLIT_ALIASES))}",
    )


def slug(text: str) -> str:
    """A document id from a title: lowercase, each run of non-alphanumerics one '-'."""
    return re.sub(r"[\W_]+", "-", text.lower()).strip("-")


def documents(
    cells: Sequence[tuple[str, Any]], id_column: str | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The knowledge documents a column holds, deduplicated, and each row's document id.

    ``cells``: each row's (document text, id cell). With an id column, the distinct texts
    sharing an id (the paragraphs of one title) are one document, in the order first seen;
    without one, each distinct text is a document named by its digest. Returns the records of
    ``docs/documents.jsonl`` (id, text, metadata) and, per row, its document's id.
    """
    texts: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    ids: dict[str, str] = {}  # id cell (or text) -> document id
    row_ids = []
    for text, key in cells:
        source = str(key).strip() if id_column else text
        if source not in ids:
            base = slug(source) if id_column else ""
            base = base or "doc-" + hashlib.sha256(source.encode()).hexdigest()[:12]
            doc_id, n = base, 1
            while doc_id in texts:  # two titles with one slug ("C++" and "C")
                n += 1
                doc_id = f"{base}-{n}"
            ids[source] = doc_id
            texts[doc_id], names[doc_id] = [], source
        doc_id = ids[source]
        if text not in texts[doc_id]:
            texts[doc_id].append(text)
        row_ids.append(doc_id)
    records = [
        {
            "id": doc_id,
            "text": "\n\n".join(parts),
            "metadata": {id_column: names[doc_id]} if id_column else {},
        }
        for doc_id, parts in texts.items()
    ]
    return records, row_ids
