"""shipwise-decide and the evidence it reads: real MLflow runs from the runner, no model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipwise.decide_cli import main
from shipwise.evaluation.aggregates import Mean
from shipwise.evidence import DECISION_TAG, evidence_from_run, latest_arm_runs
from shipwise.models.base import GenerationSettings
from shipwise.models.fake import FakeGenerator
from shipwise.retrieval.embedders import HashingEmbedder
from shipwise.runner import RunSpec, run
from shipwise.strategies.arm import Arm
from shipwise.strategies.parts import Demos
from shipwise.study import ARMS_TAG
from shipwise.tasks.example import Messages
from shipwise.tasks.task import OutputSpec, TaskSpec, load_task
from shipwise.tracking import TrackingConfig, find_runs

COLOURS = {"apple": "red", "pear": "green", "blueberry": "purple", "mango": "yellow"}
EXACT = Mean("exact_match")


def answers(known: set[str]) -> Callable[[Messages], str]:
    def reply(prompt: Messages) -> str:
        fruit = prompt[-1].content.removeprefix("What colour is a ").removesuffix("?")
        return COLOURS.get(fruit, "blue") if fruit in known else "blue"

    return reply


@pytest.fixture
def study(tmp_path: Path, make_task: Callable[..., Path]) -> dict[str, Any]:
    """Two arms of the fruit task logged by the runner: 'good' (4/4) and 'weak' (1/4)."""
    task_root = make_task(train=6, val=2, test=4)
    spec = TaskSpec("fruit", str(task_root), "Name the colour.", "exact_match", OutputSpec())
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit", str(tmp_path / "art"))
    for name, known, price in (("weak", {"apple"}, 0.1), ("good", set(COLOURS), 3.6)):
        run(
            RunSpec(
                task=load_task(spec),
                strategy=Arm(name, "prompt", 2, True, demos=Demos(k=1, selection="fixed")),
                generator=FakeGenerator(
                    responder=answers(known), name=name, price={"usd_per_1m_input": price}
                ),
                embedder_factory=HashingEmbedder,
                settings=GenerationSettings(max_new_tokens=4),
                tracking=tracking,
                root=tmp_path / ".shipwise",
                run_name=name,
                params={"task.metric": "exact_match"},
            )
        )
    return {"task_root": task_root, "tracking": tracking, "root": tmp_path}


def overrides(study: dict[str, Any], *extra: str) -> list[str]:
    root = study["root"]
    return [
        "task.name=fruit",
        f"task.data_dir={study['task_root']}",
        "task.metric=exact_match",
        "task.output.kind=text",
        "~task.output.fields",
        f"paths.root={root}",
        "decision.resamples=2000",
        *extra,
    ]


def test_evidence_reads_scores_costs_and_fingerprints(study: dict[str, Any]) -> None:
    tracking = study["tracking"]
    runs = {r["name"]: r for r in latest_arm_runs(tracking)}
    assert sorted(runs) == ["good", "weak"]
    good = evidence_from_run(tracking, runs["good"], EXACT)
    assert good.scores == {"f-8": (1.0,), "f-9": (1.0,), "f-10": (1.0,), "f-11": (1.0,)}
    assert good.metric == "exact_match" and len(good.test_fingerprint) == 16
    weak = evidence_from_run(tracking, runs["weak"], EXACT)
    assert sum(s for (s,) in weak.scores.values()) == 1.0
    assert weak.answers["f-8"] == "red" and weak.references["f-9"] == "green"
    stale = evidence_from_run(tracking, runs["good"], EXACT, current={"train": "something-else"})
    assert stale.stale and "train" in stale.warnings[0]


def test_decide_writes_the_report_and_a_tagged_mlflow_run(
    study: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(overrides(study)) == 0
    out = capsys.readouterr().out
    assert "report:" in out
    reports = sorted((study["root"] / ".shipwise" / "decisions").glob("*/decision.json"))
    decision = json.loads(reports[-1].read_text())
    # the caveats are printed with the verdict, not left in the report alone (4 test examples)
    assert decision["caveats"] and "\nCaveats:\n- Too few test examples for the difference" in out
    assert out.count("\n- ") == len(decision["caveats"])
    assert decision["schema_version"] == 3 and {a["name"] for a in decision["arms"]} == {
        "good",
        "weak",
    }
    decided = [r for r in find_runs(study["tracking"]) if r["tags"].get(DECISION_TAG) == "true"]
    assert len(decided) == 1 and decided[0]["status"] == "FINISHED"
    # its description is the verdict and a link to each arm's run; its tag lists their ids
    arms = {r["name"]: r["run_id"] for r in latest_arm_runs(study["tracking"])}
    assert sorted(decided[0]["tags"][ARMS_TAG].split(",")) == sorted(arms.values())
    note = decided[0]["tags"]["mlflow.note.content"]
    assert note.startswith("Ship good") and "(shipped)" in note
    assert f"[weak](#/experiments/{decided[0]['experiment_id']}/runs/{arms['weak']})" in note
    # a decision run is never mistaken for an arm
    assert sorted(r["name"] for r in latest_arm_runs(study["tracking"])) == ["good", "weak"]


def test_the_volume_changes_monthly_costs_without_running_a_model(study: dict[str, Any]) -> None:
    costs = []
    for calls in (1000, 1_000_000):
        assert main(overrides(study, f"decision.calls_per_month={calls}")) == 0
        latest = sorted((study["root"] / ".shipwise" / "decisions").glob("*/decision.json"))[-1]
        decision = json.loads(latest.read_text())
        costs.append({a["name"]: a["monthly_usd"] for a in decision["arms"]})
    assert costs[1]["good"] > costs[0]["good"]


def test_bad_run_ids_and_keys_are_clear_errors(
    study: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*overrides(study), "--runs", "nope"]) == 2
    assert "runs not found" in capsys.readouterr().err
    assert main([*overrides(study), "decision.volume=3"]) == 2
    assert "decision.volume" in capsys.readouterr().err


def test_a_run_missing_what_the_decision_needs_is_named_not_costed_at_zero(
    study: dict[str, Any],
) -> None:
    """A renamed or missing metric must fail loudly: never an arm priced at $0."""
    from shipwise.errors import DataError

    tracking = study["tracking"]
    run = {r["name"]: r for r in latest_arm_runs(tracking)}["good"]
    evidence_from_run(tracking, run, EXACT)  # whole: fine
    for part, key in (("metrics", "test/usd_per_1k_calls"), ("metrics", "setup_usd"),
                      ("tags", "strategy.simplicity"), ("params", "task.metric")):  # fmt: skip
        broken = {**run, part: {k: v for k, v in run[part].items() if k != key}}
        with pytest.raises(DataError, match=key.replace(".", r"\.")) as err:
            evidence_from_run(tracking, broken, EXACT)
        assert "'good'" in err.value.what


def test_a_text_task_reports_style_rules_and_replies_from_the_runs(
    tmp_path: Path, make_task: Callable[..., Path]
) -> None:
    """Rule scores and inputs go from the runner's predictions table to the report; an arm run
    before the rules were declared answers beside the others but leaves the rule table."""
    task_root = make_task(train=6, val=2, test=4)
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit", str(tmp_path / "art"))
    rules = ({"name": "one_word", "kind": "words", "max": 1},
             {"name": "no_blue", "kind": "banned", "phrases": ["blue"]})  # fmt: skip
    for name, output in (
        ("before", OutputSpec()),
        ("styled", OutputSpec(metrics=("style",), style=rules)),
    ):
        spec = TaskSpec("fruit", str(task_root), "Name the colour.", "exact_match", output)
        run(
            RunSpec(
                task=load_task(spec),
                strategy=Arm(name, "prompt", 2, True),
                generator=FakeGenerator(responder=answers({"apple"}), name=name),
                embedder_factory=HashingEmbedder,
                settings=GenerationSettings(max_new_tokens=4),
                tracking=tracking,
                root=tmp_path / ".shipwise",
                run_name=name,
                params={"task.metric": "exact_match"},
            )
        )
    runs = {r["name"]: r for r in latest_arm_runs(tracking)}
    styled = evidence_from_run(tracking, runs["styled"], EXACT, rules=["one_word", "no_blue"])
    assert styled.inputs["f-8"] == "What colour is a apple?"
    assert styled.style["f-8"] == {"one_word": 1.0, "no_blue": 1.0}  # "red"
    assert styled.style["f-9"] == {"one_word": 1.0, "no_blue": 0.0}  # "blue"
    assert evidence_from_run(tracking, runs["before"], EXACT, rules=["one_word"]).style == {}

    study = {"task_root": task_root, "root": tmp_path}
    declared = (
        "+task.output.style=[{name:one_word,kind:words,max:1},"
        "{name:no_blue,kind:banned,phrases:[blue]}]"
    )
    assert main(overrides(study, "+task.output.metrics=[style]", declared)) == 0
    (report,) = (tmp_path / ".shipwise" / "decisions").glob("*")
    decision = json.loads((report / "decision.json").read_text())
    arms = {a["name"]: a for a in decision["arms"]}
    assert arms["styled"]["style"] == {
        "rules": {"one_word": 1.0, "no_blue": 0.25},
        "all_rules": 0.25,
        "n": 4,
    }
    assert arms["before"]["style"] is None
    assert len(decision["examples"]) == 3
    assert all(set(e["replies"]) == {"before", "styled"} for e in decision["examples"])
    markdown = (report / "decision.md").read_text()
    assert "| `no_blue` | 0.250 |" in markdown and "## Example replies" in markdown


def test_a_text_task_decides_on_a_declared_metric(
    tmp_path: Path, make_task: Callable[..., Path]
) -> None:
    """A style score chosen as the task's metric (reply_style's style_all) is one the decision
    reads, as the runner did; an undeclared one is named with the task's own choices."""
    from shipwise.errors import ConfigError
    from shipwise.evaluation.aggregates import task_metric

    task_root = make_task(train=6, val=2, test=4)
    tracking = TrackingConfig(f"sqlite:///{tmp_path}/mlflow.db", "fruit", str(tmp_path / "art"))
    rules = ({"name": "no_blue", "kind": "banned", "phrases": ["blue"]},)
    output = OutputSpec(metrics=("style", "rouge_l"), style=rules)
    spec = TaskSpec("fruit", str(task_root), "Name the colour.", "style_all", output)
    run(
        RunSpec(
            task=load_task(spec),
            strategy=Arm("styled", "prompt", 2, True),
            generator=FakeGenerator(responder=answers({"apple"}), name="styled"),
            embedder_factory=HashingEmbedder,
            settings=GenerationSettings(max_new_tokens=4),
            tracking=tracking,
            root=tmp_path / ".shipwise",
            run_name="styled",
            params={"task.metric": "style_all"},
        )
    )
    study = {"task_root": task_root, "root": tmp_path}
    declared = "+task.output.style=[{name:no_blue,kind:banned,phrases:[blue]}]"
    extra = ("task.metric=style_all", "+task.output.metrics=[style,rouge_l]", declared)
    assert main(overrides(study, *extra)) == 0
    (report,) = (tmp_path / ".shipwise" / "decisions").glob("*")
    decision = json.loads((report / "decision.json").read_text())
    [arm] = decision["arms"]
    assert decision["metric"] == "style_all" and arm["mean"] == pytest.approx(0.25)
    assert task_metric(output, "style.no_blue").name == "style.no_blue"
    with pytest.raises(ConfigError, match=r"rouge_l, style_pass, style_all, style\.no_blue"):
        task_metric(output, "judge")
