"""The validating reader: every line of a split file becomes Findings or one Record.

Unlike the study's strict reader (``shipwise.tasks.jsonl``), which stops at the first problem,
:func:`scan` reports every problem in the file and never raises for bad input. It streams the
file line by line as bytes, so memory stays bounded whatever the file size; the only state
that grows is the id -> first line map used to find duplicate ids.

The record checks are those of OpenAI's chat fine-tuning data-preparation guide (same check
ids), plus what shipwise needs on top: text content, a strict role order, a final answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from shipwise.tasks.example import ROLES, Message
from shipwise.tasks.jsonl import (
    MAX_LINE_BYTES,
    SURROGATE_FIX,
    TOO_LONG_FIX,
    lone_surrogate,
    read_lines,
    wide_encoding,
)
from shipwise.validation.model import Finding, Record, Severity

_RECORD_FIX = 'write one {"messages": [{"role": "user", ...}, {"role": "assistant", ...}]} per line'

# check id -> (severity, the usual fix); a problem may carry a more specific fix instead.
_CHECKS: dict[str, tuple[Severity, str]] = {
    "missing_file": ("error", "create it (chat-format JSONL) or point data_dir elsewhere"),
    "empty_file": ("error", "add at least one chat record, or remove the split file"),
    "bom": ("warning", "re-save the file as UTF-8 without a BOM; some readers reject it"),
    "blank_line": ("warning", "delete the blank line; JSONL has one record on every line"),
    "not_utf8": ("error", "re-save the file as UTF-8 (such bytes usually mean Latin-1/cp1252)"),
    "line_too_long": ("error", TOO_LONG_FIX),
    "lone_surrogate": ("error", SURROGATE_FIX),
    # Kept as written by the study (a red-team probe may mean it); most exports never do.
    "control_char": ("warning", "remove it, unless the record tests such input on purpose"),
    "invalid_json": ("error", "make the line one JSON object: double quotes, no trailing commas"),
    "not_object": ("error", _RECORD_FIX),
    "unknown_record_key": ("warning", "drop them or move them into metadata"),
    "bad_id": ("error", "make id a string (or an integer), or drop it"),
    "duplicate_id": ("error", "give every record a unique id"),
    "bad_metadata": ("error", 'make metadata an object, e.g. {"source": "..."}, or drop it'),
    "missing_messages": ("error", _RECORD_FIX),
    "message_missing_key": ("error", "give every message a role and a content"),
    "message_unrecognized_key": ("error", "remove them; shipwise reads only role and content"),
    "unrecognized_role": ("error", f"use one of {', '.join(ROLES)}"),
    "content_not_string": ("error", "put the message text in content as a string"),
    "empty_content": ("error", "write the message's text, or drop the record"),
    # An empty question is a fair red-team probe; an empty reference answer never is.
    "empty_input": ("warning", "intended (a red-team probe)? then keep it; else write the text"),
    "bad_weight": ("error", "set weight to the integer 0 (skip this turn) or 1 (train on it)"),
    "no_assistant": ("error", "end the record with the assistant's reference answer"),
    "role_order": ("error", "order: optional system, then user/assistant turns, answer last"),
}
CHECKS: Mapping[str, Severity] = {check: severity for check, (severity, _) in _CHECKS.items()}
"""Every check id :func:`scan` can report, with its severity. Warnings still yield the Record."""

RECORD_KEYS = frozenset({"messages", "id", "metadata"})
# What OpenAI's guide accepts on a message; shipwise reads role and content only.
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id"}
)
_BOM = b"\xef\xbb\xbf"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_CONTROL_ESCAPE = re.compile(r"\\u00[01][0-9a-fA-F]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_USUAL_ORDERS = (["user", "assistant"], ["system", "user", "assistant"])  # known good, skip checks

# (check, message, fix); an empty fix means the check's usual one.
Problem = tuple[str, str, str]


class _NonFinite(ValueError):
    """NaN/Infinity: Python's json accepts them, JSON (and other readers) do not."""


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def scan(path: Path, split: str) -> Iterator[Finding | Record]:
    """Stream ``path``: per line, a Record when it is a well-formed chat example, else Findings.

    A line with only warnings yields them, then its Record. An unreadable file yields one
    ``missing_file`` Finding; bad input never raises.
    """
    file = str(path)

    def finding(problem: Problem, line: int | None) -> Finding:
        check, message, fix = problem
        severity, usual = _CHECKS[check]
        return Finding(severity, check, message, fix or usual, file=file, line=line, split=split)

    opened = _open(path, split)
    if isinstance(opened, tuple):
        yield finding(opened, None)
        return
    seen: dict[str, int] = {}  # id -> first line, for duplicate_id
    lineno = content_lines = 0
    with opened as handle:
        encoding = wide_encoding(handle.read(256))
        if encoding:
            what = f"the file is {encoding}, not UTF-8: every line would read as bytes in error"
            fix = f"re-save it as UTF-8 (e.g. iconv -f {encoding} -t UTF-8)"
            yield finding(("not_utf8", what, fix), 1)
            return
        handle.seek(0)
        try:
            for lineno, (raw, size) in enumerate(read_lines(handle), start=1):
                if not raw:
                    content_lines += 1
                    what = f"the line is {size:,} bytes long, over the {MAX_LINE_BYTES:,} allowed"
                    yield finding(("line_too_long", what, ""), lineno)
                    continue
                shift = 0  # bytes dropped from the line's start, so offsets match the file
                if lineno == 1 and raw.startswith(_BOM):
                    yield finding(("bom", "the file starts with a UTF-8 byte-order mark", ""), 1)
                    raw, shift = raw[len(_BOM) :], len(_BOM)
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    content_lines += 1
                    where = f"byte offset {exc.start + shift} of the line"
                    what = f"bytes that are not UTF-8 at {where} (0x{raw[exc.start]:02x})"
                    yield finding(("not_utf8", what, ""), lineno)
                    continue
                if not text or text.isspace():
                    yield finding(("blank_line", "blank line", ""), lineno)
                    continue
                content_lines += 1
                problems, messages, record_id = _examine(text)
                if record_id is not None:
                    first = seen.setdefault(record_id, lineno)
                    if first != lineno:
                        what = f"duplicate id {record_id!r} (first on line {first})"
                        problems.append(("duplicate_id", what, ""))
                for problem in problems:
                    yield finding(problem, lineno)
                if messages is not None and not (problems and _has_error(problems)):
                    yield Record(split, file, lineno, messages, record_id)
        except OSError as exc:
            what = f"reading the {split} split file failed after line {lineno}: {exc.strerror}"
            yield finding(("missing_file", what, "check the file and the disk, then retry"), None)
            return
    if content_lines == 0:
        what = "is empty" if lineno == 0 else "has only blank lines"
        yield finding(("empty_file", f"the {split} split file {what}", ""), None)


