"""The content checks: what is wrong with well-formed examples, and the data's statistics.

:func:`default_analyzers` picks the analyzers a task's :class:`Context` allows. Check ids
(``Finding.check``) and severities:

============================  ==========================================================
``size``                      error under 10 examples in train/val/test, warning under 50
``duplicate_id``              error: an id two splits share (the study pairs by id)
``output_format``             error: a JSON answer that is not an object, lacks a field or
                              has a disallowed value; warning: an extra field, or text
                              around the object
``unknown_label``             error: a label task's answer not in ``output.labels``
``class_missing_train``/      warning: an allowed label (or JSON field value) absent from
``class_missing_test``        train / test
``imbalance``                 warning: in train, the commonest class > 20x the rarest present
``coded_labels``              warning: every label is a number or a code (``LABEL_3``), which
                              a language model cannot read as meaning anything
``duplicate``                 warning (error in test): same messages and answer as a line above
``contradiction``             error: same input, different answer
``near_duplicate``            warning: input the same up to case/spacing/punctuation, or
                              nearly the same (see :mod:`~shipwise.validation.similarity`)
``leakage``                   error: a test input in train or val (up to case, spacing and
                              punctuation), or a test question and answer in a document;
                              warning: a near match, or val in train
``over_context``              error: longer than the model's context window
``over_max_length``           warning: longer than the fine-tune arm's ``max_length``
============================  ==========================================================

Every finding is emitted, none capped: analyzers keep only line numbers while streaming and
build findings at the end, and the terminal renderer shows the first few of each check while
``--json`` carries them all.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipwise.evaluation.metrics import normalize_label, parse_json_object
from shipwise.tasks.task import OutputSpec
from shipwise.validation.duplicates import DuplicatesAnalyzer
from shipwise.validation.model import Analyzer, Context, Finding, Record, Severity
from shipwise.validation.tokens import HostedCostAnalyzer, TokensAnalyzer

MIN_EXAMPLES = 10  # OpenAI's fine-tuning minimum
ADVISED_EXAMPLES = 50  # the low end of OpenAI's 50-100 recommendation
SIZED_SPLITS = ("train", "val", "test")
# General questions asked as written (the forgetting check): their answers are free text.
FREE_TEXT_SPLITS = ("regression",)
IMBALANCE = 20  # most common / least common present class in train
# Labels a model reads no meaning in: numbers, and codes such as LABEL_0 (transformers' default
# names) or class_3.
_CODED = re.compile(r"[-+]?\d+(\.\d+)?|(label|class|category)[ _-]?\d+", re.IGNORECASE)


def coded_labels_fix(labels: Sequence[str]) -> str:
    """How to name coded labels, shown with the task's own values."""
    named = ",".join(f"{label}=NAME" for label in labels[:3]) + (",..." if len(labels) > 3 else "")
    return (
        f"name the classes: re-import with --label-map {named} (or a .json file of names), or"
        " rewrite the answers and task.output.labels"
    )


def label_sets(output: OutputSpec) -> list[str]:
    """The labels a task chooses among: a label task's, or a list field's listed values (a
    column of label sets); empty when it has neither."""
    if output.kind == "label":
        return list(output.labels or ())
    fields = output.fields or {}
    return [v for name in output.lists for v in fields.get(name) or ()]


def coded_labels(labels: Sequence[str]) -> str | None:
    """Why labels that are all numbers or codes hurt the language-model arms; None if not."""
    if not labels or not all(_CODED.fullmatch(label.strip()) for label in labels):
        return None
    return (
        f"the labels ({_listed(labels, 5)}) are codes: a language model reads no meaning in"
        " them unless the system prompt says what each stands for, so the prompt and retrieval"
        " arms can only copy their demonstrations"
    )


UNKNOWN = "(not allowed)"  # the balance bucket of values outside the allowed list


def default_analyzers(context: Context) -> list[Analyzer]:
    """The content analyzers for ``context``: token checks only with a tokenizer, the
    answer checks only for label and JSON tasks, the cost only with hosted pricing."""
    analyzers: list[Analyzer] = [
        SizeAnalyzer(),
        SplitIdsAnalyzer(),
        DuplicatesAnalyzer(context.documents),
    ]
    if context.output.kind in ("label", "json"):
        analyzers.append(AnswersAnalyzer(context.output))
    if context.tokens is not None:
        analyzers.append(TokensAnalyzer(context.tokens, context.max_length))
    if context.hosted is not None:
        analyzers.append(HostedCostAnalyzer(context.hosted))
    return analyzers


