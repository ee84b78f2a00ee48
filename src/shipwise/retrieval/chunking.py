"""Split documents into overlapping chunks on the most natural boundary that fits.

A chunk is always a span of its document's text. The text is cut into units — paragraphs, and
only where a unit alone is longer than ``size``: sentences, then words, then characters — and
consecutive units are packed greedily up to ``size`` characters. Each chunk after the first
starts with whole trailing sentences (or, failing that, words) of the previous one.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from shipwise.errors import ConfigError
from shipwise.tasks.docs import Document

_BLANK_LINES = re.compile(r"\n\s*\n")
_HEADING = re.compile(r"^#{1,6}[ \t].*$", re.MULTILINE)
# Candidate sentence ends: terminal punctuation and optional closing quotes or brackets, then
# whitespace (group 1). "3.50" and "£3.50" never match: no whitespace follows their point.
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(\s+)")
_LAST_WORD = re.compile(r"\S*\Z")
_WORD = re.compile(r"\S+")
_WORD_START = re.compile(r"(?<!\S)\S")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "cf", "approx", "mr", "mrs", "ms", "dr", "prof", "st", "jr"}
    | {"sr", "inc", "ltd", "co", "corp", "dept", "est", "fig"}
)
_NUMBER_ABBREVIATIONS = frozenset({"no", "nos", "nr", "p", "pp", "vol"})  # only before a digit


@dataclass(frozen=True)
class Chunk:
    """A span ``[start, end)`` of a document's text, identified by document and position."""

    id: str
    doc_id: str
    index: int
    text: str
    start: int
    end: int
    doc_digest: str
    metadata: Mapping[str, Any]


class _Unit(NamedTuple):
    start: int
    end: int
    heading: bool = False


def chunk_documents(docs: Sequence[Document], size: int, overlap: int) -> list[Chunk]:
    """The chunks of every document, in document order."""
    _check(size, overlap)
    return [chunk for doc in docs for chunk in chunk_document(doc, size, overlap)]


def chunk_document(doc: Document, size: int, overlap: int) -> list[Chunk]:
    """Chunks of at most ``size`` characters; ``overlap`` characters at most carried over."""
    _check(size, overlap)
    text = doc.text
    units: list[_Unit] = []
    sentence_starts: list[int] = []  # every sentence start, for choosing the overlap
    for para in _paragraphs(text):
        sentences = _sentences(text, para.start, para.end)
        sentence_starts.extend(s for s, _ in sentences)
        if para.end - para.start <= size:
            units.append(para)
            continue
        for s_start, s_end in sentences:
            if s_end - s_start <= size:
                units.append(_Unit(s_start, s_end))
                continue
            for word in _WORD.finditer(text, s_start, s_end):
                # A word longer than a chunk is the only thing ever cut mid-word.
                units.extend(
                    _Unit(k, min(k + size, word.end()))
                    for k in range(word.start(), word.end(), size)
                )

    spans: list[tuple[int, int]] = []
    i, start = 0, units[0].start if units else 0
    while i < len(units):
        j = i + 1
        while j < len(units) and units[j].end - start <= size:
            j += 1
        # A heading that would end this chunk moves on to the paragraph it introduces, when the
        # two fit together; the next chunk must then hold both (``must_fit``).
        must_fit = units[j].end if j < len(units) else 0
        while j < len(units) and j - 1 > i and units[j - 1].heading:
            if must_fit - units[j - 1].start > size:
                break
            j -= 1
        end = units[j - 1].end
        spans.append((start, end))
        if j < len(units):
            carried = _overlap_start(text, sentence_starts, start, end, must_fit, size, overlap)
            start = units[j].start if carried is None else carried
        i = j

    digest = doc.digest
    # A plain dict per chunk: vector stores want dicts, and no chunk shares another's.
    return [
        Chunk(f"{doc.id}#{n}", doc.id, n, text[s:e], s, e, digest, dict(doc.metadata))
        for n, (s, e) in enumerate(spans)
    ]


def _check(size: int, overlap: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ConfigError(
            f"chunk size must be a positive number of characters, not {size!r}",
            where="strategy.chunk_size",
            fix="set it to e.g. 800",
        )
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < size:
        raise ConfigError(
            f"chunk overlap must be at least 0 and less than the chunk size ({size}), not "
            f"{overlap!r}",
            where="strategy.chunk_overlap",
            fix=f"set it between 0 and {size - 1}, e.g. {size // 8}",
        )


def _paragraphs(text: str) -> list[_Unit]:
    """Blocks between blank lines, with Markdown heading lines as paragraphs of their own."""
    units: list[_Unit] = []

    def add(start: int, end: int, heading: bool = False) -> None:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            units.append(_Unit(start, end, heading))

    bounds = [0, *(p for gap in _BLANK_LINES.finditer(text) for p in gap.span()), len(text)]
    for block_start, block_end in zip(bounds[::2], bounds[1::2], strict=True):
        pos = block_start
        for heading in _HEADING.finditer(text, block_start, block_end):
            add(pos, heading.start())
            add(heading.start(), heading.end(), heading=True)
            pos = heading.end()
        add(pos, block_end)
    return units


def _sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of the stripped paragraph ``text[start:end]``."""
    spans: list[tuple[int, int]] = []
    for match in _SENTENCE_END.finditer(text, start, end):
        nxt = match.end()  # never the paragraph's end: paragraphs are stripped
        # The word before the point; 20 characters are more than any abbreviation needs.
        word = _LAST_WORD.search(text, max(start, match.start() - 20), match.start())
        if text[nxt].islower() or _is_abbreviation(word.group() if word else "", text[nxt]):
            continue
        spans.append((start, match.start(1)))
        start = nxt
    spans.append((start, end))
    return spans


def _is_abbreviation(word: str, following: str) -> bool:
    """Whether a point after ``word``, followed by the character ``following``, is no stop."""
    word = word.lstrip("([\"'").lower()
    if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):  # initials: "J. Smith"
        return True
    return word in _NUMBER_ABBREVIATIONS and following.isdigit()  # "No. 5", not "say no."


def _overlap_start(
    text: str,
    sentence_starts: list[int],
    prev_start: int,
    prev_end: int,
    next_end: int,
    size: int,
    overlap: int,
) -> int | None:
    """Where the next chunk starts inside the previous one, or None for no overlap.

    The carried text must fit ``overlap``, leave room for the next unit within ``size``, and
    not repeat the whole previous chunk. Whole sentences are preferred, whole words accepted.
    """
    lowest = max(prev_start + 1, prev_end - overlap, next_end - size)
    if overlap == 0 or lowest >= prev_end:
        return None
    k = bisect_left(sentence_starts, lowest)
    if k < len(sentence_starts) and sentence_starts[k] < prev_end:
        return sentence_starts[k]
    word = _WORD_START.search(text, lowest, prev_end)
    return word.start() if word else None
