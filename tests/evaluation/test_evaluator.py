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


TEXT = OutputSpec(
    "text",
    metrics=("similarity", "rouge_l", "chrf", "style", "judge"),
    style=(
        {"name": "sign_off", "kind": "ends_with", "pattern": "The team"},
        {"name": "order", "kind": "echo", "pattern": r"KL-\d{6}"},
    ),
    rubric="Names the order. Signs off as the team.",
)
REFS = ["Order KL-123456 is on its way.\nThe team", "We refunded you.\nThe team"]


def test_text_metrics_without_a_context_leave_out_what_needs_one() -> None:
    evaluator = Evaluator(TEXT, "style_pass")
    assert "rouge_l" in evaluator.names and "style.order" in evaluator.names
    assert "similarity" not in evaluator.names and "judge" not in evaluator.names
    predictions = ["Your order is late.", REFS[1]]
    scores = [evaluator.score(p, r) for p, r in zip(predictions, REFS, strict=True)]
    assert scores[0]["style.order"] == 0.0 and scores[0]["style_pass"] == 0.0
    assert scores[1]["style_all"] == 1.0 and scores[1]["rouge_l"] == pytest.approx(1.0)
    summary = evaluator.summarize(scores, [1.0] * 2, [1.0] * 2, [1] * 2, [1] * 2, [0.0] * 2)
    assert summary.primary.mean == pytest.approx(0.5)
    assert summary.means["style.sign_off"] == 0.5


def test_a_primary_metric_that_needs_an_embedder_says_so() -> None:
    with pytest.raises(ConfigError, match="needs an embedder"):
        Evaluator(TEXT, "similarity")
    with pytest.raises(ConfigError, match=r"needs a judge"):
        Evaluator(TEXT, "judge")


def test_batch_scoring_adds_similarity_with_one_embedder() -> None:
    from shipwise.evaluation.evaluator import ScoringContext
    from shipwise.retrieval.embedders import HashingEmbedder

    built: list[int] = []

    def factory() -> HashingEmbedder:
        built.append(1)
        return HashingEmbedder()

    evaluator = Evaluator(TEXT, "similarity", context=ScoringContext(embedder_factory=factory))
    scores = evaluator.score_batch([REFS[0], "bananas"], REFS, alternatives=[(), ("bananas",)])
    assert scores[0]["similarity"] == pytest.approx(1.0, abs=1e-6)
    assert scores[1]["similarity"] == pytest.approx(1.0, abs=1e-6)  # its alternative matched
    evaluator.score_batch(["x"], REFS[:1])
    assert len(built) == 1


def test_judge_failures_are_nan_and_left_out_of_means_and_the_interval(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from shipwise.evaluation.evaluator import ScoringContext
    from shipwise.evaluation.judge import Judge
    from shipwise.testing.openai_server import FakeOpenAIServer

    answers = iter(['{"score": 5}', "no idea", '{"score": 3}', '{"score": 1}'])
    with FakeOpenAIServer(lambda body: next(answers)) as server:
        judge = Judge("grader", base_url=server.base_url, api_key_env=None, concurrency=1)
        context = ScoringContext(judge=judge)
        evaluator = Evaluator(TEXT, "judge", resamples=500, context=context)
        scores = evaluator.score_batch(["a", "b", "c", "d"], REFS * 2, inputs=["m"] * 4)
    assert [s["judge_failed"] for s in scores] == [0.0, 1.0, 0.0, 0.0]
    summary = evaluator.summarize(scores, [1.0] * 4, [1.0] * 4, [1] * 4, [1] * 4, [0.0] * 4)
    assert summary.means["judge"] == pytest.approx((1.0 + 0.5 + 0.0) / 3)
    assert summary.primary.n == 3 and summary.means["judge_failed"] == 0.25
    logged = summary.as_metrics("test/")
    assert logged["test/judge.calls"] == 4.0 and logged["test/judge.failures"] == 1.0
    with pytest.raises(ValueError, match="inputs="):
        evaluator.score_batch(["a"], REFS[:1])
