"""Labelled character spans as a JSON answer: each label a field, its value the text it marks.

Span annotations are how extraction data ships: a text and a list of ``(start, end, label)``
into it (doccano's and spaCy's lists, Label Studio's ``value.start/end/labels``, DSTC8's
``slot`` and ``valueSpan.startIndex/endIndex``). An import with ``--spans-col`` reads that list
and answers with the spans' texts: ``{"from_location": "Fresno", "to_location": null}``. A
label marked twice in one row (two people in a sentence) is a list in every row.

Keys are found by their common names, in the span or one object down; ``--span-keys`` names
them when they are called something else. A start left out while the end is given is 0 (JSON
written from protobuf, as DSTC8's is, leaves zero values out); the import counts these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipwise.errors import DataError
from shipwise.tasks.importers.columns import found, lookup, pair_map

# Common names, in the order tried; a span object is searched first, then each object in it.
KEYS = {
    "label": ("label", "slot", "entity_group", "entity", "type", "tag", "labels", "category"),
    "start": ("start", "start_offset", "startIndex", "start_index", "start_char", "begin"),
    "end": ("end", "end_offset", "endIndex", "end_index", "end_char", "stop"),
}
SPAN_KEYS_FIX = (
    "name them with --span-keys label=KEY,start=KEY,end=KEY (a dotted path for a nested key,"
    " e.g. start=valueSpan.startIndex)"
)


@dataclass(frozen=True)
class RowSpans:
    """One row's spans: each label's texts in the order they start, and what was read."""

    texts: Mapping[str, tuple[str, ...]]
    count: int = 0  # spans read
    no_start: int = 0  # spans with an end and no start, read as starting at 0
    split_words: tuple[str, ...] = ()  # spans starting or ending inside a word, described
    trimmed: int = 0  # spans with spaces at an end, left out of the answer


def parse_span_keys(text: str) -> dict[str, str]:
    """``label=slot,start=valueSpan.startIndex`` -> {"label": "slot", "start": ...}."""
    return pair_map(
        text,
        "--span-keys",
        "write ROLE=KEY with ROLE one of label, start, end,"
        " e.g. label=slot,start=valueSpan.startIndex,end=valueSpan.endIndex",
        lambda role, key: role in KEYS and bool(key),
    )


def read_spans(value: Any, text: Any, keys: Mapping[str, str], where: str) -> RowSpans:
    """The spans a cell lists (a list, or JSON text of one; null or absent: none) as texts
    of ``text``, the input cell the offsets count characters of."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return RowSpans({})
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise DataError(
                f"the spans cell is not JSON: {exc}",
                where=where,
                fix='write it as a JSON list, e.g. [[0, 6, "city"]] or [{"start": 0, "end": 6,'
                ' "label": "city"}]',
            ) from None
    if isinstance(value, Mapping):
        value = [value]  # one span written alone
    if not isinstance(value, list):
        raise DataError(
            f"the spans cell holds {type(value).__name__} {str(value)[:40]!r}, not a list of spans",
            where=where,
            fix="point --spans-col at the list of spans (a dotted path for a nested one)",
        )
    if not isinstance(text, str):
        raise DataError(
            "the spans count characters of the input column, and this row's input is not text",
            where=where,
            fix="make the first --input-col the text the spans mark (a list of tokens with a"
            " tag each is read by --tags-col instead)",
        )
    found: list[tuple[int, str, str]] = []  # (start, label, marked text)
    no_start = trimmed = 0
    split_words = []
    for number, span in enumerate(value, 1):
        at = f"{where}, span {number}"
        label, start, end = _parts(span, keys, at)
        if start is None:
            no_start += 1
            start = 0
        _check_offsets(start, end, text, label, at)
        marked = text[start:end].strip()
        trimmed += marked != text[start:end]
        if not marked:
            raise DataError(
                f"span {start}-{end} ({label!r}) marks only white space",
                where=at,
                fix="remove the span or correct its offsets",
            )
        given = _own_text(span)
        if given is not None and given.strip() != marked:
            raise DataError(
                f"span {start}-{end} ({label!r}) marks {marked[:40]!r} in the text, and the"
                f" span says its text is {given.strip()[:40]!r}",
                where=at,
                fix="check that --input-col is the text the spans were marked in, and that the"
                " offsets count characters (not UTF-8 bytes or UTF-16 units)",
            )
        word = _cut_word(text, start, end)
        if word:
            split_words.append(f"{label} {marked!r} in the word {word!r} ({at})")
        found.append((start, label, marked))
    # labels in the order the spans list them; a label's texts in the order the text reads
    texts: dict[str, list[str]] = {label: [] for _, label, _ in found}
    for _, label, marked in sorted(found, key=lambda f: f[0]):
        if marked not in texts[label]:
            texts[label].append(marked)
    spans = {k: tuple(v) for k, v in texts.items()}
    return RowSpans(spans, len(value), no_start, tuple(split_words), trimmed)