def _open(path: Path, split: str) -> IO[bytes] | Problem:
    """The open file, or the ``missing_file`` problem saying why it cannot be read."""
    if path.is_dir():
        return ("missing_file", f"the {split} split path is a directory, not a file", "")
    try:
        return path.open("rb")
    except FileNotFoundError:
        return ("missing_file", f"the {split} split file does not exist", "")
    except PermissionError:
        what = f"the {split} split file cannot be read: permission denied"
        return ("missing_file", what, f"make it readable (chmod u+r {path.name})")
    except OSError as exc:
        return ("missing_file", f"the {split} split file cannot be opened: {exc.strerror}", "")


def _examine(text: str) -> tuple[list[Problem], tuple[Message, ...] | None, str | None]:
    """One non-blank line's problems, its messages (None if unusable) and its id if valid."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        return [("invalid_json", _json_error(text, exc), "")], None, None
    except _NonFinite as exc:
        column = _constant_column(text, str(exc))
        what = f"invalid JSON at column {column}: {exc} is not a JSON value"
        return [("invalid_json", what, "write a number, null or a string instead")], None, None
    except RecursionError:
        return [("invalid_json", "invalid JSON: nested too deeply to read", "")], None, None
    except ValueError as exc:  # an integer too long to convert; the rest of the text is advice
        what = f"invalid JSON: {str(exc).partition(':')[0]}"
        return [("invalid_json", what, "write very long numbers as strings")], None, None
    if not isinstance(value, dict):
        return [("not_object", f"expected a JSON object, got {_json_type(value)}", "")], None, None
    if _SURROGATE_ESCAPE.search(text) and (found := lone_surrogate(value)):
        what = f"{found} holds a lone surrogate: half of a UTF-16 pair (\\ud800-\\udfff)"
        return [("lone_surrogate", what, "")], None, None
    problems: list[Problem] = []
    if _CONTROL_ESCAPE.search(text):
        problems.extend(_control_chars(value))
    if not value.keys() <= RECORD_KEYS:
        extra = _names(value.keys() - RECORD_KEYS)
        problems.append(("unknown_record_key", f"unknown top-level key(s) {extra}", ""))
    record_id = None
    if "id" in value:
        raw_id = value["id"]
        if isinstance(raw_id, str) or type(raw_id) is int:  # not bool, not float
            record_id = str(raw_id)
        else:
            problems.append(("bad_id", f"id is {_show(raw_id)}, expected a string or integer", ""))
    metadata = value.get("metadata")  # null means none, as for the study's reader
    if metadata is not None and not isinstance(metadata, dict):
        what = f"metadata is {_json_type(metadata)}, expected an object"
        problems.append(("bad_metadata", what, ""))
    messages = value.get("messages")
    if isinstance(messages, list) and messages:
        return problems, _check_messages(messages, problems), record_id
    if "messages" not in value:
        what = "no 'messages' key"
    elif isinstance(messages, list):
        what = "'messages' is empty"
    else:
        what = f"'messages' is {_json_type(messages)}, expected an array"
    problems.append(("missing_messages", what, ""))
    return problems, None, record_id


def _check_messages(messages: list[Any], problems: list[Problem]) -> tuple[Message, ...] | None:
    """Appends the messages' problems; the Messages when every message is usable."""
    parsed: list[Message] = []
    roles: list[str] = []  # the recognized ones
    for i, message in enumerate(messages):
        # Fast path for the usual plain {"role", "content"} message with text: this loop runs
        # for every message of a large file, so the full checks run only when it fails.
        if type(message) is dict and len(message) == 2:
            role, content = message.get("role"), message.get("content")
            if role in ROLES and type(content) is str and content and not content.isspace():
                roles.append(role)
                parsed.append(Message(role, content))
                continue
        role, usable = _check_message(i, message, problems)
        if role is not None:
            roles.append(role)
        if usable is not None:
            parsed.append(usable)
    if "assistant" not in roles:
        what = "no assistant message: nothing to train on or compare to"
        problems.append(("no_assistant", what, ""))
    elif len(roles) == len(messages) and roles not in _USUAL_ORDERS:
        problems.extend(_order_problems(roles))  # (with a role unknown, positions are moot)
    return tuple(parsed) if len(parsed) == len(messages) else None