class SizeAnalyzer:
    """``size``: examples per split, and too few of them in train, val or test."""

    name = "size"

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.files: dict[str, str] = {}

    def observe(self, records: Sequence[Record]) -> None:
        if records:
            split = records[0].split
            self.counts[split] = self.counts.get(split, 0) + len(records)
            self.files.setdefault(split, records[0].file)

    def finish(self) -> tuple[list[Finding], dict[str, Any]]:
        findings = []
        for split in SIZED_SPLITS:
            n = self.counts.get(split)
            if n is None or n >= ADVISED_EXAMPLES:
                continue
            severity: Severity = "error" if n < MIN_EXAMPLES else "warning"
            findings.append(
                Finding(
                    severity,
                    "size",
                    f"only {n} example{'s' if n != 1 else ''} in {split}",
                    f"add examples: OpenAI's fine-tuning requires at least {MIN_EXAMPLES} and "
                    "recommends starting with 50-100; small splits also make scores noisy",
                    self.files[split],
                    split=split,
                )
            )
        return findings, dict(self.counts)


class SplitIdsAnalyzer:
    """``duplicate_id`` across splits: ids pair predictions across arms, so the study refuses
    an id that two of its splits share (within one file the reader reports it)."""

    name = "split_ids"
    SPLITS = ("train", "val", "test", "regression", "redteam")  # the splits a run loads

    def __init__(self) -> None:
        self.first: dict[str, Record] = {}
        self.findings: list[Finding] = []

    def observe(self, records: Sequence[Record]) -> None:
        for record in records:
            if record.split not in self.SPLITS:
                continue
            key = record.id if record.id is not None else f"{record.split}-{record.line:05d}"
            first = self.first.setdefault(key, record)
            if first.split != record.split:
                self.findings.append(
                    Finding(
                        "error",
                        "duplicate_id",
                        f"id {key!r} is also in {first.split} ({Path(first.file).name}:"
                        f"{first.line}); the study refuses ids shared by two splits",
                        "give every record an id unique across all splits",
                        record.file,
                        record.line,
                        record.split,
                    )
                )

    def finish(self) -> tuple[list[Finding], dict[str, Any]]:
        return self.findings, {}


