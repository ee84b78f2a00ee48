"""Metrics as small pure functions of (prediction text, reference text) -> score in [0, 1]."""

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
    """The first JSON object in ``text`` (code fences and chatter around it tolerated)."""
    text = _FENCE.sub("", text.strip())
    decoder = json.JSONDecoder()
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return normalize_label(a) == normalize_label(b)
    return bool(a == b)


def json_scores(prediction: str, reference: str, fields: Sequence[str]) -> dict[str, float]:
    """json_valid (an object with every field), per-field accuracy, their mean, all-correct."""
    pred = parse_json_object(prediction)
    ref = parse_json_object(reference)
    if ref is None:
        raise ValueError(f"reference is not a JSON object: {reference!r}")
    scores = {"json_valid": float(pred is not None and all(f in pred for f in fields))}
    per_field = []
    for name in fields:
        hit = pred is not None and name in pred and _same_value(pred[name], ref.get(name))
        scores[f"field.{name}"] = float(hit)
        per_field.append(float(hit))
    scores["field_accuracy"] = sum(per_field) / len(per_field) if per_field else 0.0
    scores["json_match"] = float(all(per_field))
    return scores


def metric_names(kind: str, fields: Mapping[str, Any] | None = None) -> list[str]:
    """The per-example scores the evaluator produces for an output kind."""
    names = ["exact_match", "token_f1"]
    if kind == "label":
        names.append("label_accuracy")
    if kind == "json":
        names += ["json_valid", "field_accuracy", "json_match"]
        names += [f"field.{f}" for f in fields or {}]
    return names
