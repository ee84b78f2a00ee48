"""Metrics over a split: means, and the corpus metrics a constant answer cannot game."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shipwise.errors import ConfigError
from shipwise.evaluation.aggregates import MacroF1, Mean, Slots, columns_matrix, metric_for
from shipwise.evaluation.evaluator import Evaluator
from shipwise.tasks.task import OutputSpec

FIELDS = {"from": None, "to": None, "date": None}


def slots_task() -> Evaluator:
    return Evaluator(OutputSpec("json", fields=FIELDS), "slot_f1")


def test_always_absent_scores_high_field_accuracy_but_zero_slot_f1() -> None:
    """The extractor that returns "none" for every slot, on turns that mostly carry none."""
    references = [{"from": None, "to": None, "date": None}] * 8
    references += [
        {"from": "Leeds", "to": None, "date": None},
        {"to": "York", "from": None, "date": "Monday"},
    ]
    evaluator = slots_task()
    empty = json.dumps({"from": None, "to": None, "date": None})
    rows = [evaluator.score(empty, json.dumps(r)) for r in references]
    assert evaluator.value(rows, "field_accuracy") == pytest.approx(27 / 30)  # 0.9
    assert evaluator.value(rows, "slot_f1") == 0.0 and evaluator.value(rows, "slot_recall") == 0.0
    right = json.dumps(references[9])
    found = evaluator.score(right, json.dumps(references[9]))
    assert (found["slot.hits"], found["slot.predicted"], found["slot.gold"]) == (2, 2, 2)


def test_slot_counts_treat_null_and_blank_as_absent() -> None:
    evaluator = slots_task()
    said = evaluator.score('{"from": "", "to": "York", "date": "Sunday"}',
                           '{"from": null, "to": "york", "date": "Monday"}')  # fmt: skip
    assert (said["slot.hits"], said["slot.predicted"], said["slot.gold"]) == (1, 2, 2)
    assert said["field.from"] == 1.0  # absent answered absent: right, but not a slot hit
    slots = Slots("slot_f1", "f1")
    data = np.array([[1.0], [2.0], [2.0]])
    assert float(slots.value(data)) == pytest.approx(0.5)
    assert float(Slots("p", "precision").value(np.zeros((3, 4)))) == 1.0  # nothing to get wrong


def test_macro_f1_matches_scikit_learn() -> None:
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, 300)
    predicted = np.where(rng.random(300) < 0.6, gold, rng.integers(-1, 5, 300))
    metric = MacroF1("macro_f1", 5)
    ours = float(metric.value(np.stack([predicted, gold]).astype(float)))
    occurring = sorted(set(gold) | set(predicted[predicted >= 0]))
    assert ours == pytest.approx(f1_score(gold, predicted, labels=occurring, average="macro"))


def test_corpus_metrics_reduce_any_batch_axes() -> None:
    rng = np.random.default_rng(1)
    data = np.stack([rng.integers(-1, 4, (6, 50)), rng.integers(0, 4, (6, 50))]).astype(float)
    metric = MacroF1("macro_f1", 4)
    batched = metric.value(data)
    assert batched.shape == (6,)
    assert [float(metric.value(data[:, i])) for i in range(6)] == pytest.approx(batched.tolist())


def test_majority_label_gets_accuracy_but_not_macro_f1() -> None:
    evaluator = Evaluator(OutputSpec("label", labels=["yes", "no", "maybe"]), "macro_f1")
    references = ["yes"] * 8 + ["no", "maybe"]
    rows = [evaluator.score("yes", r) for r in references]
    assert evaluator.value(rows, "label_accuracy") == pytest.approx(0.8)
    assert evaluator.value(rows) == pytest.approx((2 * 8 / 18) / 3)


def test_metrics_are_chosen_by_name_per_output_kind() -> None:
    assert isinstance(metric_for("token_f1", "text", None, None), Mean)
    with pytest.raises(ConfigError, match="use one of exact_match, token_f1"):
        metric_for("macro_f1", "text", None, None)
    rows = [{"score": 1.0}, {"score": 0.0}]
    assert columns_matrix(rows, Mean("score")).shape == (1, 2)
