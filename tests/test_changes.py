"""What changed since an arm last ran: the diff, the plan, and the runner's use of both."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from shipwise.changes import Changes, Delta, Inputs, InputsRecord, compare, delta, planned_work
from shipwise.models.fake import FakeGenerator
from shipwise.runner import run
from shipwise.strategies.base import ArmInfo
from shipwise.tracking import TrackingConfig, find_runs
from tests.conftest import write_jsonl
from tests.test_runner import knows_some_fruit, make_spec


def inputs(train: dict[str, str], docs: dict[str, str] | None = None, **settings: str) -> Inputs:
    return Inputs({"train": train, "test": {"t1": "x"}}, docs or {}, settings, "model-a")


def test_delta_names_added_removed_and_changed_ids() -> None:
    d = delta({"a": "1", "b": "2", "c": "3"}, {"a": "1", "b": "9", "d": "4"})
    assert (d.added, d.removed, d.changed) == (("d",), ("c",), ("b",))
    assert d.describe("train examples") == (
        "train examples: 1 added (d), 1 changed (b), 1 removed (c)"
    )
    many = Delta(added=tuple(f"e{i}" for i in range(5)))
    assert many.describe("docs") == "docs: 5 added (e0, e1, e2, +2 more)"


def test_compare_reports_data_settings_and_model_changes() -> None:
    before = inputs({"a": "1", "b": "2"}, {"refunds": "r1"}, **{"strategy.k": "4"})
    assert compare(None, before).first_run
    assert compare(before, before).lines() == ["nothing changed since the last run"]
    assert not compare(before, before).any

    after = Inputs(
        {"train": {"a": "1", "b": "3"}, "test": {"t1": "x"}},
        {"refunds": "r2", "shipping": "s1"},
        {"strategy.k": "8"},
        "model-b",
    )
    changes = compare(before, after)
    assert changes.lines() == [
        "train examples: 1 changed (b)",
        "documents: 1 added (shipping), 1 changed (refunds)",
        "setting strategy.k: 4 -> 8",
        "the model's weights changed",
    ]
    metrics = changes.metrics()
    assert metrics["changes/train_changed"] == 1 and metrics["changes/docs_added"] == 1
    assert metrics["changes/test_changed"] == 0 and metrics["changes/settings"] == 1
    assert json.loads(json.dumps(changes.as_json()))["docs"]["changed"] == ["refunds"]


PROMPT = ArmInfo("prompt", 2, demos=True)
RAG = ArmInfo("rag", 3, index=True, demos=True)
TUNED = ArmInfo("finetune", 4, learns="the adapter")
RAG_TUNED = ArmInfo("rag_finetune", 5, index=True, learns="the adapter")
FLOOR = ArmInfo("majority", 0, shippable=False, general=False)


@pytest.mark.parametrize(
    ("arm", "expected"),
    [
        (RAG, ["re-index 1 documents", "generate 1 new or changed test answers",
               "regenerate answers whose few-shot demonstrations changed",
               "regenerate answers whose retrieved passages changed"]),
        (PROMPT, ["generate 1 new or changed test answers",
                  "regenerate answers whose few-shot demonstrations changed"]),
        (TUNED, ["rebuild the adapter, then answer every example with it"]),
        (RAG_TUNED, ["re-index 1 documents",
                     "rebuild the adapter, then answer every example with it"]),
        (FLOOR, ["generate 1 new or changed test answers"]),
    ],
)  # fmt: skip
def test_the_plan_follows_what_the_arm_declares(arm: ArmInfo, expected: list[str]) -> None:
    changes = Changes(
        first_run=False,
        splits={"train": Delta(changed=("a",)), "test": Delta(added=("t9",))},
        docs=Delta(changed=("refunds",)),
    )
    assert planned_work(arm, changes, ["test"]) == expected


def test_an_arm_that_learns_from_retrieved_passages_relearns_when_documents_change() -> None:
    docs_only = Changes(first_run=False, docs=Delta(removed=("old",)))
    assert planned_work(RAG_TUNED, docs_only, ["test"]) == [
        "re-index 0 documents, drop 1",
        "rebuild the adapter, then answer every example with it",
    ]
    assert planned_work(TUNED, docs_only, ["test"]) == []  # it never reads the documents


def test_a_settings_change_redoes_every_prediction() -> None:
    changes = Changes(first_run=False, settings=[("generation.temperature", "0.0", "0.7")])
    assert planned_work(PROMPT, changes, ["test"]) == [
        "generate every prediction (the model or settings changed)"
    ]
    limit_only = Changes(first_run=False, settings=[("limit", "4", "8")])
    assert planned_work(PROMPT, limit_only, ["test"]) == []


def test_an_unreadable_record_counts_as_a_first_run(tmp_path: Path) -> None:
    record = InputsRecord(tmp_path, "fruit", "prompt k=2")
    assert record.load() is None
    record.save(inputs({"a": "1"}), "run-1")
    assert record.load() == inputs({"a": "1"})
    record.path.write_text("{half")
    assert record.load() is None


def test_the_runner_announces_logs_and_records_what_changed(
    tmp_path: Path, make_task: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    task_root = make_task(train=6, val=2, test=4)
    run(make_spec(tmp_path, task_root, FakeGenerator(responder=knows_some_fruit)))
    assert "first run of this arm" in capsys.readouterr().err

    # one test example edited: only it is generated again
    rows = [json.loads(line) for line in (task_root / "test.jsonl").read_text().splitlines()]
    rows[0]["messages"][0]["content"] = "What colour is a kiwi?"
    rows[0]["messages"][1]["content"] = "green"
    write_jsonl(task_root / "test.jsonl", rows)
    generator = FakeGenerator(responder=knows_some_fruit)
    result = run(make_spec(tmp_path, task_root, generator))
    err = capsys.readouterr().err
    assert "prompt k=2: test examples: 1 changed (f-8)" in err
    assert "prompt k=2: will generate 1 new or changed test answers" in err
    assert "test: 3 of 4 answers from the cache, 1 to generate" in err
    assert len(generator.calls) == 1

    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit")
    latest = next(r for r in find_runs(tracking) if r["run_id"] == result.run_id)
    assert latest["metrics"]["changes/test_changed"] == 1
    assert latest["metrics"]["test/generated"] == 1 and latest["metrics"]["test/cached"] == 3
    saved = json.loads(InputsRecord(tmp_path / ".shipwise", "fruit", "prompt k=2").path.read_text())
    assert saved["run_id"] == result.run_id and "f-8" in saved["splits"]["test"]

    run(make_spec(tmp_path, task_root, FakeGenerator(responder=knows_some_fruit)))
    assert "prompt k=2: nothing changed since the last run" in capsys.readouterr().err
