"""Reading chat-format JSONL into Examples, with errors that name the file and line.

This is the strict reader the study uses; ``shipwise-data validate`` reports every problem at
once, this stops at the first one it cannot read past.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from shipwise.errors import DataError
from shipwise.tasks.example import ROLES, Example, Message

# A chat record is at most a few context windows of text; a longer line is an export gone
# wrong, and reading it would cost minutes and gigabytes in tokenizers and similarity checks.
MAX_LINE_BYTES = 1024 * 1024
TOO_LONG_FIX = "split the text, or drop the record: one record is at most 1 MiB"
_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
# \\uD800-\\uDFFF as a JSON escape: only text holding one can decode to a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
SURROGATE_FIX = "write the whole character (both halves of the pair), or remove the escape"


def read_lines(handle: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[tuple[bytes, int]]:
    """Each line as bytes, with its length; a line over ``limit`` bytes comes as ``b""``.

    The long line is read past in pieces, so memory stays bounded whatever the file holds.
    """
    while raw := handle.readline(limit + 1):
        if len(raw) <= limit or raw.endswith(b"\n"):
            yield raw, len(raw)
            continue
        size = len(raw)
        while raw and not raw.endswith(b"\n"):
            raw = handle.readline(limit)
            size += len(raw)
        yield b"", size


def text_lines(
    handle: IO[bytes], path: Path, on_bytes: Callable[[bytes], Any] | None = None
) -> Iterator[tuple[int, str]]:
    """Each line of a UTF-8 file, numbered from 1, without a leading byte-order mark.

    A DataError names a wide encoding (once, for the file), a line over the cap, or bytes that
    are not UTF-8. ``on_bytes`` sees every line's bytes as read (to hash the file).
    """
    refuse_wide(handle.read(256), path)
    handle.seek(0)
    for lineno, (raw, size) in enumerate(read_lines(handle), start=1):
        where = f"{path}:{lineno}"
        if not raw:
            raise DataError(
                f"the line is {size:,} bytes long, over the {MAX_LINE_BYTES:,} a line may have",
                where=where,
                fix=TOO_LONG_FIX,
            )
        if on_bytes is not None:
            on_bytes(raw)
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"bytes that are not UTF-8 at byte {exc.start} of the line",
                where=where,
                fix="re-save the file as UTF-8",
            ) from None
        yield lineno, line.removeprefix("\ufeff") if lineno == 1 else line


def refuse_wide(head: bytes, path: Path) -> None:
    """A DataError when a file's first bytes say it is UTF-16 or UTF-32 (see below)."""
    encoding = wide_encoding(head)
    if encoding:
        raise DataError(
            f"the file is {encoding}, not UTF-8",
            where=str(path),
            fix=f"re-save it as UTF-8 (e.g. iconv -f {encoding} -t UTF-8)",
        )


def wide_encoding(head: bytes) -> str | None:
    """ "UTF-16"/"UTF-32" when the file's first bytes say so (a byte-order mark, or NUL bytes
    in every other place), else None: such files read as one error per line otherwise."""
    for bom, name in _BOMS.items():
        if head.startswith(bom):
            return name
    sample = head[:256]
    if len(sample) >= 8 and sample.count(0) >= len(sample) // 3:
        return "UTF-16"
    return None


def lone_surrogate(value: Any, path: str = "") -> str | None:
    """Where in a decoded JSON value a string holds half a UTF-16 pair, or None.

    JSON's ``\\ud800`` escape decodes to such a string, which no UTF-8 writer, tokenizer or
    database accepts: it would fail later, far from the line that holds it.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{path or 'a string'} (character {exc.start + 1})"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            found = lone_surrogate(key, f"a key of {path or 'the record'}")
            if found or (found := lone_surrogate(item, inner)):
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if found := lone_surrogate(item, f"{path}[{index}]"):
                return found
    return None


def read_chat_jsonl(path: Path, *, split: str) -> list[Example]:
    """Read one split file; every record must end with the assistant's reference answer."""
    if not path.is_file():
        raise DataError(
            f"the {split} split file does not exist",
            where=str(path),
            fix=f"create {path.name} (chat-format JSONL) or point the task's data_dir elsewhere",
        )
    examples: list[Example] = []
    seen: dict[str, int] = {}
    with path.open("rb") as handle:
        for lineno, line in text_lines(handle, path):
            where = f"{path}:{lineno}"
            if not line.strip():
                continue
            record = parse_json_line(line, where)
            example = _to_example(record, where=where, fallback_id=f"{split}-{lineno:05d}")
            if example.id in seen:
                raise DataError(
                    f"duplicate id {example.id!r} (first on line {seen[example.id]})",
                    where=where,
                    fix="give every record a unique id",
                )
            seen[example.id] = lineno
            examples.append(example)
    if not examples:
        raise DataError(
            f"the {split} split is empty", where=str(path), fix="add at least one record"
        )
    return examples


