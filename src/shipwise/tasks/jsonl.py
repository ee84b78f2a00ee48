"""Reading chat-format JSONL into Examples, with errors that name the file and line.

This is the strict reader the study uses; ``shipwise-data validate`` reports every problem at
once, this stops at the first one it cannot read past.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shipwise.errors import DataError
from shipwise.tasks.example import ROLES, Example, Message


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
        for lineno, raw in enumerate(handle, start=1):
            where = f"{path}:{lineno}"
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"bytes that are not UTF-8 at byte {exc.start}",
                    where=where,
                    fix="re-save the file as UTF-8",
                ) from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")
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
    """One JSONL line's value, or a DataError naming the line and column."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"invalid JSON at column {exc.colno}: {exc.msg}",
            where=where,
            fix="each line must be one complete JSON object",
        ) from None


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