def _check_message(i: int, message: Any, problems: list[Problem]) -> tuple[Any, Message | None]:
    """Appends one message's problems; its role if recognized, and the Message if usable."""
    if not isinstance(message, dict):
        what = f"messages[{i}] is {_json_type(message)}, expected an object"
        problems.append(("not_object", what, 'write {"role": ..., "content": ...}'))
        return None, None
    if not message.keys() <= MESSAGE_KEYS:
        extra = _names(message.keys() - MESSAGE_KEYS)
        what = f"messages[{i}] has unrecognized key(s) {extra}"
        problems.append(("message_unrecognized_key", what, ""))
    role, content = message.get("role"), message.get("content")
    if "role" not in message or "content" not in message:
        missing = " or ".join(repr(k) for k in ("role", "content") if k not in message)
        problems.append(("message_missing_key", f"messages[{i}] has no {missing}", ""))
    elif not isinstance(content, str):
        problems.append(_content_problem(i, message))
    elif role in ("user", "assistant") and (not content or content.isspace()):
        check = "empty_content" if role == "assistant" else "empty_input"
        problems.append((check, f"messages[{i}] ({role}) has empty content", ""))
    if "role" in message and role not in ROLES:
        problems.append(_role_problem(i, role))
    weight = message.get("weight", 1)
    if type(weight) is not int or weight not in (0, 1):  # True and 1.0 are not 0 or 1 here
        what = f"messages[{i}] has weight {_show(weight)}; it must be 0 or 1"
        problems.append(("bad_weight", what, ""))
    if role not in ROLES:
        return None, None
    return role, Message(role, content) if isinstance(content, str) else None


