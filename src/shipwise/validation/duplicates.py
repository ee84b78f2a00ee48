"""Repeated, contradicting and leaked examples, found from per-record fingerprints.

While a split streams past, each record leaves its line, three 64-bit hashes (of all its
messages, of its system messages, of its stripped answer) and the
:mod:`~shipwise.validation.similarity` signature of its question (the non-system messages
before the answer). When the split ends, sorting those arrays finds, for each record, the
earliest line it repeats; train's and val's signatures are kept so that val and test can be
looked up in them. Each record gets at most one finding of each family, the most specific:

- within a split: ``duplicate`` (the same messages) > ``contradiction`` (the same system
  prompt and question up to case, spacing and punctuation, another answer) >
  ``near_duplicate`` (the same question normalized, or an estimated Jaccard similarity of at
  least ``similarity.NEAR``);
- across splits (``leakage``): an exact match before a near one, train before val, and only
  then a test question answered in a document; val is looked up in train. An exact match or
  a document is an error for test; a near match is a warning (short texts share most words by
  chance), as is anything found for val.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipwise.tasks.docs import Document
from shipwise.validation.model import Finding, Record, Severity
from shipwise.validation.similarity import (
    BANDS,
    NEAR,
    Signatures,
    first_of_run,
    lookup,
    normalize,
    signatures,
    similarity,
)

# The splits whose items must not appear in earlier ones, and where to look for them.
LEAK_SOURCES = {"val": ("train",), "test": ("train", "val")}
FEW_SHOT_NOTE = {"train": " (the few-shot pool)"}
MIN_DOC_WORDS = 3  # a shorter question in a document is a coincidence, not a copied item


@dataclass
class _Reading:
    """The compact columns of the split being read, one array per observed batch."""

    split: str
    file: str
    keys: list[np.ndarray] = field(default_factory=list)  # (n, 4) int64: see _keys
    question: list[Signatures] = field(default_factory=list)
    in_documents: dict[int, Document] = field(default_factory=dict)  # line -> document


@dataclass(frozen=True)
class _Seen:
    """What a finished train or val split leaves for the leakage lookups."""

    split: str
    lines: np.ndarray
    question: Signatures


class DuplicatesAnalyzer:
    """The ``duplicate``, ``near_duplicate``, ``contradiction`` and ``leakage`` checks."""

    name = "duplicates"

    def __init__(self, documents: Sequence[Document] = ()) -> None:
        self.documents = documents
        self._normalized_docs: list[tuple[Document, str]] | None = None
        self._reading: _Reading | None = None
        self._seen: dict[str, _Seen] = {}
        self._findings: list[Finding] = []
        self._stats: dict[str, dict[str, int]] = {}

    def observe(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self._reading is None or self._reading.split != records[0].split:
            self._close()
            self._reading = _Reading(records[0].split, records[0].file)
        reading = self._reading
        reading.keys.append(np.array([_keys(r) for r in records], np.int64).reshape(-1, 4))
        reading.question.append(signatures([_question(r) for r in records]))
        if reading.split == "test" and self.documents:
            self._find_in_documents(records, reading.in_documents)

    def finish(self) -> tuple[list[Finding], dict[str, Any]]:
        self._close()
        return self._findings, self._stats

    def _close(self) -> None:
        reading, self._reading = self._reading, None
        if reading is None:
            return
        keys, reading.keys = np.concatenate(reading.keys), []
        question = Signatures.join(reading.question)
        lines = keys[:, 0].copy()  # kept with train's and val's signatures; the rest is not
        before = len(self._findings)
        self._within(reading, keys, question)
        del keys
        sources = [self._seen[s] for s in LEAK_SOURCES.get(reading.split, ()) if s in self._seen]
        self._leakage(reading, lines, question, sources)
        if reading.split in ("train", "val"):
            self._seen[reading.split] = _Seen(reading.split, lines, question)
        counts = {"examples": len(lines), "duplicate": 0, "contradiction": 0}
        counts |= {"near_duplicate": 0, "leakage": 0}
        for finding in self._findings[before:]:
            counts[finding.check] += 1
        self._stats[reading.split] = counts

    def _within(self, reading: _Reading, keys: np.ndarray, question: Signatures) -> None:
        lines, example, system, answer = keys.T
        index = np.arange(len(lines))
        first = first_of_run(example)
        duplicate = first != index
        severity: Severity = "error" if reading.split == "test" else "warning"
        fix = "delete the repeated line"
        if reading.split == "test":
            fix += ": a test item listed twice counts double in every arm's score"
        for i in np.flatnonzero(duplicate):
            message = f"same messages and answer as line {lines[first[i]]}"
            self._add(severity, "duplicate", message, fix, reading, lines[i])

        first = first_of_run(question.key ^ system.view(np.uint64))
        contradiction = (first != index) & ~duplicate & (answer != answer[first])
        for i in np.flatnonzero(contradiction):
            message = (
                f"lines {lines[first[i]]} and {lines[i]} have the same input (ignoring case, "
                "spacing and punctuation) but different answers"
            )
            fix = "decide which answer is right; fix or delete the other line"
            self._add("error", "contradiction", message, fix, reading, lines[i])

        flagged = duplicate | contradiction | question.empty
        first = first_of_run(question.key)
        same = (first != index) & ~flagged
        partner, score = _earliest_similar(question, question, before=True)
        near = (partner >= 0) & ~flagged & ~same
        fix = "delete or rewrite one of them: near-copies weigh double in training and scores"
        for i in np.flatnonzero(same | near):
            if same[i]:
                message = (
                    f"input identical to line {lines[first[i]]} apart from case, spacing or "
                    "punctuation"
                )
            else:
                message = (
                    f"input nearly identical to line {lines[partner[i]]} ({score[i]:.0%} of "
                    "word unigrams and bigrams shared)"
                )
            self._add("warning", "near_duplicate", message, fix, reading, lines[i])

    def _leakage(
        self, reading: _Reading, lines: np.ndarray, question: Signatures, sources: list[_Seen]
    ) -> None:
        if reading.split not in LEAK_SOURCES:
            return
        severity: Severity = "error" if reading.split == "test" else "warning"
        what = "a test item" if reading.split == "test" else "a val item"
        fix = (
            f"remove the item from {reading.split} or from the split it is in: {what} the "
            "model has already seen measures memory, not skill"
        )
        found: dict[int, tuple[Severity, str, str]] = {}  # line -> the first match found
        for exact in (True, False):  # exact matches first, then near ones
            for source in sources:  # train before val
                shown = f"{source.split}{FEW_SHOT_NOTE.get(source.split, '')}"
                if exact:
                    match = np.where(question.empty, -1, lookup(source.question.key, question.key))
                else:
                    match, score = _earliest_similar(question, source.question, before=False)
                for i in np.flatnonzero(match >= 0):
                    other = source.lines[match[i]]
                    if exact:
                        message = f"input also in {shown} at line {other}"
                        found.setdefault(int(lines[i]), (severity, message, fix))
                        continue
                    # Short texts share most words by chance ("my card was declined" and "my
                    # card was declined, why?"): a near match is a warning to look, not proof.
                    message = (
                        f"input nearly identical to {shown} line {other} ({score[i]:.0%} "
                        "of word unigrams and bigrams shared)"
                    )
                    near_fix = f"compare the two; if they are one item, {fix[0].lower()}{fix[1:]}"
                    found.setdefault(int(lines[i]), ("warning", message, near_fix))
        for line, doc in reading.in_documents.items():
            message = (
                f"question and reference answer both appear in document {doc.id!r} "
                f"({doc.source}): the retrieval arm can copy the answer"
            )
            docs_fix = "remove the item from test, or the question-answer text from the document"
            found.setdefault(line, ("error", message, docs_fix))
        for line in sorted(found):
            level, message, how = found[line]
            self._add(level, "leakage", message, how, reading, line)

    def _find_in_documents(self, records: Sequence[Record], hits: dict[int, Document]) -> None:
        if self._normalized_docs is None:
            self._normalized_docs = [(d, f" {normalize(d.text)} ") for d in self.documents]
        for record in records:
            question = f" {normalize(record.user_text)} "
            answer = f" {normalize(record.output_text)} "
            if question.count(" ") - 1 < MIN_DOC_WORDS or not answer.strip():
                continue
            for doc, text in self._normalized_docs:
                if question in text and answer in text:
                    hits[record.line] = doc
                    break

    def _add(
        self, severity: Severity, check: str, message: str, fix: str, reading: _Reading, line: Any
    ) -> None:
        self._findings.append(
            Finding(severity, check, message, fix, reading.file, int(line), reading.split)
        )


def _earliest_similar(
    query: Signatures, reference: Signatures, before: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Per query row, the earliest reference row whose question is a near-duplicate, else -1.

    Candidates are the rows sharing a band key (the earliest per band); each is kept only if
    its estimated similarity reaches :data:`NEAR`. With ``before`` (query is reference), a
    row only matches rows above it.
    """
    n = len(query)
    index = np.arange(n)
    best = np.full(n, -1, dtype=np.int64)
    score = np.zeros(n)
    if not n or not len(reference):
        return best, score
    for band in range(BANDS):
        if before:
            candidate = first_of_run(query.bands[:, band])
            open_ = candidate < index
        else:
            candidate = lookup(reference.bands[:, band], query.bands[:, band])
            open_ = candidate >= 0
        open_ &= ~query.empty & ((best < 0) | (candidate < best))
        rows, cands = index[open_], candidate[open_]
        shared = similarity(query.minhash[rows], reference.minhash[cands])
        keep = shared >= NEAR
        best[rows[keep]], score[rows[keep]] = cands[keep], shared[keep]
    return best, score


def _keys(record: Record) -> tuple[int, int, int, int]:
    """The line, and hashes of all messages, of the system messages, of the stripped answer.

    Python's string hash: salted per process, which is fine for keys compared in one run.
    """
    messages = record.messages
    system = tuple(m.content for m in messages if m.role == "system")
    every = tuple((m.role, m.content) for m in messages)
    return record.line, hash(every), hash(system), hash(messages[-1].content.strip())


def _question(record: Record) -> str:
    messages = record.messages
    if len(messages) == 3 and messages[0].role == "system":  # the usual shape, made cheap
        return messages[1].content
    return "\n".join(m.content for m in messages[:-1] if m.role != "system")
