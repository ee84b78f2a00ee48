from __future__ import annotations

import pytest

from shipwise.errors import ConfigError
from shipwise.evaluation.evaluator import Evaluator
from shipwise.tasks.task import OutputSpec

SPEC = OutputSpec("json", fields={"category": ["a", "b"], "priority": ["low", "high"]})


def test_unknown_metric_for_the_output_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"task.metric"):
        Evaluator(OutputSpec("text"), "field_accuracy")


def test_summary_aggregates_scores_latency_tokens_and_cost() -> None:
    evaluator = Evaluator(SPEC, "field_accuracy", resamples=2000)
    ref = '{"category": "a", "priority": "low"}'
    predictions = [
        '{"category": "a", "priority": "low"}',
        '{"category": "a", "priority": "high"}',
        "nope",
        ref,
    ]
    scores = [evaluator.score(p, ref) for p in predictions]
    summary = evaluator.summarize(
        scores, [1.0, 2.0, 3.0, 4.0], [0.5] * 4, [10, 10, 20, 20], [5, 5, 5, 5], [0.001] * 4
    )
    assert summary.means["field_accuracy"] == pytest.approx((1 + 0.5 + 0 + 1) / 4)
    assert summary.means["json_valid"] == 0.75
    assert summary.primary.mean == pytest.approx(0.625)
    assert summary.latency_p50_s == pytest.approx(2.5)
    assert summary.latency_p95_s == pytest.approx(3.85)
    assert summary.prompt_tokens_mean == 15
    assert summary.compute_s_mean == 0.5
    assert summary.usd_per_1k_calls == pytest.approx(1.0)
    logged = summary.as_metrics("test/")
    assert logged["test/primary"] == pytest.approx(0.625)
    assert logged["test/field.priority"] == 0.5