def _cut_word(text: str, start: int, end: int) -> str:
    """The word a span boundary falls inside ("Port" of "Portland"), or "" when both fall
    between words, as an annotator's marks almost always do."""
    inside = [
        i for i in (start, end) if 0 < i < len(text) and text[i - 1].isalnum() and text[i].isalnum()
    ]
    if not inside:
        return ""
    left = right = inside[0]
    while left > 0 and text[left - 1].isalnum():
        left -= 1
    while right < len(text) and text[right].isalnum():
        right += 1
    return text[left:right]


def _parts(span: Any, keys: Mapping[str, str], at: str) -> tuple[str, int | None, int]:
    """A span's label, start (None when left out) and end."""
    if isinstance(span, list | tuple):
        if len(span) != 3:
            raise DataError(
                f"a span written as a list has {len(span)} items, not 3 (start, end, label)",
                where=at,
                fix="write each span as [start, end, label], or as an object",
            )
        start, end, label = span
    elif isinstance(span, Mapping):
        home = _home(span, keys)
        label, start, end = (_find(span, role, keys, home) for role in ("label", "start", "end"))
        if label is None or end is None:
            role = "label" if label is None else "end"
            raise DataError(
                f"no {role} key in span {json.dumps(span, ensure_ascii=False)[:120]}",
                where=at,
                fix=SPAN_KEYS_FIX,
            )
    else:
        raise DataError(
            f"a span is {type(span).__name__} {str(span)[:40]!r}, not a list or an object",
            where=at,
            fix='write each span as [start, end, label] or {"start": .., "end": .., "label": ..}',
        )
    if isinstance(label, list) and len(label) == 1:
        label = label[0]  # Label Studio's "labels": ["city"]
    if not isinstance(label, str) or not label.strip():
        raise DataError(
            f"a span's label is {json.dumps(label, ensure_ascii=False)[:40]}, not a name",
            where=at,
            fix="give each span one label, as text",
        )
    return label.strip(), _offset(start, "start", at), _offset(end, "end", at, required=True)


