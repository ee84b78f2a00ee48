"""Per-example traces and dataset inputs, as the MLflow UI reads them back."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from shipwise.scrub import REDACTED
from shipwise.traces import EXPECTED, ExampleTrace
from shipwise.tracking import TrackingConfig, find_runs, tracked_run

KEY = "sk-test-0123456789abcdefghij"


def config(tmp_path: Path) -> TrackingConfig:
    return TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "exp", str(tmp_path / "artifacts"))


def example(i: int, **changes: object) -> ExampleTrace:
    values: dict = {
        "example_id": f"ex-{i}",
        "question": f"question {i}",
        "reference": f"answer {i}",
        "messages": [{"role": "user", "content": f"question {i}"}],
        "answer": f"reply {i}",
        "scores": {"exact_match": float(i % 2), "json_valid": 1.0},
        "latency_s": 0.5,
        "prompt_tokens": 12,
        "completion_tokens": 3,
    }
    return ExampleTrace(**{**values, **changes})


def test_each_example_is_one_trace_with_spans_scores_and_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPWISE_TEST_API_KEY", KEY)
    retrieved = {
        "retrieved_chunks": ["returns#0"],
        "retrieval_scores": [0.8],
        "retrieval_s": 0.25,
        "passages": [{"doc_id": "returns", "text": "Refunds take 5 days."}],
    }
    examples = [
        example(0, retrieval=retrieved),
        example(1, question=f"my key is {KEY}", scores={"exact_match": float("nan")}),
    ]
    with tracked_run(config(tmp_path), "rag", {"task": "t"}) as run:
        logged = run.log_traces("rag", "test", "tiny-model", examples)
    ids = logged.ids
    assert len(ids) == 2 and logged.reused == 0
    assert run.trace_ids == []  # written and linked as the run ended
    [found] = find_runs(config(tmp_path))
    assert found["metrics"]["trace_flush_s"] >= 0
    experiment = mlflow.get_experiment_by_name("exp")
    assert experiment is not None
    traces = mlflow.search_traces(
        locations=[experiment.experiment_id], run_id=run.run_id, return_type="list"
    )
    assert sorted(t.info.trace_id for t in traces) == sorted(ids)
    by_id = {t.info.client_request_id: t for t in traces}
    first = by_id["ex-0"]
    assert first.info.tags["shipwise.split"] == "test"
    assert first.info.trace_metadata["mlflow.sourceRun"] == run.run_id
    spans = {s.name: s for s in first.data.spans}
    assert sorted(spans) == ["generate", "rag", "retrieve"]
    assert spans["retrieve"].outputs[0]["page_content"] == "Refunds take 5 days."
    assert spans["generate"].inputs["messages"][0]["content"] == "question 0"
    usage = spans["generate"].get_attribute("mlflow.chat.tokenUsage")
    assert usage == {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
    # the measured durations: 0.25 s retrieving, then 0.5 s generating
    assert first.info.execution_duration == pytest.approx(750, abs=2)
    assert spans["rag"].inputs == {"question": "question 0"} and spans["rag"].outputs == "reply 0"
    scores = {a.name: a.value for a in first.info.assessments}
    assert scores == {"exact_match": 0.0, "json_valid": 1.0, EXPECTED: "answer 0"}
    second = by_id["ex-1"]
    assert {a.name for a in second.info.assessments} == {EXPECTED}  # NaN: no feedback
    assert KEY not in str(second.data.spans[0].inputs)
    assert REDACTED in second.data.spans[0].inputs["question"]


def test_no_examples_and_a_limit_of_traced_splits(tmp_path: Path) -> None:
    cfg = TrackingConfig("sqlite:///x.db", "exp", trace_splits=("test",), trace_limit=3)
    assert cfg.traced("test") == 3 and cfg.traced("redteam") == 0
    assert TrackingConfig("u", "e").traced("regression") is None  # all of them
    with tracked_run(config(tmp_path), "none", {"task": "t"}) as run:
        assert run.log_traces("prompt", "test", "m", []).ids == []


def test_a_split_is_a_dataset_input_whose_digest_is_its_fingerprint(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    rows = [{"id": "1", "input": "hi", "reference": "hello"}]
    with tracked_run(cfg, "arm", {"task": "t"}) as run:
        run.log_dataset("t/test", "test", "abcdef0123456789", rows, "t/test")
    [found] = find_runs(cfg)
    [logged] = MlflowClient().get_run(found["run_id"]).inputs.dataset_inputs
    assert logged.dataset.name == "t/test" and logged.dataset.digest == "abcdef0123456789"
    assert {t.key: t.value for t in logged.tags}["mlflow.data.context"] == "test"


def run_traces(run_id: str, split: str = "test") -> dict[str, str]:
    """Example id -> trace id, for the traces of one split the run shows."""
    experiment = mlflow.get_experiment_by_name("exp")
    assert experiment is not None
    found = mlflow.search_traces(
        locations=[experiment.experiment_id], run_id=run_id, return_type="list"
    )
    return {
        t.info.client_request_id or "": t.info.trace_id
        for t in found
        if t.info.tags.get("shipwise.split") == split
    }


def test_a_rerun_links_unchanged_traces_and_logs_only_what_changed(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    first_examples = [example(i) for i in range(3)]
    with tracked_run(cfg, "prompt", {"task": "t"}) as first:
        assert first.log_traces("prompt", "test", "m", first_examples).reused == 0
    before = run_traces(first.run_id)
    # the same answers again, with other timings (a cached answer keeps its own latency, but a
    # retrieval is timed anew); the third example's answer changed
    again = [example(0, latency_s=9.0), example(1), example(2, answer="another reply")]
    with tracked_run(cfg, "prompt", {"task": "t"}) as second:
        logged = second.log_traces("prompt", "test", "m", again)
        other_split = second.log_traces("prompt", "redteam", "m", [example(0)])
    assert logged.reused == 2 and other_split.reused == 0  # a split is its own scope
    after = run_traces(second.run_id)
    assert after["ex-0"] == before["ex-0"] and after["ex-1"] == before["ex-1"]
    assert after["ex-2"] != before["ex-2"] and len(after) == 3
    assert run_traces(second.run_id, "redteam").keys() == {"ex-0"}
    changed = mlflow.get_trace(after["ex-2"])
    assert changed is not None and changed.data.spans[0].outputs == "another reply"
    # the first run still shows its own traces, unchanged
    assert run_traces(first.run_id) == before
    # another arm, or another model, never reuses them
    with tracked_run(cfg, "rag", {"task": "t"}) as third:
        assert third.log_traces("rag", "test", "m", first_examples).reused == 0
        assert third.log_traces("prompt", "test", "other-model", first_examples).reused == 0


def test_a_deleted_trace_is_logged_again(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    with tracked_run(cfg, "prompt", {"task": "t"}) as first:
        first.log_traces("prompt", "test", "m", [example(0), example(1)])
    gone = run_traces(first.run_id)["ex-0"]
    experiment = mlflow.get_experiment_by_name("exp")
    assert experiment is not None
    MlflowClient().delete_traces(experiment.experiment_id, trace_ids=[gone])
    with tracked_run(cfg, "prompt", {"task": "t"}) as second:
        logged = second.log_traces("prompt", "test", "m", [example(0), example(1)])
    assert logged.reused == 1
    shown = run_traces(second.run_id)
    assert shown["ex-0"] != gone and mlflow.get_trace(shown["ex-0"]) is not None