def _control_chars(record: dict[str, Any]) -> list[Problem]:
    """A warning per message whose content holds a control character (NUL, ESC...)."""
    problems: list[Problem] = []
    messages = record.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else []):
        content = message.get("content") if isinstance(message, dict) else None
        found = _CONTROL.search(content) if isinstance(content, str) else None
        if found:
            code = ord(found.group())
            name = "a NUL character" if code == 0 else "a control character"
            what = (
                f"messages[{i}] content holds {name} (U+{code:04X}) at character"
                f" {found.start() + 1}; the study keeps it as written"
            )
            problems.append(("control_char", what, ""))
    return problems


def _order_problems(roles: list[str]) -> list[Problem]:
    """System only first; then user and assistant alternate from user; the assistant ends it."""
    problems: list[Problem] = []
    expected, previous = "user", ""
    for i, role in enumerate(roles):
        if role == "system":
            if i:
                what = f"system message not first: messages[{i}] is a system message"
                problems.append(("role_order", what, "move it to messages[0]; only one may open"))
            continue
        if role != expected:
            if role == previous:
                other = "assistant" if role == "user" else "user"
                what = f"two {role} messages in a row at messages[{i}]"
                fix = f"merge them, or put the missing {other} turn between them"
            else:
                what = f"messages[{i}] is an assistant message with no user message before it"
                fix = "open the conversation (after an optional system message) with the user"
            problems.append(("role_order", what, fix))
        expected, previous = ("assistant" if role == "user" else "user"), role
    if roles[-1] != "assistant":
        what = f"ends on a {roles[-1]} message: the last message must be the assistant's answer"
        problems.append(("role_order", what, "end with the answer the model should produce"))
    return problems


def _content_problem(i: int, message: dict[str, Any]) -> Problem:
    content = message["content"]
    if content is None and ("function_call" in message or "tool_calls" in message):
        what = f"messages[{i}] content is null (a tool call): OpenAI allows it, shipwise needs text"
        return ("content_not_string", what, "give the turn its text answer, or drop the record")
    if isinstance(content, list):
        what = f"messages[{i}] content is an array of parts; shipwise needs a string"
        return ("content_not_string", what, "join the text parts into one string")
    return ("content_not_string", f"messages[{i}] content is {_json_type(content)}", "")


def _role_problem(i: int, role: Any) -> Problem:
    if role in ("tool", "function"):
        what = f"messages[{i}] has role {role!r}: OpenAI accepts it, shipwise does not support it"
        return ("unrecognized_role", what, "drop tool turns, or fold their result into the user's")
    shown = repr(role) if isinstance(role, str) else _show(role)
    return ("unrecognized_role", f"messages[{i}] has unrecognized role {shown}", "")


def _has_error(problems: list[Problem]) -> bool:
    return any(_CHECKS[check][0] == "error" for check, _, _ in problems)


def _json_error(text: str, exc: json.JSONDecodeError) -> str:
    """The decoder's complaint; for a line cut short, without the newline in the way."""
    line = text.rstrip("\r\n")
    if exc.pos >= len(line):  # "Invalid control character" is the newline of a truncated line
        try:
            _DECODER.decode(line)
        except json.JSONDecodeError as inner:
            exc = inner
    # Some messages end in " at" before the position the decoder appends; the column says it.
    what = exc.msg.removesuffix(" starting at").removesuffix(" at")
    return f"invalid JSON at column {exc.colno}: {what}"


def _constant_column(text: str, name: str) -> int:
    """1-based column of the first ``name`` outside a string (the decoder does not say)."""
    in_string = escaped = False
    for index, char in enumerate(text):
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif text.startswith(name, index):
            return index + 1
    return 1


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return "a number" if type(value) in (int, float) else _JSON_TYPES[type(value)]


def _names(keys: set[str], limit: int = 5) -> str:
    """Key names for a message, the first few only so the finding stays one line."""
    names = sorted(keys)
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(repr(k if len(k) <= 30 else k[:27] + "...") for k in names[:limit]) + more


def _show(value: Any, limit: int = 40) -> str:
    """A value as JSON, cut short so the finding stays one line."""
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."