class AnswersAnalyzer:
    """The answers of label and JSON tasks: ``output_format``/``unknown_label`` per example,
    and the class balance (``balance`` statistics, ``class_missing_*``, ``imbalance``).

    A label task's single dimension is ``label`` (the stripped answer); a JSON task has one
    per field with a list of allowed values. Only allowed values are counted by name, the
    rest under one bucket, so the counters stay as small as the lists.
    """

    name = "balance"

    def __init__(self, output: OutputSpec) -> None:
        self.output = output
        if output.kind == "label":
            self.allowed: dict[str, tuple[str, ...]] = {"label": tuple(output.labels or ())}
        else:
            fields = output.fields or {}
            self.allowed = {f: tuple(v) for f, v in fields.items() if v is not None}
        self._sets = {dim: frozenset(v) for dim, v in self.allowed.items()}
        self._folded = {normalize_label(v): v for v in output.labels or ()}
        self.counts: dict[str, dict[str, Counter[str]]] = {dim: {} for dim in self.allowed}
        self.files: dict[str, str] = {}
        self.findings: list[Finding] = []

    def observe(self, records: Sequence[Record]) -> None:
        if not records:
            return
        split = records[0].split
        if split in FREE_TEXT_SPLITS:
            return
        self.files.setdefault(split, records[0].file)
        tallies = {
            dim: split_counts.setdefault(split, Counter())
            for dim, split_counts in self.counts.items()
        }
        for record in records:
            if self.output.kind == "label":
                label = record.output_text.strip()
                values = {"label": [label]}
                self._check_label(record, label)
            else:
                values = self._check_json(record)
            for dim, items in values.items():
                if dim in tallies:
                    for value in items:  # a list field counts each item
                        tallies[dim][value if value in self._sets[dim] else UNKNOWN] += 1

    def _check_label(self, record: Record, label: str) -> None:
        if label in self._sets["label"]:
            return
        hint = self._folded.get(normalize_label(label))
        message = f"label {label[:60]!r} is not one of the task's labels"
        message += f" (did you mean {hint!r}?)" if hint else f" ({_listed(self.allowed['label'])})"
        fix = "correct the label, or add it to task.output.labels"
        self._add("error", "unknown_label", message, fix, record)

    def _check_json(self, record: Record) -> dict[str, list[str]]:
        """The answer's field values as strings (for the balance; a list field's items), after
        checking its format."""
        text = record.output_text
        fields = self.output.fields or {}
        try:
            answer = json.loads(text)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            answer = parse_json_object(text)
            if answer is None:
                message = f"the answer is not a JSON object: {text[:60]!r}"
                fix = f"write the answer as one JSON object with the fields {_listed(fields)}"
                self._add("error", "output_format", message, fix, record)
                return {}
            message = "text around the answer's JSON object: the model will learn to add it"
            self._add("warning", "output_format", message, "keep only the JSON object", record)
        # null is an absent value, which every field allows (an imported JSON task's empty cell)
        lists = set(self.output.lists)
        errors = [f"lacks field {f!r}" for f in fields if f not in answer]
        errors += [
            f"field {f!r} is {json.dumps(v, ensure_ascii=False)[:40]}, not a list"
            for f, v in answer.items()
            if f in lists and v is not None and not isinstance(v, list)
        ]
        values = {
            f: [_text(i) for i in (v if f in lists and isinstance(v, list) else [v])]
            for f, v in answer.items()
            if v is not None
        }
        for field, allowed in self.allowed.items():
            strays = [v for v in values.get(field, ()) if v not in self._sets[field]]
            if strays:
                errors.append(
                    f"field {field!r} {'holds' if field in lists else 'is'} {strays[0][:40]!r},"
                    f" not one of {_listed(allowed)}"
                )
        if errors:
            fix = "use the fields and values task.output.fields allows, or extend that list"
            self._add("error", "output_format", "the answer " + "; ".join(errors), fix, record)
        extra = [f for f in answer if f not in fields]
        if extra:
            message = f"the answer has field(s) {_listed(extra)} not in task.output.fields"
            fix = "drop them, or add them to task.output.fields"
            self._add("warning", "output_format", message, fix, record)
        return values

    def _add(self, severity: Severity, check: str, message: str, fix: str, r: Record) -> None:
        self.findings.append(Finding(severity, check, message, fix, r.file, r.line, r.split))

    def finish(self) -> tuple[list[Finding], dict[str, Any]]:
        findings = list(self.findings)
        labels = label_sets(self.output)
        coded = coded_labels(labels)
        if coded:
            fix = coded_labels_fix(labels)
            findings.append(Finding("warning", "coded_labels", coded, fix))
        for dim, allowed in self.allowed.items():
            what = "label" if dim == "label" else f"field {dim!r} value"
            for split in ("train", "test"):
                seen = self.counts[dim].get(split)
                missing = [v for v in allowed if seen is not None and not seen[v]]
                if missing:
                    findings.append(self._missing(split, what, missing, len(allowed)))
            train = {v: n for v, n in (self.counts[dim].get("train") or {}).items() if n}
            train.pop(UNKNOWN, None)
            if len(train) > 1:
                common, rare = max(train, key=train.__getitem__), min(train, key=train.__getitem__)
                if train[common] > IMBALANCE * train[rare]:
                    findings.append(self._imbalance(what, common, rare, train))
        stats = {
            "kind": self.output.kind,
            "counts": {
                dim: {s: _ordered(c, self.allowed[dim]) for s, c in per_split.items()}
                for dim, per_split in self.counts.items()
            },
        }
        return findings, stats

    def _missing(self, split: str, what: str, missing: list[str], total: int) -> Finding:
        why = (
            "the fine-tuned model cannot learn a class it never sees"
            if split == "train"
            else "the study cannot tell how the arms do on them"
        )
        return Finding(
            "warning",
            f"class_missing_{split}",
            f"{len(missing)} of {total} allowed {what}s never appear in {split}: "
            f"{_listed(missing)}",
            f"add {split} examples for them: {why}",
            self.files.get(split),
            split=split,
        )

    def _imbalance(self, what: str, common: str, rare: str, train: Mapping[str, int]) -> Finding:
        ratio = train[common] / train[rare]
        return Finding(
            "warning",
            "imbalance",
            f"{what} {common!r} has {train[common]} train examples, {ratio:.0f}x the "
            f"{train[rare]} of {rare!r}",
            "add examples of the rare classes or thin out the common one: a fine-tuned "
            "model leans towards the majority class",
            self.files.get("train"),
            split="train",
        )


def _ordered(counts: Counter[str], allowed: Sequence[str]) -> dict[str, int]:
    """Counts in the allowed list's order, absent values as 0, the unknown bucket last."""
    ordered = {v: counts[v] for v in allowed}
    if counts[UNKNOWN]:
        ordered[UNKNOWN] = counts[UNKNOWN]
    return ordered


def _text(value: Any) -> str:
    """A field value as the balance counts it: text as written, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _listed(values: Sequence[str] | Mapping[str, Any], limit: int = 8) -> str:
    items = list(values)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
