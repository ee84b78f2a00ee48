"""What an arm answers, against what the references say: distributions and collapse.

An arm whose answers collapse onto one value (the fine-tune that says "yes" to every question)
can score like a real arm on a split where that value is common. Its answer distribution gives
it away: its most frequent answer covers far more of the test split than the most frequent
reference does. Answers are compared as the metrics compare them: labels normalised, JSON
objects by their parsed fields, text by SQuAD normalisation.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shipwise.decision_types import AnswerShare, Collapse
from shipwise.evaluation.metrics import normalize_answer, parse_json_object

SHOWN = 5  # answers listed per arm in the report


def _json_object(answer: str) -> dict[str, Any] | None:
    """The answer as a JSON object, or None when it is not one."""
    return parse_json_object(answer) if answer.lstrip().startswith("{") else None


def canonical(answer: str) -> str:
    """The form two answers share when a metric would call them the same."""
    parsed = _json_object(answer)
    if parsed is not None:
        return json.dumps(parsed, sort_keys=True, ensure_ascii=False)
    return normalize_answer(answer) or answer.strip()


def distribution(answers: Iterable[str], shown: int = SHOWN) -> list[AnswerShare]:
    """The most frequent answers and the share of the split each covers.

    Answers are counted by their canonical form and shown as written (the commonest way of
    writing each): a label keeps its underscores and case, which normalisation drops.
    """
    forms: dict[str, Counter[str]] = {}
    for answer in answers:
        forms.setdefault(canonical(answer), Counter())[answer.strip()] += 1
    counts = Counter({key: sum(written.values()) for key, written in forms.items()})
    total = sum(counts.values())
    if not total:
        return []
    return [
        AnswerShare(forms[key].most_common(1)[0][0], c / total)
        for key, c in counts.most_common(shown)
    ]


def collapsed(
    answers: Mapping[str, str], references: Mapping[str, str], rule: Collapse
) -> AnswerShare | None:
    """The answer an arm collapsed onto, or None (see :class:`Collapse` for the rule)."""
    ours = distribution(answers.values(), 1)
    theirs = distribution(references.values(), 1)
    if not ours or len(answers) < rule.min_examples:
        return None
    top, gold = ours[0], (theirs[0].share if theirs else 0.0)
    if top.share >= rule.min_share and top.share - gold >= rule.excess:
        return top
    return None


def shown(answer: str) -> str:
    """An answer as a report shows it: a JSON object without its null fields.

    Answers that differ in one field of many then differ in their first characters too, so
    a clipped table cell still tells them apart; an object of nulls only reads ``{}``.
    """
    parsed = _json_object(answer)
    if parsed is None:
        return answer
    return json.dumps({k: v for k, v in parsed.items() if v is not None}, ensure_ascii=False)


def is_json_object(answer: str) -> bool:
    return _json_object(answer) is not None


def shares_line(shares: Sequence[AnswerShare]) -> str:
    return ", ".join(f"{shown(s.answer)!r} {s.share:.0%}" for s in shares)
