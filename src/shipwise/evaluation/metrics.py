"""Metrics as small pure functions of (prediction text, reference text).

Most are a score in [0, 1] per example, averaged over a split. Two are corpus-level, and so
cannot be gamed by answering the most frequent thing every time (``evaluation.aggregates``):

- ``macro_f1`` (label tasks): F1 per label, averaged over labels. Each example contributes
  the index of its predicted and its gold label (``label.predicted``, ``label.gold``).
- ``slot_f1`` / ``slot_precision`` / ``slot_recall`` (JSON tasks): over the field values that
  are present. An absent field answered absent is not a hit; each example contributes its
  counts (``slot.hits``, ``slot.predicted``, ``slot.gold``).
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalization: lower-case, drop punctuation and articles, fold whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)  # both empty counts as a match, as in the SQuAD script
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def normalize_label(text: str) -> str:
    return text.strip().strip(string.punctuation + " \n\t\"'`").lower()


def label_accuracy(prediction: str, reference: str) -> float:
    return float(normalize_label(prediction) == normalize_label(reference))


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object ``text`` opens at its first brace (code fences and chatter around it
    tolerated), or None. Only the first brace counts: when the object it opens is broken, an
    object written inside it is a fragment, not the answer."""
    text = _FENCE.sub("", text.strip())
    start = text.find("{")
    if start < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return normalize_label(a) == normalize_label(b)
    return bool(a == b)


def present(value: Any) -> bool:
    """A field value that says something: not null, not an empty or blank string or list."""
    if isinstance(value, list):
        return any(present(v) for v in value)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _values(value: Any) -> Counter[str]:
    """A field's values, as a multiset: a list's items, or the value alone (none if absent)."""
    items = value if isinstance(value, list) else [value]
    return Counter(
        normalize_label(v) if isinstance(v, str) else json.dumps(v, sort_keys=True)
        for v in items
        if present(v)
    )


def _field_counts(ours: Any, theirs: Any) -> tuple[bool, int, int, int]:
    """Whether a field's answer matches the gold, and its (hits, predicted, gold) counts.

    A list field (several entities of a kind) counts each value, in any order: a reply
    finding two of three gold names scores two hits. A single value counts as one."""
    if isinstance(ours, list) or isinstance(theirs, list):
        mine, gold = _values(ours), _values(theirs)
        return mine == gold, sum((mine & gold).values()), mine.total(), gold.total()
    same = (not present(ours) and not present(theirs)) or _same_value(ours, theirs)
    hit = present(ours) and present(theirs) and _same_value(ours, theirs)
    return same, int(hit), int(present(ours)), int(present(theirs))


def json_scores(prediction: str, reference: str, fields: Sequence[str]) -> dict[str, float]:
    """json_valid (an object with every field), per-field accuracy, their mean, all-correct,
    and the slot counts over present values (hits, predicted, gold)."""
    pred = parse_json_object(prediction)
    ref = parse_json_object(reference)
    if ref is None:
        raise ValueError(f"reference is not a JSON object: {reference!r}")
    scores = {"json_valid": float(pred is not None and all(f in pred for f in fields))}
    per_field = []
    hits = predicted = gold = 0
    for name in fields:
        ours, theirs = (pred or {}).get(name), ref.get(name)
        same, found, said, given = _field_counts(ours, theirs)
        hit = pred is not None and name in pred and same
        scores[f"field.{name}"] = float(hit)
        per_field.append(float(hit))
        predicted += said
        gold += given
        hits += found
    scores["field_accuracy"] = sum(per_field) / len(per_field) if per_field else 0.0
    scores["json_match"] = float(all(per_field))
    scores.update({"slot.hits": hits, "slot.predicted": predicted, "slot.gold": gold})
    return scores


def label_indices(prediction: str, reference: str, labels: Sequence[str]) -> dict[str, float]:
    """The index of the predicted and the gold label in ``labels`` (-1: not a label)."""
    index = {normalize_label(label): i for i, label in enumerate(labels)}
    return {
        "label.predicted": float(index.get(normalize_label(prediction), -1)),
        "label.gold": float(index.get(normalize_label(reference), -1)),
    }


# Per-example columns that are parts of a corpus metric, not metrics to average themselves.
PARTS = ("label.predicted", "label.gold", "slot.hits", "slot.predicted", "slot.gold")


def metric_names(kind: str, fields: Mapping[str, Any] | None = None) -> list[str]:
    """The metrics the evaluator reports for an output kind (averaged or corpus-level)."""
    names = ["exact_match", "token_f1"]
    if kind == "label":
        names += ["label_accuracy", "macro_f1"]
    if kind == "json":
        names += ["json_valid", "field_accuracy", "json_match"]
        names += ["slot_f1", "slot_precision", "slot_recall"]
        names += [f"field.{f}" for f in fields or {}]
    return names