def parse_json_line(line: str, where: str) -> Any:
    """One JSONL line's value, or a DataError naming the line and column.

    Python's reader accepts what JSON does not (NaN, Infinity) and what no later step can
    write (a lone surrogate); both are refused here, as ``shipwise-data validate`` does.
    """
    value, _ = decode_json(line, where, fix="each line must be one complete JSON object")
    return value


_DECODER = json.JSONDecoder(parse_constant=lambda name: _refuse_constant(name))


def decode_json(text: str, where: str, fix: str, start: int = 0) -> tuple[Any, int]:
    """The JSON value that starts at ``start`` in ``text`` (nothing but space may follow it
    when ``start`` is 0), and where it ends; refused as :func:`parse_json_line` says."""
    try:
        if start:
            value, end = _DECODER.raw_decode(text, start)
        else:
            value, end = _DECODER.decode(text), len(text)
    except json.JSONDecodeError as exc:
        at = f"line {exc.lineno}, column {exc.colno}" if start else f"column {exc.colno}"
        raise DataError(f"invalid JSON at {at}: {exc.msg}", where=where, fix=fix) from None
    except ValueError as exc:  # a constant (NaN), or a number too long to convert
        raise DataError(
            f"invalid JSON: {str(exc).partition(':')[0]}",
            where=where,
            fix="write a number, null or a string instead (very long numbers as strings)",
        ) from None
    except RecursionError:
        raise DataError("invalid JSON: nested too deeply to read", where=where) from None
    if _SURROGATE_ESCAPE.search(text, start, end):
        found = lone_surrogate(value)
        if found:
            raise DataError(
                f"{found} holds a lone surrogate: half of a UTF-16 pair (\\ud800-\\udfff)",
                where=where,
                fix=SURROGATE_FIX,
            )
    return value, end


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value: it")


def _to_example(record: Any, *, where: str, fallback_id: str) -> Example:
    if not isinstance(record, dict):
        raise DataError(
            f"expected a JSON object, got {type(record).__name__}",
            where=where,
            fix='write {"messages": [...]} on each line',
        )
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        raise DataError(
            "missing or empty 'messages' list",
            where=where,
            fix='add "messages": [{"role": "user", ...}, {"role": "assistant", ...}]',
        )
    parsed: list[Message] = []
    for index, message in enumerate(messages):
        at = f"{where} messages[{index}]"
        if not isinstance(message, dict):
            raise DataError("a message must be a JSON object", where=at)
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise DataError(
                f"unknown role {role!r}",
                where=at,
                fix=f"use one of {', '.join(ROLES)}",
            )
        if not isinstance(content, str):
            raise DataError(
                f"content must be a string, got {type(content).__name__}",
                where=at,
                fix="put the message text in 'content' as a string",
            )
        parsed.append(Message(role, content))
    if parsed[-1].role != "assistant":
        raise DataError(
            "the last message must be the assistant's reference answer",
            where=where,
            fix="end each record with the assistant message the model should produce",
        )
    if not any(m.role == "user" for m in parsed):
        raise DataError("no user message", where=where, fix="add the user's input")
    raw_id = record.get("id", fallback_id)
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise DataError("'metadata' must be a JSON object", where=where)
    return Example(
        id=str(raw_id),
        prompt=tuple(parsed[:-1]),
        reference=parsed[-1].content,
        metadata=metadata,
    )
