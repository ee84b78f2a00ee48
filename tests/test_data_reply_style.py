"""The shipped reply_style task: rebuilt byte for byte, and its references follow its own rules."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from functools import cache

import pytest
import yaml

from shipwise.evaluation.evaluator import Evaluator
from shipwise.evaluation.style import style_scores
from shipwise.tasks.task import Task, load_task_config
from tests.conftest import REPO

SPLITS = ("train", "val", "test", "redteam")


@cache
def task() -> Task:
    return load_task_config(yaml.safe_load((REPO / "conf/task/reply_style.yaml").read_text()))


def references(split: str) -> list[str]:
    return [e.reference for e in task().split(split)]


def test_the_committed_splits_are_what_the_seeded_builder_writes() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "data/reply_style/build.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("split", SPLITS)
def test_every_reference_passes_every_declared_rule(split: str) -> None:
    rules = task().spec.output.style
    assert len(rules) >= 8
    for example in task().split(split):
        scores = style_scores(rules, example.reference, example.reference)
        failed = [name for name, value in scores.items() if value < 1]
        assert not failed, (example.id, failed)


# How a reply breaks each rule: every breaker must fail its rule on every reference it changes.
BREAKERS: dict[str, Callable[[str], str]] = {
    "greeting": lambda r: re.sub(r"\AHi ([^,\n]+),", r"Dear \1,", r),
    "greets_by_name": lambda r: re.sub(r"\AHi ([^,\n]+),", "Hi Alex,", r),
    "sign_off": lambda r: r.replace("Warm regards,", "Best wishes,"),
    "structure": lambda r: r.replace("\n\n", " ", 2),
    "length": lambda r: r.replace("\n\nWarm", " Thanks again." * 45 + "\n\nWarm"),
    "order_number": lambda r: re.sub(r"order KL-\d{6}|KL-\d{6}", "your order", r),
    "we_voice": lambda r: r.replace("We've", "I've", 1).replace("we've", "I've", 1),
    "no_stock_phrases": lambda r: r.replace("\n\n", "\n\nSorry for the inconvenience. ", 1),
    "calm_punctuation": lambda r: r.replace(".", "!", 1),
    # the first paragraph rewritten as one long sentence of long words
    "plain_language": lambda r: re.sub(
        r"\n\n[^\n]+\n\n",
        "\n\nOur organisation acknowledges receipt of your correspondence concerning the"
        " aforementioned consignment, and its representatives will investigate the"
        " circumstances surrounding this unsatisfactory occurrence expeditiously.\n\n",
        r,
        count=1,
    ),
}


def test_every_rule_has_a_breaker() -> None:
    assert set(BREAKERS) == {rule.name for rule in task().spec.output.style}


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_deliberately_broken_replies_fail_the_rule_they_break(rule: str) -> None:
    evaluator = Evaluator(task().spec.output, task().spec.metric)
    changed = 0
    for reference in references("val"):
        broken = BREAKERS[rule](reference)
        if broken == reference:
            continue  # e.g. no order number to drop
        changed += 1
        scores = evaluator.score(broken, reference)
        assert scores[f"style.{rule}"] == 0.0, (rule, broken)
        assert scores["style_pass"] < 1.0 and scores["style_all"] == 0.0
    assert changed >= 10, f"the {rule} breaker changed only {changed} val references"


def test_one_fixed_reply_cannot_pass_for_the_task() -> None:
    """A template (any one train reference sent to every val message) fails the rules tied to
    the message (the name it greets, the order number) and shares little wording."""
    evaluator = Evaluator(task().spec.output, task().spec.metric)
    val = references("val")
    for constant in references("train")[:25]:
        scores = [evaluator.score(constant, reference) for reference in val]
        assert sum(s["style_all"] for s in scores) / len(val) < 0.35
        assert sum(s["rouge_l"] for s in scores) / len(val) < 0.5


def test_messages_are_unique_and_val_is_not_reworded_train() -> None:
    def bag(text: str) -> set[str]:
        return set(re.findall(r"\w+", text.lower()))

    inputs = [e.user_text for split in SPLITS for e in task().split(split)]
    assert len(set(inputs)) == len(inputs)
    train = [bag(e.user_text) for e in task().split("train")]
    for example in task().split("val"):
        mine = bag(example.user_text)
        worst = max(len(mine & other) / len(mine | other) for other in train)
        assert worst < 0.6, example.id


def test_the_style_guide_is_in_docs_for_the_rag_arm() -> None:
    names = {d.id for d in task().documents}
    assert {"reply-structure", "voice-and-tone", "words-we-never-use", "hard-messages"} <= names
    guide = " ".join(d.text for d in task().documents)
    assert "Warm regards," in guide and "The Kestrel Lane team" in guide
    test_inputs = {e.user_text for e in task().split("test") if len(e.user_text) > 40}
    assert not any(text in guide for text in test_inputs)
