"""Free-text answers in the report: which style rules each arm's replies pass, and the replies.

One number (the primary metric) cannot say how an arm's replies read. For a text task the
report adds, per arm, the share of test replies passing each style rule the task declares
(so "fails the sign-off half the time" shows at once), and a few test examples with every
arm's reply beside the input and the reference. The examples are drawn with the decision's
seed from the ids every arm was scored on, so the same evidence shows the same examples.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from shipwise.decision_types import ArmEvidence, ExampleReplies, StylePassRates

SHOWN = 3  # example replies per arm in the report


def pass_rates(
    style: Mapping[str, Mapping[str, float]], ids: Sequence[str]
) -> StylePassRates | None:
    """Per rule, the share of ``ids`` whose reply passes it; None without rule scores."""
    if not style or not ids:
        return None
    rules = list(style[ids[0]])
    passed = [[style[i][rule] >= 1 for rule in rules] for i in ids]
    rates = {rule: sum(row[k] for row in passed) / len(ids) for k, rule in enumerate(rules)}
    return StylePassRates(rates, sum(all(row) for row in passed) / len(ids), len(ids))


def side_by_side(
    evidence: Sequence[ArmEvidence], ids: Sequence[str], seed: int, shown: int = SHOWN
) -> tuple[ExampleReplies, ...]:
    """``shown`` of ``ids`` (drawn with ``seed``, listed in order), with every arm's reply."""
    answering = [e for e in evidence if e.answers]
    if not answering:
        return ()
    picked = sorted(random.Random(seed).sample(sorted(ids), min(shown, len(ids))))
    first = answering[0]  # the split is shared: any arm's copy of the input and reference
    return tuple(
        ExampleReplies(
            id=i,
            input=first.inputs.get(i, ""),
            reference=first.references.get(i, ""),
            replies={e.name: e.answers[i] for e in answering},
            failed_rules={
                e.name: tuple(rule for rule, score in e.style[i].items() if score < 1)
                for e in answering
                if e.style
            },
        )
        for i in picked
    )