def _places(span: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Where a span's keys may be: the span, then each object it holds."""
    return [span, *(v for v in span.values() if isinstance(v, Mapping))]


def _home(span: Mapping[str, Any], keys: Mapping[str, str]) -> Mapping[str, Any]:
    """The object holding the span's end offset, searched first for the other keys: a label
    is kept beside its offsets (Label Studio's ``value``), not in a key that only sounds like
    one elsewhere (its ``type``)."""
    if "end" in keys:
        return span
    for place in _places(span):
        if any(key in place for key in KEYS["end"]):
            return place
    return span


def _find(
    span: Mapping[str, Any], role: str, keys: Mapping[str, str], home: Mapping[str, Any]
) -> Any:
    """The value of a role's key: the one ``--span-keys`` names, or the first common name
    in the object holding the offsets, then in the span and each object it holds."""
    if role in keys:
        value = lookup(span, keys[role])
        return value if found(value) else None
    for place in (home, *_places(span)):
        for key in KEYS[role]:
            if key in place:
                return place[key]
    return None


def _offset(value: Any, role: str, at: str, required: bool = False) -> Any:
    if value is None and not required:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(
            f"a span's {role} is {json.dumps(value)[:40]}, not a character offset",
            where=at,
            fix="give offsets as whole numbers of characters from the start of the text",
        )
    return value


def _check_offsets(start: int, end: int, text: str, label: str, at: str) -> None:
    if 0 <= start < end <= len(text):
        return
    if end > len(text) and start >= 0:
        what = f"ends at {end}, past the text's {len(text)} characters"
        fix = (
            "check that --input-col is the text the spans were marked in, and that the offsets"
            " count characters (a tool counting UTF-8 bytes or UTF-16 units runs past them)"
        )
    else:
        what = "does not run forward" if start >= end else "starts before the text"
        fix = "correct the offsets: start is the first character, end one past the last"
    raise DataError(f"span {start}-{end} ({label!r}) {what}", where=at, fix=fix)


def _own_text(span: Any) -> str | None:
    """The text a span says it marks, when it says so (Label Studio's ``value.text``)."""
    if not isinstance(span, Mapping):
        return None
    for place in _places(span):
        if isinstance(place.get("text"), str):
            return str(place["text"])
    return None


def answers(rows: Sequence[RowSpans]) -> tuple[list[dict[str, Any]], list[str]]:
    """Each row's answer object, and the labels marked more than once in a row (lists).

    A label is a field in every answer, in the order labels are first seen; its value is the
    text it marks (null when the row marks none), or, for a label some row marks twice, the
    list of texts it marks in every row (null for none).
    """
    labels = list(dict.fromkeys(label for row in rows for label in row.texts))
    lists = [label for label in labels if any(len(r.texts.get(label, ())) > 1 for r in rows)]
    objects = []
    for row in rows:
        answer: dict[str, Any] = {}
        for label in labels:
            marked = row.texts.get(label, ())
            if not marked:
                answer[label] = None
            else:
                answer[label] = list(marked) if label in lists else marked[0]
        objects.append(answer)
    return objects, lists


def split_words(rows: Iterable[RowSpans]) -> str:
    """A warning naming spans that start or end inside a word (a slip of the annotator's
    mouse, more often than not), or "" when none does."""
    cut = [described for row in rows for described in row.split_words]
    if not cut:
        return ""
    shown = "; ".join(cut[:3]) + (f"; and {len(cut) - 3:,} more" if len(cut) > 3 else "")
    return (
        f"{len(cut):,} span{'s start or end' if len(cut) != 1 else ' starts or ends'} inside"
        f" a word: {shown}. The answer is then part of a word; check those offsets (a language"
        " written without spaces between words is marked so on purpose). The datasheet lists"
        " every one"
    )


def split_word_lines(rows: Iterable[RowSpans]) -> list[str]:
    """Every span starting or ending inside a word, one line each (for the datasheet)."""
    return [described for row in rows for described in row.split_words]


def summary(rows: Iterable[RowSpans], lists: Sequence[str]) -> str:
    """One line: spans read, rows marking none, lists, starts read as 0."""
    every = list(rows)
    spans = sum(r.count for r in every)
    bare = sum(not r.texts for r in every)
    labels = len({label for r in every for label in r.texts})
    line = (
        f"{spans:,} span{'s' * (spans != 1)}, {labels} label{'s' * (labels != 1)};"
        f" {bare:,} of {len(every):,} rows mark none"
    )
    if lists:
        line += f"; a list: {', '.join(lists)} (some row marks it more than once)"
    trimmed = sum(r.trimmed for r in every)
    if trimmed:
        line += f"; {trimmed:,} with spaces at an end, left out of the answer"
    no_start = sum(r.no_start for r in every)
    if no_start:
        one = no_start == 1
        line += (
            f"; {no_start:,} span{'' if one else 's'} give{'s' if one else ''} no start and"
            f" {'is' if one else 'are'} read as starting at 0"
        )
    return line


# --- token tags ------------------------------------------------------------------------------

_OPENS = ("B", "S", "U")  # a tag with this prefix starts an entity (BIO, BIOES, BILOU)
_CLOSES = ("E", "L", "S", "U")  # ... and with this one ends it after its token
_PREFIXES = ("B", "I", "E", "L", "S", "U")


def tag_spans(
    tokens: Any, tags: Any, names: Mapping[str, str], where: str
) -> tuple[str, list[list[Any]]]:
    """A row of tokens and their tags (BIO, BIOES/BILOU, or plain IO: ``O`` outside) as its
    text (the tokens joined by spaces) and the spans the tagged runs mark, as
    ``[start, end, label]``. ``names``: what numbered tags stand for (a dataset's ClassLabel
    names, from ``--label-map``).

    An entity starts at a B/S/U tag, or at an I/E/L tag that does not continue one of its
    label (IOB1 writes B only between two entities of one label); it ends before an O, a B,
    another label, or after an E/L/S/U tag."""
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise DataError(
            f"the tokens are {type(tokens).__name__} {str(tokens)[:40]!r}, not a list of words",
            where=where,
            fix="make the first --input-col the row's list of tokens",
        )
    if not isinstance(tags, list) or len(tags) != len(tokens):
        length = len(tags) if isinstance(tags, list) else "no list"
        raise DataError(
            f"{len(tokens)} tokens and {length} tags: each token needs one tag",
            where=where,
            fix="point --tags-col at the list of tags that runs beside the tokens",
        )
    starts, offset = [], 0
    for token in tokens:
        starts.append(offset)
        offset += len(token) + 1
    text = " ".join(tokens)
    spans: list[list[Any]] = []
    current: list[Any] | None = None  # the open entity: [start, end, label]
    for i, tag in enumerate(tags):
        prefix, label = _tag(tag, names, f"{where}, token {i + 1}")
        continues = current is not None and current[2] == label and prefix not in _OPENS
        if label is None or not continues:
            current = None
        if label is not None:
            if current is None:
                current = [starts[i], starts[i] + len(tokens[i]), label]
                spans.append(current)
            current[1] = starts[i] + len(tokens[i])
            if prefix in _CLOSES:
                current = None
    return text, [s for s in spans if text[s[0] : s[1]].strip()]


def _tag(tag: Any, names: Mapping[str, str], at: str) -> tuple[str, str | None]:
    """A tag's prefix (B, I, ... or "" for IO) and label (None outside an entity)."""
    if names:
        if str(tag) not in names:
            raise DataError(
                f"tag {tag!r} has no name in --label-map ({len(names)} names)",
                where=at,
                fix="give --label-map the dataset's tag names in order (its ClassLabel names),"
                ' e.g. a .json list: ["O", "B-PER", "I-PER", ...]',
            )
        tag = names[str(tag)]
    if not isinstance(tag, str) or not tag.strip():
        number = isinstance(tag, int) and not isinstance(tag, bool)
        raise DataError(
            f"tag {json.dumps(tag)[:40]} is {'a number' if number else 'not a name'}",
            where=at,
            fix="name numbered tags with --label-map names.json (the dataset's tag names in"
            ' order, e.g. ["O", "B-PER", "I-PER", ...])',
        )
    tag = tag.strip()
    if tag.upper() == "O":
        return "", None
    head, sep, rest = tag.replace("_", "-", 1).partition("-")
    if sep and head.upper() in _PREFIXES and rest:
        return head.upper(), rest
    return "", tag  # IO tagging: the tag is the label
